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
