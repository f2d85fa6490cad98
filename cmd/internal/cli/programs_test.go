package cli

import (
	"bytes"
	"debug/buildinfo"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"testing"
	"time"
)

// The CLI program (cmd/tokentop) leaves the dashboard out, and hands the
// dashboard and the demo to the dashboard program beside it or on PATH.

// uiModules are the dashboard's modules, none of which the CLI may link:
// Bubble Tea's init asks the terminal for its colours, atotto/clipboard's
// searches PATH, and all of them cost every start.
var uiModules = []string{"github.com/charmbracelet/bubbletea", "github.com/charmbracelet/lipgloss",
	"github.com/charmbracelet/bubbles", "github.com/atotto/clipboard", "github.com/muesli/termenv"}

// linkedModules is the set of modules the program at path was built with.
func linkedModules(t *testing.T, path string) map[string]bool {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mods := map[string]bool{}
	for _, d := range info.Deps {
		mods[d.Path] = true
	}
	return mods
}

func TestCLIProgramLinksNoDashboard(t *testing.T) {
	bin := tokentopBinary(t)
	cli, dash := linkedModules(t, bin), linkedModules(t, filepath.Join(filepath.Dir(bin), dashboardProgram))
	pg := linkedModules(t, filepath.Join(filepath.Dir(bin), postgresProgram))
	for _, m := range uiModules {
		if cli[m] {
			t.Errorf("tokentop links %s", m)
		}
		if pg[m] {
			t.Errorf("%s links %s", postgresProgram, m)
		}
	}
	if !dash["github.com/charmbracelet/bubbletea"] {
		t.Errorf("%s does not link Bubble Tea: the check above would pass for the wrong reason", dashboardProgram)
	}
}

// TestCLIProgramKeepsItsStartGOMAXPROCS: the CLI (and its PostgreSQL twin) is built with
// updatemaxprocs=0 (see cmd/tokentop), which spares every call the
// goroutine, and the thread woken for it, that follows CPU-limit changes.
func TestCLIProgramKeepsItsStartGOMAXPROCS(t *testing.T) {
	bin := tokentopBinary(t)
	for _, path := range []string{bin, filepath.Join(filepath.Dir(bin), postgresProgram)} {
		info, err := buildinfo.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(info.Settings, func(s debug.BuildSetting) bool {
			return s.Key == "DefaultGODEBUG" && slices.Contains(strings.Split(s.Value, ","), "updatemaxprocs=0")
		}) {
			t.Errorf("%s is built without updatemaxprocs=0: %v", filepath.Base(path), info.Settings)
		}
	}
}

// TestProgramsKeepMethodElimination: nothing in any of the programs makes
// reflect's method lookup by name reachable (text/template's field
// evaluation does, through cobra's template setters). Once it is, the
// linker keeps every exported method of every type: tokentop grew from
// 24.5 to 28 MB, and every call's start paid for the pages it maps.
func TestProgramsKeepMethodElimination(t *testing.T) {
	for _, program := range []string{"tokentop", dashboardProgram, postgresProgram} {
		t.Run(program, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command("go", "build", "-ldflags=-dumpdep", "-o", filepath.Join(t.TempDir(), program), "../../"+program)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go build: %v\n%.2000s", err, out)
			}
			if !bytes.Contains(out, []byte("main.main")) {
				t.Fatalf("-dumpdep printed no dependency graph: the check would pass for the wrong reason\n%.2000s", out)
			}
			var marked []string
			for line := range strings.Lines(string(out)) {
				if strings.Contains(line, "<ReflectMethod>") {
					marked = append(marked, strings.TrimSpace(line))
				}
			}
			if len(marked) > 0 {
				t.Errorf("%s keeps every exported method, through (%d in all):\n%s", program, len(marked), strings.Join(marked[:min(len(marked), 5)], "\n"))
			}
		})
	}
}

