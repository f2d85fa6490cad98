package providers

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// envelopeText is every text of env that reaches a screen.
func envelopeText(env *Envelope) []string {
	texts := []string{env.Message, env.Code}
	for _, f := range env.Fields {
		texts = append(texts, f.Msg, f.Type, f.Where())
	}
	return texts
}

// FuzzParseEnvelope: ParseEnvelope never panics, keeps messages to one line
// of at most maxMessage characters, and lets no control character through
// in its message, code, field messages and types.
func FuzzParseEnvelope(f *testing.F) {
	for _, seed := range []struct {
		status      int
		contentType string
		body        string
	}{
		{401, "application/json", `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`},
		{422, "application/json", `{"detail": [{"loc": ["cookie", "refresh_token", 0], "msg": "field required", "type": "missing"}]}`},
		{403, "application/json", `{"detail": "Not authenticated"}`},
		{502, "text/html", "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"},
		{500, "text/plain", "\x1b]52;c;SGVsbG8=\x07\x1b[2J\u202e\u009b"},
		{400, "application/json", `{"error": {"message": "\u001b]0;PWNED\u0007\u202e\u009b"}}`},
		{500, "", strings.Repeat("[", 1000)},
		{500, "text/html", "<title>" + strings.Repeat("<", 500)},
	} {
		f.Add(seed.status, seed.contentType, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, status int, contentType string, body []byte) {
		env := ParseEnvelope(status, contentType, body)
		if env == nil || env.Status != status {
			t.Fatalf("envelope %+v", env)
		}
		for _, text := range envelopeText(env) {
			if strings.ContainsAny(text, "\n\r") || utf8.RuneCountInString(text) > maxMessage {
				t.Fatalf("not one short line: %q", text)
			}
		}
		for _, text := range envelopeText(env) {
			if i := strings.IndexFunc(text, UnsafeRune); i >= 0 {
				t.Fatalf("control character kept: %q", text)
			}
		}
		if _, err := json.Marshal(env); err != nil {
			t.Fatal(err)
		}
		_ = (&Error{Outcome: OutcomeRejected, Status: status, Envelope: env}).Error()
	})
}

// TestParseEnvelopeLargeInputs: 1 MiB adversarial bodies parse in linear time.
func TestParseEnvelopeLargeInputs(t *testing.T) {
	const size = 1 << 20
	for name, tc := range map[string]struct{ contentType, body string }{
		"one character":   {"text/plain", strings.Repeat("a", size)},
		"blank lines":     {"text/plain", strings.Repeat(" \n", size/2)},
		"deep nesting":    {"application/json", strings.Repeat("[", size)},
		"many quotes":     {"application/json", strings.Repeat(`"`, size)},
		"open titles":     {"text/html", strings.Repeat("<title>", size/7)},
		"open tags":       {"text/html", strings.Repeat("<", size)},
		"long message":    {"application/json", `{"detail": "` + strings.Repeat("\\u001b", size/6) + `"}`},
		"many fields":     {"application/json", `{"detail": [` + strings.Repeat(`{"loc": ["a"], "msg": "m"},`, size/28) + `{}]}`},
		"entities":        {"text/html", "<title>" + strings.Repeat("&amp;", size/5) + "</title>"},
		"unclosed string": {"application/json", `{"error": {"message": "` + strings.Repeat("x", size)},
	} {
		start := time.Now()
		env := ParseEnvelope(500, tc.contentType, []byte(tc.body))
		t.Logf("%s: ParseEnvelope of %d bytes took %s (shape %s, message %d bytes)", name, len(tc.body), time.Since(start), env.Shape, len(env.Message))
	}
}
