package vault

import (
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestTokenLengthLimit: a token over MaxTokenLen is refused at creation and
// in a refresh's update, the message giving its length and never its value;
// one of exactly MaxTokenLen bytes is stored.
func TestTokenLengthLimit(t *testing.T) {
	s := newTestEnv(t).open(t)
	long := "SECRET" + strings.Repeat("a", MaxTokenLen-5) // MaxTokenLen+1 bytes
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"session access token", s.CreateSession(ctxb(), &Session{Provider: ProviderGalileo, Label: "a",
			BaseURL: "https://api.acme.rungalileo.io", AccessToken: long, RefreshToken: "r-ok"})},
		{"session refresh token", s.CreateSession(ctxb(), &Session{Provider: ProviderGalileo, Label: "b",
			BaseURL: "https://api.acme.rungalileo.io", AccessToken: "a-ok", RefreshToken: long})},
		{"update access token", CheckTokenUpdate(&TokenUpdate{AccessToken: long})},
		{"update refresh token", CheckTokenUpdate(&TokenUpdate{AccessToken: "a-ok", RefreshToken: long})},
	} {
		want := strconv.Itoa(len(long)) + " bytes, over the 16384-byte limit"
		if !errors.Is(tc.err, ErrInvalid) || !strings.Contains(tc.err.Error(), want) || strings.Contains(tc.err.Error(), "SECRET") {
			t.Errorf("%s: %v, want ErrInvalid saying %q", tc.name, tc.err, want)
		}
	}
	exact := strings.Repeat("r", MaxTokenLen)
	if err := s.CreateSession(ctxb(), &Session{Provider: ProviderGalileo, Label: "c",
		BaseURL: "https://api.acme.rungalileo.io", AccessToken: "a-ok", RefreshToken: exact}); err != nil {
		t.Errorf("a token of exactly MaxTokenLen bytes: %v", err)
	}
}

// TestHiddenControlsRefused: C1 controls and bidirectional controls are
// refused in every plain-text field, like ESC always was.
func TestHiddenControlsRefused(t *testing.T) {
	for _, bad := range []string{"\u202e", "\u2066", "\u200f", "\u061c", "\u009b", "\u0085", "\x1b"} {
		for _, tc := range []struct {
			field  string
			modify func(*Session)
		}{
			{"label", func(s *Session) { s.Label = "prod" + bad + "txt" }},
			{"base URL", func(s *Session) { s.BaseURL = "https://api.pathstack.io/" + bad }},
			{"API version", func(s *Session) { s.APIVersion = "2024" + bad }},
			{"sub", func(s *Session) { s.Sub = "8c1e" + bad }},
			{"token type", func(s *Session) { s.TokenType = "Bearer" + bad }},
			{"access token", func(s *Session) { s.AccessToken = "tok" + bad }},
		} {
			sess := Session{Provider: ProviderPathStack, Label: "prod", BaseURL: "https://api.pathstack.io",
				APIVersion: "2024-03-27", Sub: "8c1e", AccessToken: "a-ok", RefreshToken: "r-ok", TokenType: "Bearer"}
			tc.modify(&sess)
			if err := validateSession(&sess); !errors.Is(err, ErrInvalid) {
				t.Errorf("%s with %q: %v, want ErrInvalid", tc.field, bad, err)
			}
		}
		if err := CheckTokenUpdate(&TokenUpdate{AccessToken: "a-ok", TokenType: "bearer" + bad}); !errors.Is(err, ErrInvalid) {
			t.Errorf("token type update with %q: %v", bad, err)
		}
	}
}

// FuzzDecodeToken: DecodeToken never panics, never quotes the token in an
// error, and keeps times sane; checkToken agrees with the length limit.
func FuzzDecodeToken(f *testing.F) {
	for _, seed := range []string{
		"opaque-token",
		"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1In0.c2ln",
		"eyJhbGciOiJub25lIn0.eyJleHAiOjE3MDAwMDAwMDB9.",
		"eyJ.eyJ.x",
		"eyJhbGciOiJIUzI1NiJ9.e30",
		"\x1b]52;c;SGVsbG8=\x07",
		"\x1b[2J\u202e\u009b",
		strings.Repeat("a", 2000),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := DecodeToken(raw)
		if err != nil {
			if tok != nil {
				t.Fatalf("token and error: %v", err)
			}
			if inner := strings.TrimSpace(raw); len(inner) >= 8 && strings.Contains(err.Error(), inner) {
				t.Fatalf("error %q quotes the token", err)
			}
		} else {
			if tok.Raw != strings.TrimSpace(raw) {
				t.Fatalf("Raw %q, want the trimmed input", tok.Raw)
			}
			for _, tm := range []time.Time{tok.IssuedAt, tok.NotBefore, tok.ExpiresAt} {
				if !tm.IsZero() && (tm.Year() < -3_000_000 || tm.Year() > 3_200_000) {
					t.Fatalf("absurd time %v", tm)
				}
			}
			_ = tok.FractionLeft(time.Unix(1_700_000_000, 0))
		}
		_, verr := checkToken("token", raw)
		if len(raw) > MaxTokenLen && verr == nil {
			t.Fatalf("a %d-byte token passed validation", len(raw))
		}
		if verr == nil && (hasSpaceOrControl(raw) || !utf8.ValidString(raw)) {
			t.Fatalf("a token with controls or invalid UTF-8 passed validation")
		}
	})
}

// TestDecodeTokenLargeInputs: 1 MiB adversarial tokens decode (or fail) in
// linear time.
func TestDecodeTokenLargeInputs(t *testing.T) {
	const size = 1 << 20
	for name, raw := range map[string]string{
		"one character": strings.Repeat("a", size),
		"dots":          strings.Repeat(".", size),
		"jwt-looking":   "eyJ" + strings.Repeat("A", size/2) + "." + strings.Repeat("B", size/2) + ".c",
		"nested claims": "eyJhbGciOiJIUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat(`{"a":`, size/8))) + ".c2ln",
	} {
		start := time.Now()
		_, err := DecodeToken(raw)
		_, verr := checkToken("token", raw)
		t.Logf("%s: DecodeToken + checkToken of %d bytes took %s (%v; %v)", name, len(raw), time.Since(start), err != nil, verr)
		if verr == nil {
			t.Errorf("%s: a %d-byte token passed validation", name, len(raw))
		}
	}
}
