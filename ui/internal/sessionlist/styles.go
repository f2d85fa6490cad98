package sessionlist

import (
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Styles draw the list.
type Styles struct {
	Panel    common.PanelStyles
	Label    lipgloss.Style
	Selected lipgloss.Style // the selected row's label
	Cursor   lipgloss.Style
	Provider lipgloss.Style
	Muted    lipgloss.Style
	Busy     lipgloss.Style // spinner and elapsed time of a refresh in flight
	Schedule lipgloss.Style
	// ScheduleFailing marks a schedule whose last refreshes failed.
	ScheduleFailing lipgloss.Style
	// Failing is the "⚠ 422" mark of a session whose last refresh failed.
	Failing lipgloss.Style
	// Recovery is the "⤺ recovery" mark of a session whose rotated tokens
	// wait in recovery.
	Recovery lipgloss.Style
	Filter   lipgloss.Style
	// Placeholder is the empty filter's hint (faint without colours, so
	// that it does not read as typed).
	Placeholder lipgloss.Style
	// State colours the symbol and countdown of a row by the session's state.
	State map[vault.State]lipgloss.Style
}

// DefaultStyles derives the list's styles from the shared theme.
func DefaultStyles(c common.Common) Styles {
	t := c.Theme
	st := map[vault.State]lipgloss.Style{}
	for _, s := range []vault.State{vault.StateValid, vault.StateExpiring, vault.StateExpired, vault.StateNeedsLogin, vault.StateUnknown} {
		st[s] = lipgloss.NewStyle().Foreground(t.Look(s).Color)
	}
	return Styles{
		Panel:           common.DefaultPanelStyles(t),
		Label:           lipgloss.NewStyle().Foreground(t.Text),
		Selected:        lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Cursor:          lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Provider:        lipgloss.NewStyle().Foreground(t.Muted),
		Muted:           lipgloss.NewStyle().Foreground(t.Muted),
		Busy:            lipgloss.NewStyle().Foreground(t.Info),
		Schedule:        lipgloss.NewStyle().Foreground(t.Info),
		ScheduleFailing: lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Failing:         lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Recovery:        lipgloss.NewStyle().Foreground(t.Error).Bold(true),
		Filter:          lipgloss.NewStyle().Foreground(t.Accent),
		Placeholder:     lipgloss.NewStyle().Foreground(t.Subtle).Faint(t.Mono),
		State:           st,
	}
}
