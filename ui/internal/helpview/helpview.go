// Package helpview is the dashboard's full help: groups of lines (every
// key binding, the legend of the row marks) set side by side as the width
// allows, then notes, in a framed pane that scrolls when it does not fit
// (80×24 does not hold it all).
package helpview

import (
	"strings"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// KeyMap scrolls the help.
type KeyMap = common.ScrollKeys

// Model is the help pane.
type Model struct {
	panel common.PanelStyles
	keys  KeyMap

	width, height int
	sections      [][]string // each: a title, then its lines (styled)
	notes         []string   // under the sections (styled)
	scroll        common.Scroll
}

// New returns an empty help pane.
func New(panel common.PanelStyles, keys KeyMap) Model {
	return Model{panel: panel, keys: keys}
}

// SetContent sets the sections (a title and its lines each) and the notes
// shown under them.
func (m *Model) SetContent(sections [][]string, notes []string) {
	m.sections, m.notes = sections, notes
	m.render()
}

// SetSize sets the outer size of the pane.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.scroll.SetHeight(height - 2)
	m.render()
}

// Top scrolls back to the first line (the help opens there).
func (m *Model) Top() { m.scroll.Top() }

// Scrollable reports whether the help is longer than the pane.
func (m Model) Scrollable() bool { return m.scroll.Indicator() != "" }

// Update scrolls.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		m.scroll.HandleKey(km, m.keys)
	}
	return m, nil
}

// ScrollBy scrolls n lines (the mouse wheel).
func (m *Model) ScrollBy(n int) { m.scroll.LineDown(n) }

// View draws the pane; its title says where the window is when it scrolls.
func (m Model) View() string {
	title := "Help"
	if ind := m.scroll.Indicator(); ind != "" {
		title += " · " + ind + " · ↑/↓ scroll"
	}
	return m.panel.Panel(title, m.scroll.Visible(), m.width, m.height, true)
}

// Gap is the space between two columns.
const Gap = 4

// render lays the sections out in columns and the notes under them. It
// runs when the content or the size change, not per frame.
func (m *Model) render() {
	if len(m.sections) == 0 || m.width < 4 {
		m.scroll.SetLines(nil)
		return
	}
	cols := StackColumns(m.sections, m.width-4)
	height := 0
	for _, c := range cols {
		height = max(height, len(c))
	}
	rows := make([]string, 0, height+len(m.notes)+1)
	for r := range height {
		var b strings.Builder
		for i, c := range cols {
			cell := ""
			if r < len(c) {
				cell = c[r]
			}
			if i == len(cols)-1 {
				b.WriteString(cell)
			} else {
				b.WriteString(common.Fit(cell, colWidth(c)+Gap))
			}
		}
		rows = append(rows, b.String())
	}
	if len(m.notes) > 0 {
		rows = append(rows, "")
		rows = append(rows, m.notes...)
	}
	m.scroll.SetLines(rows)
}

// StackColumns splits sections, in order, into side-by-side columns (a
// blank line between sections of one column) fitting width: the split
// with the fewest rows, and of those the fewest columns.
func StackColumns(sections [][]string, width int) [][]string {
	n := len(sections)
	var best [][]string
	bestH := 0
	// Bit i of cuts set: a new column starts after section i.
	for cuts := 0; cuts < 1<<(n-1); cuts++ {
		var cols [][]string
		var col []string
		for i, sec := range sections {
			if len(col) > 0 {
				col = append(col, "")
			}
			col = append(col, sec...)
			if i == n-1 || cuts&(1<<i) != 0 {
				cols = append(cols, col)
				col = nil
			}
		}
		w, h := 0, 0
		for _, c := range cols {
			w += colWidth(c) + Gap
			h = max(h, len(c))
		}
		if w-Gap > width && len(cols) > 1 {
			continue
		}
		if best == nil || h < bestH || (h == bestH && len(cols) < len(best)) {
			best, bestH = cols, h
		}
	}
	return best
}

func colWidth(col []string) int {
	w := 0
	for _, c := range col {
		w = max(w, ansi.StringWidth(c))
	}
	return w
}
