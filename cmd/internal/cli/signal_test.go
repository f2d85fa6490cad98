package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/hinshun/vt10x"
	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers/fake"
)

// signalRun is one demo in a pseudo-terminal that gets one signal.
type signalRun struct {
	sig    syscall.Signal
	moment string        // startup, first frame, refresh, idle
	delay  time.Duration // after the moment, before the signal
}

// The escape sequences Bubble Tea writes to take the terminal and to give
// it back.
const (
	enterAltScreen = "\x1b[?1049h"
	exitAltScreen  = "\x1b[?1049l"
	hideCursor     = "\x1b[?25l"
	showCursor     = "\x1b[?25h"
	// What termenv asks at Bubble Tea's init: the background colour, then
	// the cursor's position (which every terminal answers, ending the wait).
	backgroundQuery = "\x1b]11;?\x1b\\"
	statusQuery     = "\x1b[6n"
)

// TestSignalsEndTheDemoCleanly is issue 9: SIGTERM, SIGINT or SIGHUP from
// outside, at any moment (starting, the first frame, refreshes in flight,
// idle), must end `tokentop demo` within a few seconds with the terminal
// given back (alternate screen left, cursor shown, the tty's modes as
// they were) and the demo's vault and key removed. Each signal is sent 20
// times.
func TestSignalsEndTheDemoCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo 60 times; .ci/run runs it")
	}
	bin := tokentopBinary(t)
	moments := []string{"startup", "first frame", "refresh", "idle"}
	var runs []signalRun
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP} {
		for i := range 20 {
			r := signalRun{sig: sig, moment: moments[i%len(moments)]}
			switch r.moment {
			case "startup":
				r.delay = time.Duration(rand.IntN(300)) * time.Millisecond
			case "refresh":
				r.delay = time.Duration(rand.IntN(40)) * time.Millisecond
			case "idle":
				r.delay = time.Duration(200+rand.IntN(600)) * time.Millisecond
			}
			runs = append(runs, r)
		}
	}
	rand.Shuffle(len(runs), func(i, j int) { runs[i], runs[j] = runs[j], runs[i] })

	var (
		mu       sync.Mutex
		clean    = map[syscall.Signal]int{}
		failures []string
	)
	jobs := make(chan signalRun)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range jobs {
				err := runDemoAndSignal(bin, t.TempDir(), r)
				mu.Lock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("%v at %s (+%s): %v", r.sig, r.moment, r.delay, err))
				} else {
					clean[r.sig]++
				}
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	for _, r := range runs {
		jobs <- r
	}
	close(jobs)
	wg.Wait()
	t.Logf("clean exits in %s: SIGTERM %d/20, SIGINT %d/20, SIGHUP %d/20",
		time.Since(start).Round(time.Millisecond), clean[syscall.SIGTERM], clean[syscall.SIGINT], clean[syscall.SIGHUP])
	for _, f := range failures {
		t.Error(f)
	}
}

