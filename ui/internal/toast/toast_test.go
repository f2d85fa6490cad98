package toast

import (
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
)

func TestNoteClearsItselfAndLeavesNewsThatArrivedUnderIt(t *testing.T) {
	m := New(DefaultStyles(common.New(time.UTC)))
	m, cmd := m.Show("Copied", Info, time.Millisecond)
	m.SetStatus("prod refreshed", Success) // arrives while the note shows
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

// A status on screen that a note replaced must not come back when the note
// ends: the reader would take an old refresh's outcome for a new one.
func TestReplacedStatusDoesNotComeBack(t *testing.T) {
	m := New(DefaultStyles(common.New(time.UTC)))
	m.SetStatus("prod refreshed", Success)
	m, cmd := m.Show("Copied", Info, time.Millisecond)
	if m, _ = m.Update(cmd()); m.Text() != "" {
		t.Fatalf("after the note ended the line shows %q, want nothing", m.Text())
	}
	// Nor when the note is dismissed early.
	m.SetStatus("prod refreshed", Success)
	m, _ = m.Show("Copied", Info, time.Minute)
	m.Dismiss()
	if m.Text() != "" {
		t.Fatalf("after Dismiss the line shows %q, want nothing", m.Text())
	}
}

func TestDismissUncoversTheStatus(t *testing.T) {
	m := New(DefaultStyles(common.New(nil)))
	m, _ = m.Show("Copied", Success, time.Minute)
	m.SetStatus("refresh failed", Error)
	if got := m.Text(); got != "✓ Copied" {
		t.Fatalf("text = %q", got)
	}
	m.Dismiss()
	if got := m.Text(); got != "✕ refresh failed" {
		t.Fatalf("after Dismiss: %q", got)
	}
}
