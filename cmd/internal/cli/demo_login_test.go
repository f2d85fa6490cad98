package cli

import (
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDemoRevokedLogsInAgain: the demo is no dead end after a 401. On
// demo-revoked, r gets the 401; l offers PathStack's login with the fake
// server's account filled in (its password is random per run); ctrl+s logs
// in and replaces the tokens, and the next r works. u copies an API call
// with the access token, never the refresh call. demo-galileo logs in
// again through Galileo's login.
func TestDemoRevokedLogsInAgain(t *testing.T) {
	e := newEnv(t)
	s := startScreen(t, e.command("", "demo", "--vault", e.vault), 100, 30)
	s.waitFor("the session list", 15*time.Second, "demo-revoked")

	s.filterTo("demo-revoked")
	s.waitFor("the revoked session", 5*time.Second, "─ demo-revoked · PathStack")
	s.press("r")
	s.waitFor("the 401", 10*time.Second, "Invalid Refresh Token", "l logs in again")

	s.press("l")
	form := s.waitFor("the login form", 5*time.Second, "Log in again: demo-revoked (PathStack)", "dev@tokentop.test")
	if !regexp.MustCompile(`password\s+•{8,}`).MatchString(form) {
		t.Fatalf("the demo's password is not filled in (masked):\n%s", form)
	}
	s.press("\x13") // ctrl+s
	s.waitFor("the login", 10*time.Second, "Logged in again as demo-revoked · tokens replaced")
	s.press("r")
	s.waitFor("a refresh that works", 10*time.Second, "demo-revoked refreshed", "200 OK")

	s.press("u")
	s.waitFor("the copy toast", 5*time.Second, "Copied curl command (API call)")

	// demo-galileo: Galileo's own login (POST /login), the same account.
	s.press("\x1b", "/")
	s.press(strings.Split("demo-galileo", "")...)
	s.press("\r")
	s.waitFor("the Galileo session", 5*time.Second, "─ demo-galileo · Galileo")
	s.press("l")
	s.waitFor("Galileo's login form", 5*time.Second, "Log in again: demo-galileo (Galileo)", "API key", "dev@tokentop.test")
	s.press("\x13")
	s.waitFor("the Galileo login", 10*time.Second, "Logged in again as demo-galileo · tokens replaced")
	s.press("q")
	if err := s.wait(15 * time.Second); err != nil {
		t.Fatalf("tokentop demo exited with %v", err)
	}

	var curl string
	for _, m := range regexp.MustCompile(`\x1b\]52;c;([A-Za-z0-9+/=]+)`).FindAllSubmatch(s.rawOutput(), -1) {
		if b, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil && strings.HasPrefix(string(b), "curl ") {
			curl = string(b)
		}
	}
	if !strings.Contains(curl, "Authorization: Bearer ") || strings.Contains(curl, "refresh") {
		t.Fatalf("u copied %q, want an API call with the access token", curl)
	}
	if out := e.mustRun("", "ls"); strings.Contains(out, "needs_login") {
		t.Fatalf("demo-revoked still needs login after logging in again:\n%s", out)
	}
}
