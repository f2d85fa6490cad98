package ui

import (
	"bytes"
	"regexp"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

func envOf(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

// TOKENTOP_THEME says the background and NO_COLOR drops the colours:
// either way the terminal is not asked.
func TestChooseLook(t *testing.T) {
	cases := []struct {
		name     string
		env      []string
		terminal termenv.Profile
		want     look
		asks     bool
	}{
		{"asks the terminal", nil, termenv.TrueColor, look{dark: false}, true},
		{"theme dark", []string{themeEnv, "dark"}, termenv.TrueColor, look{dark: true}, false},
		{"theme light", []string{themeEnv, "Light "}, termenv.ANSI256, look{dark: false}, false},
		{"NO_COLOR", []string{"NO_COLOR", "1"}, termenv.TrueColor, look{noColor: true, dark: true}, false},
		{"NO_COLOR and light", []string{"NO_COLOR", "1", themeEnv, "light"}, termenv.TrueColor, look{noColor: true}, false},
		{"no colours", nil, termenv.Ascii, look{noColor: true, dark: true}, false},
		{"unknown theme", []string{themeEnv, "solarized"}, termenv.ANSI, look{dark: false}, true},
	}
	for _, c := range cases {
		asked := false
		got := chooseLook(envOf(c.env...), c.terminal, func() bool { asked = true; return false })
		if got != c.want || asked != c.asks {
			t.Errorf("%s: %+v, asked %v; want %+v, asked %v", c.name, got, asked, c.want, c.asks)
		}
	}
}

// With NO_COLOR on a terminal that has colours, lipgloss draws the ANSI
// profile (its attributes reach the terminal) while the theme has none.
func TestSetUpLookKeepsAttributesWithoutColours(t *testing.T) {
	out := termenv.NewOutput(&bytes.Buffer{}, termenv.WithTTY(true),
		termenv.WithEnvironment(fakeEnviron{"TERM": "xterm-256color"}))
	r := lipgloss.NewRenderer(nil)
	r.SetOutput(out)
	l := setUpLook(r, envOf("NO_COLOR", "1", themeEnv, "light"))
	if !l.noColor || l.dark || r.ColorProfile() != termenv.ANSI || r.HasDarkBackground() {
		t.Fatalf("look %+v, profile %v, dark %v", l, r.ColorProfile(), r.HasDarkBackground())
	}
}

type fakeEnviron map[string]string

func (e fakeEnviron) Environ() []string {
	var out []string
	for k, v := range e {
		out = append(out, k+"="+v)
	}
	return out
}
func (e fakeEnviron) Getenv(k string) string { return e[k] }

// sgr matches the dashboard's own styling sequences.
var sgr = regexp.MustCompile(`\x1b\[([0-9;]*)m`)

// Without colours a placeholder is faint and the cursor reversed, and no
// colour is drawn; with colours, there are some.
func TestNoColorDrawsAttributesOnly(t *testing.T) {
	lipgloss.SetColorProfile(termenv.ANSI)
	defer lipgloss.SetColorProfile(termenv.Ascii)

	params := func(noColor bool) map[string]bool {
		deps := testDeps(&bytes.Buffer{})
		deps.NoColor = noColor
		m := New(deps)
		m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
		m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(fixtureSessions(t))})
		m, _ = press(t, m, "a", "tab") // a form: placeholders, a cursor in the label
		seen := map[string]bool{}
		for _, s := range sgr.FindAllStringSubmatch(m.View(), -1) {
			for _, p := range strings.Split(s[1], ";") {
				seen[p] = true
			}
		}
		return seen
	}
	mono := params(true)
	for _, want := range []string{"2", "7"} { // faint, reverse
		if !mono[want] {
			t.Errorf("NO_COLOR: no SGR %s (faint placeholder, reversed cursor): %v", want, mono)
		}
	}
	for p := range mono {
		if p == "38" || p == "48" || (len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p[1] != '9') {
			t.Errorf("NO_COLOR drew a colour: SGR %s", p)
		}
	}
	colour := params(false)
	hasColour := false
	for p := range colour {
		if len(p) == 2 && (p[0] == '3' || p[0] == '9') {
			hasColour = true
		}
	}
	if !hasColour {
		t.Errorf("with colours, none drawn: %v", colour)
	}
}
