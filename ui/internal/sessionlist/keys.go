// Package sessionlist is the dashboard's list of sessions: one row per
// session with its state, provider and a live countdown. It keeps a
// precomputed filtered and sorted index and renders only the visible rows,
// so a frame costs the same with ten sessions or ten thousand.
package sessionlist

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/tokentop/tokentop/ui/internal/common"
)

// KeyMap holds the list's bindings.
type KeyMap struct {
	common.ScrollKeys // move the cursor
	Filter            key.Binding
	AcceptFilter      key.Binding
	ClearFilter       key.Binding
}

// DefaultKeyMap returns the list's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		ScrollKeys:   common.DefaultScrollKeys(),
		Filter:       key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		AcceptFilter: key.NewBinding(key.WithKeys("enter", "tab"), key.WithHelp("enter", "apply filter")),
		ClearFilter:  key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear filter")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.Down, k.Filter}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Home, k.End},
		{k.Filter, k.AcceptFilter, k.ClearFilter},
	}
}
