package form

import (
	"strings"

	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
)

const (
	labelCol    = 17 // width of the label column
	maxBoxWidth = 76
)

func (m Model) boxWidth() int { return min(m.width, maxBoxWidth) }

// View draws the form as a box centred in its space.
func (m Model) View() string {
	w := m.boxWidth()
	inner := w - 2
	var body []string
	for i, f := range m.fields {
		if f.Hidden {
			continue
		}
		ls := m.styles.Label
		marker := "  "
		if i == m.focus {
			ls = m.styles.LabelFocus
			marker = m.styles.LabelFocus.Render("▸ ")
		}
		line := marker + ls.Render(common.Fit(f.Label, labelCol-2)) + " "
		switch f.Kind {
		case Check:
			box, st := "[ ] ", m.styles.Choice
			if f.checked {
				box, st = "[x] ", m.styles.ChoiceOn
			}
			line += st.Render(box + f.Text)
		case Choice:
			var opts []string
			for j, c := range f.Choices {
				label := c
				if j < len(f.ChoiceLabels) {
					label = f.ChoiceLabels[j]
				}
				if j == f.choice {
					opts = append(opts, m.styles.ChoiceOn.Render("(•) "+label))
				} else {
					opts = append(opts, m.styles.Choice.Render("( ) "+label))
				}
			}
			line += strings.Join(opts, "  ")
		default:
			line += f.input.View()
		}
		body = append(body, line)
		switch {
		case f.err != "":
			body = append(body, m.under(m.styles.FieldError, "↳ "+f.err, inner)...)
		case f.Hint != "":
			body = append(body, m.under(m.styles.Hint, f.Hint, inner)...)
		}
	}
	switch {
	case m.busy != "":
		body = append(body, "", m.styles.Busy.Render(m.spinner+" "+m.busy))
	case m.err != "":
		body = append(body, "")
		for _, l := range strings.Split(lipgloss.NewStyle().Width(inner).Render(m.err), "\n") {
			body = append(body, m.styles.Error.Render(l))
		}
	case m.note != "":
		body = append(body, "")
		for _, l := range strings.Split(lipgloss.NewStyle().Width(inner).Render(m.note), "\n") {
			body = append(body, m.styles.Hint.Render(l))
		}
	}
	h := min(m.height, len(body)+2)
	box := m.styles.Panel.Panel(m.title, body, w, h, true)
	return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center, box)
}

// under is text set under a field's input, wrapped to the box.
func (m Model) under(st lipgloss.Style, text string, inner int) []string {
	indent := strings.Repeat(" ", labelCol+1)
	w := max(10, inner-labelCol-1)
	var out []string
	for _, l := range strings.Split(lipgloss.NewStyle().Width(w).Render(text), "\n") {
		out = append(out, indent+st.Render(strings.TrimRight(l, " ")))
	}
	return out
}