// runDemoAndSignal runs the demo in a pty with dir as its TMPDIR and HOME,
// sends r.sig at r.moment, and says what was not clean about its exit.
func runDemoAndSignal(bin, dir string, r signalRun) error {
	tmp, home := filepath.Join(dir, "tmp"), filepath.Join(dir, "home")
	for _, d := range []string{tmp, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			return err
		}
	}
	ptmx, tty, err := pty.Open()
	if err != nil {
		return err
	}
	defer ptmx.Close()
	defer tty.Close()
	const cols, rows = 100, 30
	if err := pty.Setsize(ptmx, &pty.Winsize{Cols: cols, Rows: rows}); err != nil {
		return err
	}
	before, err := term.GetState(int(tty.Fd()))
	if err != nil {
		return err
	}
	cmd := exec.Command(bin, "demo")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "TMPDIR=" + tmp,
		"XDG_DATA_HOME=" + filepath.Join(home, "data"), "XDG_CONFIG_HOME=" + filepath.Join(home, "config"),
		"TERM=xterm-256color", "COLORTERM=truecolor"}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	// Its own session with the pty as controlling terminal, as a shell
	// would start it. The test keeps tty open to read its modes afterwards.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	// The emulator draws the screen and answers the program's queries.
	var (
		mu  sync.Mutex
		raw bytes.Buffer
		vt  = vt10x.New(vt10x.WithWriter(ptmx), vt10x.WithSize(cols, rows))
	)
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := ptmx.Read(buf)
			mu.Lock()
			raw.Write(buf[:n])
			vt.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	screen := func() string { mu.Lock(); defer mu.Unlock(); return vt.String() }
	output := func() string { mu.Lock(); defer mu.Unlock(); return raw.String() }
	waitScreen := func(want string) error {
		deadline := time.Now().Add(15 * time.Second)
		for !strings.Contains(screen(), want) {
			select {
			case err := <-exited:
				return fmt.Errorf("exited (%v) before %q showed:\n%s", err, want, screen())
			case <-time.After(20 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%q never showed:\n%s", want, screen())
			}
		}
		return nil
	}
	kill := func() { _ = cmd.Process.Kill(); <-exited }

	if r.moment == "startup" {
		// Bubble Tea's package init asks the terminal for its background
		// (tea_init.go) before main runs: a signal then takes its default
		// action, with the terminal in the query's no-echo mode, and no
		// code of tokentop's can run. Startup here begins once the query
		// is over: asked, and the terminal's modes given back.
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if strings.Contains(output(), backgroundQuery) {
				if now, err := term.GetState(int(tty.Fd())); err == nil && reflect.DeepEqual(before, now) {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
	} else if err := waitScreen("demo-revoked"); err != nil {
		kill()
		return err
	}
	if r.moment == "refresh" {
		if _, err := ptmx.Write([]byte("R")); err != nil { // every session: 6 refreshes
			kill()
			return err
		}
	}
	time.Sleep(r.delay)
	if err := cmd.Process.Signal(r.sig); err != nil {
		return fmt.Errorf("signal: %v", err)
	}
	var waitErr error
	select {
	case waitErr = <-exited:
	case <-time.After(5 * time.Second):
		scr := screen()
		// A goroutine dump says where it hangs.
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(2 * time.Second):
			kill()
		}
		time.Sleep(100 * time.Millisecond)
		return fmt.Errorf("still running 5s after the signal; screen:\n%s\ngoroutines:\n%s", scr, dump(output()))
	}

	// The program's last bytes (leaving the alternate screen, showing the
	// cursor) may still sit in the pty, unread by the goroutine above, when
	// it has exited: read up to a marker written behind them.
	const drained = "[test: drained]"
	if _, err := tty.WriteString(drained); err != nil {
		return fmt.Errorf("write the drain marker: %v", err)
	}
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(output(), drained); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("the pty was not drained within 5s; output tail %q", tail(output(), 300))
		}
	}
	var problems []string
	out, _, _ := strings.Cut(output(), drained)
	if waitErr != nil {
		var ee *exec.ExitError
		diedOfIt := errors.As(waitErr, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() && ee.Sys().(syscall.WaitStatus).Signal() == r.sig
		// Before main installs its handler the signal's default action
		// ends the process: clean only if it had touched nothing yet but
		// asked the terminal its background (and given its modes back:
		// checked below).
		if !diedOfIt || strings.NewReplacer(backgroundQuery, "", statusQuery, "").Replace(out) != "" {
			problems = append(problems, fmt.Sprintf("exit: %v", waitErr))
		}
	}
	if i := strings.LastIndex(out, enterAltScreen); i >= 0 && !strings.Contains(out[i:], exitAltScreen) {
		problems = append(problems, "the alternate screen was not left")
	}
	if i := strings.LastIndex(out, hideCursor); i >= 0 && !strings.Contains(out[i:], showCursor) {
		problems = append(problems, "the cursor was not shown again")
	}
	if after, err := term.GetState(int(tty.Fd())); err != nil || !reflect.DeepEqual(before, after) {
		problems = append(problems, fmt.Sprintf("the terminal's modes were not restored (%v)", err))
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "tokentop-demo-*")); len(left) > 0 {
		problems = append(problems, fmt.Sprintf("demo files left: %v", left))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s; output tail %q", strings.Join(problems, "; "), tail(out, 300))
	}
	return nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// dump is the goroutine dump at the end of out, if any.
func dump(out string) string {
	if i := strings.Index(out, "SIGQUIT"); i >= 0 {
		return strings.ReplaceAll(out[i:], "\r\n", "\n")
	}
	return "(none)"
}

