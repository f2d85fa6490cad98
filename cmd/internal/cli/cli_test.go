package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokentop/tokentop/providers/fake"
)

func TestVersionAndCompletion(t *testing.T) {
	e := newEnv(t)
	out := e.mustRun("", "--version")
	if !strings.HasPrefix(out, "tokentop ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("--version: %q", out)
	}
	if v := e.mustRun("", "version"); v != out {
		t.Fatalf("tokentop version %q, --version %q", v, out)
	}
	// --version answers whatever follows it and whatever the environment
	// says, as cobra's own flag did; on a subcommand it is not a flag.
	if v := e.mustRun("", "-v", "extra"); v != out {
		t.Fatalf("-v extra: %q, want %q", v, out)
	}
	e.vars[envTimeout] = "soon"
	if v := e.mustRun("", "--version"); v != out {
		t.Fatalf("--version with a bad %s: %q", envTimeout, v)
	}
	if r := e.run("", "ls"); r.code != 2 || !strings.Contains(r.err, envTimeout) {
		t.Fatalf("ls with a bad %s: exit %d, %q", envTimeout, r.code, r.err)
	}
	delete(e.vars, envTimeout)
	if r := e.run("", "token", "--version"); r.code != 2 || !strings.Contains(r.err, "unknown flag: --version") {
		t.Fatalf("token --version: exit %d, %q", r.code, r.err)
	}
	for shell, want := range map[string]string{"bash": "bash completion", "zsh": "#compdef tokentop", "fish": "complete -c tokentop", "powershell": "Register-ArgumentCompleter"} {
		if out := e.mustRun("", "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	if e.vaultBytes() != nil {
		t.Fatal("--version or completion created a vault")
	}

	// Session labels complete, from an existing vault only.
	if out := e.mustRun("", "__complete", "show", ""); strings.Contains(out, "prod") {
		t.Fatalf("completion without a vault: %q", out)
	}
	if e.vaultBytes() != nil {
		t.Fatal("label completion created a vault")
	}
	access, refresh := tokenPair(t, e.now, time.Hour, "c")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "staging", "--sub", testSub)
	for args, want := range map[string]string{
		"show ":              "prod\tpathstack · valid\nstaging\tpathstack · valid\n",
		"show prod ":         ":4\n",
		"refresh prod ":      "staging\tpathstack · valid\n",
		"schedule ":          "prod\tpathstack · valid\nstaging\tpathstack · valid\n",
		"token --min-valid ": ":0\n", // a flag's value: no labels
	} {
		out := e.mustRun("", append([]string{"__complete"}, strings.Split(args, " ")...)...)
		if !strings.HasPrefix(out, want) {
			t.Errorf("complete %q: %q, want %q…", args, out, want)
		}
	}

	// The binary stamps the VCS revision when it has one; a build without
	// it still says its version.
	bin, err := e.command("", "--version").Output()
	if err != nil || !strings.HasPrefix(string(bin), "tokentop ") {
		t.Fatalf("tokentop --version (binary): %v %q", err, bin)
	}
}

func TestUnknownCommandSuggests(t *testing.T) {
	e := newEnv(t)
	for args, want := range map[string]string{
		"lss":        `unknown command "lss" (did you mean ls?)`,
		"lss --json": `unknown command "lss" (did you mean ls?)`,
		"refesh x":   `(did you mean refresh?)`,
		"list":       `(did you mean ls?)`,
		"delete x":   `(did you mean rm?)`,
		"xyzzy":      `unknown command "xyzzy"; see`,
	} {
		r := e.run("", strings.Fields(args)...)
		if r.code != exitUsage {
			t.Errorf("tokentop %s: exit %d, want %d", args, r.code, exitUsage)
		}
		assertOneLine(t, r.err, want)
	}
}

