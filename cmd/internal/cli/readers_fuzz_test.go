package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

var readerClock = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// readerApp is an app whose stdin is data, for the file readers.
func readerApp(data []byte) *app {
	return &app{io: stdio{in: bytes.NewReader(data), now: func() time.Time { return readerClock },
		getenv: func(string) string { return "" }}}
}

// TestLoginResponseExpiresInBounds: a huge expires_in is capped at ten years
// (it overflowed into an expiry in the past); a negative one is refused.
func TestLoginResponseExpiresInBounds(t *testing.T) {
	for _, tc := range []struct {
		expiresIn string
		want      time.Time // zero: refused
	}{
		{"3600", readerClock.Add(time.Hour)},
		{"9223372036854775807", readerClock.Add(maxLoginExpiresIn * time.Second)},
		{"-5", time.Time{}},
	} {
		body := `{"data": {"access_token": "a-ok", "refresh_token": "r-ok", "sub": "8c1e", "expires_in": ` + tc.expiresIn + `}}`
		var sess vault.Session
		err := readerApp([]byte(body)).fillFromLoginResponse(&sess, "-")
		if tc.want.IsZero() {
			if err == nil {
				t.Errorf("expires_in %s accepted: expires %v", tc.expiresIn, sess.ExpiresAt)
			}
			continue
		}
		if err != nil || !sess.ExpiresAt.Equal(tc.want) {
			t.Errorf("expires_in %s: expires %v (%v), want %v", tc.expiresIn, sess.ExpiresAt, err, tc.want)
		}
	}
}

// FuzzLoginResponse: reading a --login-response body never panics, never
// puts a token in its error, and never yields an expiry before the issue time.
func FuzzLoginResponse(f *testing.F) {
	for _, seed := range []string{
		`{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "MRK-access-0123456789", "refresh_token": "MRK-refresh-0123456789", "sub": "8c1e4a52"}}`,
		`{"data": {"expires_in": 9223372036854775807, "access_token": "a", "refresh_token": "r", "sub": "s"}}`,
		`{"data": {"expires_in": -1, "access_token": "a", "refresh_token": "r", "sub": "s"}}`,
		`{"data": {"access_token": "\u001b]52;c;SGVsbG8=\u0007", "refresh_token": "\u202e\u009b", "sub": "\u001b[2J"}}`,
		`{"data": null}`,
		`[[[[[[[[[[`,
		strings.Repeat(`"`, 1000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var sess vault.Session
		err := readerApp(data).fillFromLoginResponse(&sess, "-")
		if err != nil {
			checkNoTokens(t, err, data)
			return
		}
		if sess.AccessToken == "" || sess.RefreshToken == "" || sess.Sub == "" {
			t.Fatalf("accepted without tokens or sub: %+v", sess)
		}
		if sess.ExpiresAt.Before(sess.IssuedAt) {
			t.Fatalf("expires %v before issued %v", sess.ExpiresAt, sess.IssuedAt)
		}
	})
}

// FuzzImport: reading an import file never panics and never puts a token in
// its error; what it returns has tokens.
func FuzzImport(f *testing.F) {
	for _, seed := range []string{
		`{"tokentop_export": 2, "exported_at": "2025-03-01T12:00:00Z", "with_secrets": true, "sessions": [{"label": "prod", "provider": "pathstack", "base_url": "https://api.pathstack.io", "sub": "8c1e", "token_type": "Bearer", "issued_at": null, "expires_at": "2025-03-01T13:00:00Z", "refresh_expires_at": null, "schedule": {"spec": "every 30m", "enabled": true}, "access_token": "MRK-access-0123456789", "refresh_token": "MRK-refresh-0123456789"}]}`,
		`{"tokentop_export": 1, "sessions": [{"label": "a\u202eb", "provider": "galileo", "base_url": "https://x", "issued_at": "not a time", "expires_at": null, "refresh_expires_at": null, "access_token": "MRK-access-0123456789", "refresh_token": "MRK-refresh-0123456789"}]}`,
		`{"tokentop_export": 2, "sessions": [{"label": "\u001b]52;c;SGVsbG8=\u0007", "schedule": {"spec": "\u001b[2J\u009b"}, "access_token": "MRK-access-0123456789", "refresh_token": "MRK-refresh-0123456789", "issued_at": null, "expires_at": null, "refresh_expires_at": null}]}`,
		`{"tokentop_export": 99}`,
		`{"tokentop_export": 2, "sessions": [], "extra": 1}`,
		strings.Repeat(`[`, 1000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := readerApp(data).readImport("-")
		if err != nil {
			checkNoTokens(t, err, data)
			return
		}
		if len(entries) == 0 {
			t.Fatal("no error and no sessions")
		}
	})
}

// checkNoTokens fails when err quotes a token of the JSON document data
// (one of 8 bytes or more that appears in no other field), or when its text
// as the CLI prints it (SafeText) holds a control character.
func checkNoTokens(t *testing.T, err error, data []byte) {
	t.Helper()
	msg := err.Error()
	if shown := providers.SafeText(msg); strings.IndexFunc(shown, func(r rune) bool {
		return r != '\n' && providers.UnsafeRune(r)
	}) >= 0 {
		t.Fatalf("printed error keeps control characters: %q", shown)
	}
	var doc any
	if json.Unmarshal(data, &doc) != nil {
		return
	}
	var tokens, others []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				others = append(others, k)
				walk(k, x)
			}
		case []any:
			for _, x := range v {
				walk(key, x)
			}
		case string:
			if key == "access_token" || key == "refresh_token" {
				tokens = append(tokens, v)
			} else {
				others = append(others, v)
			}
		}
	}
	walk("", doc)
	all := strings.Join(others, "\x00")
	for _, tok := range tokens {
		if len(tok) >= 8 && !strings.Contains(all, tok) && strings.Contains(msg, tok) {
			t.Fatalf("error %q quotes a token", msg)
		}
	}
}

// TestReadersLargeInputs: 1 MiB adversarial files are read (and refused) in
// linear time.
func TestReadersLargeInputs(t *testing.T) {
	const size = 1 << 20
	token := `"access_token": "` + strings.Repeat("a", size) + `"`
	for name, data := range map[string]string{
		"one character": strings.Repeat("a", size),
		"quotes":        strings.Repeat(`"`, size),
		"deep nesting":  strings.Repeat(`{"data":`, size/8),
		"huge token":    `{"data": {` + token + `, "refresh_token": "r", "sub": "s"}}`,
		"huge import":   `{"tokentop_export": 2, "sessions": [{"label": "p", ` + token + `, "refresh_token": "r"}]}`,
	} {
		start := time.Now()
		var sess vault.Session
		lerr := readerApp([]byte(data)).fillFromLoginResponse(&sess, "-")
		_, ierr := readerApp([]byte(data)).readImport("-")
		t.Logf("%s: both readers on %d bytes took %s (login: %v; import: %v)", name, len(data), time.Since(start), lerr != nil, ierr != nil)
	}
}
