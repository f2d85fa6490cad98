package cli

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// expiresRe reads the detail pane's "expires 15:04:05" of the selected session.
var expiresRe = regexp.MustCompile(`state .*expires (\d\d:\d\d:\d\d)`)

func selectedExpiry(t *testing.T, screen string) string {
	t.Helper()
	m := expiresRe.FindStringSubmatch(screen)
	if m == nil {
		t.Fatalf("no expiry in the detail pane:\n%s", screen)
	}
	return m[1]
}

// filterTo filters the session list to label and opens it, as a person
// types it: /, the label, enter.
func (s *screen) filterTo(label string) {
	s.press("/")
	s.press(strings.Split(label, "")...)
	s.press("\r")
}

// TestDemoEndToEnd drives `tokentop demo` in a pseudo-terminal as a person
// would: filter, refresh a session, see the 200 and a later expiry; refresh the
// revoked one and see the 401 envelope; copy a token (OSC 52); quit with q.
func TestDemoEndToEnd(t *testing.T) {
	e := newEnv(t)
	// --vault keeps the demo vault after exit, so the test can check it.
	s := startScreen(t, e.command("", "demo", "--vault", e.vault), 100, 30)
	s.waitFor("the session list", 15*time.Second, "demo-pathstack", "demo-expiring", "demo-galileo", "demo-revoked", "demo-invalid", "demo-down")

	s.filterTo("demo-expiring")
	before := selectedExpiry(t, s.waitFor("the filtered session", 5*time.Second, "─ demo-expiring · PathStack"))
	time.Sleep(1100 * time.Millisecond) // so that the new expiry is a later second
	s.press("r")
	after := s.waitFor("the refresh's 200", 10*time.Second, "200 OK", "demo-expiring refreshed")
	if got := selectedExpiry(t, after); got <= before {
		t.Fatalf("expiry did not move on: %s, then %s", before, got)
	}

	s.press("\x1b") // esc clears the filter
	time.Sleep(300 * time.Millisecond)
	s.filterTo("demo-revoked")
	s.waitFor("the revoked session", 5*time.Second, "─ demo-revoked · PathStack")
	s.press("r")
	s.waitFor("the 401 envelope", 10*time.Second, "401", "Invalid Refresh Token")

	s.press("c")
	s.waitFor("the copy toast", 5*time.Second, "Copied access token")
	s.press("q")
	if err := s.wait(15 * time.Second); err != nil {
		t.Fatalf("tokentop demo exited with %v", err)
	}

	// The token in the OSC 52 sequence is demo-revoked's access token.
	var shown struct {
		Access tokenJSON `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("", "show", "demo-revoked", "--json", "--reveal")), &shown); err != nil {
		t.Fatal(err)
	}
	osc52 := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(shown.Access.Raw))
	if !strings.Contains(string(s.rawOutput()), osc52) {
		t.Fatal("no OSC 52 sequence carrying the access token in the output")
	}

	// What the screen showed is what the vault holds.
	var hist []attemptJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "history", "demo-expiring", "--json")), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) < 2 || hist[0].Outcome != "ok" || hist[0].Trigger != "manual" || !hist[0].Rotated {
		t.Fatalf("demo-expiring history: %+v", hist)
	}
	if out := e.mustRun("", "ls"); !strings.Contains(out, "needs_login") {
		t.Fatalf("demo-revoked is not needs_login after its 401:\n%s", out)
	}
}
