package ui

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tokentop/tokentop/vault"
)

// shellArgs runs cmd in sh with curl replaced by a function that prints
// its arguments, one per line (NUL-separated), in dir: what curl would get.
func shellArgs(t *testing.T, dir, cmd string) []string {
	t.Helper()
	sh := exec.Command("sh", "-c", `curl() { printf '%s\0' "$@"; }
`+cmd)
	sh.Dir = dir
	var out, errb bytes.Buffer
	sh.Stdout, sh.Stderr = &out, &errb
	if err := sh.Run(); err != nil {
		t.Fatalf("sh: %v: %s\ncommand:\n%s", err, errb.String(), cmd)
	}
	return strings.Split(strings.TrimSuffix(out.String(), "\x00"), "\x00")
}

// u copies an API call with the access token: no refresh token in it, so
// running it spends nothing.
func TestAPICurlUsesTheAccessToken(t *testing.T) {
	dir := t.TempDir()
	ps := vault.Session{Provider: vault.ProviderPathStack, Label: "prod", BaseURL: "https://api.pathstack.io/", Sub: testSub,
		AccessToken: "acc.ess.tok", RefreshToken: "refresh-secret"}
	got, err := copyPayload(ps, copyCurl)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "refresh-secret") || strings.Contains(got, "/refresh") {
		t.Fatalf("u's curl spends the refresh token: %s", got)
	}
	want := []string{"-sS", "-g", "-H", "Authorization: Bearer acc.ess.tok", "-H", "x-api-version: 2024-03-27", "--url", "https://api.pathstack.io/"}
	if args := shellArgs(t, dir, got); !slices.Equal(args, want) {
		t.Fatalf("curl args = %q, want %q", args, want)
	}

	gl := vault.Session{Provider: vault.ProviderGalileo, Label: "acme", BaseURL: "https://api.acme.rungalileo.io", AccessToken: "g.acc.tok", RefreshToken: "r"}
	got, err = copyPayload(gl, copyCurl)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"-sS", "-g", "-H", "Authorization: Bearer g.acc.tok", "--url", "https://api.acme.rungalileo.io/"}
	if args := shellArgs(t, dir, got); !slices.Equal(args, want) {
		t.Fatalf("galileo curl args = %q, want %q", args, want)
	}
}

// U's curl is the refresh call itself, for both providers.
func TestRefreshCurl(t *testing.T) {
	dir := t.TempDir()
	ps := vault.Session{Provider: vault.ProviderPathStack, Label: "prod", BaseURL: "https://api.pathstack.io/", Sub: testSub,
		AccessToken: "a", RefreshToken: "it's-a-token", APIVersion: "2024-03-26"}
	got, err := copyPayload(ps, copyRefreshCurl)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"-sS", "-g", "-X", "POST", "-H", "Content-Type: application/json", "-H", "x-api-version: 2024-03-26",
		"--data", `{"sub":"` + testSub + `","refresh_token":"it's-a-token"}`, "--url", "https://api.pathstack.io/refresh"}
	if args := shellArgs(t, dir, got); !slices.Equal(args, want) {
		t.Fatalf("curl args = %q, want %q", args, want)
	}
	gl := vault.Session{Provider: vault.ProviderGalileo, Label: "acme", BaseURL: "https://api.acme.rungalileo.io", AccessToken: "a", RefreshToken: "g-refresh"}
	got, err = copyPayload(gl, copyRefreshCurl)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"-sS", "-g", "-X", "POST", "-H", "Cookie: refresh_token=g-refresh", "--url", "https://api.acme.rungalileo.io/v1/refresh_token"}
	if args := shellArgs(t, dir, got); !slices.Equal(args, want) {
		t.Fatalf("galileo curl args = %q, want %q", args, want)
	}
}

