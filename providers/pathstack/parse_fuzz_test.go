package pathstack

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

// answer is the exchange of a refresh (or login) that got status and body.
func answer(status int, body string, broken bool) *providers.Exchange {
	ex := &providers.Exchange{
		StartedAt: clock, Method: http.MethodPost, URL: "https://api.pathstack.io/refresh",
		RequestHeader: http.Header{"Content-Type": {"application/json"}},
		RequestBody:   `{"sub": "` + sub + `", "refresh_token": "` + refreshToken + `"}`,
		Status:        status, StatusText: http.StatusText(status), Proto: "HTTP/1.1",
		ResponseHeader: http.Header{"Content-Type": {"application/json"}},
		ResponseBody:   body, BodyBroken: broken,
	}
	ex.AddSecrets(refreshToken)
	return ex
}

// FuzzParseTokens: a /refresh or /token body never panics the parser; a
// success has an access token and an expiry no earlier than the request; no
// token over the vault's limit is returned; tokens received are masked, and
// nothing the server sent reaches the terminal raw.
func FuzzParseTokens(f *testing.F) {
	ok := `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "` + accessToken + `", "refresh_token": "` + newRefresh + `", "sub": "` + sub + `"}}`
	for _, seed := range []struct {
		status        int
		body          string
		broken, login bool
	}{
		{200, ok, false, false},
		{200, ok, false, true},
		{200, ok[:len(ok)/2], true, false},
		{200, ok[:strings.Index(ok, `", "sub"`)+1], true, false},
		{200, `{"data": {"access_token": "a", "expires_in": 9223372036854775807}}`, false, false},
		{200, `{"data": {"access_token": "a", "expires_in": -1}}`, false, false},
		{200, `{"data": {"access_token": "a", "expires_in": 1e400}}`, false, false},
		{200, `{"data": {"access_token": "\u001b]52;c;SGVsbG8=\u0007", "expires_in": 1, "refresh_token": "\u202e\u009b\u001b[2J"}}`, false, false},
		{401, `{"error": {"code": 401, "message": "Invalid Refresh Token\u001b[2J"}}`, false, false},
		{200, strings.Repeat(`{"data":`, 200), false, false},
	} {
		f.Add(seed.status, seed.body, seed.broken, seed.login)
	}
	f.Fuzz(func(t *testing.T, status int, body string, broken, login bool) {
		if status < 100 || status > 999 {
			status = 200
		}
		ex := answer(status, body, broken)
		res, err := parseTokens(ex, login)
		if len(res.RefreshToken) > vault.MaxTokenLen || len(res.AccessToken) > vault.MaxTokenLen {
			t.Fatalf("a token over the limit returned: %d, %d bytes", len(res.RefreshToken), len(res.AccessToken))
		}
		switch {
		case broken && res.AccessToken != "":
			t.Fatal("an access token read from a broken body")
		case err == nil && !broken && (res.AccessToken == "" || status != 200):
			t.Fatalf("success without an access token: %+v", res)
		case err == nil && !broken && res.ExpiresAt.Before(ex.StartedAt):
			t.Fatalf("expiry %v before the request %v", res.ExpiresAt, ex.StartedAt)
		case err == nil && login && !broken && (res.RefreshToken == "" || res.Sub == ""):
			t.Fatalf("login without refresh token or sub: %+v", res)
		}
		redacttest.CheckShown(t, ex, err, res.AccessToken, res.RefreshToken, refreshToken)
	})
}

// TestParseTokensLargeInputs: 1 MiB adversarial bodies are parsed (a broken
// one too) and redacted in linear time.
func TestParseTokensLargeInputs(t *testing.T) {
	const size = 1 << 20
	for name, body := range map[string]string{
		"one character":     strings.Repeat("a", size),
		"quotes":            strings.Repeat(`"`, size),
		"deep nesting":      strings.Repeat(`{"data":`, size/8),
		"deep arrays":       `{"meta": ` + strings.Repeat(`[`, size),
		"huge refresh":      `{"data": {"refresh_token": "` + strings.Repeat("a", size) + `"}}`,
		"many members":      `{"data": {` + strings.Repeat(`"x": "abcdefgh", `, size/17) + `"refresh_token": "` + newRefresh + `"}}`,
		"escapes in string": `{"data": {"refresh_token": "` + strings.Repeat(`\u00e9`, size/6) + `"}}`,
	} {
		for _, broken := range []bool{false, true} {
			start := time.Now()
			ex := answer(200, body, broken)
			res, err := parseTokens(ex, false)
			var out bytes.Buffer
			ex.Format(&out, false)
			t.Logf("%s (broken %v): parse + Format of %d bytes took %s (refresh %d bytes; %v)", name, broken, len(body), time.Since(start), len(res.RefreshToken), err)
		}
	}
}
