package cli

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
)

func startFakeGalileo(t *testing.T, opts fake.Options) *fake.Server {
	t.Helper()
	srv, err := fake.StartGalileo(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

func TestLoginGalileoWithPasswordAndAPIKey(t *testing.T) {
	e := newEnv(t)
	srv := startFakeGalileo(t, fake.Options{})

	// A wrong password: exit 1, one line, no vault, neither the password nor its length shown.
	pw := "wrong-galileo-password-of-34-chars"
	r := e.run(pw+"\n", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--username", srv.Username())
	if r.code != exitFailed || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, "Incorrect username or password") || e.vaultBytes() != nil {
		t.Fatalf("wrong password: %+v, vault created: %v", r, e.vaultBytes() != nil)
	}
	if all := r.out + r.err; strings.Contains(all, pw) || strings.Contains(all, "(34)") || strings.Contains(all, "Content-Length: 8") {
		t.Fatalf("a failed login tells the password or its length:\n%s", all)
	}

	out := e.mustRun(srv.Password()+"\n", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--username", srv.Username())
	if !strings.HasPrefix(out, `logged in: session "acme" (expires in `) || strings.Contains(out, "remembered") {
		t.Fatalf("login galileo: %q", out)
	}
	first := strings.TrimSpace(e.mustRun("", "token", "acme"))
	var s sessionJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "show", "acme", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.Provider != "galileo" || s.BaseURL != srv.URL || s.State != "valid" || s.LoginRemembered != "" {
		t.Fatalf("show after login: %+v", s)
	}
	// The session refreshes with the cookie the login set.
	if out := e.mustRun("", "refresh", "acme"); !strings.Contains(out, "ok") {
		t.Fatalf("refresh after login: %s", out)
	}

	// An API key, on stdin: the label exists (same provider): its tokens are replaced.
	key := srv.IssueAPIKey()
	out = e.mustRun(key+"\n", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--api-key-stdin")
	if !strings.HasPrefix(out, `logged in: session "acme"`) || strings.Contains(out, key) {
		t.Fatalf("login --api-key-stdin: %q", out)
	}
	if second := strings.TrimSpace(e.mustRun("", "token", "acme")); second == first || second == "" {
		t.Fatal("the second login did not replace the tokens")
	}
	if ls := e.mustRun("", "ls"); strings.Count(ls, "acme") != 1 {
		t.Fatalf("ls after logging in twice: %s", ls)
	}
	if st := srv.Stats(); st.Logins != 2 {
		t.Fatalf("fake stats %+v: want 2 logins", st)
	}

	// A revoked API key: exit 1, one line, the key not shown.
	srv.RevokeAPIKey(key)
	r = e.run(key+"\n", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--api-key-stdin")
	if r.code != exitFailed || strings.Count(r.err, "\n") != 1 || strings.Contains(r.out+r.err, key) {
		t.Fatalf("revoked key: %+v", r)
	}

	// The label defaults to the base URL's host.
	out = e.mustRun(srv.Password()+"\n", "login", "galileo", "--base-url", srv.URL, "--username", srv.Username())
	if host := strings.TrimPrefix(srv.URL, "http://"); !strings.HasPrefix(out, `logged in: session "`+host+`"`) {
		t.Fatalf("login without --label: %q", out)
	}
}

func TestLoginRefusals(t *testing.T) {
	e := newEnv(t)
	gl := startFakeGalileo(t, fake.Options{})
	ps := startFake(t, fake.Options{})
	e.addMinted(ps, "prod")
	for name, args := range map[string][]string{
		"no provider":          {"login"},
		"unknown provider":     {"login", "okta"},
		"galileo no base url":  {"login", "galileo", "--username", "u"},
		"galileo no method":    {"login", "galileo", "--base-url", gl.URL},
		"galileo both methods": {"login", "galileo", "--base-url", gl.URL, "--username", "u", "--api-key-stdin"},
		"pathstack api key":    {"login", "pathstack", "--base-url", ps.URL, "--api-key-stdin"},
		"pathstack no user":    {"login", "pathstack", "--base-url", ps.URL},
		"other provider":       {"login", "galileo", "--base-url", gl.URL, "--label", "prod", "--username", gl.Username()},
		"secret as argument":   {"login", "galileo", "--base-url", gl.URL, "--username", "u", gl.Password()},
	} {
		before := e.vaultBytes()
		r := e.run(gl.Password()+"\n", args...)
		if r.code != exitUsage || strings.Count(r.err, "\n") != 1 || strings.Contains(r.out+r.err, gl.Password()) {
			t.Errorf("%s: %+v, want a usage error (that does not repeat the password)", name, r)
		}
		if string(before) != string(e.vaultBytes()) {
			t.Errorf("%s changed the vault", name)
		}
	}
	if n := gl.Stats().Logins + ps.Stats().Logins; n != 0 {
		t.Fatalf("%d logins reached a server", n)
	}
}

func TestLoginRememberAndForget(t *testing.T) {
	e := newEnv(t)
	gl := startFakeGalileo(t, fake.Options{})
	ps := startFake(t, fake.Options{})
	key := gl.IssueAPIKey()

	out := e.mustRun(key+"\n", "login", "galileo", "--base-url", gl.URL, "--label", "acme", "--api-key-stdin", "--remember")
	if !strings.Contains(out, "login remembered for automatic re-login (api_key)") {
		t.Fatalf("login --remember: %q", out)
	}
	out = e.mustRun(ps.Password()+"\n", "login", "pathstack", "--base-url", ps.URL, "--label", "prod", "--username", ps.Username(), "--remember")
	if !strings.Contains(out, "(password for "+ps.Username()+")") {
		t.Fatalf("login pathstack --remember: %q", out)
	}
	if show := e.mustRun("", "show", "acme"); !strings.Contains(show, "login         remembered (api_key)") {
		t.Fatalf("show acme:\n%s", show)
	}
	if show := e.mustRun("", "show", "prod"); !strings.Contains(show, "login         remembered (password for "+ps.Username()+")") {
		t.Fatalf("show prod:\n%s", show)
	}
	// The secrets are sealed: not in the vault file, nor in any output.
	raw := string(e.vaultBytes())
	if strings.Contains(raw, key) || strings.Contains(raw, ps.Password()) {
		t.Fatal("a remembered secret is in the vault file in plaintext")
	}
	for _, args := range [][]string{{"show", "acme", "--json", "--reveal"}, {"ls", "--json"}, {"export", "--with-secrets"}} {
		if out := e.mustRun("", args...); strings.Contains(out, key) || strings.Contains(out, ps.Password()) {
			t.Fatalf("%v prints a remembered secret", args)
		}
	}

	// A login without --remember keeps the one remembered before, and says so.
	out = e.mustRun(ps.Password()+"\n", "login", "pathstack", "--base-url", ps.URL, "--label", "prod", "--username", ps.Username())
	if !strings.Contains(out, "the login remembered before is kept (password for "+ps.Username()+")") {
		t.Fatalf("login without --remember over a remembered one: %q", out)
	}

	out = e.mustRun("", "forget", "acme")
	if out != "forgot the login remembered for \"acme\" (api_key); its tokens are kept\n" {
		t.Fatalf("forget: %q", out)
	}
	if show := e.mustRun("", "show", "acme"); strings.Contains(show, "remembered") {
		t.Fatalf("show after forget:\n%s", show)
	}
	if out := e.mustRun("", "forget", "acme"); !strings.Contains(out, "nothing to forget") {
		t.Fatalf("forget twice: %q", out)
	}
	if r := e.run("", "forget", "nope"); r.code != exitFailed {
		t.Fatalf("forget nope: %+v", r)
	}
	e.mustRun("", "token", "acme") // the tokens stay
}

// TestLoginGalileoPromptsOnATerminal: on a terminal the API key is asked
// for without echo, and exec hands the terminal to its command.
func TestLoginGalileoPromptsOnATerminal(t *testing.T) {
	e := newEnv(t)
	srv := startFakeGalileo(t, fake.Options{})
	key := srv.IssueAPIKey()
	s := startScreen(t, e.command("", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--api-key-stdin"), 100, 20)
	s.waitFor("the prompt", 10*time.Second, "API key: ")
	s.press(key, "\r")
	if err := s.wait(10 * time.Second); err != nil {
		t.Fatalf("login on a terminal: %v\n%s", err, s.text())
	}
	if txt := s.text(); !strings.Contains(txt, `logged in: session "acme"`) || strings.Contains(string(s.rawOutput()), key) {
		t.Fatalf("the key was echoed, or no login:\n%s", txt)
	}

	s = startScreen(t, e.command("", "exec", "acme", "--", "sh", "-c", `test -t 0 && test -t 1 && echo "child on a terminal"`), 100, 20)
	if err := s.wait(10 * time.Second); err != nil {
		t.Fatalf("exec on a terminal: %v\n%s", err, s.text())
	}
	s.waitFor("the child's line", 5*time.Second, "child on a terminal")
}

// TestTokenOnANeedsLoginSessionUsesTheRememberedLogin: token, exec and
// credential-helper leave a session that needs login to the Refresher when a
// login is remembered (it logs in again), instead of refusing at once.
func TestTokenOnANeedsLoginSessionUsesTheRememberedLogin(t *testing.T) {
	e := newEnv(t)
	srv := startFakeGalileo(t, fake.Options{})
	e.mustRun(srv.IssueAPIKey()+"\n", "login", "galileo", "--base-url", srv.URL, "--label", "acme", "--api-key-stdin", "--remember")
	before := strings.TrimSpace(e.mustRun("", "token", "acme"))

	// The refresh token is revoked and the automatic login fails once: the
	// session needs login.
	srv.RevokeAll()
	srv.QueueFault(fake.Fault{Status: 401, Count: 2})
	if r := e.run("", "refresh", "acme"); r.code != exitFailed {
		t.Fatalf("refresh with the login failing: %+v", r)
	}
	var s sessionJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "show", "acme", "--json")), &s); err != nil {
		t.Fatal(err)
	}
	if s.State != "needs_login" || s.LoginRemembered != "api_key" {
		t.Fatalf("after the failed login: state %s, login %q", s.State, s.LoginRemembered)
	}
	after := strings.TrimSpace(e.mustRun("", "token", "acme"))
	if after == before || after == "" {
		t.Fatal("token did not log in again with the remembered API key")
	}

	// Forgotten, the next needs-login session is refused at once, with the way out.
	e.mustRun("", "forget", "acme")
	srv.RevokeAll()
	e.run("", "refresh", "acme")
	e.now = e.now.Add(2 * time.Hour) // the access token has expired too
	r := e.run("", "token", "acme")
	if r.code != exitFailed || !strings.Contains(r.err, "tokentop login galileo --label acme") {
		t.Fatalf("token on a needs-login session without a remembered login: %+v", r)
	}
}
