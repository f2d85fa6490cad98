package exchange

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// Styles draw the pane.
type Styles struct {
	Panel       common.PanelStyles
	Arrow       lipgloss.Style // → and ←
	RequestLine lipgloss.Style
	HeaderName  lipgloss.Style
	HeaderValue lipgloss.Style
	Body        lipgloss.Style
	Muted       lipgloss.Style
	OK          lipgloss.Style
	Warn        lipgloss.Style
	Error       lipgloss.Style
	Envelope    lipgloss.Style // the parsed envelope's message line
	FieldLoc    lipgloss.Style
	Busy        lipgloss.Style
	Cursor      lipgloss.Style
	Selected    lipgloss.Style
	JSON        common.JSONStyles
}

// DefaultStyles derives the pane's styles from the shared theme.
func DefaultStyles(c common.Common) Styles {
	t := c.Theme
	return Styles{
		Panel:       common.DefaultPanelStyles(t),
		Arrow:       lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		RequestLine: lipgloss.NewStyle().Foreground(t.Text).Bold(true),
		HeaderName:  lipgloss.NewStyle().Foreground(t.Muted),
		HeaderValue: lipgloss.NewStyle().Foreground(t.Text),
		Body:        lipgloss.NewStyle().Foreground(t.Text),
		Muted:       lipgloss.NewStyle().Foreground(t.Muted),
		OK:          lipgloss.NewStyle().Foreground(t.OK).Bold(true),
		Warn:        lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Error:       lipgloss.NewStyle().Foreground(t.Error).Bold(true),
		Envelope:    lipgloss.NewStyle().Foreground(t.Error).Bold(true),
		FieldLoc:    lipgloss.NewStyle().Foreground(t.Warn),
		Busy:        lipgloss.NewStyle().Foreground(t.Info),
		Cursor:      lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Selected:    lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		JSON:        common.DefaultJSONStyles(t),
	}
}
