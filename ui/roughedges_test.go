package ui

import (
	"strings"
	"testing"

	"github.com/tokentop/tokentop/ui/internal/exchange"
)

// lastLine is the screen's key bar.
func lastLine(m Model) string {
	lines := strings.Split(screen(m), "\n")
	return lines[len(lines)-1]
}

// R when the filter shows nothing says there is nothing to refresh, and
// leaves no status that waits for refreshes that never come.
func TestRefreshAllWithNothingShownSaysSo(t *testing.T) {
	m := modelWithRefresher(t, manySessions(3))
	m, _ = press(t, m, "/")
	m = typeText(t, m, "no-such-session")
	m, _ = press(t, m, "enter")
	m, cmd := press(t, m, "R")
	if len(m.flights) != 0 || len(m.queue) != 0 || m.batch != nil {
		t.Fatalf("R with nothing shown: %d in flight, %d queued, batch %v", len(m.flights), len(m.queue), m.batch)
	}
	requireScreenContains(t, m, "R: nothing to refresh: no session matches the filter")
	requireScreenLacks(t, m, "refreshing 0")
	if cmd == nil {
		t.Fatal("the note does not clear itself")
	}
}

// Leaving the history (esc, or h again) gives j and k back to the list.
func TestLeavingTheHistoryFocusesTheList(t *testing.T) {
	for _, leave := range []string{"esc", "h"} {
		m := loadedModel(t, 100, 30)
		before := selectedLabel(m)
		m, _ = press(t, m, "h")
		if m.focus != paneExchange || m.exch.Mode() != exchange.ModeHistory {
			t.Fatal("h opens the history, focused")
		}
		m, _ = press(t, m, leave)
		if m.exch.Mode() != exchange.ModeExchange || m.focus != paneList {
			t.Fatalf("%s: mode %v, focus %v; want the exchange shown and the list focused", leave, m.exch.Mode(), m.focus)
		}
		m, _ = press(t, m, "j")
		if selectedLabel(m) == before {
			t.Fatalf("after h, %s: j did not move the list", leave)
		}
	}
}

// While refreshes run, the key bar still ends with "? help · q quit", at
// every width down to 80.
func TestKeyBarKeepsHelpAndQuitDuringARefresh(t *testing.T) {
	for _, w := range []int{80, 92, 100, 140} {
		m := loadedModel(t, w, 24)
		m.flights[1] = &flight{}
		bar := lastLine(m)
		if !strings.Contains(bar, "esc stop waiting") || !strings.HasSuffix(strings.TrimRight(bar, " "), "? help · q quit") {
			t.Errorf("%d columns: key bar %q", w, bar)
		}
		if strings.Contains(bar, "…") {
			t.Errorf("%d columns: key bar cut: %q", w, bar)
		}
	}
}

// The help scrolls where it does not fit, names every mark of a row, and
// opens at its top.
func TestHelpScrollsAndExplainsTheMarks(t *testing.T) {
	m := loadedModel(t, 80, 24)
	m, _ = press(t, m, "?")
	requireScreenContains(t, m, "Help · 1-", "↑/↓ scroll", "Navigate")
	if !strings.Contains(lastLine(m), "scroll") {
		t.Errorf("key bar does not say the help scrolls: %q", lastLine(m))
	}
	m, _ = press(t, m, "G")
	requireScreenContains(t, m, "Mouse: the wheel scrolls", "x  reveal secrets")
	requireScreenLacks(t, m, "Help · 1-")
	seen := screen(m)
	m, _ = press(t, m, "g")
	seen += screen(m)
	for _, mark := range []string{"●  valid", "◐  expiring soon", "✕  expired", "!  needs login", "?  expiry unknown",
		"◌  not valid yet", "⚠  last refresh failed", "⤺  tokens in recovery", "⟳  scheduled"} {
		if !strings.Contains(seen, mark) {
			t.Errorf("the legend lacks %q", mark)
		}
	}
	m, _ = press(t, m, "G", "esc", "?")
	requireScreenContains(t, m, "Help · 1-")

	// Wide enough, it all fits and says nothing of scrolling.
	m = loadedModel(t, 160, 40)
	m, _ = press(t, m, "?")
	requireScreenContains(t, m, "Marks", "Mouse: the wheel scrolls")
	requireScreenLacks(t, m, "scroll ·", "↑/↓ scroll")
}
