package ui

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
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
