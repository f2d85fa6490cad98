package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
)

// exitCode is a finished command's exit code (0 when err is nil).
func exitCode(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err == nil {
		return 0
	}
	if !errors.As(err, &ee) {
		t.Fatalf("run: %v", err)
	}
	return ee.ExitCode()
}

func TestExecGivesTheChildAFreshTokenAndItsStatus(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "local")
	want := strings.TrimSpace(e.mustRun("", "token", "local"))

	var stdout, stderr bytes.Buffer
	c := e.command("", "exec", "local", "--", "sh", "-c", "printenv TOKENTOP_ACCESS_TOKEN; printenv TOKENTOP_AUTHORIZATION; printenv PATHSTACK_API_VERSION; printenv TOKENTOP_EXPIRES_AT")
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		t.Fatalf("exec: %v: %s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 4 || lines[0] != want || lines[1] != "Bearer "+want || lines[2] != "2024-03-27" {
		t.Fatalf("the child's environment does not carry the token of `tokentop token` (%d lines)", len(lines))
	}
	if _, err := time.Parse(time.RFC3339, lines[3]); err != nil {
		t.Errorf("TOKENTOP_EXPIRES_AT %q: %v", lines[3], err)
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}

	// tokentop holds no vault file, and no connection left from the
	// refresh that --min-valid 59m59s forces, open while the command runs.
	if _, err := os.Stat("/proc/self/fd"); err == nil {
		// ls fails when a descriptor closes between its listing and its
		// readlink (the runtime's own come and go): list again then.
		c := e.command("", "exec", "local", "--min-valid", "59m59s", "--", "sh", "-c",
			`for i in 1 2 3 4 5; do ls -l /proc/$PPID/fd 2>/dev/null && exit 0; sleep 0.05; done; exit 1`)
		stderr.Reset()
		c.Stderr = &stderr
		out, err := c.Output()
		if err != nil || !strings.Contains(string(out), "->") || strings.Contains(string(out), "vault.db") || strings.Contains(string(out), "socket:") {
			t.Fatalf("tokentop's open files while its command runs (%v, %s):\n%s", err, stderr.String(), out)
		}
	}
	want = strings.TrimSpace(e.mustRun("", "token", "local")) // refreshed by --min-valid 59m59s

	// --env renames the token's variable, and drops an inherited one; the
	// vault passphrase is not passed on.
	c = e.command("", "exec", "local", "--env", "GH_TOKEN", "--", "sh", "-c", `test "$GH_TOKEN" = "$1" && echo "${TOKENTOP_ACCESS_TOKEN:-unset} ${TOKENTOP_PASSPHRASE:-unset}"`, "sh", want)
	c.Env = append(c.Env, "TOKENTOP_ACCESS_TOKEN=stale", "TOKENTOP_PASSPHRASE=not-for-the-command")
	if out, err := c.Output(); err != nil || string(out) != "unset unset\n" {
		t.Fatalf("exec --env GH_TOKEN: %v %q", err, out)
	}

	// The child's exit status is tokentop's; a signal N gives 128+N.
	for args, code := range map[string]int{"exit 7": 7, "exit 0": 0, "kill -KILL $$": 128 + 9, "kill -TERM $$": 128 + 15} {
		if got := exitCode(t, e.command("", "exec", "local", "--", "sh", "-c", args).Run()); got != code {
			t.Errorf("exec -- sh -c %q: exit %d, want %d", args, got, code)
		}
	}
	// Like a shell: 127 when the command is not found, 126 when it cannot run.
	noexec := filepath.Join(e.dir, "noexec")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	noshebang := filepath.Join(e.dir, "noshebang")
	if err := os.WriteFile(noshebang, []byte{0x7f, 'E', 'L', 'F', 0, 0}, 0o700); err != nil {
		t.Fatal(err)
	}
	for cmd, code := range map[string]int{"tokentop-no-such-command": 127, noexec: 126, noshebang: 126} {
		stderr.Reset()
		c = e.command("", "exec", "local", "--", cmd)
		c.Stderr = &stderr
		if got := exitCode(t, c.Run()); got != code || strings.Count(stderr.String(), "\n") != 1 {
			t.Errorf("exec %s: exit %d (want %d), stderr %q", cmd, got, code, stderr.String())
		}
	}
}

