package vault

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Token is a decoded token. Claims are NOT verified: for display and timing only.
type Token struct {
	Raw       string
	Opaque    bool           // not a JWT: no header or claims
	Header    map[string]any // alg, typ, kid, ...
	Claims    map[string]any
	Alg       string
	Typ       string
	Kid       string
	Unsigned  bool // alg "none" (flagged, still decoded)
	IssuedAt  time.Time
	NotBefore time.Time
	ExpiresAt time.Time
}

// ErrEmptyToken is returned by DecodeToken for an empty or blank token.
var ErrEmptyToken = errors.New("empty token")

// DecodeError says which part of a JWT-looking token would not decode.
// It never holds the token itself.
type DecodeError struct {
	Part  string // "header", "claims" or "signature"
	Index int    // 1-based position of the part
	Err   error
}

// Error reads like "decode token: claims (part 2): illegal base64 data at input byte 5".
func (e *DecodeError) Error() string {
	return fmt.Sprintf("decode token: %s (part %d): %v", e.Part, e.Index, e.Err)
}

// Unwrap returns the base64 or JSON error.
func (e *DecodeError) Unwrap() error { return e.Err }

// jwtParser only decodes; it holds no state, so one is shared.
var jwtParser = jwt.NewParser()

// DecodeToken decodes a JWT without verifying it (golang-jwt ParseUnverified).
// Surrounding whitespace is ignored. A token that is not a JWT (three
// dot-separated parts, the first starting with "eyJ") is returned Opaque with
// no error. An empty token, or a JWT-looking token with broken base64 or
// JSON, is an error naming the part ("header", "claims" or "signature"): a
// *DecodeError, whose message never quotes the token.
func DecodeToken(raw string) (*Token, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, fmt.Errorf("decode token: %w", ErrEmptyToken)
	}
	if strings.HasPrefix(raw, "eyJ") && strings.Count(raw, ".") == 1 {
		// A JWT whose signature was lost in a paste, not an opaque token.
		return nil, &DecodeError{Part: "signature", Index: 3, Err: errors.New("missing: a JWT has three dot-separated parts")}
	}
	if !looksLikeJWT(raw) {
		return &Token{Raw: raw, Opaque: true}, nil
	}
	claims := jwt.MapClaims{}
	parsed, parts, err := jwtParser.ParseUnverified(raw, claims)
	// An unknown or missing alg (and "none") still yields header and claims,
	// flagged ErrTokenUnverifiable: fine for display.
	if err != nil && !errors.Is(err, jwt.ErrTokenUnverifiable) {
		return nil, describeMalformed(raw, parts)
	}
	t := &Token{Raw: raw, Header: parsed.Header, Claims: claims}
	t.Alg, _ = parsed.Header["alg"].(string)
	t.Typ, _ = parsed.Header["typ"].(string)
	t.Kid, _ = parsed.Header["kid"].(string)
	t.Unsigned = strings.EqualFold(t.Alg, "none")
	t.IssuedAt = claimTime(claims, "iat")
	t.NotBefore = claimTime(claims, "nbf")
	t.ExpiresAt = claimTime(claims, "exp")
	return t, nil
}

// looksLikeJWT: exactly three dot-separated parts, the first a base64url
// JSON object ("eyJ" is `{"`).
func looksLikeJWT(raw string) bool {
	return strings.Count(raw, ".") == 2 && strings.HasPrefix(raw, "eyJ")
}

// claimTime reads a NumericDate claim: seconds since the epoch, integer or
// float (kept to the millisecond; golang-jwt would truncate to the second).
// A missing, ill-typed or absurd claim is the zero time.
func claimTime(claims jwt.MapClaims, name string) time.Time {
	var secs float64
	switch v := claims[name].(type) {
	case float64:
		secs = v
	case json.Number:
		f, err := v.Float64()
		if err != nil {
			return time.Time{}
		}
		secs = f
	default:
		return time.Time{}
	}
	if math.IsNaN(secs) || math.Abs(secs) > 1e14 { // beyond year 3 million: nonsense
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(secs * 1000)))
}

// describeMalformed finds which part of a token golang-jwt rejected and
// why, in words that name the part and never quote the token.
func describeMalformed(raw string, parts []string) error {
	if len(parts) != 3 {
		parts = strings.SplitN(raw, ".", 3)
	}
	names := [...]string{"header", "claims", "signature"}
	for i, part := range parts {
		data, err := jwtParser.DecodeSegment(part)
		if err != nil {
			return &DecodeError{Part: names[i], Index: i + 1, Err: err}
		}
		if i < 2 {
			var obj map[string]any
			if err := json.Unmarshal(data, &obj); err != nil {
				return &DecodeError{Part: names[i], Index: i + 1, Err: fmt.Errorf("invalid JSON: %w", err)}
			}
		}
	}
	return errors.New("decode token: malformed JWT")
}

// Lifetime is exp - iat (0 when either is missing).
func (t *Token) Lifetime() time.Duration {
	if t.IssuedAt.IsZero() || t.ExpiresAt.IsZero() {
		return 0
	}
	return t.ExpiresAt.Sub(t.IssuedAt)
}

// FractionLeft is the share of the lifetime left at now, in [0,1] (-1 when unknown).
func (t *Token) FractionLeft(now time.Time) float64 {
	lifetime := t.Lifetime()
	if lifetime <= 0 {
		return -1
	}
	left := float64(t.ExpiresAt.Sub(now)) / float64(lifetime)
	return min(max(left, 0), 1)
}
