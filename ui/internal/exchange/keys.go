// Package exchange is the dashboard's bottom pane: the selected session's
// last or in-flight HTTP exchange (request, response, parsed error envelope,
// timings), and its history of refresh attempts.
package exchange

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// KeyMap holds the pane's bindings.
type KeyMap struct {
	common.ScrollKeys             // in the history they move the cursor
	Open              key.Binding // history: show the attempt's exchange
	Back              key.Binding
}

// DefaultKeyMap returns the pane's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		ScrollKeys: common.NewScrollKeys("up", "down", "top", "bottom"),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "show attempt")),
		Back:       key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down, k.Open, k.Back} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}, {k.Open, k.Back}}
}
