package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/vault/pgtest"
)

// The CLI program links no PostgreSQL driver: a call on a postgres:// vault
// is run by tokentop-postgres, which does.

const unreachablePG = "postgres://tokentop@127.0.0.1:1/vault?sslmode=disable"

// postgresLinkedAs makes this test binary, which links the driver for
// pgtest, answer as a program that links it (tokentop-postgres) or not (the
// CLI program), until the test ends.
func postgresLinkedAs(t *testing.T, linked bool) {
	saved := postgresLinked
	postgresLinked = func() bool { return linked }
	t.Cleanup(func() { postgresLinked = saved })
}

// TestCLIHandsPostgresVaultsOver: a call on a postgres:// vault, named by
// flag or by variable, execs tokentop-postgres with the same arguments
// and tokentop's version, before it reads stdin (the tokens add was given
// are there for the program it hands over to) or installs a signal handler.
// Commands that never open a vault run here, and so do completions that
// list none of its sessions; completing a label is handed over, whether
// the vault is named by variable or by a flag that only completion parses.
func TestCLIHandsPostgresVaultsOver(t *testing.T) {
	postgresLinkedAs(t, false) // as the CLI program
	fakeDashboardOnPath(t)
	e := newEnv(t)
	for _, tc := range []struct {
		vaultVar string
		args     []string
	}{
		{"", []string{"token", "prod", "--vault", unreachablePG}},
		{unreachablePG, []string{"token", "prod"}},
		{unreachablePG, []string{"add", "pathstack", "--label", "ci", "--sub", testSub}},
		{unreachablePG, []string{"watch"}},
		{unreachablePG, []string{"credential-helper", "get"}},
		{unreachablePG, []string{"__complete", "token", ""}},
		{"", []string{"__complete", "show", "--vault", unreachablePG, ""}},
		{"", []string{"__complete", "exec", "--vault=" + unreachablePG, ""}},
		{"postgresql://tokentop@127.0.0.1:1/vault", []string{"ls", "--json"}},
	} {
		e.vars[envVault] = tc.vaultVar
		if tc.vaultVar == "" {
			e.vars[envVault] = e.vault
		}
		stdin := strings.NewReader("access-token\nrefresh-token\n")
		h := runHandOffIn(t, e, nil, stdin, tc.args...)
		if h.code != 0 || len(h.execs) != 1 {
			t.Fatalf("tokentop %q on %s: exit %d, %d execs; stderr %s", tc.args, e.vars[envVault], h.code, len(h.execs), h.err)
		}
		if want := append([]string{postgresProgram}, tc.args...); !slices.Equal(h.execs[0], want) {
			t.Errorf("tokentop %q ran %q, want %q", tc.args, h.execs[0], want)
		}
		if !slices.Contains(h.envs[0], envDashboardFor+"="+thisVersion()) {
			t.Errorf("tokentop %q: %s's environment lacks %s=%s", tc.args, postgresProgram, envDashboardFor, thisVersion())
		}
		if h.signalled {
			t.Errorf("tokentop %q installed signal handlers before the exec", tc.args)
		}
		if stdin.Len() != len("access-token\nrefresh-token\n") {
			t.Errorf("tokentop %q read %d bytes of stdin before handing the call over", tc.args, len("access-token\nrefresh-token\n")-stdin.Len())
		}
	}

	e.vars[envVault] = unreachablePG
	access, _ := tokenPair(t, e.now, time.Hour, "pg")
	for _, args := range [][]string{{"decode", access}, {"version"}, {"--version"}, {"help", "token"}, {"completion", "bash"},
		{"__complete", ""}, {"__complete", "decode", ""}, {"__complete", "token", "--vault", e.vault, ""}} {
		h := runHandOff(t, e, nil, args...)
		if h.code != 0 || len(h.execs) != 0 {
			t.Errorf("tokentop %q on a PostgreSQL vault: exit %d, %d execs; stderr %s", args, h.code, len(h.execs), h.err)
		}
	}
}

