package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
)

func TestTokenFormats(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "fmt")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "ps", "--sub", testSub, "--api-version", "2024-03-26")
	e.mustRun(access+"\n"+refresh+"\n", "add", "galileo", "--label", "gl", "--base-url", "https://api.acme.rungalileo.io")
	exp := e.now.Add(time.Hour).UTC().Format(time.RFC3339)

	if out := e.mustRun("", "token", "ps"); out != access+"\n" {
		t.Errorf("token (raw by default): %q", out)
	}
	if out := e.mustRun("", "token", "ps", "--format", "raw"); out != access+"\n" {
		t.Errorf("--format raw: %q", out)
	}
	if out := e.mustRun("", "token", "ps", "--format", "header"); out != "Authorization: Bearer "+access+"\n" {
		t.Errorf("--format header: %q", out)
	}
	for label, wantHeaders := range map[string]map[string]string{
		"ps": {"Authorization": "Bearer " + access, "x-api-version": "2024-03-26"},
		"gl": {"Authorization": "Bearer " + access},
	} {
		var got tokenJSONOut
		if err := json.Unmarshal([]byte(e.mustRun("", "token", label, "--format", "json")), &got); err != nil {
			t.Fatal(err)
		}
		if got.AccessToken != access || got.TokenType == "" || got.ExpiresAt == nil || *got.ExpiresAt != exp || fmt.Sprint(got.Headers) != fmt.Sprint(wantHeaders) {
			t.Errorf("%s --format json: %+v", label, got)
		}
	}
	// --format env is eval-able by a POSIX shell.
	env := e.mustRun("", "token", "ps", "--format", "env")
	out, err := exec.Command("sh", "-c", env+`printf '%s|%s|%s|%s' "$TOKENTOP_ACCESS_TOKEN" "$TOKENTOP_AUTHORIZATION" "$PATHSTACK_API_VERSION" "$TOKENTOP_EXPIRES_AT"`).Output()
	if err != nil || string(out) != access+"|Bearer "+access+"|2024-03-26|"+exp {
		t.Errorf("eval of --format env: %v %q", err, out)
	}
	if env := e.mustRun("", "token", "gl", "--format", "env"); strings.Contains(env, "PATHSTACK") || !strings.HasPrefix(env, "export TOKENTOP_ACCESS_TOKEN='") {
		t.Errorf("galileo --format env: %q", env)
	}
	if q := shellQuote(`it's "$HOME"`); q != `'it'\''s "$HOME"'` {
		t.Errorf("shellQuote: %s", q)
	}
	if r := e.run("", "token", "ps", "--format", "xml"); r.code != exitUsage || strings.Contains(r.out, access) {
		t.Errorf("--format xml: %+v", r)
	}
}

