package sessionlist

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

var now = time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)

func sessions(n int) []vault.Session {
	ss := make([]vault.Session, n)
	for i := range ss {
		ss[i] = vault.Session{ID: int64(i + 1), Provider: vault.ProviderPathStack, Label: fmt.Sprintf("s%05d", i),
			IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Duration(n-i) * time.Minute)}
	}
	return ss
}

func newList(n, height int) Model {
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetSize(44, height)
	m.SetNow(now)
	m.SetSessions(sessions(n), nil)
	return m
}

func TestViewDrawsOnlyTheWindow(t *testing.T) {
	m := newList(10000, 12)
	lines := strings.Split(ansi.Strip(m.View()), "\n")
	if len(lines) != 12 {
		t.Fatalf("view has %d lines, want the panel height 12", len(lines))
	}
	if !strings.Contains(lines[1], "s00000") || !strings.Contains(lines[10], "s00009") || !strings.Contains(lines[0], "Sessions (10000)") {
		t.Fatalf("window:\n%s", strings.Join(lines, "\n"))
	}
	m.MoveBy(5000)
	out := ansi.Strip(m.View())
	if !strings.Contains(out, "▸● s05000") {
		t.Fatalf("cursor row not in view:\n%s", out)
	}
}

func TestSortFilterUpsertRemoveKeepTheSelection(t *testing.T) {
	m := newList(100, 12)
	m.MoveBy(42)
	m.SetOrder(ByExpiry) // the last label expires first
	if s, _ := m.Selected(); s.Label != "s00042" {
		t.Fatalf("sort moved the selection to %s", s.Label)
	}
	if ids := m.ShownIDs(); ids[0] != 100 {
		t.Fatalf("soonest expiry first: got id %d", ids[0])
	}
	// s00042 now expires first: it moves to the top and stays selected.
	s := sessions(100)[42]
	s.ExpiresAt = now.Add(time.Second)
	s.AccessToken = "secret"
	m.Upsert(s)
	if got, _ := m.Selected(); got.ID != s.ID || m.ShownIDs()[0] != s.ID || got.AccessToken != "" {
		t.Fatalf("after upsert: selected %+v, first %d", got, m.ShownIDs()[0])
	}
	m.filter.SetValue("s0004")
	m.rebuild(s.ID, true)
	if m.Shown() != 10 {
		t.Fatalf("filter s0004 shows %d", m.Shown())
	}
	m.Remove(s.ID)
	if m.Len() != 99 || m.Shown() != 9 {
		t.Fatalf("after remove: %d sessions, %d shown", m.Len(), m.Shown())
	}
	if _, ok := m.Session(s.ID); ok {
		t.Fatal("removed session still listed")
	}
	if got, ok := m.Selected(); !ok || got.ID == s.ID {
		t.Fatalf("selection after removing the selected row: %+v", got)
	}
}

func TestRowsReadWithoutColour(t *testing.T) {
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetSize(44, 8)
	m.SetNow(now)
	m.SetSessions([]vault.Session{
		{ID: 1, Provider: vault.ProviderPathStack, Label: "a", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
		{ID: 2, Provider: vault.ProviderGalileo, Label: "b", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Minute)},
		{ID: 3, Provider: vault.ProviderPathStack, Label: "c", ExpiresAt: now.Add(-time.Minute)},
		{ID: 4, Provider: vault.ProviderPathStack, Label: "d", NeedsLogin: true},
		{ID: 5, Provider: vault.ProviderPathStack, Label: "e"},
	}, []vault.Schedule{{SessionID: 1, Enabled: true}})
	m.SetActivity(3, Activity{Started: now.Add(-1500 * time.Millisecond)})
	m.SetActivity(5, Activity{Queued: true})
	m.SetSpinner("⠋")
	got := ansi.Strip(m.View())
	for _, want := range []string{
		"▸● a", "1h 00m ⟳", // valid, scheduled
		" ◐ b", "1m 00s", // expiring
		" ⠋ c", "1.5s", // refreshing: spinner and elapsed
		" ! d", "re-login",
		" … e", "queued",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("list lacks %q:\n%s", want, got)
		}
	}
}

func TestRefreshCountdownColumnWhenItFits(t *testing.T) {
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetNow(now)
	m.SetSessions([]vault.Session{
		{ID: 1, Provider: vault.ProviderPathStack, Label: "week", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
			RefreshExpiresAt: now.Add(7*24*time.Hour - time.Minute)},
		{ID: 2, Provider: vault.ProviderPathStack, Label: "soon", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
			RefreshExpiresAt: now.Add(3 * time.Hour)},
		{ID: 3, Provider: vault.ProviderPathStack, Label: "gone", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour),
			RefreshExpiresAt: now.Add(-time.Hour)},
		{ID: 4, Provider: vault.ProviderGalileo, Label: "opaque", IssuedAt: now.Add(-time.Hour), ExpiresAt: now.Add(time.Hour)},
	}, nil)

	m.SetSize(46, 8) // 100 columns
	got := ansi.Strip(m.View())
	for _, want := range []string{"session", "access refresh", "1h 00m  6d 23h", "1h 00m  3h 00m", "1h 00m expired"} {
		if !strings.Contains(got, want) {
			t.Errorf("wide list lacks %q:\n%s", want, got)
		}
	}
	// The header is not a row: a click on it selects nothing.
	if m.ClickRow(1) {
		t.Error("a click on the header selected a row")
	}
	if !m.ClickRow(2) {
		t.Error("a click on the first row selected nothing")
	}

	m.SetSize(40, 8) // 80 columns: the column is dropped, the label keeps its room
	got = ansi.Strip(m.View())
	for _, unwanted := range []string{"refresh", "6d 23h", "3h 00m"} {
		if strings.Contains(got, unwanted) {
			t.Errorf("narrow list shows %q:\n%s", unwanted, got)
		}
	}
	if lines := strings.Split(got, "\n"); !strings.Contains(lines[1], "gone") {
		t.Errorf("narrow list has a header:\n%s", got)
	}

	// No refresh token with a known expiry: no column, whatever the width.
	m.SetSessions([]vault.Session{{ID: 4, Provider: vault.ProviderGalileo, Label: "opaque", ExpiresAt: now.Add(time.Hour)}}, nil)
	m.SetSize(46, 8)
	if got := ansi.Strip(m.View()); strings.Contains(got, "refresh") {
		t.Errorf("a column for no refresh expiry:\n%s", got)
	}
}

func TestScheduleMarkFollowsEdits(t *testing.T) {
	m := newList(3, 8)
	if strings.Contains(ansi.Strip(m.View()), "⟳") {
		t.Fatal("no schedule, yet a mark")
	}
	m.SetSchedule(vault.Schedule{SessionID: 2, Mode: vault.ScheduleEvery, Enabled: true})
	if got := ansi.Strip(m.View()); !strings.Contains(got, "⟳") {
		t.Fatalf("an enabled schedule is not marked:\n%s", got)
	}
	m.SetSchedule(vault.Schedule{SessionID: 2, Mode: vault.ScheduleEvery, Enabled: false})
	if got := ansi.Strip(m.View()); strings.Contains(got, "⟳") {
		t.Fatalf("a schedule turned off is marked:\n%s", got)
	}
	m.SetSchedule(vault.Schedule{SessionID: 2, Mode: vault.ScheduleEvery, Enabled: true})
	m.RemoveSchedule(2)
	if got := ansi.Strip(m.View()); strings.Contains(got, "⟳") {
		t.Fatalf("a removed schedule is marked:\n%s", got)
	}
}
