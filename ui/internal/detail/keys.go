// Package detail is the dashboard's detail pane: everything known about the
// selected session, its access token's header and claims (decoded, not
// verified), a lifetime bar, and the refresh token decoded when it is a JWT.
package detail

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// KeyMap holds the pane's scrolling bindings.
type KeyMap struct {
	common.ScrollKeys
}

// DefaultKeyMap returns the pane's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{common.NewScrollKeys("scroll up", "scroll down", "top", "bottom")}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding { return []key.Binding{k.Up, k.Down} }

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End}}
}