// TestCLIStartLeavesTheTerminalAlone: on a terminal, a CLI command writes
// its output and nothing else; the dashboard program's start asks the
// terminal for its background colour (OSC 11), which shows the check sees
// such a query when there is one.
func TestCLIStartLeavesTheTerminalAlone(t *testing.T) {
	bin := tokentopBinary(t)
	for _, tc := range []struct {
		program string
		asks    bool
	}{{"tokentop", false}, {dashboardProgram, true}, {postgresProgram, false}} {
		t.Run(tc.program, func(t *testing.T) {
			cmd := exec.Command(filepath.Join(filepath.Dir(bin), tc.program), "version")
			cmd.Env = []string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}
			s := startScreen(t, cmd, 80, 24)
			s.waitFor("the version", 10*time.Second, "tokentop ")
			if err := s.wait(10 * time.Second); err != nil {
				t.Fatalf("%s version: %v", tc.program, err)
			}
			raw := s.rawOutput()
			if asks := bytes.Contains(raw, []byte("\x1b]11;?")); asks != tc.asks {
				t.Errorf("%s version asked the terminal for its background: %v, want %v; it wrote %q", tc.program, asks, tc.asks, raw)
			}
			if !tc.asks && bytes.ContainsRune(raw, 0x1b) {
				t.Errorf("%s version wrote an escape sequence: %q", tc.program, raw)
			}
		})
	}
}

// TestDashboardProgramMissing: tokentop without the dashboard program beside
// it or on PATH says how to install it, and exits non-zero.
func TestDashboardProgramMissing(t *testing.T) {
	alone := cliAlone(t)
	dir := filepath.Dir(alone)
	cmd := exec.Command(alone, "demo")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + dir}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("tokentop demo without %s succeeded:\n%s", dashboardProgram, out)
	}
	want := []string{dashboardProgram + " program, and it is not installed", "go install github.com/tokentop/tokentop/cmd/...@"}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Errorf("tokentop demo without %s said:\n%s", dashboardProgram, out)
		}
	}
	// With no command, on a terminal (without one it says it needs one).
	cmd = exec.Command(alone)
	cmd.Env = []string{"HOME=" + dir, "PATH=" + dir}
	s := startScreen(t, cmd, 200, 10)
	s.waitFor("the way to install the dashboard", 10*time.Second, want...)
	if err := s.wait(10 * time.Second); err == nil {
		t.Error("tokentop without its dashboard program exited 0")
	}
}