// TestSignalHandlersOnlyWhenTheyMatter: commands that only read leave the
// signals alone (a signal ends them at once, with nothing to lose); a
// command that writes, or a token that needs a refresh, installs the
// handlers before it starts the write.
func TestSignalHandlersOnlyWhenTheyMatter(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "fresh")
	armedIn := func(stdin string, args ...string) int {
		t.Helper()
		n := 0
		if r := e.runWith(func(io *stdio) { io.signals = func() { n++ } }, stdin, args...); r.code != 0 {
			t.Fatalf("tokentop %s: exit %d: %s", strings.Join(args, " "), r.code, r.err)
		}
		return n
	}
	armed := func(args ...string) int { t.Helper(); return armedIn("", args...) }
	// credential-helper picks the session by the request's URI, or by --label.
	for _, args := range [][]string{{"credential-helper", "get"}, {"credential-helper", "--label", "fresh", "get"}} {
		if n := armedIn(`{"uri": "`+srv.URL+`/v1/me"}`, args...); n != 0 {
			t.Errorf("tokentop %s installed signal handlers (%d calls)", strings.Join(args, " "), n)
		}
	}
	tok, err := srv.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := tokenPair(t, e.now.Add(-2*time.Hour), time.Hour, "stale") // expired an hour ago
	e.mustRun(stale+"\n"+tok.RefreshToken+"\n", "add", "pathstack", "--label", "stale", "--sub", tok.Sub, "--base-url", srv.URL)

	for _, args := range [][]string{
		{"token", "fresh"}, {"ls"}, {"show", "fresh"}, {"history", "fresh"}, {"version"},
		{"decode", tok.AccessToken}, {"token", "fresh", "--format", "json"},
	} {
		if n := armed(args...); n != 0 {
			t.Errorf("tokentop %s installed signal handlers (%d calls)", strings.Join(args, " "), n)
		}
	}
	for _, args := range [][]string{
		{"token", "stale"}, {"refresh", "fresh"}, {"schedule", "fresh", "--every", "1m"}, {"forget", "fresh"},
	} {
		if n := armed(args...); n == 0 {
			t.Errorf("tokentop %s did not install signal handlers", strings.Join(args, " "))
		}
	}
	if srv.Stats().Refreshes != 2 {
		t.Errorf("%d refreshes, want 2 (the stale token, the refresh)", srv.Stats().Refreshes)
	}
}

// TestInterruptAtThePassphrasePromptRestoresTheTerminal: a reading command
// (no signal handlers until it needs them) that asks for the passphrase
// turns echo off; Ctrl-C there must end the prompt and give the terminal
// back as it was, not kill the process with echo off.
func TestInterruptAtThePassphrasePromptRestoresTheTerminal(t *testing.T) {
	e := newEnv(t)
	e.vars[envPassword] = "correct horse battery staple"
	access, refresh := tokenPair(t, e.now, time.Hour, "pp")
	e.mustRun(access+"\n"+refresh+"\n", "add", "pathstack", "--label", "prod", "--sub", testSub)
	bin := tokentopBinary(t)

	ptmx, tty := openPTY(t)
	before, err := term.GetState(int(tty.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "ls")
	cmd.Env = e.processEnv("TERM=xterm")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = tty, tty, tty
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	prompted := make(chan struct{})
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := ptmx.Read(buf)
			out.Write(buf[:n])
			if strings.Contains(out.String(), "Vault passphrase: ") {
				select {
				case <-prompted:
				default:
					close(prompted)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-prompted:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no passphrase prompt")
	}
	// Echo is off once the prompt reads; give it a moment to get there.
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err == nil && st.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("echo never went off at the prompt")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, 10*time.Second, "ls after SIGINT"); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signaled() {
			t.Errorf("killed by the signal at the prompt: %v", err)
		}
	}
	if after, err := term.GetState(int(tty.Fd())); err != nil || !reflect.DeepEqual(before, after) {
		t.Errorf("the terminal's modes were not restored after Ctrl-C at the prompt (%v)", err)
	}
}

// TestTokenRefreshStopsWaitingOnCancel: the refresh a token call turns to
// stops waiting when its context ends (a signal, in use), leaving the
// request to finish and save in the background (which the call waits for
// before it exits).
func TestTokenRefreshStopsWaitingOnCancel(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	tok, err := srv.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	stale, _ := tokenPair(t, e.now.Add(-2*time.Hour), time.Hour, "stale") // expired an hour ago
	e.mustRun(stale+"\n"+tok.RefreshToken+"\n", "add", "pathstack", "--label", "stale", "--sub", tok.Sub, "--base-url", srv.URL)
	srv.QueueFault(fake.Fault{DelayAfterMS: 2000}) // rotates, then answers 2 s later

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	var out, errb bytes.Buffer
	code := run(ctx, []string{"token", "stale"}, e.stdio("", &out, &errb))
	if code == 0 || !strings.Contains(errb.String(), "goes on in the background") {
		t.Fatalf("token on a cancelled context: exit %d, %q %q; want the refresh left in the background", code, out.String(), errb.String())
	}
	// It finished and saved before the call exited: no second refresh.
	if got := e.mustRun("", "token", "stale"); got == stale+"\n" || srv.Stats().Refreshes != 1 {
		t.Fatalf("after the cancelled call: token %q, %d refreshes, want the new token and 1", got, srv.Stats().Refreshes)
	}
}
