package providers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func TestMask(t *testing.T) {
	tests := map[string]string{
		"":                       "",
		"hunter2":                "…(7)…",
		"elevenchars":            "…(11)…",
		"twelve-chars":           "twel…(12)…ars",
		"eyJhbGciOi.payload.Q9s": "eyJh…(22)…Q9s",
		"ééééééééééééé":          "éééé…(13)…ééé",
	}
	for in, want := range tests {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// Marker secrets: long and unique, so that any leak is found by a substring search.
const (
	mkRefreshSent = "MRK-refresh-sent-0123456789abcdef"
	mkRefreshNew  = "MRK-refresh-new-0123456789abcdef"
	mkAccess      = "MRK-access-0123456789abcdef"
	mkBearer      = "MRK-bearer-0123456789abcdef"
	mkAPIKey      = "MRK-apikey-0123456789abcdef"
	mkPassword    = "MRK-password-0123456789"
	mkIDToken     = "MRK-idtoken-0123456789abcdef"
	mkQuery       = "MRK-query-0123456789abcdef"
	mkSecret      = "MRK-client-secret-0123456789"
	mkEscaped     = `MRK-esc/aped-0123456789abcdef`
)

var markers = []string{mkRefreshSent, mkRefreshNew, mkAccess, mkBearer, mkAPIKey, mkPassword, mkIDToken, mkQuery, mkSecret, mkEscaped}

func markedExchange() *Exchange {
	ex := &Exchange{
		Method: "POST",
		URL:    "https://api.example.test/refresh/" + mkRefreshSent + "?token=" + mkQuery + "&page=2",
		RequestHeader: http.Header{
			"Authorization":   {"Bearer " + mkBearer},
			"Cookie":          {"theme=dark; refresh_token=" + mkRefreshSent},
			"Galileo-Api-Key": {mkAPIKey},
			"Content-Type":    {"application/json"},
			"X-Api-Version":   {"2024-03-27"},
		},
		RequestBody: `{"outer": {"password": "` + mkPassword + `", "keep": "visible"}, "list": [{"id_token":"` + mkIDToken + `"}], "token": "MRK-esc\/aped-0123456789abcdef"}`,
		Status:      200,
		StatusText:  "200 OK",
		Proto:       "HTTP/1.1",
		ResponseHeader: http.Header{
			"Set-Cookie":   {"refresh_token=" + mkRefreshNew + "; Path=/; HttpOnly; Secure"},
			"Content-Type": {"application/json"},
		},
		ResponseBody: "{\n  \"data\": {\"access_token\": \"" + mkAccess + "\", \"expires_in\": 3600}\n}",
		Error:        "upstream said " + mkRefreshSent + " is odd",
	}
	ex.AddSecrets(mkRefreshSent)
	return ex
}

func TestRedactedMasksEverySecret(t *testing.T) {
	ex := markedExchange()
	before, _ := json.Marshal(ex)
	red := ex.Redacted()

	raw, err := ex.MarshalRedacted()
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	ex.Format(&text, false)
	for _, out := range []string{string(raw), text.String()} {
		for _, m := range markers {
			if strings.Contains(out, m) {
				t.Errorf("secret %q left in:\n%s", m, out)
			}
		}
	}
	if !red.Masked || ex.Masked {
		t.Errorf("Masked: copy %v, original %v", red.Masked, ex.Masked)
	}
	// The original is untouched: Redacted is a deep copy.
	if after, _ := json.Marshal(ex); !bytes.Equal(before, after) {
		t.Errorf("Redacted modified the original:\n%s\n%s", before, after)
	}

	checks := map[string]string{
		"Authorization": red.RequestHeader.Get("Authorization"),
		"Cookie":        red.RequestHeader.Get("Cookie"),
		"Api key":       red.RequestHeader.Get("Galileo-Api-Key"),
		"Set-Cookie":    red.ResponseHeader.Get("Set-Cookie"),
		"version":       red.RequestHeader.Get("X-Api-Version"),
		"url":           red.URL,
		"error":         red.Error,
	}
	want := map[string]string{
		"Authorization": "Bearer " + Mask(mkBearer),
		"Cookie":        "theme=…(4)…; refresh_token=" + Mask(mkRefreshSent),
		"Api key":       "…",
		"Set-Cookie":    "refresh_token=" + Mask(mkRefreshNew) + "; Path=/; HttpOnly; Secure",
		"version":       "2024-03-27",
		"url":           "https://api.example.test/refresh/" + Mask(mkRefreshSent) + "?token=" + Mask(mkQuery) + "&page=2",
		"error":         "upstream said " + Mask(mkRefreshSent) + " is odd",
	}
	for k, w := range want {
		if checks[k] != w {
			t.Errorf("%s: got %q, want %q", k, checks[k], w)
		}
	}
	wantReq := `{"outer": {"password": "…", "keep": "visible"}, "list": [{"id_token":"` + Mask(mkIDToken) + `"}], "token": "` + Mask(mkEscaped) + `"}`
	if red.RequestBody != wantReq {
		t.Errorf("request body:\n got %s\nwant %s", red.RequestBody, wantReq)
	}
	wantResp := "{\n  \"data\": {\"access_token\": \"" + Mask(mkAccess) + "\", \"expires_in\": 3600}\n}"
	if red.ResponseBody != wantResp {
		t.Errorf("response body:\n got %s\nwant %s", red.ResponseBody, wantResp)
	}
}

func TestRedactedSecretsFoundInOnePlaceAreMaskedEverywhere(t *testing.T) {
	// The access token is found in the JSON body; the same value echoed in a
	// header and a non-JSON field is masked too.
	ex := &Exchange{
		RequestHeader:  http.Header{"X-Echo": {"got " + mkAccess}},
		ResponseHeader: http.Header{},
		ResponseBody:   `{"access_token":"` + mkAccess + `"}`,
		Error:          "see " + mkAccess,
	}
	red := ex.Redacted()
	if got := red.RequestHeader.Get("X-Echo"); got != "got "+Mask(mkAccess) {
		t.Errorf("echo header %q", got)
	}
	if red.Error != "see "+Mask(mkAccess) {
		t.Errorf("error %q", red.Error)
	}
}

func TestRedactedFormBodies(t *testing.T) {
	ex := &Exchange{
		RequestHeader:  http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
		RequestBody:    "grant_type=refresh_token&client_secret=" + mkSecret + "&refresh_token=" + mkRefreshSent + "&password=abc",
		ResponseHeader: http.Header{},
	}
	red := ex.Redacted()
	want := "grant_type=refresh_token&client_secret=…&refresh_token=" + Mask(mkRefreshSent) + "&password=…"
	if red.RequestBody != want {
		t.Errorf("form body:\n got %s\nwant %s", red.RequestBody, want)
	}
}

func TestRedactedTruncatedJSON(t *testing.T) {
	ex := &Exchange{ResponseBody: `{"data": {"refresh_token": "` + mkRefreshNew + `", "access_token": "` + mkAccess}
	red := ex.Redacted()
	want := `{"data": {"refresh_token": "` + Mask(mkRefreshNew) + `", "access_token": "` + Mask(mkAccess)
	if red.ResponseBody != want {
		t.Errorf("truncated body:\n got %s\nwant %s", red.ResponseBody, want)
	}
}

func TestFormat(t *testing.T) {
	ex := markedExchange()
	ex.URL = "https://api.example.test/refresh"
	ex.Timings = Timings{Total: 1500000}
	var hidden, shown bytes.Buffer
	ex.Format(&hidden, false)
	ex.Format(&shown, true)
	for _, line := range []string{
		"> POST /refresh HTTP/1.1\n",
		"> Host: api.example.test\n",
		"> Authorization: Bearer " + Mask(mkBearer) + "\n",
		"> X-Api-Version: 2024-03-27\n",
		"< HTTP/1.1 200 OK\n",
		"< Set-Cookie: refresh_token=" + Mask(mkRefreshNew) + "; Path=/; HttpOnly; Secure\n",
		"* timings: dns 0s, connect 0s, tls 0s, first byte 0s, total 1.5ms\n",
	} {
		if !strings.Contains(hidden.String(), line) {
			t.Errorf("redacted output lacks %q:\n%s", line, hidden.String())
		}
	}
	for _, m := range []string{mkBearer, mkAccess, mkRefreshNew, mkPassword} {
		if !strings.Contains(shown.String(), m) {
			t.Errorf("revealed output lacks %q", m)
		}
	}
}

// TestPasswordsMaskedByLengthOnly: a password shows neither head nor tail
// nor its length, in the body or anywhere else it appears, and the request's
// Content-Length (which would tell the length) is hidden.
func TestPasswordsMaskedByLengthOnly(t *testing.T) {
	const pw = "correct-horse-battery-staple"
	ex := &Exchange{
		URL:           "https://api.example/token",
		RequestHeader: http.Header{"Content-Type": {"application/json"}, "Content-Length": {"49"}},
		RequestBody:   `{"username":"dev","password":"` + pw + `"}`,
		ResponseBody:  `{"echo":"` + pw + `"}`,
	}
	ex.AddSecrets(pw)
	r := ex.Redacted()
	want := `"password":"…"`
	if !strings.Contains(r.RequestBody, want) {
		t.Fatalf("request body %q lacks %q", r.RequestBody, want)
	}
	if got := r.RequestHeader.Get("Content-Length"); got != hiddenLength {
		t.Fatalf("Content-Length %q", got)
	}
	for _, s := range []string{r.RequestBody, r.ResponseBody} {
		if strings.Contains(s, "corr") || strings.Contains(s, "ple\"") || strings.Contains(s, "28") {
			t.Fatalf("password head or tail shown: %q", s)
		}
	}
}

// TestRedactCamelCaseKeysAndShortCookies: camelCase token fields are masked;
// a short cookie value is masked in its cookie but not everywhere else.
func TestRedactCamelCaseKeysAndShortCookies(t *testing.T) {
	const tok = "MRK-camel-token-0123456789"
	ex := &Exchange{
		URL:            "https://acme.example/v1/refresh_token",
		RequestHeader:  http.Header{"Cookie": {"tenant=acme; refresh_token=" + tok}},
		ResponseHeader: http.Header{"Content-Type": {"application/json"}},
		ResponseBody:   `{"accessToken":"` + tok + `x","refreshToken":"` + tok + `y","sessionToken":"` + tok + `z","jwt":"` + tok + `w"}`,
	}
	r := ex.Redacted()
	if strings.Contains(r.ResponseBody, "MRK-camel") {
		t.Fatalf("camelCase secret left: %s", r.ResponseBody)
	}
	if r.URL != ex.URL {
		t.Fatalf("a short cookie value was masked in the URL: %s", r.URL)
	}
	if c := r.RequestHeader.Get("Cookie"); strings.Contains(c, "acme") || strings.Contains(c, tok) {
		t.Fatalf("cookie not masked: %s", c)
	}
}
