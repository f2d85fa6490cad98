package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestAdminSessions(t *testing.T) {
	s := startPathStack(t, Options{})
	resp := send(t, "POST", s.URL+"/_fake/sessions", "")
	expect(t, resp, 200, "")
	var tok Tokens
	if err := json.Unmarshal([]byte(resp.body), &tok); err != nil {
		t.Fatal(err)
	}
	if lifetime(t, s, tok.AccessToken) != time.Hour || tok.Sub == "" {
		t.Errorf("minted %+v", tok)
	}
	decodePathStack(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken))

	resp = send(t, "POST", s.URL+"/_fake/sessions", `{"access_ttl_s": 90}`)
	expect(t, resp, 200, "")
	json.Unmarshal([]byte(resp.body), &tok)
	if got := lifetime(t, s, tok.AccessToken); got != 90*time.Second {
		t.Errorf("access lifetime %s, want 90s", got)
	}

	expect(t, send(t, "POST", s.URL+"/_fake/sessions", `{"access_ttl_s": -1}`), 400, "")
	expect(t, send(t, "POST", s.URL+"/_fake/sessions", `{"access_ttl": 90}`), 400, "")
	expect(t, send(t, "GET", s.URL+"/_fake/sessions", ""), 405, `{"detail":"Method Not Allowed"}`)
	expect(t, send(t, "GET", s.URL+"/_fake/nope", ""), 404, `{"detail":"Not Found"}`)
	// Admin requests are not auth requests.
	if st := s.Stats(); st != (Stats{Requests: 1, Refreshes: 1, Rotations: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestAdminFaults(t *testing.T) {
	s := startGalileo(t, Options{})
	resp := send(t, "POST", s.URL+"/_fake/faults", `{"status": 502, "body": "<html>bad gateway</html>", "content_type": "text/html", "delay_ms": 0, "drop": false, "count": 2, "malformed": false}`)
	expect(t, resp, 200, `{"status":502,"body":"<html>bad gateway</html>","content_type":"text/html","count":2}`)
	for range 2 {
		if r := send(t, "POST", s.URL+"/v1/refresh_token", ""); r.status != 502 || r.body != "<html>bad gateway</html>" {
			t.Errorf("got %d %s", r.status, r.body)
		}
	}
	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"malformed": true}`), 200, `{"count":1,"malformed":true}`)
	if r := send(t, "POST", s.URL+"/v1/refresh_token", ""); r.status != 200 || json.Valid([]byte(r.body)) {
		t.Errorf("malformed fault: %d %s", r.status, r.body)
	}

	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"status": 42}`), 400, "")
	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"statuz": 500}`), 400, "")
	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"status": "500"}`), 400, "")

	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"status": 500, "count": -1}`), 200, "")
	if r := send(t, "DELETE", s.URL+"/_fake/faults", ""); r.status != http.StatusNoContent {
		t.Errorf("DELETE faults: %d", r.status)
	}
	expect(t, send(t, "POST", s.URL+"/v1/refresh_token", ""), 422, "")
}

func TestAdminRevokeAndStats(t *testing.T) {
	s := startPathStack(t, Options{})
	d := login(t, s).Data
	expect(t, send(t, "POST", s.URL+"/_fake/revoke", `{"refresh_token":"unknown"}`), 404, `{"detail":"Unknown refresh token"}`)
	expect(t, send(t, "POST", s.URL+"/_fake/revoke", `{"refresh_token":"`+*d.RefreshToken+`"}`), 200, `{"revoked":true}`)
	expect(t, pathStackRefresh(t, s, d.Sub, *d.RefreshToken), 401, "")

	expect(t, send(t, "GET", s.URL+"/_fake/stats", ""), 200,
		`{"requests":2,"logins":1,"refreshes":0,"rotations":0,"reuse_detections":0,"rejections":1,"faults":0}`)
}

func TestHandlerCanBeWrapped(t *testing.T) {
	s := startGalileo(t, Options{})
	var seen []string
	wrapped := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.URL.Path)
		s.Handler().ServeHTTP(w, r)
	}))
	defer wrapped.Close()
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	access, _ := decodeGalileo(t, send(t, "POST", wrapped.URL+"/v1/refresh_token", "", withCookie(tok.RefreshToken)))
	if verifiedClaims(t, s, access)["iss"] != s.URL {
		t.Error("iss is not the server URL")
	}
	if len(seen) != 1 || seen[0] != "/v1/refresh_token" {
		t.Errorf("wrapper saw %v", seen)
	}
}

func TestHandlerDropWithoutHijacker(t *testing.T) {
	s := startPathStack(t, Options{})
	s.QueueFault(Fault{Drop: true})
	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
	}()
	s.Handler().ServeHTTP(rec, httptest.NewRequest("POST", "/token", nil))
}

func TestCloseIsIdempotentAndStopsServing(t *testing.T) {
	s, err := StartPathStack(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider() != "pathstack" || s.Username() != DefaultUsername || len(s.Password()) < 16 {
		t.Errorf("provider %q user %q password length %d", s.Provider(), s.Username(), len(s.Password()))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	if _, err := trySend(client, "POST", s.URL+"/token", "{}"); err == nil {
		t.Error("closed server still answers")
	}
}

func TestStartFailsOnBusyAddress(t *testing.T) {
	s := startPathStack(t, Options{})
	if _, err := StartGalileo(Options{Addr: s.URL[len("http://"):]}); err == nil {
		t.Fatal("second server on the same address started")
	}
}
