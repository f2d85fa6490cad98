package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
)

// startFake starts a rotating fake PathStack for one test.
func startFake(t *testing.T, opts fake.Options) *fake.Server {
	t.Helper()
	srv, err := fake.StartPathStack(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// addMinted stores a fresh session minted by srv under label.
func (e *env) addMinted(srv *fake.Server, label string) {
	e.t.Helper()
	e.addMintedAt(srv, srv.URL, label)
}

// addMintedAt stores a fresh session minted by srv under label, refreshed
// at baseURL (a proxy in front of srv, say); extra are more flags of add.
func (e *env) addMintedAt(srv *fake.Server, baseURL, label string, extra ...string) {
	e.t.Helper()
	tok, err := srv.Mint(0)
	if err != nil {
		e.t.Fatal(err)
	}
	args := append([]string{"add", "pathstack", "--label", label, "--sub", tok.Sub, "--base-url", baseURL}, extra...)
	e.mustRun(tok.AccessToken+"\n"+tok.RefreshToken+"\n", args...)
}

func TestLoginRefreshTokenHistory(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	out := e.mustRun(srv.Password()+"\n", "login", "pathstack", "--label", "local", "--username", srv.Username(), "--base-url", srv.URL)
	if !strings.Contains(out, `logged in: session "local"`) {
		t.Fatalf("login: %s", out)
	}
	if r := e.run("wrong-password-marker\n", "login", "pathstack", "--label", "x", "--username", srv.Username(), "--base-url", srv.URL); r.code != exitFailed ||
		!strings.Contains(r.err, "Invalid username or password") || strings.Contains(r.err, "wrong-password-marker") {
		t.Fatalf("bad login: %+v", r)
	}

	var rj refreshJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "refresh", "local", "--json")), &rj); err != nil {
		t.Fatal(err)
	}
	if rj.Outcome != "ok" || rj.Status != 200 || !rj.Rotated || rj.Exchange == nil || rj.Envelope != nil {
		t.Fatalf("refresh --json: %+v", rj)
	}
	if rj.Exchange.RequestHeader.Get("x-api-version") != "2024-03-27" {
		t.Fatalf("x-api-version not sent: %v", rj.Exchange.RequestHeader)
	}

	shown := e.mustRun("", "refresh", "local", "--show-exchange")
	if !strings.Contains(shown, "POST") || !strings.Contains(shown, "200") || !strings.Contains(shown, "local: ok") {
		t.Fatalf("refresh --show-exchange: %s", shown)
	}

	// token prints the access token alone; it is the stored one while fresh.
	tok := strings.TrimSpace(e.mustRun("", "token", "local"))
	revealed := e.mustRun("", "show", "local", "--json", "--reveal")
	if tok == "" || strings.Count(tok, ".") != 2 || !strings.Contains(revealed, tok) {
		t.Fatalf("token printed %q", tok)
	}
	before := srv.Stats().Refreshes
	e.mustRun("", "token", "local")
	if srv.Stats().Refreshes != before {
		t.Fatal("token refreshed a fresh session")
	}
	// --min-valid longer than the time left forces a refresh first.
	e.now = e.now.Add(10 * time.Minute)
	tok2 := strings.TrimSpace(e.mustRun("", "token", "local", "--min-valid", "55m"))
	e.now = e.now.Add(-10 * time.Minute)
	if tok2 == tok || srv.Stats().Refreshes != before+1 {
		t.Fatal("token --min-valid 55m with 50m left did not refresh first")
	}
	// --min-valid as long as the lifetime can never be met: a usage error, no refresh.
	if r := e.run("", "token", "local", "--min-valid", "2h"); r.code != exitUsage || r.out != "" ||
		!strings.Contains(r.err, "--min-valid 2h0m0s is not shorter than the lifetime") || srv.Stats().Refreshes != before+1 {
		t.Fatalf("token --min-valid 2h: %+v", r)
	}

	var hist []attemptJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "history", "local", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[0].Trigger != "cli" || hist[0].Outcome != "ok" || !hist[0].Rotated || hist[0].SentFP == "" {
		t.Fatalf("history: %+v", hist)
	}
	if !hist[0].StartedAtAfter(hist[2]) {
		t.Fatal("history is not newest first")
	}
}

