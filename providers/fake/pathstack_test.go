package fake

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestPathStackLoginIssuesVerifiableTokens(t *testing.T) {
	s := startPathStack(t, Options{})
	resp := send(t, "POST", s.URL+"/token",
		`{"username":"dev@tokentop.test","password":"`+s.Password()+`"}`, withHeader("x-api-version", "2024-03-26"))
	if resp.header.Get("Date") == "" {
		t.Error("no Date header")
	}
	a := decodePathStack(t, resp)
	d := a.Data
	if d.TokenType != "Bearer" || d.ExpiresIn != 3600 {
		t.Errorf("token_type %q expires_in %d, want Bearer 3600", d.TokenType, d.ExpiresIn)
	}
	if ok, v4 := parseUUID(d.Sub); !ok || !v4 {
		t.Errorf("sub %q is not a uuid4", d.Sub)
	}
	if d.RefreshToken == nil || *d.RefreshToken == "" {
		t.Fatal("login answered no refresh_token")
	}

	access := verifiedClaims(t, s, d.AccessToken)
	for k, want := range map[string]any{
		"sub": d.Sub, "aud": "pathstack-api", "iss": s.URL, "typ": "access",
		"scope": "read write", "email": "dev@tokentop.test",
	} {
		if access[k] != want {
			t.Errorf("access claim %s = %v, want %v", k, access[k], want)
		}
	}
	if access["jti"] == "" || access["jti"] == nil {
		t.Error("access token has no jti")
	}
	if got := lifetime(t, s, d.AccessToken); got != time.Hour {
		t.Errorf("access lifetime %s, want 1h", got)
	}
	refresh := verifiedClaims(t, s, *d.RefreshToken)
	if refresh["typ"] != "refresh" || refresh["sub"] != d.Sub {
		t.Errorf("refresh claims typ %v sub %v", refresh["typ"], refresh["sub"])
	}
	if got := lifetime(t, s, *d.RefreshToken); got != DefaultRefreshTTL {
		t.Errorf("refresh lifetime %s, want %s", got, DefaultRefreshTTL)
	}
	if st := s.Stats(); st != (Stats{Requests: 1, Logins: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestPathStackLoginRejects(t *testing.T) {
	s := startPathStack(t, Options{Username: "ann@example.com", Password: "hunter2"})
	const (
		badCreds        = `{"error":{"code":400,"message":"Invalid username or password"}}`
		missingUsername = `{"error":{"code":422,"message":"Field required","loc":["body","username"],"msg":"Field required","type":"missing"}}`
		missingPassword = `{"error":{"code":422,"message":"Field required","loc":["body","password"],"msg":"Field required","type":"missing"}}`
	)
	tests := []struct {
		name, body, version string
		status              int
		want                string
	}{
		{"wrong password", `{"username":"ann@example.com","password":"nope"}`, "", 400, badCreds},
		{"unknown user", `{"username":"bob@example.com","password":"hunter2"}`, "", 400, badCreds},
		{"missing username", `{"password":"hunter2"}`, "", 422, missingUsername},
		{"missing password", `{"username":"ann@example.com"}`, "", 422, missingPassword},
		{"missing both", `{}`, "", 422, missingUsername},
		{"bad json", `{"username":`, "", 422, missingUsername},
		{"empty body", ``, "", 422, missingUsername},
		{"username not a string", `{"username":5,"password":"hunter2"}`, "", 422,
			`{"error":{"code":422,"message":"Input should be a valid string","loc":["body","username"],"msg":"Input should be a valid string","type":"string_type"}}`},
		{"api version not a date", `{"username":"ann@example.com","password":"hunter2"}`, "latest", 422,
			`{"error":{"code":422,"message":"Input should be a valid date or datetime","loc":["header","x-api-version"],"msg":"Input should be a valid date or datetime","type":"date_from_datetime_parsing"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var edit []func(*http.Request)
			if tt.version != "" {
				edit = append(edit, withHeader("x-api-version", tt.version))
			}
			expect(t, send(t, "POST", s.URL+"/token", tt.body, edit...), tt.status, tt.want)
		})
	}
	if st := s.Stats(); st.Logins != 0 || st.Rejections != len(tests) || st.Requests != len(tests) {
		t.Errorf("stats %+v, want %d rejections and no login", st, len(tests))
	}
}

func TestPathStackLoginAcceptsAnyDateAndNoVersion(t *testing.T) {
	s := startPathStack(t, Options{})
	body := `{"username":"` + s.Username() + `","password":"` + s.Password() + `"}`
	decodePathStack(t, send(t, "POST", s.URL+"/token", body, withHeader("x-api-version", "2019-01-01")))
	decodePathStack(t, send(t, "POST", s.URL+"/token", body))
}

func TestPathStackRefreshValidation(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	field := func(loc, msg, typ string) string {
		return `{"error":{"code":422,"message":"` + msg + `","loc":["body","` + loc + `"],"msg":"` + msg + `","type":"` + typ + `"}}`
	}
	const invalid = `{"error":{"code":401,"message":"Invalid Refresh Token"}}`
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"missing sub", `{"refresh_token":"x"}`, 422, field("sub", "Field required", "missing")},
		{"missing refresh_token", `{"sub":"` + tok.Sub + `"}`, 422, field("refresh_token", "Field required", "missing")},
		{"bad json", `not json`, 422, field("sub", "Field required", "missing")},
		{"sub not a uuid", refreshBody("user-1", tok.RefreshToken), 422, field("sub", "Input should be a valid UUID", "uuid_parsing")},
		{"sub a uuid1", refreshBody("c232ab00-9414-11ec-b3c8-9f6bdeced846", tok.RefreshToken), 422, field("sub", "UUID version 4 expected", "uuid_version")},
		{"sub a number", `{"sub":7,"refresh_token":"x"}`, 422, field("sub", "UUID input should be a string, bytes or UUID object", "uuid_type")},
		{"unknown token", refreshBody(tok.Sub, "eyJ.not.ours"), 401, invalid},
		{"empty token", refreshBody(tok.Sub, ""), 401, invalid},
		{"sub mismatch", refreshBody(newUUID4(), tok.RefreshToken), 401, invalid},
		{"access token as refresh token", refreshBody(tok.Sub, tok.AccessToken), 401, invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expect(t, send(t, "POST", s.URL+"/refresh", tt.body), tt.status, tt.want)
		})
	}
	// None of the rejections spent the token.
	decodePathStack(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken))
}

func TestPathStackRefreshRotates(t *testing.T) {
	s := startPathStack(t, Options{})
	first := login(t, s).Data
	second := decodePathStack(t, pathStackRefresh(t, s, first.Sub, *first.RefreshToken)).Data
	if second.RefreshToken == nil || *second.RefreshToken == *first.RefreshToken {
		t.Fatalf("refresh did not rotate: %v", second.RefreshToken)
	}
	if second.Sub != first.Sub || second.TokenType != "Bearer" || second.ExpiresIn != 3600 {
		t.Errorf("refresh data %+v", second)
	}
	if second.AccessToken == first.AccessToken {
		t.Error("same access token twice")
	}
	verifiedClaims(t, s, second.AccessToken)
	if verifiedClaims(t, s, *second.RefreshToken)["typ"] != "refresh" {
		t.Error("new refresh token is not typ refresh")
	}
	// The chain goes on with the newest token.
	third := decodePathStack(t, pathStackRefresh(t, s, first.Sub, *second.RefreshToken)).Data
	if st := s.Stats(); st.Refreshes != 2 || st.Rotations != 2 || st.ReuseDetections != 0 {
		t.Errorf("stats %+v", st)
	}

	// Presenting a retired token again is theft: 401, and the whole family dies.
	const invalid = `{"error":{"code":401,"message":"Invalid Refresh Token"}}`
	expect(t, pathStackRefresh(t, s, first.Sub, *first.RefreshToken), 401, invalid)
	expect(t, pathStackRefresh(t, s, first.Sub, *third.RefreshToken), 401, invalid)
	if st := s.Stats(); st.ReuseDetections != 1 || st.Rejections != 2 || st.Refreshes != 2 {
		t.Errorf("stats after reuse %+v", st)
	}

	// Another family of the same account is untouched.
	other := login(t, s).Data
	decodePathStack(t, pathStackRefresh(t, s, other.Sub, *other.RefreshToken))
}

func TestPathStackSubComparedAsUUID(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	upper := strings.ToUpper(strings.ReplaceAll(tok.Sub, "-", ""))
	d := decodePathStack(t, pathStackRefresh(t, s, upper, tok.RefreshToken)).Data
	if d.Sub != tok.Sub {
		t.Errorf("data.sub %q, want the canonical %q", d.Sub, tok.Sub)
	}
}

func TestPathStackWithoutRotation(t *testing.T) {
	s := startPathStack(t, Options{RotateRefresh: noRotation()})
	d := login(t, s).Data
	for range 3 {
		resp := pathStackRefresh(t, s, d.Sub, *d.RefreshToken)
		got := decodePathStack(t, resp).Data
		if got.RefreshToken != nil {
			t.Fatalf("data.refresh_token present without rotation: %s", resp.body)
		}
		var raw map[string]map[string]json.RawMessage
		json.Unmarshal([]byte(resp.body), &raw)
		if _, ok := raw["data"]["sub"]; !ok {
			t.Errorf("data.sub missing: %s", resp.body)
		}
	}
	if st := s.Stats(); st.Refreshes != 3 || st.Rotations != 0 || st.ReuseDetections != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestPathStackFamilyKeepsAccessTTL(t *testing.T) {
	s := startPathStack(t, Options{AccessTTL: 10 * time.Minute})
	tok, err := s.Mint(90 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got := lifetime(t, s, tok.AccessToken); got != 90*time.Second {
		t.Errorf("minted access lifetime %s, want 90s", got)
	}
	rt := tok.RefreshToken
	for range 2 {
		d := decodePathStack(t, pathStackRefresh(t, s, tok.Sub, rt)).Data
		if d.ExpiresIn != 90 || lifetime(t, s, d.AccessToken) != 90*time.Second {
			t.Errorf("after rotation expires_in %d, want 90", d.ExpiresIn)
		}
		rt = *d.RefreshToken
	}
	// A login uses the server default.
	if d := login(t, s).Data; d.ExpiresIn != 600 {
		t.Errorf("login expires_in %d, want 600", d.ExpiresIn)
	}
}

func TestPathStackRefreshTokenExpires(t *testing.T) {
	clock := &fakeClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	s := startPathStack(t, Options{RefreshTTL: time.Hour, Now: clock.Now})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(59 * time.Minute)
	d := decodePathStack(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken)).Data
	if date := send(t, "GET", s.URL+"/_fake/stats", "").header.Get("Date"); date != "Thu, 02 Jan 2025 04:03:05 GMT" {
		t.Errorf("Date %q does not follow the server clock", date)
	}
	clock.Advance(time.Hour)
	expect(t, pathStackRefresh(t, s, tok.Sub, *d.RefreshToken), 401, `{"error":{"code":401,"message":"Invalid Refresh Token"}}`)
}

func TestPathStackRoutingErrors(t *testing.T) {
	s := startPathStack(t, Options{})
	resp := send(t, "GET", s.URL+"/refresh", "")
	expect(t, resp, 405, `{"error":{"code":405,"message":"Method Not Allowed"}}`)
	if resp.header.Get("Allow") != "POST" {
		t.Errorf("Allow = %q", resp.header.Get("Allow"))
	}
	expect(t, send(t, "PUT", s.URL+"/token", "{}"), 405, `{"error":{"code":405,"message":"Method Not Allowed"}}`)
	expect(t, send(t, "POST", s.URL+"/v1/refresh_token", ""), 404, `{"detail":"Not Found"}`)
	expect(t, send(t, "POST", s.URL+"/refresh/", ""), 404, `{"detail":"Not Found"}`)
	if st := s.Stats(); st != (Stats{Requests: 4, Rejections: 4}) {
		t.Errorf("stats %+v", st)
	}
}

func TestParseUUID(t *testing.T) {
	tests := []struct {
		in        string
		valid, v4 bool
	}{
		{newUUID4(), true, true},
		{"9B2E6F0A-3C1D-4E5F-8A9B-0C1D2E3F4A5B", true, true},
		{"9b2e6f0a3c1d4e5f8a9b0c1d2e3f4a5b", true, true},
		{"urn:uuid:9b2e6f0a-3c1d-4e5f-8a9b-0c1d2e3f4a5b", true, true},
		{"{9b2e6f0a-3c1d-4e5f-8a9b-0c1d2e3f4a5b}", true, true},
		{"9b2e6f0a-3c1d-1e5f-8a9b-0c1d2e3f4a5b", true, false}, // version 1
		{"9b2e6f0a-3c1d-4e5f-ca9b-0c1d2e3f4a5b", true, false}, // not RFC 4122 variant
		{"9b2e6f0a-3c1d-4e5f-8a9b-0c1d2e3f4a5", false, false},
		{"zb2e6f0a-3c1d-4e5f-8a9b-0c1d2e3f4a5b", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if valid, v4 := parseUUID(tt.in); valid != tt.valid || v4 != tt.v4 {
			t.Errorf("parseUUID(%q) = %v %v, want %v %v", tt.in, valid, v4, tt.valid, tt.v4)
		}
	}
}
