package fake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// errInvalidRefresh is every refresh-token failure: unknown, expired, revoked,
// reused or for another sub. Providers do not say which, and neither do we.
var errInvalidRefresh = errors.New("invalid refresh token")

// tokenHash keys refresh records: a digest is smaller than the token and
// still exact.
type tokenHash [sha256.Size]byte

// family is one login's chain of refresh tokens. Its sub and access TTL never
// change after creation, so they are read without the lock.
type family struct {
	sub       string
	accessTTL time.Duration
	revoked   bool // guarded by Server.mu
}

// refreshRecord is one issued refresh token.
type refreshRecord struct {
	fam     *family
	expires time.Time
	used    bool // rotated away: presenting it again is reuse
}

// tokenClaims are the claims of every token the fakes issue. A struct (not
// jwt.MapClaims) keeps encoding cheap and aud a plain string.
type tokenClaims struct {
	Iss    string `json:"iss"`
	Sub    string `json:"sub"`
	Aud    string `json:"aud"`
	Iat    int64  `json:"iat"`
	Exp    int64  `json:"exp"`
	Jti    string `json:"jti"`
	Typ    string `json:"typ"` // "access" or "refresh"
	Scope  string `json:"scope"`
	Email  string `json:"email,omitempty"`  // PathStack
	Tenant string `json:"tenant,omitempty"` // Galileo
}

// The jwt.Claims methods; only tests verify tokens, the server never parses
// them (refresh tokens are looked up by digest).

func (c tokenClaims) GetExpirationTime() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Exp, 0)), nil
}
func (c tokenClaims) GetIssuedAt() (*jwt.NumericDate, error) {
	return jwt.NewNumericDate(time.Unix(c.Iat, 0)), nil
}
func (c tokenClaims) GetNotBefore() (*jwt.NumericDate, error) { return nil, nil }
func (c tokenClaims) GetIssuer() (string, error)              { return c.Iss, nil }
func (c tokenClaims) GetSubject() (string, error)             { return c.Sub, nil }
func (c tokenClaims) GetAudience() (jwt.ClaimStrings, error)  { return jwt.ClaimStrings{c.Aud}, nil }

// sign issues a token of typ ("access" or "refresh") for fam.
func (s *Server) sign(fam *family, typ string, now time.Time, ttl time.Duration) (string, error) {
	c := tokenClaims{
		Iss:   s.URL,
		Sub:   fam.sub,
		Aud:   s.flavor.audience,
		Iat:   now.Unix(),
		Exp:   now.Add(ttl).Unix(),
		Jti:   rand.Text(),
		Typ:   typ,
		Scope: "read write",
	}
	s.flavor.customClaims(s, &c)
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("sign %s token: %w", typ, err)
	}
	return tok, nil
}

// issued is what a login, mint or refresh hands out.
type issued struct {
	access    string
	refresh   string // empty when a refresh did not rotate
	sub       string
	accessTTL time.Duration
}

// Mint starts a new token family, as a login would, without counting an auth
// request: the same as POST /_fake/sessions. accessTTL 0 means the server
// default; the family keeps its access TTL through rotations.
func (s *Server) Mint(accessTTL time.Duration) (Tokens, error) {
	if accessTTL < 0 {
		return Tokens{}, fmt.Errorf("mint: negative access ttl %s", accessTTL)
	}
	out, err := s.newFamily(accessTTL)
	if err != nil {
		return Tokens{}, fmt.Errorf("mint: %w", err)
	}
	return Tokens{AccessToken: out.access, RefreshToken: out.refresh, Sub: out.sub}, nil
}

// newFamily issues an access and a refresh token for a new family.
func (s *Server) newFamily(accessTTL time.Duration) (issued, error) {
	if accessTTL == 0 {
		accessTTL = s.opts.AccessTTL
	}
	fam := &family{sub: s.accountSub, accessTTL: accessTTL}
	now := s.now()
	access, err := s.sign(fam, "access", now, accessTTL)
	if err != nil {
		return issued{}, err
	}
	refresh, err := s.sign(fam, "refresh", now, s.opts.RefreshTTL)
	if err != nil {
		return issued{}, err
	}
	rec := &refreshRecord{fam: fam, expires: now.Add(s.opts.RefreshTTL)}
	s.mu.Lock()
	s.refresh[sha256.Sum256([]byte(refresh))] = rec
	s.mu.Unlock()
	return issued{access: access, refresh: refresh, sub: fam.sub, accessTTL: accessTTL}, nil
}

