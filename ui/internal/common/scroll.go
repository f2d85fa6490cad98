package common

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Scroll is a vertical window over pre-rendered lines. Content is rendered
// once when it changes; drawing a frame only slices the visible part.
type Scroll struct {
	lines  []string
	offset int
	height int
}

// SetLines replaces the content, keeping the offset where it still fits.
func (s *Scroll) SetLines(lines []string) {
	s.lines = lines
	s.clamp()
}

// SetHeight sets how many lines are visible.
func (s *Scroll) SetHeight(h int) {
	s.height = max(0, h)
	s.clamp()
}

// Lines returns the whole content.
func (s Scroll) Lines() []string { return s.lines }

// Offset is the index of the first visible line.
func (s Scroll) Offset() int { return s.offset }

// Visible returns the lines in the window.
func (s Scroll) Visible() []string {
	end := min(len(s.lines), s.offset+s.height)
	if s.offset >= end {
		return nil
	}
	return s.lines[s.offset:end]
}

// LineDown scrolls n lines down (negative: up).
func (s *Scroll) LineDown(n int) {
	s.offset += n
	s.clamp()
}

// PageDown scrolls one window down.
func (s *Scroll) PageDown() { s.LineDown(max(1, s.height-1)) }

// Top scrolls to the first line.
func (s *Scroll) Top() { s.offset = 0 }

// Indicator says where the window is when the content does not fit
// ("12-20/48"), and "" when it fits.
func (s Scroll) Indicator() string {
	if len(s.lines) <= s.height || s.height == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d/%d", s.offset+1, min(len(s.lines), s.offset+s.height), len(s.lines))
}

func (s *Scroll) clamp() {
	maxOff := max(0, len(s.lines)-s.height)
	s.offset = min(max(0, s.offset), maxOff)
}

// ScrollKeys are the bindings that move a Scroll; the panes that scroll
// (detail, exchange, help) share them, and the list moves its cursor with them.
type ScrollKeys struct {
	Up       key.Binding
	Down     key.Binding
	PageUp   key.Binding
	PageDown key.Binding
	Home     key.Binding
	End      key.Binding
}

// DefaultScrollKeys are the arrows, j/k, pgup/pgdn (ctrl+b/ctrl+f) and
// home/end (g/G), described as moving through a list.
func DefaultScrollKeys() ScrollKeys { return NewScrollKeys("up", "down", "first", "last") }

// NewScrollKeys are the arrows, j/k, pgup/pgdn (ctrl+b/ctrl+f) and
// home/end (g/G), with up, down, home and end as the help's words for
// them: a pane says "scroll up" or "top" where the list says "up" or "first".
func NewScrollKeys(up, down, home, end string) ScrollKeys {
	return ScrollKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", up)),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", down)),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+b"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+f"), key.WithHelp("pgdn", "page down")),
		Home:     key.NewBinding(key.WithKeys("home", "g"), key.WithHelp("home/g", home)),
		End:      key.NewBinding(key.WithKeys("end", "G"), key.WithHelp("end/G", end)),
	}
}

// Move is how far km moves a cursor (or a window) over n lines shown
// page at a time, when it matches one of k: Home and End go as far as
// there is. ok is false when km is none of k.
func (k ScrollKeys) Move(km tea.KeyMsg, page, n int) (delta int, ok bool) {
	switch {
	case key.Matches(km, k.Up):
		return -1, true
	case key.Matches(km, k.Down):
		return 1, true
	case key.Matches(km, k.PageUp):
		return -page, true
	case key.Matches(km, k.PageDown):
		return page, true
	case key.Matches(km, k.Home):
		return -n, true
	case key.Matches(km, k.End):
		return n, true
	}
	return 0, false
}

// HandleKey scrolls as km asks when it matches one of keys, and reports
// whether it did.
func (s *Scroll) HandleKey(km tea.KeyMsg, keys ScrollKeys) bool {
	d, ok := keys.Move(km, max(1, s.height-1), len(s.lines)) // the offset is within len(lines): ±len goes to an end
	if ok {
		s.LineDown(d)
	}
	return ok
}
