package toast

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
)

func TestNoteClearsItselfAndLeavesTheStatus(t *testing.T) {
	m := New(DefaultStyles(common.New(time.UTC)))
	m.SetStatus("prod refreshed", Success)
	m, cmd := m.Show("Copied", Info, time.Millisecond)
	if cmd == nil || m.Text() != "• Copied" {
		t.Fatalf("Show: %q", m.Text())
	}
	expired := cmd()
	m2, _ := m.Show("Newer", Warn, time.Hour)
	if m2, _ = m2.Update(expired); m2.Text() != "⚠ Newer" {
		t.Fatalf("an older note's timer cleared a newer one: %q", m2.Text())
	}
	m, _ = m.Update(expired)
	if m.Text() != "✓ prod refreshed" || ansi.StringWidth(m.View(30)) != 30 {
		t.Fatalf("after expiry: %q", m.View(30))
	}
}

func TestDismissUncoversTheStatus(t *testing.T) {
	m := New(DefaultStyles(common.New(nil)))
	m.SetStatus("refresh failed", Error)
	m, _ = m.Show("Copied", Success, time.Minute)
	if got := m.Text(); got != "✓ Copied" {
		t.Fatalf("text = %q", got)
	}
	m.Dismiss()
	if got := m.Text(); got != "✕ refresh failed" {
		t.Fatalf("after Dismiss: %q", got)
	}
}
