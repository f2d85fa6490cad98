package common

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/vault"
)

func TestDurations(t *testing.T) {
	now := time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)
	cases := []struct{ got, want string }{
		{Countdown(42 * time.Second), "42s"},
		{Countdown(41*time.Minute + 12*time.Second + 900*time.Millisecond), "41m 12s"},
		{Countdown(3*time.Hour + 2*time.Minute), "3h 02m"},
		{Countdown(50 * time.Hour), "2d 02h"},
		{Relative(now.Add(41*time.Minute+12*time.Second), now), "in 41m 12s"},
		{Relative(now.Add(-3*time.Hour-20*time.Minute), now), "3h ago"},
		{Relative(now, now), "now"},
		{Millis(182 * time.Millisecond), "182 ms"},
		{Millis(400 * time.Microsecond), "0.4 ms"},
		{Millis(1240 * time.Millisecond), "1.24 s"},
		{Millis(0), "—"},
		{Elapsed(1234 * time.Millisecond), "1.2s"},
		{Clock(now.Add(time.Hour), now, time.UTC), "15:00:00"},
		{Clock(now.Add(48*time.Hour), now, time.UTC), "2025-03-16 14:00:00"},
		{ShortClock(now.Add(-48*time.Hour), now, time.UTC), "03-12 14:00"},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
}

func TestFitAndPanel(t *testing.T) {
	if got := Fit("abcdef", 4); got != "abc…" {
		t.Errorf("Fit truncates to %q", got)
	}
	if got := Fit("ab", 4); got != "ab  " {
		t.Errorf("Fit pads to %q", got)
	}
	p := DefaultPanelStyles(DefaultTheme()).Panel("Title", []string{"one", strings.Repeat("x", 50)}, 12, 4, false)
	lines := strings.Split(ansi.Strip(p), "\n")
	want := []string{"╭─ Title ──╮", "│one       │", "│xxxxxxxxx…│", "╰──────────╯"}
	if len(lines) != len(want) {
		t.Fatalf("panel has %d lines: %q", len(lines), lines)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d = %q, want %q", i, lines[i], want[i])
		}
	}
	focused := ansi.Strip(DefaultPanelStyles(DefaultTheme()).Panel("T", nil, 8, 2, true))
	if !strings.HasPrefix(focused, "┏━ T ━━┓") {
		t.Errorf("focused panel = %q", focused)
	}
}

func TestScroll(t *testing.T) {
	var s Scroll
	s.SetHeight(3)
	s.SetLines([]string{"a", "b", "c", "d", "e"})
	s.PageDown()
	if got := strings.Join(s.Visible(), ""); got != "cde" {
		t.Errorf("page down shows %q", got)
	}
	s.LineDown(10)
	if s.Offset() != 2 || s.Indicator() != "3-5/5" {
		t.Errorf("offset %d, indicator %q", s.Offset(), s.Indicator())
	}
	s.SetLines([]string{"a"})
	if s.Offset() != 0 || s.Indicator() != "" {
		t.Errorf("shrinking content: offset %d, indicator %q", s.Offset(), s.Indicator())
	}
}

func TestPrettyJSONKeepsOrderAndColoursWithoutChangingText(t *testing.T) {
	st := DefaultJSONStyles(DefaultTheme())
	lines, ok := st.Pretty([]byte(`{"z":1,"a":{"s":"x\"y","b":true,"n":null},"l":[-1.5e3]}`))
	if !ok {
		t.Fatal("valid JSON not recognised")
	}
	got := ansi.Strip(strings.Join(lines, "\n"))
	want := "{\n  \"z\": 1,\n  \"a\": {\n    \"s\": \"x\\\"y\",\n    \"b\": true,\n    \"n\": null\n  },\n  \"l\": [\n    -1.5e3\n  ]\n}"
	if got != want {
		t.Errorf("pretty:\n%s\nwant:\n%s", got, want)
	}
	raw, ok := st.Pretty([]byte("<html>502</html>\n"))
	if ok || len(raw) != 1 || raw[0] != "<html>502</html>" {
		t.Errorf("non-JSON: %v %q", ok, raw)
	}
}

func TestSafeDrawsWhatATerminalWouldObey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"prod-eu", "prod-eu"},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"\x1b]52;c;QUxHCg==\x07", `\x1b]52;c;QUxHCg==\x07`},
		{"line\nnext\ttab", `line\nnext tab`},
		{"c1\u009bx", `c1\x9bx`},
		{"byte\x9bx", "byte\uFFFDx"},
		{"del\x7f", `del\x7f`},
		{"ünïcode ✓", "ünïcode ✓"},
	}
	for _, c := range cases {
		if got := Safe(c.in); got != c.want {
			t.Errorf("Safe(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := SafeLines("a\r\nb\x1b"); len(got) != 2 || got[0] != "a" || got[1] != `b\x1b` {
		t.Errorf("SafeLines = %q", got)
	}
}

func TestTruncateWordsCutsAtABoundary(t *testing.T) {
	title := "Last refresh · POST https://api.pathstack.io/refresh · 422 Unprocessable Entity · 12 ms · masked"
	cases := []struct {
		width int
		want  string
	}{
		{200, title},
		{77, "Last refresh · POST https://api.pathstack.io/refresh · 422 Unprocessable…"},
		{62, "Last refresh · POST https://api.pathstack.io/refresh · 422…"},
		// A boundary that would waste a third of the width: cut mid-word.
		{30, "Last refresh · POST https://a…"},
	}
	for _, c := range cases {
		got := TruncateWords(title, c.width)
		if got != c.want {
			t.Errorf("width %d: %q, want %q", c.width, got, c.want)
		}
		if w := ansi.StringWidth(got); w > c.width {
			t.Errorf("width %d: %d cells", c.width, w)
		}
	}
}

func TestFailingAndItsClass(t *testing.T) {
	for _, c := range []struct {
		s    vault.Session
		want bool
	}{
		{vault.Session{}, false},
		{vault.Session{LastStatus: "ok"}, false},
		{vault.Session{LastStatus: "cancelled"}, false},
		{vault.Session{LastStatus: "rejected"}, true},
		{vault.Session{LastStatus: "rejected", NeedsLogin: true}, false}, // counted as needs login
		{vault.Session{LastStatus: "network_error"}, true},
		{vault.Session{LastStatus: "interrupted"}, true},
	} {
		if got := Failing(c.s); got != c.want {
			t.Errorf("Failing(%+v) = %v", c.s.LastStatus, got)
		}
	}
	for _, c := range []struct {
		outcome string
		status  int
		want    string
	}{
		{"rejected", 422, "422"}, {"rejected", 0, "4xx"}, {"server_error", 502, "502"}, {"server_error", 0, "5xx"},
		{"server_error", 200, "bad"}, {"network_error", 0, "net"}, {"interrupted", 0, "lost"}, {"not_saved", 0, "save"},
	} {
		if got := FailureClass(c.outcome, c.status); got != c.want {
			t.Errorf("FailureClass(%s, %d) = %q, want %q", c.outcome, c.status, got, c.want)
		}
	}
}
