package fake

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"testing"
)

// loginCookieRe is the exact Set-Cookie a login answers.
var loginCookieRe = regexp.MustCompile(`^refresh_token=([A-Za-z0-9_.-]+); Path=/v1/refresh_token; HttpOnly; Secure; SameSite=Lax; Max-Age=\d+$`)

func formBody(kv ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v.Encode()
}

func asForm(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded") }

// galileoLoginOK checks a login's 200 answer and returns its tokens.
func galileoLoginOK(t *testing.T, s *Server, r response) (access, refresh string) {
	t.Helper()
	expect(t, r, http.StatusOK, "")
	var a galileoAnswer
	if err := json.Unmarshal([]byte(r.body), &a); err != nil || a.TokenType != "bearer" || a.AccessToken == "" {
		t.Fatalf("login answer %s (%v)", r.body, err)
	}
	cookies := r.header.Values("Set-Cookie")
	if len(cookies) != 1 {
		t.Fatalf("Set-Cookie %q", cookies)
	}
	m := loginCookieRe.FindStringSubmatch(cookies[0])
	if m == nil {
		t.Fatalf("Set-Cookie %q", cookies[0])
	}
	if c := verifiedClaims(t, s, a.AccessToken); c["typ"] != "access" || c["tenant"] != "acme" {
		t.Errorf("access claims %v", c)
	}
	return a.AccessToken, m[1]
}

func TestGalileoPasswordLogin(t *testing.T) {
	s := startGalileo(t, Options{Username: "Ana@Acme.test", Password: "pw-0123456789"})
	_, refresh := galileoLoginOK(t, s, send(t, "POST", s.URL+"/login",
		formBody("grant_type", "password", "username", "ana@acme.test", "password", "pw-0123456789"), asForm))
	// grant_type is optional.
	galileoLoginOK(t, s, send(t, "POST", s.URL+"/login", formBody("username", "Ana@Acme.test", "password", "pw-0123456789"), asForm))

	// The login's refresh token rotates like any, and its reuse revokes the family.
	_, next := decodeGalileo(t, galileoRefresh(t, s, refresh))
	if next == "" || next == refresh {
		t.Fatalf("no rotation after a login: %q", next)
	}
	expect(t, galileoRefresh(t, s, refresh), http.StatusUnauthorized, `{"detail":"Invalid refresh token"}`)
	expect(t, galileoRefresh(t, s, next), http.StatusUnauthorized, `{"detail":"Invalid refresh token"}`)

	for name, body := range map[string]string{
		"wrong password": formBody("grant_type", "password", "username", "ana@acme.test", "password", "nope"),
		"wrong user":     formBody("username", "bob@acme.test", "password", "pw-0123456789"),
	} {
		got := send(t, "POST", s.URL+"/login", body, asForm)
		expect(t, got, http.StatusUnauthorized, `{"detail":"Incorrect username or password"}`)
		if got.header.Get("Set-Cookie") != "" {
			t.Errorf("%s: a refused login set a cookie", name)
		}
	}
	if st := s.Stats(); st.Logins != 2 || st.Rejections != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestGalileoPasswordLoginValidation(t *testing.T) {
	s := startGalileo(t, Options{})
	missing := func(fields ...string) string {
		var errs []validationError
		for _, f := range fields {
			errs = append(errs, validationError{Loc: []any{"body", f}, Msg: "Field required", Type: "missing"})
		}
		return string(mustJSON(galileoValidation{Detail: errs}))
	}
	expect(t, send(t, "POST", s.URL+"/login", formBody("password", "x"), asForm), 422,
		`{"detail":[{"loc":["body","username"],"msg":"Field required","type":"missing"}]}`)
	expect(t, send(t, "POST", s.URL+"/login", formBody("username", "x"), asForm), 422, missing("password"))
	// JSON is not a form: every field is missing.
	expect(t, send(t, "POST", s.URL+"/login", `{"username":"x","password":"y"}`), 422, missing("username", "password"))
	expect(t, send(t, "POST", s.URL+"/login", formBody("grant_type", "client_credentials", "username", s.Username(), "password", s.Password()), asForm), 422,
		`{"detail":[{"loc":["body","grant_type"],"msg":"String should match pattern '^password$'","type":"string_pattern_mismatch"}]}`)
	if st := s.Stats(); st.Logins != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestGalileoAPIKeyLogin(t *testing.T) {
	s := startGalileo(t, Options{})
	key := s.IssueAPIKey()
	_, refresh := galileoLoginOK(t, s, send(t, "POST", s.URL+"/login/api_key", `{"api_key":"`+key+`"}`))

	// An API key from the admin endpoint works too; revoking it refuses
	// later logins, not the families it started.
	var issued struct {
		APIKey string `json:"api_key"`
	}
	r := send(t, "POST", s.URL+"/_fake/api-keys", "")
	if err := json.Unmarshal([]byte(r.body), &issued); r.status != 200 || err != nil || issued.APIKey == "" || issued.APIKey == key {
		t.Fatalf("POST /_fake/api-keys: %d %s", r.status, r.body)
	}
	galileoLoginOK(t, s, send(t, "POST", s.URL+"/login/api_key", `{"api_key":"`+issued.APIKey+`"}`))
	expect(t, send(t, "POST", s.URL+"/_fake/api-keys/revoke", `{"api_key":"`+issued.APIKey+`"}`), 200, `{"revoked":true}`)
	expect(t, send(t, "POST", s.URL+"/_fake/api-keys/revoke", `{"api_key":"never-issued"}`), 404, "")
	expect(t, send(t, "POST", s.URL+"/login/api_key", `{"api_key":"`+issued.APIKey+`"}`), 401, `{"detail":"Invalid API key"}`)
	expect(t, send(t, "POST", s.URL+"/login/api_key", `{"api_key":"never-issued"}`), 401, `{"detail":"Invalid API key"}`)
	decodeGalileo(t, galileoRefresh(t, s, refresh))

	expect(t, send(t, "POST", s.URL+"/login/api_key", `{}`), 422,
		`{"detail":[{"loc":["body","api_key"],"msg":"Field required","type":"missing"}]}`)
	expect(t, send(t, "POST", s.URL+"/login/api_key", `{"api_key":`), 422,
		`{"detail":[{"loc":["body",0],"msg":"JSON decode error","type":"json_invalid"}]}`)
	expect(t, send(t, "POST", s.URL+"/login/api_key", "api_key="+key, asForm), 422,
		`{"detail":[{"loc":["body"],"msg":"Input should be a valid dictionary or object to extract fields from","type":"model_attributes_type"}]}`)
	if st := s.Stats(); st.Logins != 2 {
		t.Errorf("stats %+v", st)
	}
}

// TestRevokeAll: every family of the account answers 401 on refresh (what
// forces a re-login); a new login works.
func TestRevokeAll(t *testing.T) {
	s := startGalileo(t, Options{})
	a, _ := s.Mint(0)
	b, _ := s.Mint(0)
	expect(t, send(t, "POST", s.URL+"/_fake/revoke", `{"all":true}`), 200, `{"revoked":true,"families":2}`)
	for _, tok := range []string{a.RefreshToken, b.RefreshToken} {
		expect(t, galileoRefresh(t, s, tok), http.StatusUnauthorized, `{"detail":"Invalid refresh token"}`)
	}
	expect(t, send(t, "POST", s.URL+"/_fake/revoke", `{}`), 400, "")
	expect(t, send(t, "POST", s.URL+"/_fake/revoke", `{"all":true,"refresh_token":"x"}`), 400, "")
	_, refresh := galileoLoginOK(t, s, send(t, "POST", s.URL+"/login", formBody("username", s.Username(), "password", s.Password()), asForm))
	decodeGalileo(t, galileoRefresh(t, s, refresh))
	if n := s.RevokeAll(); n != 1 {
		t.Errorf("RevokeAll after one login revoked %d families", n)
	}
}