func TestCredentialHelper(t *testing.T) {
	e := newEnv(t)
	add := func(provider, label, baseURL, marker string) string {
		access, refresh := tokenPair(t, e.now, time.Hour, marker)
		args := []string{"add", provider, "--label", label, "--base-url", baseURL}
		if provider == "pathstack" {
			args = append(args, "--sub", testSub)
		}
		e.mustRun(access+"\n"+refresh+"\n", args...)
		return access
	}
	root := add("pathstack", "root", "https://api.example.com", "root")
	v1 := add("pathstack", "v1", "https://api.example.com/v1/", "v1")
	twin := add("pathstack", "twin", "https://API.example.com:443/v1", "twin")
	v1b := add("pathstack", "v1b", "https://api.example.com/v1/b", "v1b")
	gl := add("galileo", "acme", "http://127.0.0.1:8088", "acme")

	get := func(stdin string, args ...string) result {
		return e.run(stdin, append([]string{"credential-helper"}, append(args, "get")...)...)
	}
	for uri, want := range map[string]string{
		"https://api.example.com/v2/x":        root,
		"https://api.example.com":             root,
		"https://api.example.com/v10":         root, // /v1 is not a prefix of /v10
		"https://api.example.com/v1/b/c?d=e":  v1b,
		"https://api.example.com:443/v1/b":    v1b,
		"http://127.0.0.1:8088/v2/projects/x": gl,
	} {
		r := get(fmt.Sprintf(`{"uri": %q}`, uri))
		var resp helperResponse
		if r.code != 0 || json.Unmarshal([]byte(r.out), &resp) != nil {
			t.Errorf("%s: %+v", uri, r)
			continue
		}
		if got := resp.Headers["Authorization"]; len(got) != 1 || got[0] != "Bearer "+want {
			t.Errorf("%s: the wrong session's token (or none)", uri)
		}
		if v := resp.Headers["X-Api-Version"]; (want == gl) != (v == nil) || (v != nil && v[0] != "2024-03-27") {
			t.Errorf("%s: X-Api-Version %v", uri, v)
		}
		if resp.Expires == nil || *resp.Expires != e.now.Add(time.Hour).UTC().Format(time.RFC3339) {
			t.Errorf("%s: expires %v", uri, resp.Expires)
		}
	}

	// Two sessions equally good: an error naming both; --label settles it.
	r := get(`{"uri": "https://api.example.com/v1/me"}`)
	if r.code != exitFailed || !strings.Contains(r.err, `"v1"`) || !strings.Contains(r.err, `"twin"`) || strings.Count(r.err, "\n") != 1 || r.out != "" {
		t.Errorf("ambiguous: %+v", r)
	}
	if r := get(`{"uri": "https://api.example.com/v1/me"}`, "--label", "twin"); r.code != 0 || !strings.Contains(r.out, twin) {
		t.Errorf("--label twin: %+v", r)
	}
	if r := get(`{"uri": "https://elsewhere.example.com/v1"}`, "--label", "v1"); r.code != 0 || !strings.Contains(r.out, v1) {
		t.Errorf("--label v1 for another host: %+v", r)
	}
	for _, uri := range []string{"http://api.example.com/v2", "https://api.example.com:8443/", "https://other.example.com/"} {
		if r := get(fmt.Sprintf(`{"uri": %q}`, uri)); r.code != exitFailed || !strings.Contains(r.err, "no session") || r.out != "" {
			t.Errorf("%s: %+v", uri, r)
		}
	}
	if r := get(`{"uri": "https://x"}`, "--label", "nope"); r.code != exitFailed {
		t.Errorf("--label nope: %+v", r)
	}
	for name, r := range map[string]result{
		"not json":      get(`uri=https://api.example.com`),
		"empty stdin":   get(``),
		"no uri":        get(`{}`),
		"relative uri":  get(`{"uri": "/v1"}`),
		"verb store":    e.run(`{"uri": "https://api.example.com"}`, "credential-helper", "store"),
		"verb erase":    e.run("", "credential-helper", "erase"),
		"no verb":       e.run("", "credential-helper"),
		"two verbs":     e.run("", "credential-helper", "get", "get"),
		"negative min":  get(`{"uri": "https://api.example.com"}`, "--min-valid", "-1s"),
		"oversized min": get(`{"uri": "https://api.example.com"}`, "--min-valid", "2h"),
	} {
		if r.code != exitUsage || strings.Count(r.err, "\n") != 1 || r.out != "" {
			t.Errorf("%s: %+v, want exit 2 and one line", name, r)
		}
	}
}

// TestCredentialHelperAnswersWithStdinOpen: the answer does not wait for
// the end of stdin, only for the request.
func TestCredentialHelperAnswersWithStdinOpen(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "local")
	c := e.command("", "credential-helper", "get")
	c.Stdin = nil
	in, err := c.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(in, `{"uri": "%s/v1/me"}`+"\n", srv.URL)
	if err := waitExit(t, c, 10*time.Second, "credential-helper waited for the end of stdin"); err != nil || !strings.Contains(stdout.String(), `"Authorization"`) {
		t.Fatalf("credential-helper: %v %s %s", err, stdout.String(), stderr.String())
	}

	// exec completes labels, then leaves the command to the shell.
	if out := e.mustRun("", "__complete", "exec", ""); !strings.HasPrefix(out, "local\t") {
		t.Errorf("complete exec: %q", out)
	}
	if out := e.mustRun("", "__complete", "exec", "local", "--", ""); out != ":0\n" /* ShellCompDirectiveDefault */ {
		t.Errorf("complete exec local -- : %q", out)
	}
}
