package common

import (
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// PanelStyles draw a framed pane. The focused pane gets a heavy border, so
// focus reads without colour too.
type PanelStyles struct {
	Border      lipgloss.Style
	BorderFocus lipgloss.Style
	Title       lipgloss.Style
	TitleFocus  lipgloss.Style
}

// DefaultPanelStyles derives panel styles from a theme.
func DefaultPanelStyles(t Theme) PanelStyles {
	return PanelStyles{
		Border:      lipgloss.NewStyle().Foreground(t.Border),
		BorderFocus: lipgloss.NewStyle().Foreground(t.BorderFocus),
		Title:       lipgloss.NewStyle().Foreground(t.Muted).Bold(true),
		TitleFocus:  lipgloss.NewStyle().Foreground(t.Accent).Bold(true),
	}
}

type borderRunes struct{ tl, tr, bl, br, h, v string }

// border is the rounded light border, or the heavy one for the focused pane.
func border(focused bool) borderRunes {
	if focused {
		return borderRunes{"┏", "┓", "┗", "┛", "━", "┃"}
	}
	return borderRunes{"╭", "╮", "╰", "╯", "─", "│"}
}

// Panel renders body inside a width×height frame with title set into the top
// border. Lines are truncated or padded to fit; missing lines are blank.
func (s PanelStyles) Panel(title string, body []string, width, height int, focused bool) string {
	return s.panel(title, body, width, height, focused, true)
}

// PanelExact is Panel for body lines that are exactly width-2 cells wide
// already (the list's rows): it skips measuring them.
func (s PanelStyles) PanelExact(title string, body []string, width, height int, focused bool) string {
	return s.panel(title, body, width, height, focused, false)
}

func (s PanelStyles) panel(title string, body []string, width, height int, focused, fit bool) string {
	if width < 4 || height < 2 {
		return ""
	}
	br, bs, ts := border(focused), s.Border, s.Title
	if focused {
		bs, ts = s.BorderFocus, s.TitleFocus
	}
	inner := width - 2
	var b strings.Builder
	b.Grow((width + 8) * height * 2)

	// Top border with the title: "╭─ Title ───╮".
	b.WriteString(bs.Render(br.tl + br.h))
	used := 1
	if title != "" && inner > 4 {
		// Titles name sessions and URLs: vault text.
		t := TruncateWords(Safe(title), TitleRoom(width, ""))
		b.WriteString(" " + ts.Render(t) + " ")
		used += ansi.StringWidth(t) + 2
	}
	if rest := inner - used; rest > 0 {
		b.WriteString(bs.Render(strings.Repeat(br.h, rest)))
	}
	b.WriteString(bs.Render(br.tr))
	b.WriteByte('\n')

	side := bs.Render(br.v)
	for i := 0; i < height-2; i++ {
		b.WriteString(side)
		switch {
		case i >= len(body):
			b.WriteString(strings.Repeat(" ", inner))
		case fit:
			b.WriteString(Fit(body[i], inner))
		default:
			b.WriteString(body[i])
		}
		b.WriteString(side)
		b.WriteByte('\n')
	}
	b.WriteString(bs.Render(br.bl + strings.Repeat(br.h, inner) + br.br))
	return b.String()
}

// TitleRoom is how many cells a panel width cells wide gives its title:
// Panel sets the title in width-5 cells, and a scroll indicator
// (WithIndicator; "" when none) takes its own width and " · " of them.
func TitleRoom(width int, indicator string) int {
	room := width - 5
	if indicator != "" {
		room -= 3 + ansi.StringWidth(indicator)
	}
	return room
}

// WithIndicator ends a panel title with a scroll indicator ("12-20/48"),
// shortening the title rather than the indicator to fit a panel width
// cells wide.
func WithIndicator(title, indicator string, width int) string {
	return TruncateWords(Safe(title), max(1, TitleRoom(width, indicator))) + " · " + indicator
}

// Fit truncates s (which may hold ANSI styling) to width cells, or pads it
// with spaces to exactly width.
func Fit(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if plainASCII(s) {
		switch {
		case len(s) > width:
			return s[:width-1] + "…"
		case len(s) < width:
			return s + strings.Repeat(" ", width-len(s))
		}
		return s
	}
	w := ansi.StringWidth(s)
	if w > width {
		s = ansi.Truncate(s, width, "…")
		w = ansi.StringWidth(s)
	}
	if w < width {
		s += strings.Repeat(" ", width-w)
	}
	return s
}

// PadLeft right-aligns s in width cells (truncating when longer).
func PadLeft(s string, width int) string {
	w := ansi.StringWidth(s)
	if w >= width {
		return Fit(s, width)
	}
	return strings.Repeat(" ", width-w) + s
}

// Paint is a style reduced to the escape sequences around its text, for
// hot paths (list rows) where lipgloss.Style.Render costs too much per
// call. Only for styles without width, padding, margins or borders.
type Paint struct{ pre, post string }

// NewPaint renders st once around a marker and keeps what surrounds it.
func NewPaint(st lipgloss.Style) Paint {
	r := st.Render("\x00")
	i := strings.IndexByte(r, 0)
	if i < 0 {
		return Paint{}
	}
	return Paint{pre: r[:i], post: r[i+1:]}
}

// Wrap styles s.
func (p Paint) Wrap(s string) string {
	if p.pre == "" && p.post == "" {
		return s
	}
	return p.pre + s + p.post
}

// plainASCII reports whether s is printable ASCII without escapes, so that
// its width is its length.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}
