package galileo

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/internal/redacttest"
	"github.com/tokentop/tokentop/vault"
)

// answer is the exchange of a refresh that got status, setCookie and body.
func answer(status int, setCookie, body string, broken bool) *providers.Exchange {
	ex := &providers.Exchange{
		StartedAt: clock, Method: http.MethodPost, URL: "https://api.acme.rungalileo.io/v1/refresh_token",
		RequestHeader: http.Header{"Cookie": {RefreshCookie + "=" + refreshToken}},
		Status:        status, StatusText: http.StatusText(status), Proto: "HTTP/1.1",
		ResponseHeader: http.Header{"Content-Type": {"application/json"}, "Set-Cookie": {setCookie}},
		ResponseBody:   body, BodyBroken: broken,
	}
	ex.AddSecrets(refreshToken)
	return ex
}

// FuzzParseToken: a /v1/refresh_token answer, body and Set-Cookie, never
// panics the parser; a success has an access token (a broken body gives at
// most the rotated refresh token: Capture returns the error); no token over the
// vault's limit is returned; tokens received are masked and nothing the
// server sent reaches the terminal raw.
func FuzzParseToken(f *testing.F) {
	cookie := RefreshCookie + "=" + newRefresh + "; Path=/; HttpOnly; Secure"
	for _, seed := range []struct {
		status       int
		cookie, body string
		broken       bool
	}{
		{200, cookie, `{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`, false},
		{200, cookie, `{"access_token": "` + opaqueAccess, true},
		{200, "", `{"token_type": null}`, false},
		{200, RefreshCookie + "=; Max-Age=0", `{"access_token": "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2ln"}`, false},
		{200, RefreshCookie + "=\x1b]52;c;SGVsbG8=\x07", `{"access_token": "\u001b[2J\u202e\u009b"}`, false},
		{422, "", `{"detail": [{"loc": ["cookie", "refresh_token"], "msg": "\u202efield required", "type": "missing"}]}`, false},
		{200, RefreshCookie + "=" + strings.Repeat("a", 300), `{"access_token": "` + strings.Repeat("b", 300) + `"}`, false},
	} {
		f.Add(seed.status, seed.cookie, seed.body, seed.broken)
	}
	f.Fuzz(func(t *testing.T, status int, setCookie, body string, broken bool) {
		if status < 100 || status > 999 {
			status = 200
		}
		ex := answer(status, setCookie, body, broken)
		res, err := parseToken(ex, refreshToken)
		if len(res.RefreshToken) > vault.MaxTokenLen || len(res.AccessToken) > vault.MaxTokenLen {
			t.Fatalf("a token over the limit returned: %d, %d bytes", len(res.RefreshToken), len(res.AccessToken))
		}
		switch {
		case broken && res.AccessToken != "":
			t.Fatal("an access token read from a broken body")
		case err == nil && !broken && (res.AccessToken == "" || status != 200):
			t.Fatalf("success without an access token: %+v", res)
		}
		if res.RefreshToken == refreshToken {
			t.Fatal("the token sent came back as rotated")
		}
		redacttest.CheckShown(t, ex, err, res.RefreshToken, res.AccessToken, refreshToken)
	})
}

// TestParseTokenLargeInputs: 1 MiB adversarial bodies and cookies are parsed
// and redacted in linear time.
func TestParseTokenLargeInputs(t *testing.T) {
	const size = 1 << 20
	for name, tc := range map[string]struct{ cookie, body string }{
		"one character body":   {"", strings.Repeat("a", size)},
		"one character cookie": {RefreshCookie + "=" + strings.Repeat("a", size), `{"access_token": "` + opaqueAccess + `"}`},
		"quotes":               {"", strings.Repeat(`"`, size)},
		"deep nesting":         {"", strings.Repeat(`{"access_token":`, size/16)},
		"huge access token":    {"", `{"access_token": "` + strings.Repeat("a", size) + `"}`},
		"many cookies":         {strings.Repeat(RefreshCookie+"=abcdefghijklmnop;", size/30), `{}`},
	} {
		start := time.Now()
		ex := answer(200, tc.cookie, tc.body, false)
		_, err := parseToken(ex, refreshToken)
		var out bytes.Buffer
		ex.Format(&out, false)
		t.Logf("%s: parse + Format of %d bytes took %s (%v)", name, len(tc.cookie)+len(tc.body), time.Since(start), err)
	}
}