func TestExecRefusesWithoutAFreshToken(t *testing.T) {
	e := newEnv(t)
	access, refresh := tokenPair(t, e.now.Add(-2*time.Hour), time.Hour, "execdown")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "down", "--sub", testSub, "--base-url", "http://127.0.0.1:1")
	marker := filepath.Join(e.dir, "ran")
	r := e.run("", "exec", "down", "--", "touch", marker)
	if r.code != exitFailed || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, "refresh failed") {
		t.Fatalf("exec on a session that cannot refresh: %+v", r)
	}
	if strings.Contains(r.err+r.out, "execdown") {
		t.Fatal("a token leaked into the output")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the command ran without a fresh token")
	}

	for _, args := range [][]string{
		{"exec"}, {"exec", "down"}, {"exec", "down", "x", "--", "true"}, {"exec", "down", "--min-valid", "5m", "env"},
		{"exec", "down", "curl", "-s", "x"}, {"exec", "down", "--env", "1X", "--", "true"}, {"exec", "--", "true"},
	} {
		if r := e.run("", args...); r.code != exitUsage || strings.Count(r.err, "\n") != 1 {
			t.Errorf("tokentop %s: %+v, want a usage error", strings.Join(args, " "), r)
		}
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a refused command ran")
	}
}

func TestExecPassesSignalsOnAndWaits(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "local")
	ready, marker := filepath.Join(e.dir, "ready"), filepath.Join(e.dir, "marker")
	script := fmt.Sprintf(`trap 'echo "$1" > %s; exit 42' %%s; echo > %s; while :; do sleep 0.05; done`, marker, ready)
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1} {
		name := sig.String()
		os.Remove(ready)
		os.Remove(marker)
		trap := map[syscall.Signal]string{syscall.SIGTERM: "TERM", syscall.SIGINT: "INT", syscall.SIGHUP: "HUP", syscall.SIGUSR1: "USR1"}[sig]
		c := e.command("", "exec", "local", "--", "sh", "-c", fmt.Sprintf(script, trap), "sh", trap)
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for _, err := os.Stat(ready); err != nil; _, err = os.Stat(ready) {
			if time.Now().After(deadline) {
				c.Process.Kill()
				t.Fatalf("%s: the child never started", name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := c.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		err := waitExit(t, c, 10*time.Second, "%s: tokentop did not end after the child's trap", name)
		if got := exitCode(t, err); got != 42 {
			t.Errorf("%s: exit %d, want the child's 42", name, got)
		}
		if b, err := os.ReadFile(marker); err != nil || strings.TrimSpace(string(b)) != trap {
			t.Errorf("%s: the child's trap did not run: %v %q", name, err, b)
		}
	}
}

// TestParallelExecRefreshesOnce runs 100 `tokentop exec` at once on a session
// whose token expires within --min-valid: the refresh token is spent once,
// and every child gets the one new token.
func TestParallelExecRefreshesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 100 processes")
	}
	e := newEnv(t)
	var skew atomic.Int64 // the fake's clock runs behind while minting
	srv := startFake(t, fake.Options{Now: func() time.Time { return time.Now().Add(-time.Duration(skew.Load())) }})
	skew.Store(int64(time.Hour - 30*time.Second)) // the minted token has 30 s left
	tok, err := srv.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	skew.Store(0)
	e.mustRun(tok.AccessToken+"\n"+tok.RefreshToken+"\n", "add", "pathstack", "--label", "local", "--sub", tok.Sub, "--base-url", srv.URL)
	tokentopBinary(t) // built before the clock starts

	const n = 100
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := e.command("", "exec", "local", "--min-valid", "2m", "--", "printenv", "TOKENTOP_ACCESS_TOKEN")
			var stderr bytes.Buffer
			c.Stderr = &stderr
			out, err := c.Output()
			if err != nil {
				err = fmt.Errorf("%w: %s", err, stderr.String())
			}
			outs[i], errs[i] = strings.TrimSpace(string(out)), err
		}()
	}
	wg.Wait()
	t.Logf("%d parallel exec: %s", n, time.Since(start).Round(time.Millisecond))
	for i, err := range errs {
		if err != nil {
			t.Fatalf("exec %d: %v", i, err)
		}
	}
	st := srv.Stats()
	if st.Refreshes != 1 || st.ReuseDetections != 0 {
		t.Fatalf("fake stats %+v: want exactly one refresh and no reuse", st)
	}
	for i, out := range outs {
		if out != outs[0] || out == tok.AccessToken || out == "" {
			t.Fatalf("exec %d got another token than exec 0 (or the old one)", i)
		}
	}
	if got := strings.TrimSpace(e.mustRun("", "token", "local")); got != outs[0] {
		t.Fatal("the children's token is not the stored one")
	}
}