// redeem spends a refresh token: checks it, retires it when rotating, and
// issues new tokens. wantSub, when not empty, must be the family's sub
// (PathStack sends it). Failures are errInvalidRefresh, except signing errors.
func (s *Server) redeem(refreshToken, wantSub string) (issued, error) {
	key := sha256.Sum256([]byte(refreshToken))
	now := s.now()

	// Check and retire under the lock, so that two concurrent redemptions of
	// one token cannot both pass; sign outside it.
	s.mu.Lock()
	rec, ok := s.refresh[key]
	switch {
	case !ok:
		s.mu.Unlock()
		return issued{}, errInvalidRefresh
	case rec.used:
		// A retired token came back: whoever holds it is not the rightful
		// owner (or the owner lost a response). Revoke the whole family.
		rec.fam.revoked = true
		s.stats.ReuseDetections++
		s.mu.Unlock()
		return issued{}, errInvalidRefresh
	case rec.fam.revoked, !now.Before(rec.expires), wantSub != "" && !sameUUID(wantSub, rec.fam.sub):
		s.mu.Unlock()
		return issued{}, errInvalidRefresh
	}
	if s.rotate {
		rec.used = true
	}
	s.mu.Unlock()

	fam := rec.fam
	out := issued{sub: fam.sub, accessTTL: fam.accessTTL}
	var err error
	if out.access, err = s.sign(fam, "access", now, fam.accessTTL); err != nil {
		return issued{}, err
	}
	if s.rotate {
		if out.refresh, err = s.sign(fam, "refresh", now, s.opts.RefreshTTL); err != nil {
			return issued{}, err
		}
	}

	s.mu.Lock()
	s.stats.Refreshes++
	if s.rotate {
		s.stats.Rotations++
		s.refresh[sha256.Sum256([]byte(out.refresh))] = &refreshRecord{fam: fam, expires: now.Add(s.opts.RefreshTTL)}
	}
	s.mu.Unlock()
	return out, nil
}

// Revoke revokes the family of refreshToken: none of its refresh tokens work
// any more. An unknown token is ignored.
func (s *Server) Revoke(refreshToken string) { s.revoke(refreshToken) }

// revoke reports whether the token was known.
func (s *Server) revoke(refreshToken string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.refresh[sha256.Sum256([]byte(refreshToken))]
	if ok {
		rec.fam.revoked = true
	}
	return ok
}

// newUUID4 returns a random RFC 4122 version 4 UUID.
func newUUID4() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:36], b[10:16])
	return string(out[:])
}

// parseUUID parses the forms Python's uuid.UUID accepts (hyphens optional,
// braces or a urn:uuid: prefix allowed, any case) and reports whether it is a
// valid RFC 4122 version 4 UUID, as pydantic's UUID4 demands.
func parseUUID(s string) (ok, version4 bool) {
	b, ok := uuidBytes(s)
	return ok, ok && b[6]>>4 == 4 && b[8]&0xc0 == 0x80
}

// sameUUID compares two UUIDs by value, as the real service compares the
// parsed sub, so case and hyphens do not matter.
func sameUUID(a, b string) bool {
	ua, okA := uuidBytes(a)
	ub, okB := uuidBytes(b)
	return okA && okB && ua == ub
}

func uuidBytes(s string) ([16]byte, bool) {
	var b [16]byte
	s = strings.TrimPrefix(strings.TrimPrefix(s, "urn:"), "uuid:")
	s = strings.Trim(s, "{}")
	s = strings.ReplaceAll(s, "-", "")
	if len(s) != 32 {
		return b, false
	}
	if _, err := hex.Decode(b[:], []byte(s)); err != nil {
		return b, false
	}
	return b, true
}