// TestReadingCommandsNeedAVault: a mistyped --vault is an error naming the
// path, never a new empty vault; add, login and import create one.
func TestReadingCommandsNeedAVault(t *testing.T) {
	e := newEnv(t)
	missing := filepath.Join(e.dir, "nowhere", "vault.db")
	for _, args := range [][]string{
		{"ls"}, {"show", "x"}, {"token", "x"}, {"refresh", "x"}, {"refresh", "--all"}, {"history", "x"},
		{"export"}, {"schedule", "--list"}, {"schedule", "x", "--every", "1h"}, {"watch"}, {"rm", "x", "--yes"},
	} {
		r := e.run("", append([]string{"--vault", missing}, args...)...)
		if r.code != exitFailed {
			t.Errorf("%v: exit %d, want %d", args, r.code, exitFailed)
		}
		assertOneLine(t, r.err, "no vault at "+missing+" (create one with tokentop add, login or import)")
	}
	// The same through TOKENTOP_VAULT, with the folder there but no file.
	if err := os.MkdirAll(filepath.Dir(e.vault), 0o700); err != nil {
		t.Fatal(err)
	}
	assertOneLine(t, e.run("", "ls").err, "no vault at "+e.vault)
	if _, err := os.Stat(filepath.Dir(missing)); !os.IsNotExist(err) {
		t.Fatalf("a reading command created %s", filepath.Dir(missing))
	}
	if e.vaultBytes() != nil {
		t.Fatal("a reading command created the vault")
	}
	// decode needs no vault.
	if r := e.run("", "decode", "opaque-token-123"); r.code != 0 {
		t.Fatalf("decode without a vault: %+v", r)
	}

	// A failed login creates nothing; add, a login that works and import create the vault.
	srv := startFake(t, fake.Options{})
	if r := e.run("wrong-password\n", "login", "pathstack", "--label", "l", "--username", srv.Username(), "--base-url", srv.URL); r.code != exitFailed || e.vaultBytes() != nil {
		t.Fatalf("failed login: exit %d, vault created: %v", r.code, e.vaultBytes() != nil)
	}
	e.mustRun(srv.Password()+"\n", "login", "pathstack", "--label", "l", "--username", srv.Username(), "--base-url", srv.URL)
	if e.vaultBytes() == nil {
		t.Fatal("login created no vault")
	}
	export := e.mustRun("", "export", "--with-secrets")
	for i, args := range [][]string{{"import", "-"}, {"add", "galileo", "--label", "g", "--base-url", srv.URL}} {
		dir := filepath.Join(e.dir, "new", string(rune('a'+i)))
		stdin := export
		if args[0] == "add" {
			a, r := tokenPair(t, e.now, time.Hour, "new")
			stdin = a + "\n" + r + "\n"
		}
		e.mustRun(stdin, append([]string{"--vault", filepath.Join(dir, "vault.db")}, args...)...)
		if _, err := os.Stat(filepath.Join(dir, "vault.db")); err != nil {
			t.Fatalf("%s created no vault: %v", args[0], err)
		}
	}
}

