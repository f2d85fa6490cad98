package ui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/detail"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
	"github.com/tokentop/tokentop/ui/internal/toast"
)

// styles is every style of the dashboard, built once from the theme and
// handed to the components.
type styles struct {
	List     sessionlist.Styles
	Detail   detail.Styles
	Exchange exchange.Styles
	Form     form.Styles
	Toast    toast.Styles
	Panel    common.PanelStyles
	Help     help.Styles

	HeaderTitle lipgloss.Style
	HeaderInfo  lipgloss.Style
	HeaderBusy  lipgloss.Style
	Muted       lipgloss.Style
	Text        lipgloss.Style
	Key         lipgloss.Style
	Accent      lipgloss.Style
	GroupTitle  lipgloss.Style
	Warn        lipgloss.Style
	Spinner     lipgloss.Style
}

func defaultStyles(c common.Common) styles {
	t := c.Theme
	h := help.New().Styles
	h.ShortKey = lipgloss.NewStyle().Foreground(t.Accent)
	h.ShortDesc = lipgloss.NewStyle().Foreground(t.Muted)
	h.ShortSeparator = lipgloss.NewStyle().Foreground(t.Subtle)
	h.FullKey = lipgloss.NewStyle().Foreground(t.Accent)
	h.FullDesc = lipgloss.NewStyle().Foreground(t.Text)
	h.FullSeparator = lipgloss.NewStyle().Foreground(t.Subtle)
	h.Ellipsis = lipgloss.NewStyle().Foreground(t.Subtle)
	fs := form.DefaultStyles(c)
	// An edit form starts from the vault's label and URL: its inputs draw
	// through common.Safe like every pane (the text input drops control
	// characters itself, not the bidi ones).
	fs.Input = fs.Input.Transform(common.Safe)
	fs.Placeholder = fs.Placeholder.Transform(common.Safe)
	// A form's error, notes and hints quote sessions and servers; the form
	// hands them to these styles as plain text (never styled: Safe would
	// show a style's own escapes).
	fs.Error = fs.Error.Transform(common.Safe)
	fs.FieldError = fs.FieldError.Transform(common.Safe)
	fs.Hint = fs.Hint.Transform(common.Safe)
	if t.Mono {
		// Without colours a placeholder would read as a typed value.
		fs.Placeholder = fs.Placeholder.Faint(true)
	}
	return styles{
		List:     sessionlist.DefaultStyles(c),
		Detail:   detail.DefaultStyles(c),
		Exchange: exchange.DefaultStyles(c),
		Form:     fs,
		Toast:    toast.DefaultStyles(c),
		Panel:    common.DefaultPanelStyles(t),
		Help:     h,

		HeaderTitle: lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		HeaderInfo:  lipgloss.NewStyle().Foreground(t.Muted),
		HeaderBusy:  lipgloss.NewStyle().Foreground(t.Info),
		Muted:       lipgloss.NewStyle().Foreground(t.Muted),
		Text:        lipgloss.NewStyle().Foreground(t.Text),
		Key:         lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		Accent:      lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
		GroupTitle:  lipgloss.NewStyle().Foreground(t.Accent).Bold(true).Underline(true),
		Warn:        lipgloss.NewStyle().Foreground(t.Warn).Bold(true),
		Spinner:     lipgloss.NewStyle().Foreground(t.Info),
	}
}
