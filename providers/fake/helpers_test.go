package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// response is an HTTP answer as a test looks at it.
type response struct {
	status int
	header http.Header
	body   string
}

// send makes one request with a real client over loopback.
func send(t *testing.T, method, url, body string, edit ...func(*http.Request)) response {
	t.Helper()
	resp, err := trySend(http.DefaultClient, method, url, body, edit...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp
}

func trySend(client *http.Client, method, url, body string, edit ...func(*http.Request)) (response, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return response{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, e := range edit {
		e(req)
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

func withHeader(k, v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set(k, v) }
}

func withCookie(token string) func(*http.Request) {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "refresh_token", Value: token}) }
}

// expect checks status, JSON content type and, when body is not empty, the
// exact body.
func expect(t *testing.T, got response, status int, body string) {
	t.Helper()
	if got.status != status {
		t.Fatalf("status = %d, want %d (body %s)", got.status, status, got.body)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if body != "" && got.body != body {
		t.Errorf("body =\n  %s\nwant\n  %s", got.body, body)
	}
}

func startPathStack(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := StartPathStack(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func startGalileo(t *testing.T, opts Options) *Server {
	t.Helper()
	s, err := StartGalileo(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func noRotation() *bool { f := false; return &f }

// pathStackAnswer is the 200 body of /token and /refresh, with the presence
// of data.refresh_token kept visible.
type pathStackAnswer struct {
	Data struct {
		TokenType    string  `json:"token_type"`
		ExpiresIn    int64   `json:"expires_in"`
		AccessToken  string  `json:"access_token"`
		RefreshToken *string `json:"refresh_token"`
		Sub          string  `json:"sub"`
	} `json:"data"`
}

func decodePathStack(t *testing.T, r response) pathStackAnswer {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	var a pathStackAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return a
}

func login(t *testing.T, s *Server) pathStackAnswer {
	t.Helper()
	body := mustJSON(map[string]string{"username": s.Username(), "password": s.Password()})
	return decodePathStack(t, send(t, "POST", s.URL+"/token", string(body), withHeader("x-api-version", "2024-03-26")))
}

func refreshBody(sub, token string) string {
	return string(mustJSON(map[string]string{"sub": sub, "refresh_token": token}))
}

func pathStackRefresh(t *testing.T, s *Server, sub, token string) response {
	t.Helper()
	return send(t, "POST", s.URL+"/refresh", refreshBody(sub, token), withHeader("x-api-version", "2024-03-27"))
}

// verifiedClaims checks a token's HS256 signature with the server's key, its
// iss, aud and time claims, and returns its claims.
func verifiedClaims(t *testing.T, s *Server, token string) jwt.MapClaims {
	t.Helper()
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{"HS256"}),
		jwt.WithIssuer(s.URL),
		jwt.WithAudience(s.flavor.audience),
		jwt.WithIssuedAt(),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		t.Fatalf("token does not verify: %v", err)
	}
	return claims
}

// lifetime is exp - iat of a verified token.
func lifetime(t *testing.T, s *Server, token string) time.Duration {
	t.Helper()
	c := verifiedClaims(t, s, token)
	return time.Duration(c["exp"].(float64)-c["iat"].(float64)) * time.Second
}

// fakeClock is a settable clock for expiry tests.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
