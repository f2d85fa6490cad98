package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// runOpts give Run a terminal that is not one: no input, output discarded.
func runOpts(t *testing.T) []tea.ProgramOption {
	r, w := io.Pipe()
	t.Cleanup(func() { _ = w.Close() })
	return []tea.ProgramOption{tea.WithInput(r), tea.WithOutput(io.Discard)}
}

// msgLog records every message the program handles (through
// tea.WithFilter), so that a test waits for what happened, not for a
// guessed time.
type msgLog struct {
	mu      sync.Mutex
	msgs    []tea.Msg
	changed chan struct{} // closed and replaced on every message
}

// logMessages returns the log and the option that fills it.
func logMessages() (*msgLog, tea.ProgramOption) {
	l := &msgLog{changed: make(chan struct{})}
	return l, tea.WithFilter(func(_ tea.Model, msg tea.Msg) tea.Msg {
		l.mu.Lock()
		l.msgs = append(l.msgs, msg)
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
		return msg
	})
}

// waitFor waits until the program has handled a message for which match
// holds.
func (l *msgLog) waitFor(t *testing.T, what string, match func(tea.Msg) bool) {
	t.Helper()
	l.waitForFrom(t, 0, what, match)
}

// len is how many messages the program has handled.
func (l *msgLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.msgs)
}

// waitForFrom is waitFor, looking only at the messages after the first
// from.
func (l *msgLog) waitForFrom(t *testing.T, from int, what string, match func(tea.Msg) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for seen := from; ; {
		l.mu.Lock()
		msgs, changed := l.msgs[seen:], l.changed
		seen = len(l.msgs)
		l.mu.Unlock()
		for _, m := range msgs {
			if match(m) {
				return
			}
		}
		select {
		case <-changed:
		case <-deadline:
			t.Fatalf("the program never handled %s", what)
		}
	}
}

func isMsg[T tea.Msg](m tea.Msg) bool { _, ok := m.(T); return ok }

// isKey matches the key press k ("r", "esc", ...).
func isKey(k string) func(tea.Msg) bool {
	return func(m tea.Msg) bool { km, ok := m.(tea.KeyMsg); return ok && km.String() == k }
}

// waitUntil polls cond until it holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunEndsWhenItsContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	log, logOpt := logMessages()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testDeps(&bytes.Buffer{}), append(runOpts(t), logOpt)...) }()
	log.waitFor(t, "the first clock tick", isMsg[TickMsg]) // no vault: nothing else comes
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was cancelled")
	}
}