// TestCLIWithoutPostgresProgram: with no tokentop-postgres beside
// it or on PATH, a call on a postgres:// vault says what to install, exits
// 1 and runs nothing; tokentop run as tokentop-postgres (the CLI
// installed under its name) says so instead of running itself for ever.
func TestCLIWithoutPostgresProgram(t *testing.T) {
	postgresLinkedAs(t, false) // as the CLI program
	t.Setenv("PATH", t.TempDir())
	e := newEnv(t)
	e.vars[envVault] = unreachablePG
	h := runHandOff(t, e, nil, "token", "prod")
	if h.code != exitFailed || len(h.execs) != 0 ||
		!strings.Contains(h.err, "a vault on PostgreSQL is opened by the "+postgresProgram+" program, and it is not installed") ||
		!strings.Contains(h.err, "go install github.com/tokentop/tokentop/cmd/...@") {
		t.Errorf("token on PostgreSQL without tokentop-postgres: exit %d, %d execs, stderr %q", h.code, len(h.execs), h.err)
	}
	fakeDashboardOnPath(t)
	e.vars[envDashboardFor] = thisVersion()
	h = runHandOff(t, e, nil, "token", "prod")
	if h.code != exitFailed || len(h.execs) != 0 || !strings.Contains(h.err, "the "+postgresProgram+" program that tokentop ran is tokentop itself") {
		t.Errorf("token on PostgreSQL, run as tokentop-postgres: exit %d, %d execs, stderr %q", h.code, len(h.execs), h.err)
	}
}

// TestProgramsLinkPostgresWhereNeeded: the CLI program links no PostgreSQL
// driver; tokentop-postgres, which runs the calls on such vaults, and the
// dashboard program, which opens any vault, do.
func TestProgramsLinkPostgresWhereNeeded(t *testing.T) {
	bin := tokentopBinary(t)
	for _, tc := range []struct {
		path string
		want bool
	}{{bin, false}, {filepath.Join(filepath.Dir(bin), dashboardProgram), true}, {filepath.Join(filepath.Dir(bin), postgresProgram), true}} {
		if got := linkedModules(t, tc.path)["github.com/jackc/pgx/v5"]; got != tc.want {
			t.Errorf("%s links pgx: %v, want %v", filepath.Base(tc.path), got, tc.want)
		}
	}
}

// TestCLIOnPostgresEndToEnd: the real programs on a throwaway PostgreSQL
// schema: tokentop hands add, token and ls to tokentop-postgres, and
// they work as on a file (needs TOKENTOP_TEST_POSTGRES; see pgtest).
func TestCLIOnPostgresEndToEnd(t *testing.T) {
	vaultURL, _ := pgtest.Schema(t)
	e := newEnv(t)
	run := func(stdin string, args ...string) string {
		t.Helper()
		cmd := e.command(stdin, args...)
		cmd.Env = e.processEnv(envVault + "=" + vaultURL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("tokentop %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	access, refresh := tokenPair(t, time.Now(), time.Hour, "pg")
	run(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	if out := run("", "token", "prod"); out != access+"\n" {
		t.Errorf("tokentop token prod on PostgreSQL printed %q, want the access token", out)
	}
	if out := run("", "ls"); !strings.Contains(out, "prod") {
		t.Errorf("tokentop ls on PostgreSQL:\n%s", out)
	}
	if _, err := os.Stat(e.vault); err == nil {
		t.Error("the calls on PostgreSQL made a vault file")
	}
	// The CLI program alone cannot open it, and says what to install.
	alone := cliAlone(t)
	cmd := exec.Command(alone, "token", "prod")
	cmd.Env = e.processEnv("PATH="+filepath.Dir(alone), envVault+"="+vaultURL) // the later value of each wins
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "a vault on PostgreSQL is opened by the "+postgresProgram+" program") {
		t.Errorf("tokentop alone on PostgreSQL: %v\n%s", err, out)
	}
}
