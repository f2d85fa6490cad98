package helpview

import (
	"strings"
	"testing"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
)

func keys() KeyMap {
	return KeyMap{
		Up: key.NewBinding(key.WithKeys("k")), Down: key.NewBinding(key.WithKeys("j")),
		PageUp: key.NewBinding(key.WithKeys("pgup")), PageDown: key.NewBinding(key.WithKeys("pgdown")),
		Home: key.NewBinding(key.WithKeys("g")), End: key.NewBinding(key.WithKeys("G")),
	}
}

func section(title string, n int) []string {
	s := []string{title}
	for i := range n {
		s = append(s, title+" line "+string(rune('a'+i)))
	}
	return s
}

// Sections go side by side as the width allows; what does not fit the
// height scrolls, and the title says where the window is.
func TestHelpStacksAndScrolls(t *testing.T) {
	m := New(common.DefaultPanelStyles(common.DefaultTheme()), keys())
	m.SetContent([][]string{section("One", 8), section("Two", 8), section("Three", 8)}, []string{"a note"})
	m.SetSize(120, 20)
	if m.Scrollable() {
		t.Fatalf("three short sections fit 120×20:\n%s", ansi.Strip(m.View()))
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "One line a") || !strings.Contains(v, "Three line h") || !strings.Contains(v, "a note") {
		t.Fatalf("not all shown:\n%s", v)
	}

	m.SetSize(24, 12) // one column: 3×9 lines, 2 blanks, a blank and a note
	if !m.Scrollable() || !strings.Contains(ansi.Strip(m.View()), "Help · 1-10/31") {
		t.Fatalf("no scrolling in 24×12:\n%s", ansi.Strip(m.View()))
	}
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("G")})
	if v := ansi.Strip(m.View()); !strings.Contains(v, "a note") || !strings.Contains(v, "22-31/31") {
		t.Fatalf("G does not reach the end:\n%s", v)
	}
	m.Top()
	if v := ansi.Strip(m.View()); !strings.Contains(v, "1-10/31") {
		t.Fatalf("Top does not go back:\n%s", v)
	}
}
