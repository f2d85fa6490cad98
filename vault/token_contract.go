package vault

// CONTRACT STUB — replaced by the vault helper (token.go).

import "time"

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

// DecodeToken decodes a JWT without verifying it (golang-jwt ParseUnverified).
// A token that is not a JWT is returned Opaque with no error. An empty token,
// or a JWT-looking token with broken base64 or JSON, is an error naming the
// part ("header" or "claims").
func DecodeToken(raw string) (*Token, error) { panic("unimplemented") }

// Lifetime is exp - iat (0 when either is missing).
func (t *Token) Lifetime() time.Duration { panic("unimplemented") }

// FractionLeft is the share of the lifetime left at now, in [0,1] (-1 when unknown).
func (t *Token) FractionLeft(now time.Time) float64 { panic("unimplemented") }
