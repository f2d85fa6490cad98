package fake

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"
	"time"
)

// setCookieRe is the exact Set-Cookie a rotating refresh answers.
var setCookieRe = regexp.MustCompile(`^refresh_token=([A-Za-z0-9_.-]+); Path=/; HttpOnly; Secure; SameSite=Lax; Max-Age=(\d+)$`)

type galileoAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func galileoRefresh(t *testing.T, s *Server, token string) response {
	t.Helper()
	return send(t, "POST", s.URL+"/v1/refresh_token", "", withCookie(token))
}

// decodeGalileo checks a 200 answer and returns the access token and the
// rotated refresh token ("" when none was set).
func decodeGalileo(t *testing.T, r response) (access, rotated string) {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	var a galileoAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	if a.TokenType != "bearer" || a.AccessToken == "" {
		t.Errorf("answer %s", r.body)
	}
	if want := `{"access_token":"` + a.AccessToken + `","token_type":"bearer"}`; r.body != want {
		t.Errorf("body %s, want only access_token and token_type", r.body)
	}
	cookies := r.header.Values("Set-Cookie")
	switch len(cookies) {
	case 0:
		return a.AccessToken, ""
	case 1:
		m := setCookieRe.FindStringSubmatch(cookies[0])
		if m == nil {
			t.Fatalf("Set-Cookie %q", cookies[0])
		}
		return a.AccessToken, m[1]
	default:
		t.Fatalf("%d Set-Cookie headers", len(cookies))
		return "", ""
	}
}

func TestGalileoRefreshRotatesThroughCookie(t *testing.T) {
	s := startGalileo(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	if ok, v4 := parseUUID(tok.Sub); !ok || !v4 {
		t.Errorf("sub %q is not a user id uuid", tok.Sub)
	}
	resp := galileoRefresh(t, s, tok.RefreshToken)
	access, rotated := decodeGalileo(t, resp)
	if rotated == "" || rotated == tok.RefreshToken {
		t.Fatalf("no new refresh cookie: %q", resp.header.Values("Set-Cookie"))
	}
	if m := setCookieRe.FindStringSubmatch(resp.header.Get("Set-Cookie")); m[2] != "2592000" {
		t.Errorf("Max-Age %s, want 30 days", m[2])
	}
	claims := verifiedClaims(t, s, access)
	for k, want := range map[string]any{
		"sub": tok.Sub, "aud": "galileo-api", "iss": s.URL, "typ": "access", "tenant": "acme", "scope": "read write",
	} {
		if claims[k] != want {
			t.Errorf("claim %s = %v, want %v", k, claims[k], want)
		}
	}
	if _, ok := claims["email"]; ok {
		t.Error("galileo token carries email")
	}
	if verifiedClaims(t, s, rotated)["typ"] != "refresh" {
		t.Error("rotated cookie is not a refresh token")
	}

	// The chain continues; then the retired token comes back: family revoked.
	_, third := decodeGalileo(t, galileoRefresh(t, s, rotated))
	const invalid = `{"detail":"Invalid refresh token"}`
	expect(t, galileoRefresh(t, s, rotated), 401, invalid)
	expect(t, galileoRefresh(t, s, third), 401, invalid)
	if st := s.Stats(); st != (Stats{Requests: 4, Refreshes: 2, Rotations: 2, ReuseDetections: 1, Rejections: 2}) {
		t.Errorf("stats %+v", st)
	}
}

func TestGalileoRejects(t *testing.T) {
	s := startGalileo(t, Options{})
	expect(t, send(t, "POST", s.URL+"/v1/refresh_token", ""), 422,
		`{"detail":[{"loc":["cookie","refresh_token"],"msg":"Field required","type":"missing"}]}`)
	expect(t, send(t, "POST", s.URL+"/v1/refresh_token", "", withCookie("not-a-token")), 401, `{"detail":"Invalid refresh token"}`)
	// The token in a body instead of the cookie is still a missing cookie.
	expect(t, send(t, "POST", s.URL+"/v1/refresh_token", `{"refresh_token":"x"}`), 422, "")
	expect(t, send(t, "GET", s.URL+"/v1/refresh_token", ""), 405, `{"detail":"Method Not Allowed"}`)
	expect(t, send(t, "POST", s.URL+"/refresh", ""), 404, `{"detail":"Not Found"}`)

	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.Revoke(tok.RefreshToken)
	expect(t, galileoRefresh(t, s, tok.RefreshToken), 401, `{"detail":"Invalid refresh token"}`)
	if st := s.Stats(); st != (Stats{Requests: 6, Rejections: 6}) {
		t.Errorf("stats %+v", st)
	}
}

func TestGalileoWithoutRotation(t *testing.T) {
	s := startGalileo(t, Options{RotateRefresh: noRotation(), AccessTTL: 5 * time.Minute})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		access, rotated := decodeGalileo(t, galileoRefresh(t, s, tok.RefreshToken))
		if rotated != "" {
			t.Fatal("Set-Cookie without rotation")
		}
		if got := lifetime(t, s, access); got != 5*time.Minute {
			t.Errorf("access lifetime %s, want 5m", got)
		}
	}
	if st := s.Stats(); st.Refreshes != 3 || st.Rotations != 0 {
		t.Errorf("stats %+v", st)
	}
}

// TestGalileoHasNoTokenEndpoint: Galileo logs in at /login, not at
// PathStack's /token.
func TestGalileoHasNoTokenEndpoint(t *testing.T) {
	s := startGalileo(t, Options{})
	expect(t, send(t, "POST", s.URL+"/token", `{"username":"`+s.Username()+`","password":"`+s.Password()+`"}`),
		404, `{"detail":"Not Found"}`)
}
