package providers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestSafeTextHiddenControls: C1 controls show as \xNN and bidirectional
// controls as \uNNNN; invalid UTF-8 becomes U+FFFD; other text is kept.
func TestSafeTextHiddenControls(t *testing.T) {
	for in, want := range map[string]string{
		"a\u202eb":           `a\u202eb`,
		"\u2066x\u2069":      `\u2066x\u2069`,
		"\u200e\u200f\u061c": `\u200e\u200f\u061c`,
		"\u009b31m\u0085":    `\x9b31m\x85`,
		"\x1b]52;c;SGk=\x07": `\x1b]52;c;SGk=\x07`,
		"\x7f":               `\x7f`,
		"caf\xe9 \x9b2J":     "caf\ufffd \ufffd2J",
		"\x9b\x000":          "\ufffd\\x000", // invalid byte before a control
		"é ✓ 日本 \n\t":        "é ✓ 日本 \n\t",
		"\u200b\u00a0":       "\u200b\u00a0", // not controls: kept
	} {
		if got := SafeText(in); got != want {
			t.Errorf("SafeText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSafeJSON: encoding/json leaves DEL, C1 and bidi controls raw;
// SafeJSON escapes them and the document still decodes to the same value.
func TestSafeJSON(t *testing.T) {
	in := map[string]string{"label": "evil\u202etxt.exe", "msg": "\u009b2J\x7f\x1b[31m", "ok": "é ✓"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), "\u202e") {
		t.Fatalf("encoding/json now escapes U+202E itself: %s", raw)
	}
	safe := SafeJSON(raw)
	if strings.ContainsAny(string(safe), "\u202e\u009b\x7f\x1b") || !strings.Contains(string(safe), `evil\u202etxt.exe`) {
		t.Fatalf("SafeJSON left a control: %q", safe)
	}
	var back map[string]string
	if err := json.Unmarshal(safe, &back); err != nil || back["label"] != in["label"] || back["msg"] != in["msg"] || back["ok"] != in["ok"] {
		t.Fatalf("decoded %q (%v), want %q", back, err, in)
	}
	indented, _ := json.MarshalIndent(in, "", "\t")
	if got := SafeJSON(indented); !json.Valid(got) || !strings.Contains(string(got), "\n\t") {
		t.Fatalf("indentation changed: %q", got)
	}
}

// unsafeLeft is the first character that should never reach a terminal
// (C0 but newline and tab, DEL, C1, bidi controls), or -1.
func unsafeLeft(s string) int {
	return strings.IndexFunc(s, UnsafeRune)
}

// FuzzSafeText: the output keeps no unsafe character, is valid UTF-8, is the
// input when there was nothing to escape, and grows by a bounded factor.
func FuzzSafeText(f *testing.F) {
	for _, seed := range []string{
		"plain text", "\x1b]52;c;SGVsbG8=\x07", "\x1b[2J\x1b[H", "evil\u202etxt.exe", "\u009b31m",
		"\u2066\u2067\u2068\u2069\u200e\u200f\u061c", "caf\xe9\x9b", strings.Repeat("\u202e", 1000), "\n\t\r",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := SafeText(s)
		if i := unsafeLeft(got); i >= 0 {
			t.Fatalf("SafeText(%q) = %q keeps %q", s, got, got[i:])
		}
		if !utf8.ValidString(got) {
			t.Fatalf("SafeText(%q) = %q is not valid UTF-8", s, got)
		}
		if utf8.ValidString(s) && unsafeLeft(s) < 0 && got != s {
			t.Fatalf("SafeText(%q) = %q changed safe text", s, got)
		}
		if len(got) > 6*len(s) {
			t.Fatalf("output %d bytes for %d", len(got), len(s))
		}
		safe := SafeJSON([]byte(mustJSON(t, s)))
		var back string
		if err := json.Unmarshal(safe, &back); err != nil || back != string([]rune(s)) {
			t.Fatalf("SafeJSON(%q) decodes to %q (%v)", s, back, err)
		}
		if i := strings.IndexFunc(string(safe), func(r rune) bool { return r != '\n' && UnsafeRune(r) }); i >= 0 {
			t.Fatalf("SafeJSON keeps %q", string(safe)[i:])
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestSafeTextLargeInputs: 1 MiB adversarial inputs take linear time.
func TestSafeTextLargeInputs(t *testing.T) {
	const size = 1 << 20
	for name, s := range map[string]string{
		"one character": strings.Repeat("a", size),
		"all escapes":   strings.Repeat("\x1b", size),
		"bidi":          strings.Repeat("\u202e", size/3),
		"invalid UTF-8": strings.Repeat("\x9b", size),
		"quotes":        strings.Repeat(`"`, size),
	} {
		start := time.Now()
		out := SafeText(s)
		js := SafeJSON([]byte(mustJSON(t, s)))
		t.Logf("%s: SafeText + SafeJSON of %d bytes took %s (%d, %d bytes out)", name, len(s), time.Since(start), len(out), len(js))
	}
}
