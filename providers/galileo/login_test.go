package galileo

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// Marker credentials: any leak is found by a substring search.
const (
	loginUser     = "ana@acme.test"
	loginPassword = "MRK-gal-password-0123456789"
	loginAPIKey   = "MRK-gal-apikey-0123456789abcdef-k1"
)

func passwordCreds() providers.Credentials {
	return providers.Credentials{Method: providers.LoginPassword, Username: loginUser, Password: loginPassword}
}

func apiKeyCreds(key string) providers.Credentials {
	return providers.Credentials{Method: providers.LoginAPIKey, APIKey: key}
}

// noLengths checks that the redacted exchange shows neither the secret nor
// its length (as a mask or as the request's Content-Length).
func noLengths(t *testing.T, ex *providers.Exchange, secret string) {
	t.Helper()
	red := ex.Redacted()
	raw, _ := json.Marshal(red)
	n := len(secret)
	for _, bad := range []string{secret, "…(" + strconv.Itoa(n) + ")…"} {
		if strings.Contains(string(raw), bad) {
			t.Errorf("redacted exchange shows %q: %s", bad, raw)
		}
	}
	if cl := red.RequestHeader.Get("Content-Length"); cl != "" && !strings.HasPrefix(cl, "(hidden") {
		t.Errorf("Content-Length %q tells the secret's length", cl)
	}
}

func TestLoginPasswordRequest(t *testing.T) {
	access := jwtAccess(t, 20*time.Minute)
	srv, got := contractServer(t, 200, `{"access_token": "`+access+`", "token_type": "bearer"}`,
		"refresh_token="+newRefresh+"; Path=/v1/refresh_token; HttpOnly; Secure; SameSite=Lax")
	res, ex, err := client().Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL + "/"}, passwordCreds())
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.path != "/login" {
		t.Errorf("request %s %s", got.method, got.path)
	}
	if ct := got.header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("content type %q", ct)
	}
	if want := "grant_type=password&username=" + url.QueryEscape(loginUser) + "&password=" + loginPassword; got.body != want {
		t.Errorf("body %q, want %q", got.body, want)
	}
	form, _ := url.ParseQuery(got.body)
	if form.Get("grant_type") != "password" || form.Get("username") != loginUser || form.Get("password") != loginPassword || len(form) != 3 {
		t.Errorf("form %v", form)
	}
	if c := got.header.Get("Cookie"); c != "" {
		t.Errorf("a login sent a cookie: %q", c)
	}
	want := providers.Result{AccessToken: access, RefreshToken: newRefresh, TokenType: "bearer", IssuedAt: clock, ExpiresAt: clock.Add(20 * time.Minute)}
	if !res.IssuedAt.Equal(want.IssuedAt) || !res.ExpiresAt.Equal(want.ExpiresAt) {
		t.Errorf("times %v %v", res.IssuedAt, res.ExpiresAt)
	}
	res.IssuedAt, res.ExpiresAt, want.IssuedAt, want.ExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if res != want {
		t.Errorf("got  %+v\nwant %+v", res, want)
	}
	noSecrets(t, ex, err, access, loginPassword)
	noLengths(t, ex, loginPassword)
	if red := ex.Redacted(); !strings.Contains(red.RequestBody, "&password=…") {
		t.Errorf("masked form %q", red.RequestBody)
	}
}