// TestExecAndHelperTimings logs how long `tokentop exec LABEL -- true` and
// `tokentop credential-helper get` take against a bare process start: no
// assertion, numbers for the record (go test -run Timings -v).
func TestExecAndHelperTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("timings only")
	}
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "local")
	bin := tokentopBinary(t)
	truePath, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true")
	}
	const runs = 40
	median := func(name, stdin string, mk func() *exec.Cmd) time.Duration {
		var ds []time.Duration
		for range runs {
			c := mk()
			c.Stdin = strings.NewReader(stdin)
			start := time.Now()
			if out, err := c.CombinedOutput(); err != nil {
				t.Fatalf("%s: %v %s", name, err, out)
			}
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		t.Logf("%-40s median %6.2f ms  min %6.2f ms", name, ms(ds[len(ds)/2]), ms(ds[0]))
		return ds[len(ds)/2]
	}
	bare := median("true", "", func() *exec.Cmd { return exec.Command(truePath) })
	version := median("tokentop --version", "", func() *exec.Cmd { return e.command("", "--version") })
	ex := median("tokentop exec local -- true", "", func() *exec.Cmd { return e.command("", "exec", "local", "--", "true") })
	helper := median("tokentop credential-helper get", `{"uri": "`+srv.URL+`/v1/me"}`, func() *exec.Cmd {
		return e.command("", "credential-helper", "get")
	})
	tok := median("tokentop token local", "", func() *exec.Cmd { return e.command("", "token", "local") })
	t.Logf("over a bare `true`: exec +%.2f ms, credential-helper +%.2f ms, token +%.2f ms (tokentop --version alone +%.2f ms); binary %s",
		ms(ex-bare), ms(helper-bare), ms(tok-bare), ms(version-bare), bin)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// interruptCounter is a program that counts the SIGINTs it gets in the half
// second after the first one.
const interruptCounter = `package main

import (
	"fmt"
	"os"
	"os/signal"
	"time"
)

func main() {
	c := make(chan os.Signal, 16)
	signal.Notify(c, os.Interrupt)
	fmt.Println("ready")
	<-c
	n := 1
	for end := time.After(500 * time.Millisecond); ; {
		select {
		case <-c:
			n++
		case <-end:
			fmt.Printf("interrupts: %d\n", n)
			return
		}
	}
}
`

// TestExecCtrlCOnATerminalReachesTheCommandOnce: the terminal sends Ctrl-C
// to tokentop and its command alike; tokentop does not send it again.
func TestExecCtrlCOnATerminalReachesTheCommandOnce(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "local")
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(interruptCounter), 0o600); err != nil {
		t.Fatal(err)
	}
	counter := filepath.Join(dir, "counter")
	build := exec.Command("go", "build", "-o", counter, "main.go")
	build.Dir = dir
	build.Env = append(os.Environ(), "GO111MODULE=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the counter: %v\n%s", err, out)
	}
	s := startScreen(t, e.command("", "exec", "local", "--", counter), 80, 10)
	s.waitFor("the command", 10*time.Second, "ready")
	s.press("\x03")
	if err := s.wait(10 * time.Second); err != nil {
		t.Fatalf("exec: %v\n%s", err, s.text())
	}
	s.waitFor("the count", 5*time.Second, "interrupts: 1")
}
