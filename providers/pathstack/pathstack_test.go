package pathstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// Marker secrets: any leak is found by a substring search.
const (
	refreshToken = "MRK-ps-refresh-0123456789abcdef"
	newRefresh   = "MRK-ps-rotated-0123456789abcdef"
	accessToken  = "MRK-ps-access-0123456789abcdef"
	password     = "MRK-ps-password-0123456789"
	sub          = "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11"
)

var clock = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func now() time.Time { return clock }

// seen is what the contract server received.
type seen struct {
	mu     sync.Mutex
	method string
	path   string
	header http.Header
	body   string
}

// contractServer checks nothing itself: it records the request and answers
// status with body, as the OpenAPI page documents.
func contractServer(t *testing.T, status int, body string) (*httptest.Server, *seen) {
	t.Helper()
	s := &seen{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.method, s.path, s.header, s.body = r.Method, r.URL.Path, r.Header.Clone(), string(b)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if strings.HasPrefix(body, "<") {
			w.Header().Set("Content-Type", "text/html")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, s
}

func session(base string) vault.Session {
	return vault.Session{ID: 1, Provider: vault.ProviderPathStack, Label: "prod", BaseURL: base, Sub: sub, RefreshToken: refreshToken}
}

func client() *Client { return New(providers.NewHTTPClient(providers.ClientOptions{}), now) }

// noSecrets fails when a marker appears in the redacted exchange or the error.
func noSecrets(t *testing.T, ex *providers.Exchange, err error) {
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
		for _, m := range []string{refreshToken, newRefresh, accessToken, password} {
			if strings.Contains(text, m) {
				t.Errorf("secret %q leaked: %s", m, text)
			}
		}
	}
}

func TestRefreshRequest(t *testing.T) {
	srv, got := contractServer(t, 200, `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "`+accessToken+`"}}`)
	for _, tt := range []struct{ version, want string }{
		{"", vault.DefaultPathStackAPIVersion},
		{"2024-03-26", "2024-03-26"},
	} {
		s := session(srv.URL + "/")
		s.APIVersion = tt.version
		_, ex, err := client().Refresh(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if got.method != "POST" || got.path != "/refresh" {
			t.Errorf("request %s %s", got.method, got.path)
		}
		for k, want := range map[string]string{"Content-Type": "application/json", "Accept": "application/json", "X-Api-Version": tt.want} {
			if got.header.Get(k) != want {
				t.Errorf("header %s = %q, want %q", k, got.header.Get(k), want)
			}
		}
		if want := `{"sub":"` + sub + `","refresh_token":"` + refreshToken + `"}`; got.body != want {
			t.Errorf("body %s, want %s", got.body, want)
		}
		if ex.RequestHeader.Get("X-Api-Version") != tt.want || ex.URL != srv.URL+"/refresh" {
			t.Errorf("captured %s with version %q", ex.URL, ex.RequestHeader.Get("X-Api-Version"))
		}
		noSecrets(t, ex, err)
	}
}

func TestRefreshSuccess(t *testing.T) {
	tests := []struct {
		name string
		body string
		want providers.Result
	}{
		{"OpenAPI 200 schema, no rotation",
			`{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "` + accessToken + `"}}`,
			providers.Result{AccessToken: accessToken, TokenType: "Bearer", ExpiresAt: clock.Add(time.Hour)}},
		{"rotation and sub",
			`{"data": {"token_type": "Bearer", "expires_in": 90, "access_token": "` + accessToken + `", "refresh_token": "` + newRefresh + `", "sub": "` + sub + `"}}`,
			providers.Result{AccessToken: accessToken, RefreshToken: newRefresh, Sub: sub, TokenType: "Bearer", ExpiresAt: clock.Add(90 * time.Second)}},
		{"integral float expires_in, no token_type",
			`{"data": {"expires_in": 60.0, "access_token": "` + accessToken + `", "refresh_token": null}}`,
			providers.Result{AccessToken: accessToken, ExpiresAt: clock.Add(time.Minute)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := contractServer(t, 200, tt.body)
			res, ex, err := client().Refresh(context.Background(), session(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			if res != tt.want {
				t.Errorf("got  %+v\nwant %+v", res, tt.want)
			}
			noSecrets(t, ex, err)
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
		{"401 invalid refresh token", 401, `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`,
			providers.OutcomeRejected, providers.ShapePathStack, "rejected: 401 Invalid Refresh Token"},
		{"422 field required", 422, `{"error": {"code": 422, "message": "Field required", "loc": ["body", "sub"], "msg": "Field required", "type": "missing"}}`,
			providers.OutcomeRejected, providers.ShapePathStack, "rejected: 422 Field required at body.sub"},
		{"429 from a proxy", 429, `{"message": "slow down"}`,
			providers.OutcomeRejected, providers.ShapeRaw, `rejected: 429 {"message":"slow down"}`},
		{"502 html page", 502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
			providers.OutcomeServerError, providers.ShapeRaw, "server error: 502 Bad Gateway"},
		{"401 echoing the token", 401, `{"error": {"code": 401, "message": "Invalid Refresh Token ` + refreshToken + `"}}`,
			providers.OutcomeRejected, providers.ShapePathStack, "rejected: 401 Invalid Refresh Token MRK-"},
		{"200 missing access_token", 200, `{"data": {"token_type": "Bearer", "expires_in": 3600}}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: missing data.access_token"},
		{"200 expires_in as a string", 200, `{"data": {"expires_in": "3600", "access_token": "` + accessToken + `"}}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: data.expires_in is not an integer"},
		{"200 missing expires_in", 200, `{"data": {"access_token": "` + accessToken + `"}}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: missing data.expires_in"},
		{"200 without data", 200, `{"access_token": "` + accessToken + `", "expires_in": 3600}`,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: missing data object"},
		{"200 malformed json", 200, `{"data": {"access_token": "` + accessToken,
			providers.OutcomeServerError, "", "server error: 200 OK: response does not match schema: body is not JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := contractServer(t, tt.status, tt.body)
			_, ex, err := client().Refresh(context.Background(), session(srv.URL))
			var pe *providers.Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v", err)
			}
			if pe.Outcome != tt.outcome || pe.Status != tt.status || !strings.HasPrefix(err.Error(), tt.text) {
				t.Errorf("got %s %d %q, want %s %d %q", pe.Outcome, pe.Status, err, tt.outcome, tt.status, tt.text)
			}
			if shape := ""; pe.Envelope != nil {
				shape = pe.Envelope.Shape
				if shape != tt.shape {
					t.Errorf("shape %q, want %q", shape, tt.shape)
				}
			} else if tt.shape != "" {
				t.Errorf("no envelope, want %q", tt.shape)
			}
			if ex.Error != err.Error() {
				t.Errorf("exchange error %q", ex.Error)
			}
			noSecrets(t, ex, err)
		})
	}
}

func TestLogin(t *testing.T) {
	srv, got := contractServer(t, 200, `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "`+accessToken+`", "refresh_token": "`+newRefresh+`", "sub": "`+sub+`"}}`)
	res, ex, err := client().Login(context.Background(), providers.LoginTarget{BaseURL: srv.URL}, providers.Credentials{Method: providers.LoginPassword, Username: "dev@tokentop.test", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	want := providers.Result{AccessToken: accessToken, RefreshToken: newRefresh, Sub: sub, TokenType: "Bearer", ExpiresAt: clock.Add(time.Hour)}
	if res != want {
		t.Errorf("got  %+v\nwant %+v", res, want)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(got.body), &body); err != nil || len(body) != 2 || body["username"] != "dev@tokentop.test" || body["password"] != password {
		t.Errorf("login body %s", got.body)
	}
	if got.path != "/token" || got.header.Get("X-Api-Version") != DefaultLoginAPIVersion {
		t.Errorf("login %s with version %q", got.path, got.header.Get("X-Api-Version"))
	}
	noSecrets(t, ex, err)

	// A login answer must carry the refresh token and sub.
	srv2, _ := contractServer(t, 200, `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "`+accessToken+`", "refresh_token": "`+newRefresh+`"}}`)
	_, ex, err = client().Login(context.Background(), providers.LoginTarget{BaseURL: srv2.URL, APIVersion: "2024-03-27"}, providers.Credentials{Method: providers.LoginPassword, Username: "u", Password: password})
	if err == nil || !strings.Contains(err.Error(), "missing data.sub") {
		t.Errorf("login without sub: %v", err)
	}
	noSecrets(t, ex, err)

	for _, status := range []int{400, 422} {
		srv3, _ := contractServer(t, status, `{"error": {"code": 400, "message": "Incorrect username or password"}}`)
		_, ex, err = client().Login(context.Background(), providers.LoginTarget{BaseURL: srv3.URL}, providers.Credentials{Method: providers.LoginPassword, Username: "u", Password: password})
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeRejected || pe.Status != status {
			t.Errorf("login %d: %v", status, err)
		}
		noSecrets(t, ex, err)
	}
}

func TestEndpoint(t *testing.T) {
	for base, want := range map[string]string{
		"":                               "https://api.pathstack.io/refresh",
		"https://staging.example/":       "https://staging.example/refresh",
		"http://127.0.0.1:8080/prefix//": "http://127.0.0.1:8080/prefix/refresh",
	} {
		if got := endpoint(base, "/refresh"); got != want {
			t.Errorf("endpoint(%q) = %q, want %q", base, got, want)
		}
	}
	if (&Client{}).Name() != "pathstack" {
		t.Error("name")
	}
}