func TestEnvFallbacks(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "env")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)

	// TOKENTOP_JSON switches --json on; the flag wins over the variable.
	e.vars[envJSON] = "1"
	var list []sessionJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "ls")), &list); err != nil || len(list) != 1 {
		t.Fatalf("ls with TOKENTOP_JSON=1: %v %+v", err, list)
	}
	if out := e.mustRun("", "ls", "--json=false"); !strings.HasPrefix(out, "LABEL") {
		t.Fatalf("ls --json=false with TOKENTOP_JSON=1: %q", out)
	}
	delete(e.vars, envJSON)

	// A bad value is a usage error naming the variable.
	for _, c := range []struct{ env, val, cmd string }{
		{envTimeout, "soon", "token"}, {envJSON, "maybe", "ls"}, {"TOKENTOP_MIN_VALID", "1x", "token"}, {"TOKENTOP_CONCURRENCY", "many", "watch"},
	} {
		e.vars[c.env] = c.val
		args := []string{c.cmd}
		if c.cmd == "token" {
			args = append(args, "prod")
		}
		r := e.run("", args...)
		if r.code != exitUsage {
			t.Errorf("%s=%s: exit %d", c.env, c.val, r.code)
		}
		assertOneLine(t, r.err, c.env+`="`+c.val+`"`)
		delete(e.vars, c.env)
	}
	e.vars[envTimeout] = "0s"
	assertOneLine(t, e.run("", "ls").err, "TOKENTOP_TIMEOUT=0s: the timeout must be positive")
	delete(e.vars, envTimeout)
	assertOneLine(t, e.run("", "ls", "--timeout", "0s").err, "--timeout 0s: the timeout must be positive")

	// TOKENTOP_MIN_VALID as long as the lifetime: the same usage error as the flag, naming the variable.
	e.vars["TOKENTOP_MIN_VALID"] = "2h"
	r := e.run("", "token", "prod")
	if r.code != exitUsage || r.out != "" {
		t.Fatalf("TOKENTOP_MIN_VALID=2h: %+v", r)
	}
	assertOneLine(t, r.err, `TOKENTOP_MIN_VALID=2h is not shorter than the lifetime of "prod"'s access tokens (1h 00m)`)
	if out := e.mustRun("", "token", "prod", "--min-valid", "1m"); strings.TrimSpace(out) != access {
		t.Fatal("--min-valid did not win over TOKENTOP_MIN_VALID")
	}
	delete(e.vars, "TOKENTOP_MIN_VALID")

	// --key-file and TOKENTOP_KEY_FILE: the flag wins; a wrong key is refused.
	delete(e.vars, envKeyFile)
	if r := e.run("", "ls", "--key-file", e.key); r.code != 0 {
		t.Fatalf("ls --key-file: %+v", r)
	}
	e.vars[envKeyFile] = filepath.Join(e.dir, "other-key")
	if r := e.run("", "ls"); r.code == 0 {
		t.Fatal("ls with another TOKENTOP_KEY_FILE opened the vault")
	}
	if r := e.run("", "ls", "--key-file", e.key); r.code != 0 {
		t.Fatalf("--key-file did not win over TOKENTOP_KEY_FILE: %+v", r)
	}
}

// noEnvFallback lists the flags that have no environment fallback, by the
// rule in bindEnv: they choose what to act on or skip a safeguard.
var noEnvFallback = map[string]bool{
	"help": true, "version": true, "insecure-http": true, // global
	"label": true, "sub": true, "login-response": true, "replace": true, "base-url add": true, // add, login, import
	"all": true, "reveal": true, "yes": true, "with-secrets": true, "output": true,
	"before-expiry": true, "every": true, "off": true, "list": true, // schedule
	"drop recover": true, // deletes kept tokens: an act, never from the environment
	"format token": true, // a variable left set would change what every `$(tokentop token …)` gets
	// login: keeping a secret at rest, and which secret is read, are asked for on the command line
	"remember": true, "api-key-stdin": true,
}

