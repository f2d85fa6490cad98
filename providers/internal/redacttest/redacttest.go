// Package redacttest checks what an exchange shows once redacted and
// formatted, for the provider parsers' fuzz tests.
package redacttest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokentop/tokentop/providers"
)

// LookedFor says whether the redactor promises to mask s wherever it
// appears: 4 characters or more, and not spelled with a mask's "…(", digits
// and ")…".
func LookedFor(s string) bool {
	return utf8.RuneCountInString(s) >= 4 && !strings.ContainsAny(s, "…()") &&
		strings.Trim(s, "0123456789") != "" && utf8.ValidString(s)
}

// CheckShown fails t when the formatted exchange or err keeps a control
// character, when the redacted exchange does not marshal, or when one of
// tokens the redactor promises to mask (LookedFor) shows in the redacted
// request or response body, error, response headers, or in err.
func CheckShown(t testing.TB, ex *providers.Exchange, err error, tokens ...string) {
	t.Helper()
	red := ex.Redacted()
	if _, merr := json.Marshal(red); merr != nil {
		t.Fatal(merr)
	}
	var out bytes.Buffer
	ex.Format(&out, false)
	shown := out.String()
	if err != nil {
		shown += "\n" + err.Error()
	}
	if i := strings.IndexFunc(shown, func(r rune) bool { return r != '\n' && providers.UnsafeRune(r) }); i >= 0 {
		t.Fatalf("control character kept: %q", shown[i:])
	}
	var headers []string
	for _, vs := range red.ResponseHeader {
		headers = append(headers, vs...)
	}
	for _, tok := range tokens {
		if !LookedFor(tok) {
			continue
		}
		for _, text := range []string{red.RequestBody, red.ResponseBody, red.Error} {
			if strings.Contains(text, tok) {
				t.Fatalf("token %q shows in %q", tok, text)
			}
		}
		for _, text := range headers {
			if strings.Contains(text, tok) {
				t.Fatalf("token %q shows in a header: %q", tok, text)
			}
		}
		if err != nil && strings.Contains(err.Error(), tok) {
			t.Fatalf("token %q shows in the error %q", tok, err)
		}
	}
}
