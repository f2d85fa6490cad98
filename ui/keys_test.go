package ui

import (
	"bytes"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"
)

// "/" filters from any pane: the letters typed after it go into the
// filter, never run as commands ("/revo" must not refresh, nor open the
// edit form).
func TestSlashFiltersFromAnyPane(t *testing.T) {
	for _, focus := range []string{"detail", "exchange"} {
		t.Run(focus, func(t *testing.T) {
			m := loadedModel(t, 100, 30)
			m, _ = press(t, m, "tab")
			if focus == "exchange" {
				m, _ = press(t, m, "tab")
			}
			m, _ = press(t, m, "/")
			if !m.list.Filtering() || m.focus != paneList {
				t.Fatalf("/ in the %s pane: filtering %v, focus %v", focus, m.list.Filtering(), m.focus)
			}
			m = typeText(t, m, "revo")
			if m.overlay != overlayNone || m.list.FilterValue() != "revo" {
				t.Fatalf("typing after /: overlay %v, filter %q", m.overlay, m.list.FilterValue())
			}
			requireScreenLacks(t, m, "refresh is not available here")
		})
	}
	// Without sessions there is nothing to filter.
	m := New(testDeps(&bytes.Buffer{}))
	m, _ = press(t, m, "/")
	if m.list.Filtering() {
		t.Fatal("/ opened a filter on an empty list")
	}
}

// While the filter has the keyboard only the arrows move: the help line
// must not offer j and k, which type into the filter.
func TestFilterHelpOffersOnlyTheArrows(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "/")
	lines := strings.Split(screen(m), "\n")
	help := lines[len(lines)-1]
	for _, want := range []string{"enter apply filter", "esc clear filter", "↑ up", "↓ down"} {
		if !strings.Contains(help, want) {
			t.Fatalf("help line lacks %q: %q", want, help)
		}
	}
	if strings.Contains(help, "/k") || strings.Contains(help, "/j") {
		t.Fatalf("help line offers j/k while filtering: %q", help)
	}
}

// The help overlay names every key once, in its own group, and fits
// 80×24 without cutting a group off.
func TestHelpGroupsEachKeyOnceAndFits80x24(t *testing.T) {
	k := DefaultKeyMap()
	titles := k.groupTitles()
	groups := k.FullHelp()
	if len(titles) != len(groups) {
		t.Fatalf("%d titles for %d groups", len(titles), len(groups))
	}
	seen := map[string]string{}
	for i, g := range groups {
		for _, b := range g {
			for _, key := range b.Keys() {
				if prev, dup := seen[key]; dup {
					t.Errorf("key %q is in %s and %s", key, prev, titles[i])
				}
				seen[key] = titles[i]
			}
		}
	}
	for _, want := range []string{"r", "R", "s"} {
		if seen[want] != "Refresh & schedule" {
			t.Errorf("%s is in %q, want Refresh & schedule", want, seen[want])
		}
	}
	if seen["h"] != "History" || seen["enter"] != "Navigate" || seen["esc"] != "Navigate" {
		t.Errorf("h in %q, enter in %q, esc in %q", seen["h"], seen["enter"], seen["esc"])
	}

	m := loadedModel(t, 80, 24)
	m, _ = press(t, m, "?")
	// 80×24 does not hold it all: it scrolls, and every line is reached.
	var view string
	for range 10 {
		lines := strings.Split(screen(m), "\n")
		if len(lines) != 24 {
			t.Fatalf("help is %d lines high", len(lines))
		}
		for _, l := range lines {
			if ansi.StringWidth(l) > 80 {
				t.Fatalf("line wider than 80: %q", l)
			}
		}
		view += screen(m)
		m, _ = press(t, m, "pgdown")
	}
	// The last entry of every group is reached: nothing was cut off.
	for _, want := range []string{"Navigate", "Refresh & schedule", "History", "Copy", "Sessions",
		"sort label/expiry", "schedule refreshes", "history / last exchange", "reveal secrets", "q  quit",
		"Claims are decoded, not verified. Secrets stay masked until x."} {
		if !strings.Contains(view, want) {
			t.Fatalf("80×24 help lacks %q:\n%s", want, view)
		}
	}
}
