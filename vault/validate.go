package vault

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
)

// MaxTokenLen is the longest token (access or refresh) the vault stores, in
// bytes. Real tokens are a few KB at most; a longer one is refused, with an
// error that gives its length, rather than stored, sent in every request and
// redacted in every exchange.
const MaxTokenLen = 16 << 10

// DefaultPathStackBaseURL is the base URL a PathStack session gets when none
// is given. Galileo has no default: every tenant has its own host.
const DefaultPathStackBaseURL = "https://api.pathstack.io"

// prepareSession fills what can be derived (PathStack's default base URL,
// token times from JWT claims) and validates the result.
func prepareSession(sess *Session) error {
	if sess.Provider == ProviderPathStack && sess.BaseURL == "" {
		sess.BaseURL = DefaultPathStackBaseURL
	}
	access, refresh, err := checkSession(sess)
	if err != nil {
		return err
	}
	fillTokenTimes(&sess.IssuedAt, &sess.ExpiresAt, &sess.RefreshExpiresAt, access, refresh)
	return nil
}

// ValidateInfo checks a session's provider, label, base URL and API version
// (not its tokens), so that a caller can refuse bad input before it spends
// anything, e.g. before a login's request.
func ValidateInfo(provider, label, baseURL, apiVersion string) error {
	s := Session{Provider: provider, Label: label, BaseURL: baseURL, APIVersion: apiVersion,
		Sub: "00000000-0000-4000-8000-000000000000", AccessToken: "placeholder", RefreshToken: "placeholder"}
	return validateSession(&s)
}

// validateSession checks everything a session needs before it is stored.
// Messages name the field, never a token's value.
func validateSession(sess *Session) error {
	_, _, err := checkSession(sess)
	return err
}

// checkSession is validateSession that also returns the tokens decoded.
func checkSession(sess *Session) (access, refresh *Token, err error) {
	switch sess.Provider {
	case ProviderPathStack, ProviderGalileo:
	default:
		return nil, nil, fmt.Errorf("%w: unknown provider %q", ErrInvalid, sess.Provider)
	}
	if err := validateLabel(sess.Label); err != nil {
		return nil, nil, err
	}
	if err := validateBaseURL(sess.BaseURL); err != nil {
		return nil, nil, err
	}
	if err := validateAPIVersion(sess.APIVersion); err != nil {
		return nil, nil, err
	}
	if sess.Provider == ProviderPathStack && sess.Sub == "" {
		return nil, nil, fmt.Errorf("%w: a PathStack session needs its sub", ErrInvalid)
	}
	if hasSpaceOrControl(sess.Sub) {
		return nil, nil, fmt.Errorf("%w: sub contains whitespace or control characters", ErrInvalid)
	}
	if access, err = checkToken("access token", sess.AccessToken); err != nil {
		return nil, nil, err
	}
	if refresh, err = checkToken("refresh token", sess.RefreshToken); err != nil {
		return nil, nil, err
	}
	if hasSpaceOrControl(sess.TokenType) {
		return nil, nil, fmt.Errorf("%w: token type contains whitespace or control characters", ErrInvalid)
	}
	return access, refresh, nil
}

func validateLabel(label string) error {
	if label == "" {
		return fmt.Errorf("%w: empty label", ErrInvalid)
	}
	if hasSpaceOrControl(label) {
		return fmt.Errorf("%w: label %q contains whitespace or control characters", ErrInvalid, label)
	}
	return nil
}

func validateBaseURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: no base URL (Galileo has no default host)", ErrInvalid)
	}
	if hasSpaceOrControl(raw) {
		return fmt.Errorf("%w: base URL %q contains whitespace or control characters", ErrInvalid, raw)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base URL %q is not an absolute http(s) URL", ErrInvalid, raw)
	}
	if u.User != nil {
		// The URL is stored in plaintext: credentials do not belong in it.
		return fmt.Errorf("%w: base URL must not contain credentials", ErrInvalid)
	}
	return nil
}

func validateAPIVersion(v string) error {
	if hasSpaceOrControl(v) {
		return fmt.Errorf("%w: API version %q contains whitespace or control characters", ErrInvalid, v)
	}
	return nil
}

// checkToken requires a non-empty token without whitespace or control
// characters (a pasted token with a newline would break every header), and
// returns it decoded.
func checkToken(what, tok string) (*Token, error) {
	if tok == "" {
		return nil, fmt.Errorf("%w: %s is empty", ErrInvalid, what)
	}
	if len(tok) > MaxTokenLen {
		return nil, fmt.Errorf("%w: %s is %d bytes, over the %d-byte limit", ErrInvalid, what, len(tok), MaxTokenLen)
	}
	if hasSpaceOrControl(tok) {
		return nil, fmt.Errorf("%w: %s contains whitespace or control characters", ErrInvalid, what)
	}
	// A token that looks like a JWT must decode: a paste that lost characters
	// would otherwise only fail at the provider. Opaque tokens pass.
	t, err := DecodeToken(tok)
	if err != nil {
		return nil, fmt.Errorf("%w: %s is malformed: %v", ErrInvalid, what, err)
	}
	return t, nil
}

// hasSpaceOrControl reports whitespace, control characters (C0, DEL, C1),
// bidirectional controls and invalid UTF-8 (read as U+FFFD): none belongs in
// a label, URL, version, sub, token type or token, and each could disguise
// what a terminal shows.
func hasSpaceOrControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || IsBidiControl(r) || r == unicode.ReplacementChar
	}) >= 0
}

// IsBidiControl reports the Unicode bidirectional formatting characters
// (ALM U+061C, LRM/RLM U+200E/F, LRE…RLO U+202A–U+202E, LRI…PDI
// U+2066–U+2069): invisible, they reorder the text around them on screen,
// so "evil‮txt.exe" can display as something else.
func IsBidiControl(r rune) bool {
	switch {
	case r == '\u061c', r == '\u200e', r == '\u200f':
		return true
	case r >= '\u202a' && r <= '\u202e':
		return true
	case r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}

// fillTokenTimes sets the zero ones among issued, expires and refreshExpires
// from the decoded tokens' iat and exp claims, where they have them (nil:
// no token, or one that does not decode).
func fillTokenTimes(issued, expires, refreshExpires *time.Time, access, refresh *Token) {
	if access != nil {
		if issued.IsZero() {
			*issued = access.IssuedAt
		}
		if expires.IsZero() {
			*expires = access.ExpiresAt
		}
	}
	if refresh != nil && refreshExpires.IsZero() {
		*refreshExpires = refresh.ExpiresAt
	}
}