// StartedAtAfter reports whether a started no earlier than b.
func (a attemptJSON) StartedAtAfter(b attemptJSON) bool {
	return a.StartedAt != nil && b.StartedAt != nil && *a.StartedAt >= *b.StartedAt
}

func TestRefreshRejectedAndInvalid(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "revoked")
	s := e.mustRun("", "show", "revoked", "--json", "--reveal")
	var shown struct {
		Refresh tokenJSON `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(s), &shown); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(shown.Refresh.Raw)

	r := e.run("", "refresh", "revoked")
	if r.code != exitFailed || !strings.Contains(r.out, "rejected · 401") || !strings.Contains(r.out, "Invalid Refresh Token") {
		t.Fatalf("refresh of a revoked session: %+v", r)
	}
	// The way out, as `token` says it: log in again.
	if !strings.Contains(r.err, "revoked needs login") || !strings.Contains(r.err, "tokentop login pathstack --label revoked") {
		t.Fatalf("refresh after a 401 gives no login hint: %q", r.err)
	}
	e.now = e.now.Add(2 * time.Hour) // its access token has expired too
	if r := e.run("", "token", "revoked"); r.code != exitFailed || !strings.Contains(r.err, "tokentop login pathstack --label revoked") {
		t.Fatalf("token of an expired needs-login session: %+v", r)
	}
	e.now = e.now.Add(-2 * time.Hour)
	var rj401 refreshJSON
	r = e.run("", "refresh", "revoked", "--json")
	if err := json.Unmarshal([]byte(r.out), &rj401); err != nil || !rj401.NeedsLogin || !strings.Contains(r.err, "needs login") {
		t.Fatalf("refresh --json after a 401: %v %+v %q", err, rj401, r.err)
	}
	if ls := e.mustRun("", "ls"); !strings.Contains(ls, "needs_login") {
		t.Fatalf("a 401 did not mark the session needs_login: %s", ls)
	}

	// A sub the server refuses: 422 with field errors, parsed.
	tok, _ := srv.Mint(0)
	e.mustRun(tok.AccessToken+"\n"+tok.RefreshToken+"\n", "add", "pathstack", "--label", "bad-sub", "--sub", "8c1e5b9e-1f0a-1c59-9a57-2f4f3e7d1a01", "--base-url", srv.URL)
	var rj refreshJSON
	r = e.run("", "refresh", "bad-sub", "--json")
	if err := json.Unmarshal([]byte(r.out), &rj); err != nil {
		t.Fatalf("%v: %s", err, r.out)
	}
	if r.code != exitFailed || rj.Outcome != "rejected" || rj.Status != 422 || rj.Envelope == nil || len(rj.Envelope.Fields) != 1 ||
		locString(rj.Envelope.Fields[0].Loc) != "body.sub" {
		t.Fatalf("422: exit %d %+v", r.code, rj)
	}

	// A server that is down: network error, exit 1, one clear line.
	down, _ := closedPortURL()
	e.mustRun(tok.AccessToken+"\n"+tok.RefreshToken+"\n", "add", "pathstack", "--label", "down", "--sub", tok.Sub, "--base-url", down)
	r = e.run("", "refresh", "down")
	if r.code != exitFailed || !strings.Contains(r.out, "network_error") || !strings.Contains(r.out, "refused") {
		t.Fatalf("refresh of a down server: %+v", r)
	}
}

// TestNoSecretsInOutput: marker tokens never appear in the vault file, stored
// attempts, or any output without --reveal.
func TestNoSecretsInOutput(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	var all bytes.Buffer
	for _, args := range [][]string{{"refresh", "prod", "--show-exchange"}, {"refresh", "prod", "--json"}, {"history", "prod", "--json"},
		{"ls", "--json"}, {"show", "prod"}, {"show", "prod", "--json"}, {"export"}} {
		r := e.run("", args...)
		all.WriteString(r.out + r.err)
	}
	srv.QueueFault(fake.Fault{Status: 502, Body: "<html><title>502 Bad Gateway</title></html>"})
	r := e.run("", "refresh", "prod", "--show-exchange")
	all.WriteString(r.out + r.err)
	if !strings.Contains(r.out, "502") {
		t.Fatalf("502 not shown: %s", r.out)
	}
	secret := e.mustRun("", "show", "prod", "--json", "--reveal")
	var shown struct {
		Access  tokenJSON `json:"access_token"`
		Refresh tokenJSON `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(secret), &shown); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(e.vault)
	if err != nil {
		t.Fatal(err)
	}
	wal, _ := os.ReadFile(e.vault + "-wal")
	for _, tok := range []string{shown.Access.Raw, shown.Refresh.Raw} {
		if strings.Contains(all.String(), tok) {
			t.Fatal("a token reached CLI output without --reveal")
		}
		if bytes.Contains(raw, []byte(tok)) || bytes.Contains(wal, []byte(tok)) {
			t.Fatal("a token is in the vault file in plaintext")
		}
	}
}

