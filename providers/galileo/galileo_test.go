package galileo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// Marker secrets: any leak is found by a substring search.
const (
	refreshToken = "MRK-gal-refresh-0123456789abcdef"
	newRefresh   = "MRK-gal-rotated-0123456789abcdef"
	opaqueAccess = "MRK-gal-access-0123456789abcdef"
)

var clock = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return clock }

// jwtAccess is an HS256 access token issued at clock, expiring after ttl.
func jwtAccess(t *testing.T, ttl time.Duration) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "user-1", "iat": clock.Unix(), "exp": clock.Add(ttl).Unix(),
	}).SignedString([]byte("test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

type seen struct {
	mu                 sync.Mutex
	method, path, body string
	header             http.Header
}

// contractServer records the request and answers as told.
func contractServer(t *testing.T, status int, body string, setCookie ...string) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.path, s.header, s.body = r.Method, r.URL.Path, r.Header.Clone(), string(b)
		s.mu.Unlock()
		for _, c := range setCookie {
			w.Header().Add("Set-Cookie", c)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func session(base string) vault.Session {
	return vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "acme", BaseURL: base, RefreshToken: refreshToken}
}

func client() *Client { return New(providers.NewHTTPClient(providers.ClientOptions{}), now) }

func noSecrets(t *testing.T, ex *providers.Exchange, err error, more ...string) {
	t.Helper()
	raw, merr := ex.MarshalRedacted()
	if merr != nil {
		t.Fatal(merr)
	}
	texts := []string{string(raw)}
	if err != nil {
		texts = append(texts, err.Error())
	}
	for _, text := range texts {
		for _, m := range append([]string{refreshToken, newRefresh, opaqueAccess}, more...) {
			if strings.Contains(text, m) {
				t.Errorf("secret %q leaked: %s", m, text)
			}
		}
	}
}

func TestRefreshRequest(t *testing.T) {
	srv, got := contractServer(t, 200, `{"access_token": "`+opaqueAccess+`", "token_type": "bearer"}`)
	_, ex, err := client().Refresh(context.Background(), session(srv.URL+"/"))
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.path != "/v1/refresh_token" || got.body != "" {
		t.Errorf("request %s %s body %q", got.method, got.path, got.body)
	}
	if c := got.header.Get("Cookie"); c != "refresh_token="+refreshToken {
		t.Errorf("cookie %q", c)
	}
	if got.header.Get("Accept") != "application/json" {
		t.Errorf("accept %q", got.header.Get("Accept"))
	}
	if c := ex.RequestHeader.Get("Cookie"); c != "refresh_token="+refreshToken {
		t.Errorf("captured cookie %q", c)
	}
	noSecrets(t, ex, err)
}

func TestRefreshSuccess(t *testing.T) {
	access := jwtAccess(t, 30*time.Minute)
	tests := []struct {
		name      string
		body      string
		setCookie []string
		want      providers.Result
	}{
		{"OpenAPI example shape, opaque token",
			`{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`, nil,
			providers.Result{AccessToken: opaqueAccess, TokenType: "bearer"}},
		{"JWT: expiry from exp",
			`{"access_token": "` + access + `"}`, nil,
			providers.Result{AccessToken: access, TokenType: "bearer", IssuedAt: clock, ExpiresAt: clock.Add(30 * time.Minute)}},
		{"rotation by Set-Cookie",
			`{"access_token": "` + opaqueAccess + `", "token_type": "Bearer"}`,
			[]string{"other=1; Path=/", "refresh_token=" + newRefresh + "; Path=/; HttpOnly; Secure; Max-Age=2592000"},
			providers.Result{AccessToken: opaqueAccess, TokenType: "Bearer", RefreshToken: newRefresh}},
		{"same cookie value is no rotation",
			`{"access_token": "` + opaqueAccess + `"}`, []string{"refresh_token=" + refreshToken + "; Path=/"},
			providers.Result{AccessToken: opaqueAccess, TokenType: "bearer"}},
		{"cookie deletion is no rotation",
			`{"access_token": "` + opaqueAccess + `"}`, []string{"refresh_token=" + newRefresh + "; Max-Age=0"},
			providers.Result{AccessToken: opaqueAccess, TokenType: "bearer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := contractServer(t, 200, tt.body, tt.setCookie...)
			res, ex, err := client().Refresh(context.Background(), session(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if !res.IssuedAt.Equal(tt.want.IssuedAt) || !res.ExpiresAt.Equal(tt.want.ExpiresAt) {
				t.Errorf("times %v %v, want %v %v", res.IssuedAt, res.ExpiresAt, tt.want.IssuedAt, tt.want.ExpiresAt)
			}
			res.IssuedAt, res.ExpiresAt, tt.want.IssuedAt, tt.want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			if res != tt.want {
				t.Errorf("got  %+v\nwant %+v", res, tt.want)
			}
			noSecrets(t, ex, err, access)
		})
	}
}

func TestRefreshFailures(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		body    string
		outcome providers.Outcome
		shape   string
		text    string
	}{
		{"422 OpenAPI example", 422, `{"detail": [{"loc": ["<string>"], "msg": "<string>", "type": "<string>"}]}`,
			providers.OutcomeRejected, providers.ShapeFastAPI, "rejected: 422 <string> at <string>"},
		{"422 missing cookie", 422, `{"detail":[{"type":"missing","loc":["cookie","refresh_token"],"msg":"Field required","input":null}]}`,
			providers.OutcomeRejected, providers.ShapeFastAPI, "rejected: 422 Field required at cookie.refresh_token"},
		{"401 detail string", 401, `{"detail": "Invalid refresh token"}`,
			providers.OutcomeRejected, providers.ShapeFastAPIDetail, "rejected: 401 Invalid refresh token"},
		{"403 detail string", 403, `{"detail": "Not authenticated"}`,
			providers.OutcomeRejected, providers.ShapeFastAPIDetail, "rejected: 403 Not authenticated"},
		{"500", 500, `Internal Server Error`,
			providers.OutcomeServerError, providers.ShapeRaw, "server error: 500 Internal Server Error"},
		{"200 without access_token", 200, `{"token_type": "bearer"}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: missing access_token"},
		{"200 access_token not a string", 200, `{"access_token": 42}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: access_token is not a string"},
		{"200 not JSON", 200, `<html>`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: body is not a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := contractServer(t, tt.status, tt.body)
			_, ex, err := client().Refresh(context.Background(), session(srv.URL))
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v", err)
			}
			if pe.Outcome != tt.outcome || pe.Status != tt.status || err.Error() != tt.text {
				t.Errorf("got %s %d %q, want %s %d %q", pe.Outcome, pe.Status, err, tt.outcome, tt.status, tt.text)
			}
			if got := ""; pe.Envelope != nil {
				got = pe.Envelope.Shape
				if got != tt.shape {
					t.Errorf("shape %q, want %q", got, tt.shape)
				}
			} else if tt.shape != "" {
				t.Errorf("no envelope, want %q", tt.shape)
			}
			noSecrets(t, ex, err)
		})
	}
}

func TestRefreshNeedsBaseURL(t *testing.T) {
	_, ex, err := client().Refresh(context.Background(), session(""))
	if !errors.Is(err, ErrNoBaseURL) || ex != nil {
		t.Errorf("err %v, exchange %v", err, ex)
	}
	if (&Client{}).Name() != "galileo" {
		t.Error("name")
	}
}
