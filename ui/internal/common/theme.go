// Package common holds what every dashboard component shares: the colour
// theme, the way a session state is drawn, time and size formatting, the
// framed panel, a scrollable line buffer and the JSON colouriser.
//
// It has no mutable package state; components receive a Common value.
package common

import (
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/vault"
)

// Common is passed to every component: the theme and the time zone that
// timestamps are shown in.
type Common struct {
	Theme    Theme
	Location *time.Location
}

// New returns a Common with the default theme and loc (nil: time.Local).
func New(loc *time.Location) Common {
	if loc == nil {
		loc = time.Local
	}
	return Common{Theme: DefaultTheme(), Location: loc}
}

// Theme is the palette. Adaptive colours pick a shade for light or dark
// terminals; with NO_COLOR (or no colour support) lipgloss drops them all,
// which is why everything colour says is also said with a symbol or a word.
type Theme struct {
	Text        lipgloss.AdaptiveColor
	Muted       lipgloss.AdaptiveColor
	Subtle      lipgloss.AdaptiveColor
	Accent      lipgloss.AdaptiveColor
	Border      lipgloss.AdaptiveColor
	BorderFocus lipgloss.AdaptiveColor
	SelectedBg  lipgloss.AdaptiveColor
	OK          lipgloss.AdaptiveColor
	Warn        lipgloss.AdaptiveColor
	Error       lipgloss.AdaptiveColor
	NeedsLogin  lipgloss.AdaptiveColor
	Info        lipgloss.AdaptiveColor
	JSONKey     lipgloss.AdaptiveColor
	JSONString  lipgloss.AdaptiveColor
	JSONNumber  lipgloss.AdaptiveColor
	JSONLiteral lipgloss.AdaptiveColor

	// Mono: no colours at all (NO_COLOR). Styles then say with attributes
	// what colours would: a faint placeholder, a reversed cursor.
	Mono bool
}

// MonoTheme is the palette without colours: every colour is empty, which
// lipgloss draws as none.
func MonoTheme() Theme { return Theme{Mono: true} }

// DefaultTheme is tokentop's palette.
func DefaultTheme() Theme {
	return Theme{
		Text:        lipgloss.AdaptiveColor{Light: "#1F2328", Dark: "#E6EDF3"},
		Muted:       lipgloss.AdaptiveColor{Light: "#59636E", Dark: "#9198A1"},
		Subtle:      lipgloss.AdaptiveColor{Light: "#8C959F", Dark: "#5C636B"},
		Accent:      lipgloss.AdaptiveColor{Light: "#6639BA", Dark: "#BC8CFF"},
		Border:      lipgloss.AdaptiveColor{Light: "#D1D9E0", Dark: "#3D444D"},
		BorderFocus: lipgloss.AdaptiveColor{Light: "#6639BA", Dark: "#BC8CFF"},
		SelectedBg:  lipgloss.AdaptiveColor{Light: "#DDF4FF", Dark: "#1F2D3D"},
		OK:          lipgloss.AdaptiveColor{Light: "#1A7F37", Dark: "#3FB950"},
		Warn:        lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#D29922"},
		Error:       lipgloss.AdaptiveColor{Light: "#CF222E", Dark: "#F85149"},
		NeedsLogin:  lipgloss.AdaptiveColor{Light: "#BF3989", Dark: "#DB61A2"},
		Info:        lipgloss.AdaptiveColor{Light: "#0969DA", Dark: "#58A6FF"},
		JSONKey:     lipgloss.AdaptiveColor{Light: "#0550AE", Dark: "#79C0FF"},
		JSONString:  lipgloss.AdaptiveColor{Light: "#0A3069", Dark: "#A5D6FF"},
		JSONNumber:  lipgloss.AdaptiveColor{Light: "#953800", Dark: "#FFA657"},
		JSONLiteral: lipgloss.AdaptiveColor{Light: "#8250DF", Dark: "#D2A8FF"},
	}
}

// StateLook is how a session state is drawn: a symbol that reads without
// colour, a word, and a colour.
type StateLook struct {
	Symbol string
	Word   string
	Color  lipgloss.AdaptiveColor
}

// Look returns the symbol, word and colour of a state.
func (t Theme) Look(s vault.State) StateLook {
	switch s {
	case vault.StateValid:
		return StateLook{"●", "valid", t.OK}
	case vault.StateExpiring:
		return StateLook{"◐", "expiring", t.Warn}
	case vault.StateExpired:
		return StateLook{"✕", "expired", t.Error}
	case vault.StateNeedsLogin:
		return StateLook{"!", "needs login", t.NeedsLogin}
	default:
		return StateLook{"?", "unknown", t.Muted}
	}
}

// ProviderName is a provider's display name.
func ProviderName(p string) string {
	switch p {
	case vault.ProviderPathStack:
		return "PathStack"
	case vault.ProviderGalileo:
		return "Galileo"
	default:
		return Safe(p)
	}
}
