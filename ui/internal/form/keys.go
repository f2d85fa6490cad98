// Package form is a small multi-field form for the dashboard's dialogs
// (add a session, log in, edit, schedule): text, secret, choice and checkbox fields,
// hints and per-field validation errors, a note, and a busy state while the
// submitted work runs.
package form

import "github.com/charmbracelet/bubbles/key"

// KeyMap holds the form's bindings.
type KeyMap struct {
	Next   key.Binding
	Prev   key.Binding
	Submit key.Binding
	Cancel key.Binding
	Choose key.Binding // choice fields: next option
	Toggle key.Binding // checkboxes: on / off
}

// DefaultKeyMap returns the form's default bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		Next:   key.NewBinding(key.WithKeys("tab", "down"), key.WithHelp("tab", "next")),
		Prev:   key.NewBinding(key.WithKeys("shift+tab", "up"), key.WithHelp("shift+tab", "back")),
		Submit: key.NewBinding(key.WithKeys("enter", "ctrl+s"), key.WithHelp("enter/ctrl+s", "next/save")),
		Cancel: key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
		Choose: key.NewBinding(key.WithKeys("left", "right", " "), key.WithHelp("←/→", "choose")),
		Toggle: key.NewBinding(key.WithKeys(" "), key.WithHelp("space", "tick/untick")),
	}
}

// ShortHelp implements help.KeyMap.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{k.Next, k.Prev, k.Choose, k.Submit, k.Cancel}
}

// FullHelp implements help.KeyMap.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{{k.Next, k.Prev, k.Choose, k.Toggle}, {k.Submit, k.Cancel}}
}

// ShortHelp is the form's help line for the field that has the keyboard: a
// checkbox's says space ticks it.
func (m Model) ShortHelp() []key.Binding {
	b := m.keys.ShortHelp()
	if m.focus >= 0 && m.focus < len(m.fields) && m.fields[m.focus].Kind == Check {
		b[2] = m.keys.Toggle
	}
	return b
}