// TestEveryFlagHasAnEnvFallbackOrAReason walks every command: each flag is
// bound to a variable, shown in its help and in the README, or listed in
// noEnvFallback.
func TestEveryFlagHasAnEnvFallbackOrAReason(t *testing.T) {
	readme, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	a := &app{io: stdio{getenv: func(string) string { return "" }}}
	root := a.rootCommandFor(nil)
	root.InitDefaultHelpFlag()
	root.InitDefaultVersionFlag()
	envs := map[string]bool{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		c.InitDefaultHelpFlag()
		c.Flags().VisitAll(func(f *pflag.Flag) {
			if env := f.Annotations[annotationEnv]; len(env) > 0 {
				envs[env[0]] = true
				if !strings.Contains(f.Usage, "(env "+env[0]+")") {
					t.Errorf("%s --%s: help does not name %s", c.Name(), f.Name, env[0])
				}
				return
			}
			if !noEnvFallback[f.Name] && !noEnvFallback[f.Name+" "+c.Name()] {
				t.Errorf("%s --%s has no environment fallback: bind one with bindEnv (env.go), or list the flag in noEnvFallback if it chooses what to act on or skips a safeguard", c.Name(), f.Name)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	var names []string
	for env := range envs {
		names = append(names, env)
		if !strings.Contains(string(readme), "`"+env+"`") {
			t.Errorf("README does not document %s", env)
		}
	}
	sort.Strings(names)
	if len(names) < 8 {
		t.Fatalf("only %d environment fallbacks: %v", len(names), names)
	}
}

func TestDecodeBearer(t *testing.T) {
	e := newEnv(t)
	access, _ := tokenPair(t, e.now, time.Hour, "bearer")
	for _, in := range [][]string{
		{"Bearer " + access}, {"bearer", access}, {"Authorization: Bearer " + access}, {"Authorization:", "Bearer", access},
		{`"Authorization: Bearer ` + access + `"`},
	} {
		out := e.mustRun("", append([]string{"decode", "--json"}, in...)...)
		if !strings.Contains(out, "bearer-access") {
			t.Errorf("decode %q: %s", in, out)
		}
	}
	if out := e.mustRun("Authorization: Bearer "+access+"\n", "decode", "-"); !strings.Contains(out, "bearer-access") {
		t.Errorf("decode of a header on stdin: %s", out)
	}
}

func TestExportToFileWarnsAndImportKeepsState(t *testing.T) {
	src := newEnv(t)
	srv := startFake(t, fake.Options{})
	src.addMinted(srv, "kept")
	src.addMinted(srv, "revoked")
	src.addMinted(srv, "plain")
	src.mustRun("", "schedule", "kept", "--before-expiry", "2m")
	src.mustRun("", "schedule", "revoked", "--every", "30m")
	var shown struct {
		Refresh tokenJSON `json:"refresh_token"`
	}
	if err := json.Unmarshal([]byte(src.mustRun("", "show", "revoked", "--json", "--reveal")), &shown); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(shown.Refresh.Raw)
	if r := src.run("", "refresh", "revoked"); r.code != exitFailed {
		t.Fatalf("refresh of a revoked session: %+v", r)
	}

	// -o: a 0600 file, written whole; the warning on stderr; stdout a confirmation.
	file := filepath.Join(src.dir, "backup.json")
	if err := os.WriteFile(file, []byte("old, world-readable"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := src.run("", "export", "--with-secrets", "-o", file)
	if r.code != 0 || !strings.Contains(r.out, "exported 3 sessions with plaintext tokens to "+file) {
		t.Fatalf("export -o: %+v", r)
	}
	if !strings.Contains(r.err, "can live in one place only") || !strings.Contains(r.err, "the other one's refresh token is dead") {
		t.Fatalf("export --with-secrets did not warn: %q", r.err)
	}
	fi, err := os.Stat(file)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file mode: %v %v", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(src.dir)
	for _, de := range entries {
		if strings.Contains(de.Name(), ".tmp-") {
			t.Fatalf("temporary file left behind: %s", de.Name())
		}
	}
	if r := src.run("", "export"); r.code != 0 || r.err != "" {
		t.Fatalf("export without secrets warned: %+v", r)
	}

	dst := newEnv(t)
	if out := dst.mustRun("", "import", file); !strings.Contains(out, "imported 3 sessions (2 scheduled, 1 need login)") {
		t.Fatalf("import: %s", out)
	}
	var sched []scheduleJSON
	if err := json.Unmarshal([]byte(dst.mustRun("", "schedule", "--list", "--json")), &sched); err != nil {
		t.Fatal(err)
	}
	got := map[string]scheduleJSON{}
	for _, s := range sched {
		got[s.Label] = s
	}
	if k := got["kept"]; len(sched) != 2 || k.Spec != "before-expiry 2m" || !k.Enabled || k.NextDue == nil {
		t.Fatalf("imported schedules: %+v", sched)
	}
	if rv := got["revoked"]; rv.Spec != "every 30m" || !rv.NeedsLogin || rv.NextDue != nil {
		t.Fatalf("imported schedule of the needs-login session: %+v", rv)
	}
	var list []sessionJSON
	if err := json.Unmarshal([]byte(dst.mustRun("", "ls", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if (s.Label == "revoked") != (s.State == "needs_login") {
			t.Errorf("imported %s: state %s", s.Label, s.State)
		}
	}

	// --replace with a format-2 export makes the session's schedule what the file says.
	dst.mustRun("", "schedule", "plain", "--every", "1h")
	dst.mustRun("", "import", "--replace", file)
	if out := dst.mustRun("", "schedule", "plain"); !strings.Contains(out, "not scheduled") {
		t.Fatalf("import --replace kept a schedule the export does not have: %s", out)
	}

	// A format-1 export (no state, no schedules) still imports.
	old := strings.Replace(src.mustRun("", "export", "--with-secrets"), `"tokentop_export": 2`, `"tokentop_export": 1`, 1)
	var f exportFile
	if err := json.Unmarshal([]byte(old), &f); err != nil {
		t.Fatal(err)
	}
	for i := range f.Sessions {
		s := &f.Sessions[i]
		s.CreatedAt, s.LastRefreshAt, s.LastStatus, s.NeedsLogin, s.Schedule = nil, nil, "", false, nil
	}
	b, _ := json.Marshal(f)
	if out := newEnv(t).mustRun(string(b), "import", "-"); !strings.Contains(out, "imported 3 sessions (0 scheduled, 0 need login)") {
		t.Fatalf("format-1 import: %s", out)
	}
}

func TestFailedLoginHidesPasswordLength(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	pw := "a-wrong-password-of-31-chars!!!"
	r := e.run(pw+"\n", "login", "pathstack", "--label", "x", "--username", srv.Username(), "--base-url", srv.URL)
	if r.code != exitFailed {
		t.Fatalf("failed login: %+v", r)
	}
	all := r.out + r.err
	if strings.Contains(all, pw) || strings.Contains(all, "(31)") || strings.Contains(all, "Content-Length: 7") {
		t.Fatalf("a failed login tells the password or its length:\n%s", all)
	}
	if !strings.Contains(r.out, `"password":"…"`) || !strings.Contains(r.out, "Content-Length: (hidden") {
		t.Fatalf("the exchange of a failed login: %s", r.out)
	}
}

func TestListOutputIsBuffered(t *testing.T) {
	e := newEnv(t)
	for i := range 20 {
		a, r := tokenPair(t, e.now, time.Hour, "b")
		e.mustRun(a+"\n"+r+"\n", "add", "galileo", "--label", "s"+string(rune('a'+i)), "--base-url", "https://api.acme.rungalileo.io")
	}
	var w countingWriter
	if code := run(t.Context(), []string{"ls"}, e.stdio("", &w, &w)); code != 0 {
		t.Fatalf("ls: exit %d", code)
	}
	if w.writes != 1 || strings.Count(w.String(), "\n") != 21 {
		t.Fatalf("ls of 20 sessions made %d writes (%d lines)", w.writes, strings.Count(w.String(), "\n"))
	}
}

// countingWriter counts Write calls.
type countingWriter struct {
	strings.Builder
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Builder.Write(p)
}

// TestDemoIgnoresVaultEnv: TOKENTOP_VAULT names the user's real vault; the
// demo's throwaway sessions must never land in it (only --vault does that).
func TestDemoIgnoresVaultEnv(t *testing.T) {
	e := newEnv(t)
	r := e.run("", "demo") // no terminal: it seeds its own vault, then refuses to open the dashboard
	if r.code != exitUsage || !strings.Contains(r.err, "needs a terminal") {
		t.Fatalf("demo without a terminal: %+v", r)
	}
	if e.vaultBytes() != nil {
		t.Fatal("demo wrote to the vault TOKENTOP_VAULT names")
	}
}

// TestCommandTableNames: a call builds only the subcommand its first
// argument names (commandsFor), so each table entry's name must be what its
// command answers to, or that command would be unreachable by name.
func TestCommandTableNames(t *testing.T) {
	a := &app{io: stdio{getenv: func(string) string { return "" }}}
	seen := map[string]bool{}
	for _, c := range a.commandTable() {
		if got := c.build().Name(); got != c.name {
			t.Errorf("table entry %q builds the command %q", c.name, got)
		}
		if seen[c.name] {
			t.Errorf("table lists %q twice", c.name)
		}
		seen[c.name] = true
		if cs := a.commandsFor([]string{c.name, "x"}); len(cs) != 1 || cs[0].Name() != c.name {
			t.Errorf("commandsFor(%q) built %d commands", c.name, len(cs))
		}
	}
	for _, args := range [][]string{nil, {"--vault", "v", "token"}, {"help", "token"}, {"tokne"}, {"__complete", "to"}} {
		if got := len(a.commandsFor(args)); got != len(seen) {
			t.Errorf("commandsFor(%q) built %d commands, want all %d", args, got, len(seen))
		}
	}
}
