package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	return []tea.ProgramOption{tea.WithInput(r), tea.WithOutput(io.Discard), tea.WithoutSignalHandler()}
}

func TestRunEndsWhenItsContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, testDeps(&bytes.Buffer{}), runOpts(t)...) }()
	time.Sleep(100 * time.Millisecond)
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

// TestQuitLetsARefreshInFlightSaveItsTokens: quitting while the server is
// still answering must not drop the rotated refresh token it sends back.
func TestQuitLetsARefreshInFlightSaveItsTokens(t *testing.T) {
	e := newTestEnv(t)
	s := e.addSession(t, "slow", e.ps.URL)
	e.ps.QueueFault(fake.Fault{DelayMS: 700}) // then served normally: rotates
	deps := e.deps
	deps.NoScheduler = true
	in, keys := io.Pipe()
	t.Cleanup(func() { _ = keys.Close() })
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), deps, tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithoutSignalHandler())
	}()
	time.Sleep(300 * time.Millisecond) // the list has loaded
	if _, err := keys.Write([]byte("r")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond) // the request is with the server
	if _, err := keys.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("Run did not return")
	}
	got, err := e.store.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("the refresh in flight at quit was not saved: version %d → %d", s.Version, got.Version)
	}
	if st := e.ps.Stats(); st.Rotations != 1 {
		t.Fatalf("server rotations = %d, want 1", st.Rotations)
	}
	// The saved refresh token is the live one: the next refresh works.
	rep, err := deps.Refresher.Refresh(context.Background(), s.ID, vault.TriggerCLI)
	if err != nil || rep.Outcome != providers.OutcomeOK {
		t.Fatalf("refresh after quit: %v %v", rep, err)
	}
}

// esc stops the dashboard waiting for a refresh whose request is out; the
// Refresher completes it in the background. Quitting right after must
// still wait for it, so that its rotated refresh token is saved.
func TestQuitAfterEscWaitsForTheRequestStillOut(t *testing.T) {
	e := newTestEnv(t)
	s := e.addSession(t, "slow", e.ps.URL)
	e.ps.QueueFault(fake.Fault{DelayMS: 700}) // then served normally: rotates
	deps := e.deps
	deps.NoScheduler = true
	in, keys := io.Pipe()
	t.Cleanup(func() { _ = keys.Close() })
	done := make(chan error, 1)
	go func() {
		done <- Run(context.Background(), deps, tea.WithInput(in), tea.WithOutput(io.Discard), tea.WithoutSignalHandler())
	}()
	for _, k := range []struct {
		after time.Duration
		key   string
	}{{300 * time.Millisecond, "r"}, {150 * time.Millisecond, "\x1b"}, {100 * time.Millisecond, "q"}} {
		time.Sleep(k.after) // the list has loaded; the request is out; esc is read alone
		if _, err := keys.Write([]byte(k.key)); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(shutdownGrace + 5*time.Second):
		t.Fatal("Run did not return")
	}
	got, err := e.store.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("Run returned before the request still out was saved: version %d → %d", s.Version, got.Version)
	}
	if attempts, err := e.store.ListAttempts(context.Background(), s.ID, 0); err != nil || len(attempts) != 1 || attempts[0].Outcome != "ok" {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
}
