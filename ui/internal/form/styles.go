package form

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// Styles draw the form.
type Styles struct {
	Panel       common.PanelStyles
	Label       lipgloss.Style
	LabelFocus  lipgloss.Style
	Input       lipgloss.Style
	Placeholder lipgloss.Style
	Choice      lipgloss.Style
	ChoiceOn    lipgloss.Style
	FieldError  lipgloss.Style
	Hint        lipgloss.Style // a field's hint and the form's note
	Error       lipgloss.Style
	Busy        lipgloss.Style
}

// DefaultStyles derives the form's styles from the shared theme.
func DefaultStyles(c common.Common) Styles {
	t := c.Theme
	return Styles{
		Panel:       common.DefaultPanelStyles(t),
		Label:       lipgloss.NewStyle().Foreground(t.Muted),
		LabelFocus:  lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Input:       lipgloss.NewStyle().Foreground(t.Text),
		Placeholder: lipgloss.NewStyle().Foreground(t.Subtle),
		Choice:      lipgloss.NewStyle().Foreground(t.Muted),
		ChoiceOn:    lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		FieldError:  lipgloss.NewStyle().Foreground(t.Error),
		Hint:        lipgloss.NewStyle().Foreground(t.Muted),
		Error:       lipgloss.NewStyle().Foreground(t.Error).Bold(true),
		Busy:        lipgloss.NewStyle().Foreground(t.Info),
	}
}
