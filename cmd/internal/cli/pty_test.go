package cli

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/hinshun/vt10x"
)

// openPTY opens a pseudo-terminal pair, closed when the test ends: the
// terminal a process is given (tty), and the other end (ptmx).
func openPTY(t testing.TB) (ptmx, tty *os.File) {
	t.Helper()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ptmx.Close(); tty.Close() })
	return ptmx, tty
}

// screen runs the real binary in a pseudo-terminal and reads what a person
// would see through a terminal emulator (vt10x), keeping the raw output too
// (for escape sequences such as OSC 52).
type screen struct {
	t    testing.TB
	cmd  *exec.Cmd
	ptmx *os.File
	vt   vt10x.Terminal

	mu   sync.Mutex
	raw  bytes.Buffer
	done chan struct{}
}

func startScreen(t testing.TB, cmd *exec.Cmd, cols, rows int) *screen {
	t.Helper()
	cmd.Env = append(cmd.Env, "TERM=xterm-256color", "COLORTERM=truecolor")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil // the pty is all three
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		t.Fatal(err)
	}
	s := &screen{t: t, cmd: cmd, ptmx: ptmx, done: make(chan struct{})}
	// The emulator answers the program's terminal queries (cursor position)
	// through the pty, as a real terminal would.
	s.vt = vt10x.New(vt10x.WithWriter(ptmx), vt10x.WithSize(cols, rows))
	go s.pump()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		ptmx.Close()
	})
	return s
}

func (s *screen) pump() {
	defer close(s.done)
	r := bufio.NewReader(s.ptmx)
	buf := make([]byte, 32*1024)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			s.mu.Lock()
			s.raw.Write(buf[:n])
			s.vt.Write(buf[:n])
			s.mu.Unlock()
		}
		if err != nil { // EOF or EIO once the program has exited
			return
		}
	}
}

// text is the emulated screen now.
func (s *screen) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.vt.String()
}

// rawOutput is everything the program wrote.
func (s *screen) rawOutput() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]byte(nil), s.raw.Bytes()...)
}

// waitFor waits until every want is on the screen at once.
func (s *screen) waitFor(what string, timeout time.Duration, want ...string) string {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		txt := s.text()
		ok := true
		for _, w := range want {
			if !strings.Contains(txt, w) {
				ok = false
				break
			}
		}
		if ok {
			return txt
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("waiting for %s: %q not on screen:\n%s", what, want, txt)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// press types keys as a person would, one write each.
func (s *screen) press(keys ...string) {
	s.t.Helper()
	for _, k := range keys {
		if _, err := s.ptmx.Write([]byte(k)); err != nil {
			s.t.Fatal(err)
		}
		time.Sleep(30 * time.Millisecond)
	}
}

// wait waits for the program to exit and returns its error.
func (s *screen) wait(timeout time.Duration) error {
	s.t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.cmd.Wait() }()
	select {
	case err := <-errc:
		return err
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		s.t.Fatalf("program did not exit within %s; screen:\n%s", timeout, s.text())
		return nil
	}
}
