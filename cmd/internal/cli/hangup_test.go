package cli

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
)

// TestWatchStopsCleanlyOnHangup: SIGHUP (the terminal went away) ends
// `watch` like SIGTERM: exit 0 after its refreshes are saved, not a kill.
func TestWatchStopsCleanlyOnHangup(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	e.mustRun("", "schedule", "prod", "--every", "1h")
	cmd := e.command("", "watch")
	var errOut syncBuffer
	cmd.Stderr = &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(errOut.String(), "watching"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("watch did not start: %s", errOut.String())
		}
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, 20*time.Second, "watch did not stop on SIGHUP"); err != nil {
		t.Fatalf("watch on SIGHUP: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(errOut.String(), "stopped after") {
		t.Errorf("stderr: %s", errOut.String())
	}
}
