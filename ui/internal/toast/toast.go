// Package toast is the dashboard's status line: a persistent status (the
// outcome of the last refresh, say) and short-lived notes ("Copied access
// token · clipboard clears in 45s") that clear themselves with a tea.Tick.
//
// A note replaces what the line shows: a status on screen when a note
// comes is gone for good (brought back later it would read as news). A
// status set while a note shows is news the reader has not seen: it waits
// under the note and shows when the note ends.
package toast

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// Kind is how a note reads: its symbol and colour.
type Kind int

// The kinds.
const (
	Info Kind = iota
	Success
	Warn
	Error
)

// Styles draw the line.
type Styles struct {
	Info, Success, Warn, Error lipgloss.Style
}

// DefaultStyles derives the styles from the shared theme.
func DefaultStyles(c common.Common) Styles {
	t := c.Theme
	return Styles{
		Info:    lipgloss.NewStyle().Foreground(t.Info),
		Success: lipgloss.NewStyle().Foreground(t.OK),
		Warn:    lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Error:   lipgloss.NewStyle().Foreground(t.Error).Bold(true),
	}
}

// ExpiredMsg ends the note with ID, sent by the tick Show returns.
type ExpiredMsg struct{ ID int }

type note struct {
	text string // Safe already: the line is drawn every frame
	kind Kind
}

// newNote keeps text as the line draws it: notes name sessions and quote
// servers' errors, vault and server text.
func newNote(text string, kind Kind) *note { return &note{common.Safe(text), kind} }

// Model is the status line.
type Model struct {
	styles Styles
	toast  *note
	id     int
	status *note
}

// New returns an empty status line.
func New(styles Styles) Model { return Model{styles: styles} }

// Show displays a note for d; the returned command clears it. A status
// the line showed until now is dropped; one that arrived under an earlier
// note is kept for when this one ends.
func (m Model) Show(text string, kind Kind, d time.Duration) (Model, tea.Cmd) {
	if m.toast == nil {
		m.status = nil
	}
	m.id++
	m.toast = newNote(text, kind)
	id := m.id
	return m, tea.Tick(d, func(time.Time) tea.Msg { return ExpiredMsg{ID: id} })
}

// SetStatus sets the persistent status ("" clears it).
func (m *Model) SetStatus(text string, kind Kind) {
	if text == "" {
		m.status = nil
		return
	}
	m.status = newNote(text, kind)
}

// Dismiss ends the current note early, uncovering a status that arrived
// meanwhile (a failure, say).
func (m *Model) Dismiss() { m.toast = nil }

// Text is what the line shows now, without styling.
func (m Model) Text() string {
	if n := m.current(); n != nil {
		return symbol(n.kind) + " " + n.text
	}
	return ""
}

// Update clears an expired note.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if e, ok := msg.(ExpiredMsg); ok && e.ID == m.id {
		m.toast = nil
	}
	return m, nil
}

// View draws the line in width cells.
func (m Model) View(width int) string {
	n := m.current()
	if n == nil {
		return common.Fit("", width)
	}
	st := m.styles.Info
	switch n.kind {
	case Success:
		st = m.styles.Success
	case Warn:
		st = m.styles.Warn
	case Error:
		st = m.styles.Error
	}
	// A long note ends at a word: "· needs login: l logs in again" is read
	// whole or not at all.
	text := common.TruncateWords(symbol(n.kind)+" "+n.text, width-1)
	return common.Fit(" "+st.Render(text), width)
}

func (m Model) current() *note {
	if m.toast != nil {
		return m.toast
	}
	return m.status
}

func symbol(k Kind) string {
	switch k {
	case Success:
		return "✓"
	case Warn:
		return "⚠"
	case Error:
		return "✕"
	default:
		return "•"
	}
}