// cliAlone copies the CLI program into a folder of its own, without the
// dashboard program beside it, and returns its path.
func cliAlone(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(tokentopBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tokentop")
	if err := os.WriteFile(path, data, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// handOff is one in-process run of the CLI program (no dashboard) with the
// exec and the signal handlers recorded instead of done.
type handOff struct {
	result
	execs     [][]string // argv of each exec
	envs      [][]string
	signalled bool
}

func runHandOff(t *testing.T, e *env, tty *os.File, args ...string) handOff {
	t.Helper()
	return runHandOffIn(t, e, tty, nil, args...)
}

// runHandOffIn is runHandOff with in as stdin (nil: none).
func runHandOffIn(t *testing.T, e *env, tty *os.File, in io.Reader, args ...string) handOff {
	t.Helper()
	var h handOff
	h.result = e.runWith(func(io *stdio) {
		if in != nil {
			io.in = in
		}
		io.tty, io.dashboard = tty, nil
		io.signals = func() { h.signalled = true }
		io.exec = func(path string, argv, env []string) error {
			if filepath.Base(path) != argv[0] {
				t.Errorf("exec of %s as %s", path, argv[0])
			}
			h.execs, h.envs = append(h.execs, argv), append(h.envs, env)
			return nil
		}
	}, "", args...)
	return h
}

// fakeDashboardOnPath puts executables named tokentop-dashboard and
// tokentop-postgres first on PATH (the test binary has none beside it).
func fakeDashboardOnPath(t *testing.T) {
	dir := t.TempDir()
	for _, program := range []string{dashboardProgram, postgresProgram} {
		if err := os.WriteFile(filepath.Join(dir, program), []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", dir+string(filepath.ListSeparator)+os.Getenv("PATH"))
}

// TestCLIHandsTheDashboardOver: tokentop with no command, or demo, execs
// the dashboard program with the same arguments and its own version in
// TOKENTOP_DASHBOARD_FOR, without installing signal handlers first (a
// signal before the exec must end the process, not be caught and lost).
// Without a terminal, tokentop with no command says so, as before, and
// runs nothing.
func TestCLIHandsTheDashboardOver(t *testing.T) {
	fakeDashboardOnPath(t)
	t.Setenv(envDashboardFor, "") // set and empty: replaced, not kept beside ours
	e := newEnv(t)
	_, tty := openPTY(t)
	for _, args := range [][]string{nil, {"--vault", e.vault}, {"demo"}, {"demo", "--vault", e.vault}} {
		h := runHandOff(t, e, tty, args...)
		if h.code != 0 || len(h.execs) != 1 {
			t.Fatalf("tokentop %q: exit %d, %d execs; stderr %s", args, h.code, len(h.execs), h.err)
		}
		if want := append([]string{dashboardProgram}, args...); !slices.Equal(h.execs[0], want) {
			t.Errorf("tokentop %q ran %q, want %q", args, h.execs[0], want)
		}
		if got := slices.DeleteFunc(slices.Clone(h.envs[0]), func(kv string) bool { return !strings.HasPrefix(kv, envDashboardFor+"=") }); !slices.Equal(got, []string{envDashboardFor + "=" + thisVersion()}) {
			t.Errorf("tokentop %q: the dashboard's environment has %q, want only %s=%s", args, got, envDashboardFor, thisVersion())
		}
		if h.signalled {
			t.Errorf("tokentop %q installed signal handlers before the exec", args)
		}
	}
	h := runHandOff(t, e, nil)
	if h.code != exitUsage || !strings.Contains(h.err, "needs a terminal") || len(h.execs) != 0 {
		t.Errorf("tokentop without a terminal: exit %d, %d execs, stderr %q", h.code, len(h.execs), h.err)
	}
}

// TestCLIRefusesToRunItselfAsTheDashboard: a tokentop that tokentop ran as
// its dashboard (the CLI installed under the dashboard's name) stops with
// the way out instead of running itself for ever; in-process and through
// the real programs.
func TestCLIRefusesToRunItselfAsTheDashboard(t *testing.T) {
	postgresLinkedAs(t, false) // as the CLI program
	fakeDashboardOnPath(t)
	e := newEnv(t)
	e.vars[envDashboardFor] = thisVersion()
	h := runHandOff(t, e, nil, "demo")
	if h.code == 0 || len(h.execs) != 0 || !strings.Contains(h.err, "is tokentop itself") {
		t.Errorf("demo run as the dashboard: exit %d, %d execs, stderr %q", h.code, len(h.execs), h.err)
	}

	cliAsDashboard := cliAlone(t)
	dir := filepath.Dir(cliAsDashboard)
	if err := os.Symlink("tokentop", filepath.Join(dir, dashboardProgram)); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(cliAsDashboard, "demo")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + dir}
	out, err := runToTheEnd(t, cmd, "tokentop with itself as its dashboard program")
	if err == nil || !strings.Contains(string(out), "is tokentop itself") {
		t.Errorf("tokentop with itself as its dashboard: %v\n%s", err, out)
	}
}

// runToTheEnd runs cmd and returns its output, failing the test when it
// has not stopped within 20 s (what, a program that runs itself for ever).
func runToTheEnd(t *testing.T, cmd *exec.Cmd, what string) ([]byte, error) {
	t.Helper()
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("%s did not stop", what)
	}
	return out, err
}

// TestHandedOverCallIsNeverHandedOn: a program tokentop handed a call to
// never hands it on. tokentop-postgres installed as tokentop-dashboard would
// otherwise run itself for ever: it takes the variable out of its
// environment (Main), so the CLI's check cannot see it. In-process, and
// through the real programs.
func TestHandedOverCallIsNeverHandedOn(t *testing.T) {
	fakeDashboardOnPath(t)
	postgresLinkedAs(t, true) // as tokentop-postgres
	e := newEnv(t)
	e.vars[envDashboardFor] = thisVersion()
	_, tty := openPTY(t)
	h := runHandOff(t, e, tty, "demo")
	if h.code != exitFailed || len(h.execs) != 0 ||
		!strings.Contains(h.err, "the "+dashboardProgram+" program that tokentop ran is "+postgresProgram) {
		t.Errorf("demo handed to tokentop-postgres: exit %d, %d execs, stderr %q", h.code, len(h.execs), h.err)
	}

	bin := tokentopBinary(t)
	dir := t.TempDir()
	for from, to := range map[string]string{bin: "tokentop", filepath.Join(filepath.Dir(bin), postgresProgram): dashboardProgram} {
		data, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, to), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(filepath.Join(dir, "tokentop"), "demo")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + dir}
	out, err := runToTheEnd(t, cmd, "tokentop with tokentop-postgres as its dashboard program")
	if err == nil || !strings.Contains(string(out), "the "+dashboardProgram+" program that tokentop ran is "+postgresProgram) {
		t.Errorf("tokentop with tokentop-postgres as its dashboard: %v\n%s", err, out)
	}
}

// TestDashboardProgramRefusesAnotherVersion: the dashboard program run by
// a tokentop of another version stops before touching the vault; run by its
// own version, by hand, or with either side a build without a version
// ("devel": go run), it works.
func TestDashboardProgramRefusesAnotherVersion(t *testing.T) {
	e := newEnv(t)
	run1 := func(mine, theirs string, args ...string) result {
		saved := thisVersion
		thisVersion = func() string { return mine }
		defer func() { thisVersion = saved }()
		return e.runWith(func(io *stdio) { io.dashboardFor = theirs }, "", args...)
	}
	r := run1("v1.1.0", "v1.0.0", "ls")
	if r.code == 0 || !strings.Contains(r.err, "tokentop-dashboard is v1.1.0, but the tokentop that ran it is v1.0.0") ||
		!strings.Contains(r.err, "go install github.com/tokentop/tokentop/cmd/...@v1.1.0") {
		t.Errorf("dashboard program run by another version: exit %d, stderr %q", r.code, r.err)
	}
	if e.vaultBytes() != nil {
		t.Error("the refused dashboard program created a vault")
	}
	for _, pair := range [][2]string{{"v1.1.0", "v1.1.0"}, {"v1.1.0", ""}, {"v1.1.0", "devel"}, {"devel", "v1.0.0"}} {
		if r := run1(pair[0], pair[1], "version"); r.code != 0 {
			t.Errorf("dashboard program %s run by %q: exit %d, stderr %q", pair[0], pair[1], r.code, r.err)
		}
	}
}

// TestDashboardProgramVersionEndToEnd: the real programs tokentop hands
// calls to, built with a version: each refuses one run for another version,
// naming itself, and takes the variable out of its environment, so that its
// children (here tokentop exec's) do not inherit it.
func TestDashboardProgramVersionEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the programs again with a version (-short)")
	}
	dir := t.TempDir()
	build := exec.Command("go", "build", "-ldflags", "-X github.com/tokentop/tokentop/providers.Version=v9.9.9-test",
		"-o", dir+string(filepath.Separator), "../../"+dashboardProgram, "../../"+postgresProgram)
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "c")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	for _, program := range []string{dashboardProgram, postgresProgram} {
		run := func(forVersion string, args ...string) (string, error) {
			cmd := exec.Command(filepath.Join(dir, program), args...)
			cmd.Env = e.processEnv(envDashboardFor + "=" + forVersion)
			out, err := cmd.CombinedOutput()
			return string(out), err
		}
		if out, err := run("v0.0.1", "ls"); err == nil || !strings.Contains(out, program+" is v9.9.9-test, but the tokentop that ran it is v0.0.1") {
			t.Errorf("%s v9.9.9-test run for v0.0.1: %v\n%s", program, err, out)
		}
		out, err := run("v9.9.9-test", "exec", "prod", "--", "env")
		if err != nil {
			t.Fatalf("%s exec: %v\n%s", program, err, out)
		}
		if strings.Contains(out, envDashboardFor) {
			t.Errorf("a child of %s inherited %s:\n%s", program, envDashboardFor, out)
		}
		if !strings.Contains(out, "TOKENTOP_ACCESS_TOKEN=") {
			t.Errorf("exec's child did not get the token in its environment:\n%s", out)
		}
	}
}

// TestCLIWithFlagsFirstOpensTheDashboard: `tokentop --vault FILE`, a global
// flag and no command, reaches the dashboard through the exec with the
// flag applied.
func TestCLIWithFlagsFirstOpensTheDashboard(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now, time.Hour, "c")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "flagged", "--sub", testSub)
	cmd := exec.Command(tokentopBinary(t), "--vault", e.vault, "--key-file", e.key)
	cmd.Env = []string{"HOME=" + e.dir, "PATH=" + os.Getenv("PATH")}
	s := startScreen(t, cmd, 100, 30)
	s.waitFor("the dashboard on the vault given by flag", 15*time.Second, "flagged", "Sessions (1)")
	s.press("q")
	if err := s.wait(10 * time.Second); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
}
