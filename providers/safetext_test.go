package providers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// hostile carries a window-title change, a screen clear and a bell.
const hostile = "\x1b]0;PWNED\x07\x1b[2J<b>oops</b>\u009b31m"

func TestSafeTextNeutralisesControls(t *testing.T) {
	got := SafeText("line one\n\ttab " + hostile)
	if strings.ContainsAny(got, "\x1b\x07\u009b") {
		t.Fatalf("control characters kept: %q", got)
	}
	if !strings.Contains(got, `\x1b]0;PWNED\x07`) || !strings.HasPrefix(got, "line one\n\ttab ") {
		t.Fatalf("text not kept readable: %q", got)
	}
}

// TestServerTextNeverReachesTheTerminalRaw: envelopes, errors and the
// curl-like exchange all neutralise a hostile server's control characters.
func TestServerTextNeverReachesTheTerminalRaw(t *testing.T) {
	bodies := map[string]string{
		"html":      "<html><title>" + hostile + "</title></html>",
		"pathstack": `{"error": {"code": 401, "message": "\u001b]0;PWNED\u0007\u001b[2J"}}`,
		"fastapi":   `{"detail": [{"loc": ["body", "\u001b[2J"], "msg": "\u0007bad", "type": "x"}]}`,
	}
	for name, body := range bodies {
		env := ParseEnvelope(500, "text/html", []byte(body))
		all := env.Message + env.Code
		for _, f := range env.Fields {
			all += f.Msg + f.Type + locText(f.Loc)
		}
		if strings.ContainsAny(all, "\x1b\x07\u009b") {
			t.Errorf("%s: envelope keeps control characters: %q", name, all)
		}
		if b, _ := json.Marshal(env); !bytes.Contains(b, []byte(`"fields":[`)) {
			t.Errorf("%s: fields is not an array in JSON: %s", name, b)
		}
	}
	ex := &Exchange{Method: "POST", URL: "https://x.example/refresh", Status: 500, StatusText: "500 Internal Server Error",
		Proto: "HTTP/1.1", RequestHeader: http.Header{}, ResponseHeader: http.Header{"X-Evil": {hostile}}, ResponseBody: hostile}
	var out bytes.Buffer
	ex.Format(&out, true)
	if bytes.ContainsAny(out.Bytes(), "\x1b\x07") || strings.Contains(out.String(), "\u009b") {
		t.Fatalf("Format wrote control characters: %q", out.String())
	}
}

func locText(loc []any) string {
	var b strings.Builder
	for _, l := range loc {
		if s, ok := l.(string); ok {
			b.WriteString(s)
		}
	}
	return b.String()
}