func TestLoginAPIKeyRequest(t *testing.T) {
	srv, got := contractServer(t, 200, `{"access_token": "`+opaqueAccess+`", "token_type": "bearer"}`,
		"refresh_token="+newRefresh+"; Path=/; HttpOnly")
	res, ex, err := client().Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL}, apiKeyCreds(loginAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	if got.method != "POST" || got.path != "/login/api_key" || got.header.Get("Content-Type") != "application/json" {
		t.Errorf("request %s %s %q", got.method, got.path, got.header.Get("Content-Type"))
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || len(body) != 1 || body["api_key"] != loginAPIKey {
		t.Errorf("body %s", got.body)
	}
	if c := got.header.Get("Cookie"); c != "" {
		t.Errorf("a login sent a cookie: %q", c)
	}
	if res.AccessToken != opaqueAccess || res.RefreshToken != newRefresh || res.TokenType != "bearer" {
		t.Errorf("result %+v", res)
	}
	noSecrets(t, ex, err, loginAPIKey)
	noLengths(t, ex, loginAPIKey)
	if red := ex.Redacted(); red.RequestBody != `{"api_key":"…"}` {
		t.Errorf("masked body %q", red.RequestBody)
	}
}

func TestLoginFailures(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		setCookie []string
		outcome   providers.Outcome
		shape     string
		text      string
		fields    []string // where of each field error
	}{
		{"401 wrong credentials", 401, `{"detail": "Incorrect username or password"}`, nil,
			providers.OutcomeRejected, providers.ShapeFastAPIDetail, "rejected: 401 Incorrect username or password", nil},
		{"401 revoked key", 401, `{"detail": "Invalid API key"}`, nil,
			providers.OutcomeRejected, providers.ShapeFastAPIDetail, "rejected: 401 Invalid API key", nil},
		{"422 field list", 422, `{"detail": [{"loc": ["body","username"], "msg": "Field required", "type": "missing"}, {"loc": ["body","password"], "msg": "Field required", "type": "missing"}]}`, nil,
			providers.OutcomeRejected, providers.ShapeFastAPI, "rejected: 422 Field required (and 1 more) at body.username", []string{"body.username", "body.password"}},
		{"200 without the cookie", 200, `{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`, nil,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: no refresh_token cookie set", nil},
		{"200 deleting the cookie", 200, `{"access_token": "` + opaqueAccess + `"}`, []string{"refresh_token=" + newRefresh + "; Max-Age=0"},
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: no refresh_token cookie set", nil},
		{"200 cookie but no access_token", 200, `{"token_type": "bearer"}`, []string{"refresh_token=" + newRefresh},
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: missing access_token", nil},
		{"502 HTML", 502, `<html><title>502 Bad Gateway</title></html>`, nil,
			providers.OutcomeServerError, providers.ShapeRaw, "server error: 502 Bad Gateway", nil},
	}
	for _, tt := range tests {
		for _, creds := range []providers.Credentials{passwordCreds(), apiKeyCreds(loginAPIKey)} {
			t.Run(tt.name+"/"+creds.Method, func(t *testing.T) {
				srv, _ := contractServer(t, tt.status, tt.body, tt.setCookie...)
				res, ex, err := client().Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL}, creds)
				var pe *providers.Error
				if !errors.As(err, &pe) {
					t.Fatalf("err %v", err)
				}
				if pe.Outcome != tt.outcome || pe.Status != tt.status || err.Error() != tt.text {
					t.Errorf("got %s %d %q, want %s %d %q", pe.Outcome, pe.Status, err, tt.outcome, tt.status, tt.text)
				}
				if keep := strings.HasPrefix(tt.name, "200 cookie"); keep != (res.RefreshToken == newRefresh) {
					t.Errorf("refresh token %q next to the error; want the cookie kept: %v", res.RefreshToken, keep)
				}
				if tt.shape != "" {
					if pe.Envelope == nil || pe.Envelope.Shape != tt.shape {
						t.Fatalf("envelope %+v, want shape %q", pe.Envelope, tt.shape)
					}
					var where []string
					for _, f := range pe.Envelope.Fields {
						where = append(where, f.Where())
					}
					if strings.Join(where, " ") != strings.Join(tt.fields, " ") {
						t.Errorf("fields %v, want %v", where, tt.fields)
					}
				}
				noSecrets(t, ex, err, loginPassword, loginAPIKey)
				noLengths(t, ex, creds.Secret())
			})
		}
	}
}

func TestLoginRefusedBeforeSending(t *testing.T) {
	_, ex, err := client().Login(context.Background(), providers.LoginTarget{}, passwordCreds())
	if !errors.Is(err, ErrNoBaseURL) || ex != nil {
		t.Errorf("no base URL: %v, %v", err, ex)
	}
	srv, got := contractServer(t, 200, `{}`)
	_, ex, err = client().Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL}, providers.Credentials{Method: "sso", Password: loginPassword})
	if !errors.Is(err, providers.ErrLoginMethod) || ex != nil || got.method != "" {
		t.Errorf("unknown method: %v, %v, sent %q", err, ex, got.method)
	}
	if strings.Contains(err.Error(), loginPassword) {
		t.Errorf("error shows the password: %v", err)
	}
	// PathStack has no API-key login: nothing is sent.
	_, ex, err = pathstack.New(nil, now).Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL}, apiKeyCreds(loginAPIKey))
	if !errors.Is(err, providers.ErrLoginMethod) || ex != nil || got.method != "" || strings.Contains(err.Error(), loginAPIKey) {
		t.Errorf("pathstack api key: %v, %v, sent %q", err, ex, got.method)
	}
}

