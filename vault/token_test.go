package vault

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestDecodeToken(t *testing.T) {
	iat := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	exp := iat.Add(time.Hour)
	std := jwt.MapClaims{"sub": "8c1e", "iss": "https://api.pathstack.io", "iat": iat.Unix(), "nbf": iat.Unix(), "exp": exp.Unix()}

	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any, claims jwt.MapClaims, kid string) string {
		tok := jwt.NewWithClaims(m, claims)
		if kid != "" {
			tok.Header["kid"] = kid
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	big := strings.Repeat("x", 1<<20)
	b64 := base64.RawURLEncoding.EncodeToString

	cases := []struct {
		name     string
		raw      string
		alg      string
		kid      string
		opaque   bool
		unsigned bool
		iat, exp time.Time
		check    func(t *testing.T, tok *Token)
	}{
		{name: "HS256", raw: sign(jwt.SigningMethodHS256, []byte("k"), std, ""), alg: "HS256", iat: iat, exp: exp},
		{name: "RS256", raw: sign(jwt.SigningMethodRS256, rsaKey, std, "key-1"), alg: "RS256", kid: "key-1", iat: iat, exp: exp},
		{name: "ES256", raw: sign(jwt.SigningMethodES256, ecKey, std, ""), alg: "ES256", iat: iat, exp: exp},
		{name: "no exp", raw: sign(jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{"sub": "x", "iat": iat.Unix()}, ""), alg: "HS256", iat: iat},
		{
			name: "alg none", raw: sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, std, ""),
			alg: "none", unsigned: true, iat: iat, exp: exp,
		},
		{
			name: "unknown alg", raw: b64([]byte(`{"alg":"XY999","typ":"JWT"}`)) + "." + b64([]byte(`{"exp":1741957200}`)) + ".c2ln",
			alg: "XY999", exp: time.Unix(1741957200, 0),
		},
		{
			name: "float times", raw: b64([]byte(`{"alg":"HS256"}`)) + "." + b64([]byte(`{"iat":1741953600.5,"exp":1.7419572e9}`)) + ".c2ln",
			alg: "HS256", iat: time.UnixMilli(1741953600500), exp: time.Unix(1741957200, 0),
		},
		{name: "opaque", raw: "gho_16C7e42F292c6912E7710c838347Ae178B4a", opaque: true},
		{name: "three parts, not eyJ", raw: "abc.def.ghi", opaque: true},
		{name: "two parts, not eyJ", raw: "abc.def", opaque: true},
		{name: "surrounding whitespace", raw: "  " + sign(jwt.SigningMethodHS256, []byte("k"), std, "") + "\n", alg: "HS256", iat: iat, exp: exp},
		{
			name: "1 MiB claims", raw: sign(jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{"big": big, "exp": exp.Unix()}, ""),
			alg: "HS256", exp: exp,
			check: func(t *testing.T, tok *Token) {
				if s, _ := tok.Claims["big"].(string); len(s) != 1<<20 {
					t.Errorf("big claim has %d bytes", len(s))
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := DecodeToken(c.raw)
			if err != nil {
				t.Fatalf("DecodeToken: %v", err)
			}
			if tok.Raw != strings.TrimSpace(c.raw) || tok.Opaque != c.opaque || tok.Alg != c.alg || tok.Kid != c.kid || tok.Unsigned != c.unsigned {
				t.Errorf("got opaque=%v alg=%q kid=%q unsigned=%v", tok.Opaque, tok.Alg, tok.Kid, tok.Unsigned)
			}
			if !tok.IssuedAt.Equal(c.iat) || !tok.ExpiresAt.Equal(c.exp) {
				t.Errorf("iat %v exp %v, want %v %v", tok.IssuedAt, tok.ExpiresAt, c.iat, c.exp)
			}
			if !c.opaque && (tok.Header == nil || tok.Claims == nil) {
				t.Error("JWT without header or claims")
			}
			if c.opaque && (tok.Header != nil || tok.Claims != nil) {
				t.Error("opaque token with header or claims")
			}
			if c.check != nil {
				c.check(t, tok)
			}
		})
	}

	tok, _ := DecodeToken(cases[0].raw)
	if tok.Typ != "JWT" || tok.Claims["iss"] != "https://api.pathstack.io" || !tok.NotBefore.Equal(iat) {
		t.Errorf("HS256 details: typ %q claims %v nbf %v", tok.Typ, tok.Claims, tok.NotBefore)
	}
}

func TestDecodeTokenErrors(t *testing.T) {
	header := b64url(`{"alg":"HS256","typ":"JWT"}`)
	claims := b64url(`{"sub":"secret-subject","exp":1741957200}`)
	cases := []struct {
		name, raw, want string
	}{
		{"empty", "", "decode token: empty token"},
		{"blank", " \t\n", "decode token: empty token"},
		{"broken base64 in claims", header + ".eyJzd!!!fQ.c2ln", "decode token: claims (part 2): illegal base64 data at input byte 5"},
		{"broken base64 in header", "eyJhb*ciOiJIUzI1NiJ9." + claims + ".c2ln", "decode token: header (part 1): illegal base64 data at input byte 5"},
		{"broken JSON in header", b64url(`{"alg":"HS256"`) + "." + claims + ".c2ln", "decode token: header (part 1): invalid JSON: "},
		{"broken JSON in claims", header + "." + b64url(`{"sub":"secret-subject",}`) + ".c2ln", "decode token: claims (part 2): invalid JSON: "},
		{"claims not an object", header + "." + b64url(`"just a string"`) + ".c2ln", "decode token: claims (part 2): invalid JSON: "},
		{"broken base64 in signature", header + "." + claims + ".s!g", "decode token: signature (part 3): illegal base64 data"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok, err := DecodeToken(c.raw)
			if err == nil {
				t.Fatalf("decoded %+v, want an error", tok)
			}
			if !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("error %q, want prefix %q", err, c.want)
			}
			if strings.Contains(err.Error(), "secret-subject") || (len(c.raw) > 8 && strings.Contains(err.Error(), strings.TrimSpace(c.raw))) {
				t.Errorf("error %q quotes the token", err)
			}
			var de *DecodeError
			if c.name != "empty" && c.name != "blank" && !errors.As(err, &de) {
				t.Errorf("error %T is not a *DecodeError", err)
			}
			if (c.name == "empty" || c.name == "blank") && !errors.Is(err, ErrEmptyToken) {
				t.Errorf("error %v is not ErrEmptyToken", err)
			}
		})
	}
}

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestTokenLifetime(t *testing.T) {
	iat := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	tok := &Token{IssuedAt: iat, ExpiresAt: iat.Add(time.Hour)}
	if tok.Lifetime() != time.Hour {
		t.Errorf("lifetime %v", tok.Lifetime())
	}
	for _, c := range []struct {
		at   time.Time
		want float64
	}{
		{iat.Add(-time.Minute), 1},
		{iat, 1},
		{iat.Add(15 * time.Minute), 0.75},
		{iat.Add(time.Hour), 0},
		{iat.Add(2 * time.Hour), 0},
	} {
		if got := tok.FractionLeft(c.at); got != c.want {
			t.Errorf("FractionLeft(%v) = %v, want %v", c.at.Sub(iat), got, c.want)
		}
	}
	noIat := &Token{ExpiresAt: iat}
	if noIat.Lifetime() != 0 || noIat.FractionLeft(iat) != -1 {
		t.Errorf("unknown lifetime: %v %v", noIat.Lifetime(), noIat.FractionLeft(iat))
	}
}