func TestRunReportsAPanic(t *testing.T) {
	deps := testDeps(&bytes.Buffer{})
	calls := 0
	deps.Now = func() time.Time {
		calls++
		if calls > 1 { // New reads the clock once; the first tick panics
			panic("clock broke")
		}
		return fixedNow
	}
	done := make(chan error, 1)
	go func() { done <- Run(context.Background(), deps, runOpts(t)...) }()
	select {
	case err := <-done:
		if !errors.Is(err, tea.ErrProgramPanic) {
			t.Fatalf("Run after a panic in Update = %v, want ErrProgramPanic", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after a panic")
	}
}

// slowRefreshRun is Run on a vault with one session, "slow", whose next
// refresh the server answers after 700 ms (rotating its refresh token),
// with keys piped in.
type slowRefreshRun struct {
	e    testEnv
	s    vault.Session
	deps Deps
	log  *msgLog
	keys *io.PipeWriter
	done chan error
}

// startSlowRefresh starts Run on ctx, presses r once the list is loaded,
// and returns when the request is at the server.
func startSlowRefresh(t *testing.T, ctx context.Context) *slowRefreshRun {
	t.Helper()
	r := &slowRefreshRun{e: newTestEnv(t), done: make(chan error, 1)}
	r.s = r.e.addSession(t, "slow", r.e.ps.URL)
	r.e.ps.QueueFault(fake.Fault{DelayMS: 700}) // then served normally: rotates
	r.deps = r.e.deps
	r.deps.NoScheduler = true
	in, keys := io.Pipe()
	t.Cleanup(func() { _ = keys.Close() })
	r.keys = keys
	log, logOpt := logMessages()
	r.log = log
	go func() { r.done <- Run(ctx, r.deps, tea.WithInput(in), tea.WithOutput(io.Discard), logOpt) }()
	log.waitFor(t, "the session list", isMsg[SessionsLoadedMsg])
	r.press(t, "r")
	waitUntil(t, "the request at the server", func() bool { return r.e.ps.Stats().Requests == 1 })
	return r
}

func (r *slowRefreshRun) press(t *testing.T, k string) {
	t.Helper()
	if _, err := r.keys.Write([]byte(k)); err != nil {
		t.Fatal(err)
	}
}

// wait waits for Run to return nil, and returns the session as stored then.
func (r *slowRefreshRun) wait(t *testing.T) vault.Session {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("Run did not return")
	}
	got, err := r.e.store.GetSession(context.Background(), r.s.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestQuitLetsARefreshInFlightSaveItsTokens: quitting while the server is
// still answering must not drop the rotated refresh token it sends back.
func TestQuitLetsARefreshInFlightSaveItsTokens(t *testing.T) {
	r := startSlowRefresh(t, context.Background())
	s := r.s
	r.press(t, "q")
	got := r.wait(t)
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("the refresh in flight at quit was not saved: version %d → %d", s.Version, got.Version)
	}
	if st := r.e.ps.Stats(); st.Rotations != 1 {
		t.Fatalf("server rotations = %d, want 1", st.Rotations)
	}
	// The saved refresh token is the live one: the next refresh works.
	rep, err := r.deps.Refresher.Refresh(context.Background(), s.ID, vault.TriggerCLI)
	if err != nil || rep.Outcome != providers.OutcomeOK {
		t.Fatalf("refresh after quit: %v %v", rep, err)
	}
}

// esc stops the dashboard waiting for a refresh whose request is out; the
// Refresher completes it in the background. Quitting right after must
// still wait for it, so that its rotated refresh token is saved.
func TestQuitAfterEscWaitsForTheRequestStillOut(t *testing.T) {
	r := startSlowRefresh(t, context.Background())
	s := r.s
	r.press(t, "\x1b")
	r.log.waitFor(t, "esc", isKey("esc")) // read alone, not as alt+q
	r.press(t, "q")
	got := r.wait(t)
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("Run returned before the request still out was saved: version %d → %d", s.Version, got.Version)
	}
	if attempts, err := r.e.store.ListAttempts(context.Background(), s.ID, 0); err != nil || len(attempts) != 1 || attempts[0].Outcome != "ok" {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
}

// A signal cancels Run's context (cmd/internal/cli): a refresh whose request
// is with the server is still saved, and Run returns soon after.
func TestCancelLetsARefreshInFlightSaveItsTokens(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r := startSlowRefresh(t, ctx)
	s := r.s
	cancelled := time.Now()
	cancel()
	got := r.wait(t)
	if d := time.Since(cancelled); d > 3*time.Second {
		t.Fatalf("Run took %s after the cancel: more than the request needed", d)
	}
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("the refresh in flight at the cancel was not saved: version %d → %d", s.Version, got.Version)
	}
	if rep, err := r.deps.Refresher.Refresh(context.Background(), s.ID, vault.TriggerCLI); err != nil || rep.Outcome != providers.OutcomeOK {
		t.Fatalf("refresh after the cancel: %v %v", rep, err)
	}
}

// Run installs no signal handler of its own, whatever its options say:
// Bubble Tea's, next to a cancelled context, could block forever (issue 9).
// A SIGINT while it runs is the caller's to handle: here, none cancels
// ctx, so the dashboard keeps running.
func TestRunLeavesSignalsToItsCaller(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT) // the caller's handler; without one, SIGINT would end the test
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	log, logOpt := logMessages()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testDeps(&bytes.Buffer{}), append(runOpts(t), logOpt)...) }()
	log.waitFor(t, "the first clock tick", isMsg[TickMsg]) // no vault: nothing else comes
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	<-sigs
	log.waitForFrom(t, log.len(), "a clock tick after the signal", isMsg[TickMsg])
	select {
	case err := <-done:
		t.Fatalf("Run ended on a signal it should leave to its caller: %v", err)
	default:
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run after cancel = %v", err)
	}
}
