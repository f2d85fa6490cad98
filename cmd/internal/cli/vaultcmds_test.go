package cli

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestAddListShowDecode(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "m1")
	out := e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	if !strings.Contains(out, `added pathstack session "prod"`) {
		t.Fatalf("add output: %q", out)
	}

	ls := e.mustRun("", "ls")
	if !strings.Contains(ls, "prod") || !strings.Contains(ls, "valid") || !strings.Contains(ls, "1h 00m") {
		t.Fatalf("ls output lacks the session: %q", ls)
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("", "ls", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 {
		t.Fatalf("ls --json: %d sessions", len(list))
	}
	got := list[0]
	for k, want := range map[string]any{"label": "prod", "provider": "pathstack", "base_url": defaultPathStackURL, "sub": testSub, "state": "valid",
		"expires_at": e.now.Add(time.Hour).UTC().Format(time.RFC3339), "last_refresh_at": nil} {
		if got[k] != want {
			t.Errorf("ls --json %s = %v, want %v", k, got[k], want)
		}
	}

	shown := e.mustRun("", "show", "prod", "--json")
	if strings.Contains(shown, access) || strings.Contains(shown, refresh) {
		t.Fatal("show without --reveal printed a raw token")
	}
	var sj struct {
		Access  tokenJSON `json:"access_token"`
		Refresh tokenJSON `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(shown), &sj); err != nil {
		t.Fatal(err)
	}
	if sj.Access.Claims["marker"] != "m1-access" || sj.Refresh.Claims["typ"] != "refresh" || sj.Access.Header["alg"] != "HS256" || sj.Access.Opaque {
		t.Fatalf("show --json decoded wrong: %+v", sj)
	}
	revealed := e.mustRun("", "show", "prod", "--json", "--reveal")
	if !strings.Contains(revealed, access) || !strings.Contains(revealed, refresh) {
		t.Fatal("show --reveal did not include the raw tokens")
	}
	human := e.mustRun("", "show", "prod")
	if !strings.Contains(human, "claims unverified") || strings.Contains(human, access) {
		t.Fatalf("show human output: %s", human)
	}

	// decode: argument, stdin, and the same JSON shape as show.
	var dj tokenJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "decode", access, "--json")), &dj); err != nil {
		t.Fatal(err)
	}
	if dj.Claims["marker"] != "m1-access" || dj.ExpiresAt == nil || dj.Raw != "" {
		t.Fatalf("decode --json: %+v", dj)
	}
	if out := e.mustRun(access+"\n", "decode", "-"); !strings.Contains(out, "m1-access") {
		t.Fatalf("decode from stdin: %s", out)
	}
	if out := e.mustRun("", "decode", "opaque-token-123", "--json"); !strings.Contains(out, `"opaque": true`) {
		t.Fatalf("opaque decode: %s", out)
	}
}

func TestAddFromLoginResponse(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "m2")
	body := `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "` + access + `", "refresh_token": "` + refresh + `", "sub": "` + testSub + `"}}`
	file := filepath.Join(e.dir, "token.json")
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	e.mustRun("", "add", "pathstack", "--label", "fromfile", "--login-response", file)
	e.mustRun(body, "add", "pathstack", "--label", "fromstdin", "--login-response", "-", "--base-url", "http://127.0.0.1:9")
	var list []map[string]any
	if err := json.Unmarshal([]byte(e.mustRun("", "ls", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0]["sub"] != testSub || list[1]["base_url"] != "http://127.0.0.1:9" {
		t.Fatalf("sessions from login responses: %v", list)
	}
}

func TestRemove(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "m3")
	e.mustRun(access+"\n"+refresh+"\n", "add", "galileo", "--label", "acme", "--base-url", "https://api.acme.rungalileo.io")
	if r := e.run("", "rm", "acme"); r.code != exitUsage || !strings.Contains(r.err, "--yes") {
		t.Fatalf("rm without --yes off a terminal: %+v", r)
	}
	e.mustRun("", "rm", "acme", "--yes")
	if out := e.mustRun("", "ls"); !strings.Contains(out, "no sessions") {
		t.Fatalf("after rm: %s", out)
	}
	if r := e.run("", "rm", "acme", "--yes"); r.code != exitFailed || !strings.Contains(r.err, "no such session") {
		t.Fatalf("rm of a missing session: %+v", r)
	}
}

func TestExportImport(t *testing.T) {
	src := newEnv(t)
	a1, r1 := tokenPair(t, src.now, time.Hour, "exp1")
	a2, r2 := tokenPair(t, src.now, time.Hour, "exp2")
	src.mustRun(a1+"\n"+r1+"\n", "add", "pathstack", "--label", "one", "--sub", testSub)
	src.mustRun(a2+"\n"+r2+"\n", "add", "galileo", "--label", "two", "--base-url", "https://api.acme.rungalileo.io")

	plain := src.mustRun("", "export")
	for _, tok := range []string{a1, r1, a2, r2} {
		if strings.Contains(plain, tok) {
			t.Fatal("export without --with-secrets contains a token")
		}
	}
	full := src.mustRun("", "export", "--with-secrets")

	dst := newEnv(t)
	if r := dst.run(plain, "import", "-"); r.code != exitFailed || !strings.Contains(r.err, "without --with-secrets") {
		t.Fatalf("import of a secret-less export: %+v", r)
	}
	dst.mustRun(full, "import", "-")
	revealed := dst.mustRun("", "show", "two", "--reveal", "--json")
	if !strings.Contains(revealed, a2) || !strings.Contains(revealed, r2) {
		t.Fatal("imported session lost its tokens")
	}
	// A label that exists is refused unless --replace, and nothing is written.
	before := dst.vaultBytes()
	if r := dst.run(full, "import", "-"); r.code != exitFailed || !strings.Contains(r.err, "exists") {
		t.Fatalf("import over existing labels: %+v", r)
	}
	if !bytes.Equal(before, dst.vaultBytes()) {
		t.Fatal("a refused import changed the vault file")
	}
	dst.mustRun(full, "import", "--replace", "-")
}

// TestBadInputLeavesVaultUnchanged: one clear line on stderr, exit 1 or 2, and
// the vault file byte-for-byte as it was.
func TestBadInputLeavesVaultUnchanged(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "bad")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	export := e.mustRun("", "export", "--with-secrets")
	badRecord := strings.Replace(export, `"provider": "pathstack"`, `"provider": "gitlab"`, 1)
	badRecord = strings.Replace(badRecord, `"label": "prod"`, `"label": "fresh"`, 1)

	cases := []struct {
		name  string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"duplicate label", access + "\n" + refresh + "\n", []string{"add", "pathstack", "--label", "prod", "--sub", testSub}, exitFailed, "exists"},
		{"unknown provider", "", []string{"add", "gitlab", "--label", "x"}, exitUsage, "unknown provider"},
		{"pathstack without sub", access + "\n" + refresh + "\n", []string{"add", "pathstack", "--label", "nosub"}, exitUsage, "--sub"},
		{"empty token", "\n" + refresh + "\n", []string{"add", "pathstack", "--label", "empty", "--sub", testSub}, exitFailed, "empty"},
		{"malformed token", "eyJhbGciOiJIUzI1NiJ9.@@@.sig" + "\n" + refresh + "\n", []string{"add", "pathstack", "--label", "mal", "--sub", testSub}, exitFailed, "access token"},
		{"import with one bad record", badRecord, []string{"import", "-"}, exitFailed, "session 1"},
		{"unknown flag", "", []string{"ls", "--nope"}, exitUsage, "unknown flag"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := e.vaultBytes()
			r := e.run(c.stdin, c.args...)
			if r.code != c.code {
				t.Fatalf("exit %d, want %d (stderr %q)", r.code, c.code, r.err)
			}
			assertOneLine(t, r.err, c.want, access, refresh)
			if !bytes.Equal(before, e.vaultBytes()) {
				t.Fatal("vault file changed")
			}
		})
	}
}

func assertOneLine(t *testing.T, stderr, want string, secrets ...string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "tokentop: ") || !strings.Contains(stderr, want) {
		t.Fatalf("stderr is not one clear line containing %q: %q", want, stderr)
	}
	for _, s := range secrets {
		if strings.Contains(stderr, s) {
			t.Fatal("error message contains a secret")
		}
	}
}

// TestBadVaultFiles: files that are not (or no longer) our vault are refused
// and left as they were.
func TestBadVaultFiles(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "files")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	good := e.vaultBytes()

	write := func(t *testing.T, b []byte) string {
		p := filepath.Join(t.TempDir(), "vault.db")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	newer := append([]byte(nil), good...)
	binary.BigEndian.PutUint32(newer[60:64], 999)

	cases := []struct {
		name string
		file []byte
		want string
	}{
		{"not sqlite", []byte("this is a shopping list, not a database\n"), "not a SQLite database"},
		{"truncated", good[:len(good)/2], "truncated"},
		{"newer schema", newer, "newer tokentop"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := write(t, c.file)
			r := e.run("", "--vault", p, "ls")
			if r.code != exitFailed {
				t.Fatalf("exit %d, want 1 (stderr %q)", r.code, r.err)
			}
			assertOneLine(t, r.err, c.want)
			if b, _ := os.ReadFile(p); !bytes.Equal(b, c.file) {
				t.Fatal("vault file changed")
			}
		})
	}

	t.Run("missing key file", func(t *testing.T) {
		if err := os.Rename(e.key, e.key+".moved"); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(e.key+".moved", e.key)
		r := e.run("", "ls")
		if r.code != exitFailed {
			t.Fatalf("exit %d (stderr %q)", r.code, r.err)
		}
		assertOneLine(t, r.err, "key file")
		if !bytes.Equal(good, e.vaultBytes()) {
			t.Fatal("vault file changed")
		}
	})

	t.Run("wrong passphrase", func(t *testing.T) {
		p := newEnv(t)
		p.vars[envPassword] = "correct horse battery staple"
		p.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
		before := p.vaultBytes()
		p.vars[envPassword] = "wrong"
		r := p.run("", "ls")
		if r.code != exitFailed {
			t.Fatalf("exit %d (stderr %q)", r.code, r.err)
		}
		assertOneLine(t, r.err, "wrong passphrase or key")
		if !bytes.Equal(before, p.vaultBytes()) {
			t.Fatal("vault file changed")
		}
		p.vars[envPassword] = "correct horse battery staple"
		if out := p.mustRun("", "ls"); !strings.Contains(out, "prod") {
			t.Fatal("right passphrase does not open the vault")
		}
	})
}

// TestAddReplace gives a session new tokens, keeping it; never across providers.
func TestAddReplace(t *testing.T) {
	e := newEnv(t)
	a1, r1 := tokenPair(t, e.now, time.Hour, "rep1")
	a2, r2 := tokenPair(t, e.now, 2*time.Hour, "rep2")
	e.mustRun(a1+"\n"+r1+"\n", "add", "galileo", "--label", "acme", "--base-url", "https://api.acme.rungalileo.io")
	if r := e.run(a2+"\n"+r2+"\n", "add", "galileo", "--label", "acme", "--base-url", "https://api.acme.rungalileo.io"); r.code != exitFailed {
		t.Fatalf("add over an existing label without --replace: %+v", r)
	}
	e.mustRun(a2+"\n"+r2+"\n", "add", "galileo", "--label", "acme", "--base-url", "https://api.acme.rungalileo.io", "--replace")
	if out := e.mustRun("", "show", "acme", "--json", "--reveal"); !strings.Contains(out, a2) || strings.Contains(out, a1) {
		t.Fatal("--replace did not store the new tokens")
	}
	if r := e.run(a1+"\n"+r1+"\n", "add", "pathstack", "--label", "acme", "--sub", testSub, "--replace"); r.code != exitUsage {
		t.Fatalf("--replace across providers: %+v", r)
	}
}