// A hostile base URL or token stays inside its argument: the shell runs
// nothing else, and curl gets the bytes as they are. What would act once
// pasted (control characters, a non-http URL that curl would take for an
// option) is refused.
func TestCurlQuotingResistsHostileValues(t *testing.T) {
	dir := t.TempDir()
	// No spaces (refused anyway): ${IFS} makes the shell split instead.
	hostile := []string{
		`x';touch${IFS}pwned1;echo'`,
		`$(touch${IFS}pwned2)`,
		"`touch${IFS}pwned3`",
		`x";touch${IFS}pwned4;"`,
		`\';touch${IFS}pwned5#`,
		`'\''';touch${IFS}pwned6;'`,
	}
	built := 0
	for _, h := range hostile {
		for _, kind := range []copyKind{copyCurl, copyRefreshCurl} {
			for _, s := range []vault.Session{
				{Provider: vault.ProviderPathStack, Label: "p", BaseURL: "https://api.pathstack.io", Sub: testSub, AccessToken: h, RefreshToken: h},
				{Provider: vault.ProviderGalileo, Label: "g", BaseURL: "https://x.test/" + h, AccessToken: h, RefreshToken: h},
				{Provider: vault.ProviderPathStack, Label: "p", BaseURL: "https://x.test/" + h, Sub: testSub, AccessToken: "a", RefreshToken: "r", APIVersion: h},
			} {
				got, err := copyPayload(s, kind)
				if err != nil {
					continue // refused is safe too
				}
				built++
				args := shellArgs(t, dir, got)
				joined := strings.Join(args, "\n")
				esc, _ := json.Marshal(h) // inside PathStack's JSON body
				if !strings.Contains(joined, h) && !strings.Contains(joined, strings.Trim(string(esc), `"`)) {
					t.Errorf("%q lost inside the curl args %q", h, args)
				}
			}
		}
	}
	if total := len(hostile) * 6; built < total*5/6 {
		t.Fatalf("only %d of %d curls built: the quoting is barely tested", built, total)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "pwned*")); len(left) > 0 {
		t.Fatalf("a hostile value ran a command: %v", left)
	}
	for _, s := range []vault.Session{
		{Provider: vault.ProviderPathStack, Label: "p", BaseURL: "https://api.pathstack.io", Sub: testSub, AccessToken: "a\x1b[201~; touch pwned\n", RefreshToken: "r"},
		{Provider: vault.ProviderPathStack, Label: "p", BaseURL: "https://x.test/\npwned", Sub: testSub, AccessToken: "a", RefreshToken: "r"},
		{Provider: vault.ProviderGalileo, Label: "g", BaseURL: "-K/etc/passwd", AccessToken: "a", RefreshToken: "r"},
		{Provider: vault.ProviderGalileo, Label: "g", BaseURL: "file:///etc/passwd", AccessToken: "a", RefreshToken: "r"},
		{Provider: vault.ProviderGalileo, Label: "g", BaseURL: "https://x.test", AccessToken: "a b", RefreshToken: "r"},
	} {
		for _, kind := range []copyKind{copyCurl, copyRefreshCurl} {
			if got, err := copyPayload(s, kind); err == nil {
				t.Errorf("%q / %q: curl built, want it refused:\n%s", s.BaseURL, s.AccessToken, got)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "pwned")); err == nil {
		t.Fatal("ran a command")
	}
}

// U asks first, saying that running the call spends the refresh token; n
// copies nothing, y copies the refresh call.
func TestRefreshCurlAsksFirst(t *testing.T) {
	var out bytes.Buffer
	m := loadedModelWith(t, testDeps(&out), 100, 30)
	ss := fixtureSessions(t)
	m, _ = press(t, m, "j", "j") // prod-eu
	m, cmd := press(t, m, "U")
	if cmd != nil || m.overlay != overlayConfirm {
		t.Fatal("U must ask before copying")
	}
	requireScreenContains(t, m, "Copy a curl for the refresh call of prod-eu?", "spends the refresh token", "log in again")
	m, cmd = press(t, m, "n")
	if cmd != nil || out.Len() != 0 {
		t.Fatal("n must copy nothing")
	}
	m, _ = press(t, m, "U")
	_, cmd = press(t, m, "y")
	msgs := collect(cmd)
	want, _ := refreshCurl(ss[0])
	if out.String() != oscSeq(want) {
		t.Fatalf("U, y copied %q", out.String())
	}
	if c, ok := msgs[0].(CopiedMsg); !ok || c.What != "curl command (refresh call)" {
		t.Fatalf("copied message = %#v", msgs[0])
	}
}