// TestLoginersFromRegistry: both clients are found as Loginers through the
// registry, the way the Refresher looks for one.
func TestLoginersFromRegistry(t *testing.T) {
	reg := providers.NewRegistry(New(nil, now), pathstack.New(nil, now))
	for _, name := range []string{vault.ProviderGalileo, vault.ProviderPathStack} {
		p, ok := reg.Get(name)
		if !ok {
			t.Fatalf("%s not registered", name)
		}
		if _, ok := p.(providers.Loginer); !ok {
			t.Errorf("%s is not a providers.Loginer", name)
		}
	}
}

// TestLoginAgainstFake: a password login and an API-key login against the
// fake Galileo, each starting a family whose refresh token (set with a Path
// narrower than /, and no cookie jar) is sent back explicitly and rotates; a
// revoked key and wrong credentials answer 401; after every family is
// revoked, refresh answers 401 and a new login works.
func TestLoginAgainstFake(t *testing.T) {
	srv, err := fake.StartGalileo(fake.Options{Now: now, Username: loginUser, Password: loginPassword})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := client()
	if c.hc.Jar != nil {
		t.Fatal("the HTTP client has a cookie jar")
	}
	ctx := context.Background()
	target := providers.LoginTarget{BaseURL: srv.URL}

	res, ex, err := c.Login(ctx, target, passwordCreds())
	if err != nil {
		t.Fatal(err)
	}
	if res.RefreshToken == "" || res.AccessToken == "" || !res.ExpiresAt.Equal(clock.Add(fake.DefaultAccessTTL)) {
		t.Fatalf("login result %+v", res)
	}
	noLengths(t, ex, loginPassword)
	s := vault.Session{Provider: vault.ProviderGalileo, BaseURL: srv.URL, RefreshToken: res.RefreshToken}
	rot, ex, err := c.Refresh(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if rot.RefreshToken == "" || rot.RefreshToken == res.RefreshToken {
		t.Fatalf("no rotation after the login: %+v", rot)
	}
	if got := ex.RequestHeader.Get("Cookie"); got != "refresh_token="+res.RefreshToken {
		t.Errorf("refresh cookie %q", got)
	}

	key := srv.IssueAPIKey()
	kres, ex, err := c.Login(ctx, target, apiKeyCreds(key))
	if err != nil {
		t.Fatal(err)
	}
	noLengths(t, ex, key)
	if kres.RefreshToken == "" || kres.RefreshToken == res.RefreshToken {
		t.Fatalf("api key login result %+v", kres)
	}
	srv.RevokeAPIKey(key)
	var pe *providers.Error
	_, ex, err = c.Login(ctx, target, apiKeyCreds(key))
	if !errors.As(err, &pe) || pe.Status != 401 || pe.Outcome != providers.OutcomeRejected || pe.Envelope.Message != "Invalid API key" {
		t.Errorf("revoked key: %v", err)
	}
	noLengths(t, ex, key)
	_, _, err = c.Login(ctx, target, providers.Credentials{Method: providers.LoginPassword, Username: loginUser, Password: "wrong-password"})
	if !errors.As(err, &pe) || pe.Status != 401 || pe.Envelope.Message != "Incorrect username or password" {
		t.Errorf("wrong password: %v", err)
	}

	// Every family revoked: the refresh is refused for good, a login heals it.
	if n := srv.RevokeAll(); n != 2 {
		t.Errorf("revoked %d families, want 2", n)
	}
	s.RefreshToken = rot.RefreshToken
	if _, _, err = c.Refresh(ctx, s); !errors.As(err, &pe) || pe.Status != 401 {
		t.Fatalf("refresh after RevokeAll: %v", err)
	}
	res, _, err = c.Login(ctx, target, passwordCreds())
	if err != nil {
		t.Fatal(err)
	}
	s.RefreshToken = res.RefreshToken
	if _, _, err = c.Refresh(ctx, s); err != nil {
		t.Fatalf("refresh after a new login: %v", err)
	}
	if st := srv.Stats(); st.Logins != 3 {
		t.Errorf("fake stats %+v", st)
	}
}