// TestTwoProcessesNeverReuse: two OS processes refreshing one session 25
// times each against a rotating server never spend a refresh token twice.
func TestTwoProcessesNeverReuse(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "shared")
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for p := 0; p < 2; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				out, err := e.command("", "refresh", "shared").CombinedOutput()
				if err != nil {
					errs <- fmt.Errorf("process %d, refresh %d: %v: %s", p, i, err, out)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := srv.Stats()
	if st.ReuseDetections != 0 {
		t.Fatalf("%d reuse detections", st.ReuseDetections)
	}
	if st.Refreshes < 25 || st.Refreshes > 50 {
		t.Fatalf("%d refreshes reached the server", st.Refreshes)
	}
	e.mustRun("", "refresh", "shared")
}

func TestFakeServerCommand(t *testing.T) {
	e := newEnv(t)
	cmd := e.command("", "fake-server")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var info struct {
		PathStack string `json:"pathstack_url"`
		Galileo   string `json:"galileo_url"`
		Username  string `json:"username"`
		Password  string `json:"password"`
		APIKey    string `json:"galileo_api_key"`
	}
	if err := json.NewDecoder(stdout).Decode(&info); err != nil {
		t.Fatal(err)
	}
	e.mustRun(info.Password+"\n", "login", "pathstack", "--label", "via-cmd", "--username", info.Username, "--base-url", info.PathStack)
	e.mustRun("", "refresh", "via-cmd")
	// The same account logs in to Galileo; the API key works too.
	e.mustRun(info.Password+"\n", "login", "galileo", "--label", "gl-pw", "--username", info.Username, "--base-url", info.Galileo)
	e.mustRun(info.APIKey+"\n", "login", "galileo", "--label", "gl-key", "--api-key-stdin", "--base-url", info.Galileo)
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, 10*time.Second, "fake-server did not stop on SIGINT"); err != nil {
		t.Fatalf("fake-server did not exit 0 on SIGINT: %v", err)
	}

}

// TestLoginRefusesBadInputBeforeSending: nothing is sent (and no password
// asked for) when the session could not be stored, and a session of the
// other provider is never overwritten.
func TestLoginRefusesBadInputBeforeSending(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	tok, _ := srv.Mint(0)
	e.mustRun(tok.AccessToken+"\n"+tok.RefreshToken+"\n", "add", "galileo", "--label", "acme", "--base-url", "https://api.acme.rungalileo.io")
	for _, args := range [][]string{
		{"--label", "a b"},
		{"--label", "ok", "--base-url", "ftp://x"},
		{"--label", "acme"},
	} {
		before := e.vaultBytes()
		r := e.run(srv.Password()+"\n", append([]string{"login", "pathstack", "--username", srv.Username(), "--base-url", srv.URL}, args...)...)
		if r.code != exitUsage || strings.Count(r.err, "\n") != 1 {
			t.Fatalf("login %v: exit %d, stderr %q", args, r.code, r.err)
		}
		if !bytes.Equal(before, e.vaultBytes()) {
			t.Fatalf("login %v changed the vault", args)
		}
	}
	if n := srv.Stats().Logins; n != 0 {
		t.Fatalf("%d logins reached the server", n)
	}
	if r := e.run("", "token", "acme", "--min-valid", "-1m"); r.code != exitUsage {
		t.Fatalf("negative --min-valid: %+v", r)
	}
	if r := e.run("", "ls", "--timeout", "0s"); r.code != exitUsage {
		t.Fatalf("--timeout 0s: %+v", r)
	}
}
