package detail

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Styles draw the pane.
type Styles struct {
	Panel    common.PanelStyles
	Key      lipgloss.Style // the left column ("provider", "exp", ...)
	Value    lipgloss.Style
	Muted    lipgloss.Style
	Heading  lipgloss.Style
	Warn     lipgloss.Style
	Error    lipgloss.Style
	BarFull  lipgloss.Style
	BarEmpty lipgloss.Style
	JSON     common.JSONStyles
	State    map[vault.State]lipgloss.Style
}

// DefaultStyles derives the pane's styles from the shared theme.
func DefaultStyles(c common.Common) Styles {
	t := c.Theme
	st := map[vault.State]lipgloss.Style{}
	for _, s := range []vault.State{vault.StateValid, vault.StateExpiring, vault.StateExpired, vault.StateNeedsLogin, vault.StateUnknown} {
		st[s] = lipgloss.NewStyle().Foreground(t.Look(s).Color)
	}
	return Styles{
		Panel:    common.DefaultPanelStyles(t),
		Key:      lipgloss.NewStyle().Foreground(t.Muted),
		Value:    lipgloss.NewStyle().Foreground(t.Text),
		Muted:    lipgloss.NewStyle().Foreground(t.Muted),
		Heading:  lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Warn:     lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Error:    lipgloss.NewStyle().Foreground(t.Error),
		BarFull:  lipgloss.NewStyle().Foreground(t.OK),
		BarEmpty: lipgloss.NewStyle().Foreground(t.Subtle),
		JSON:     common.DefaultJSONStyles(t),
		State:    st,
	}
}
