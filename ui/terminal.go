package ui

import (
	"io"
	"os"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
)

// terminalFile is what Bubble Tea needs of its output to treat it as a
// terminal (x/term.File): the file descriptor for its size and modes.
type terminalFile interface {
	io.ReadWriteCloser
	Fd() uintptr
}

// syncTerminal is the program's output, shared with the clipboard. Bubble
// Tea's renderer writes each frame from its own goroutine, and the
// clipboard writes OSC 52 sequences from a tea.Cmd: one lock makes every
// write whole, so that a sequence never lands inside a frame. Bubble Tea
// v1 has no way to hand it raw output (tea.Printf prints nothing in the
// alternate screen), so the program writes through this too. It keeps the
// file's Fd, Read and Close: Bubble Tea still sees the terminal.
type syncTerminal struct {
	mu sync.Mutex
	f  terminalFile
}

func newSyncTerminal(f terminalFile) *syncTerminal { return &syncTerminal{f: f} }

// Write writes p whole, never interleaved with another Write.
func (t *syncTerminal) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.f.Write(p)
}

// Read reads the terminal (Bubble Tea does not read its output; part of
// term.File).
func (t *syncTerminal) Read(p []byte) (int, error) { return t.f.Read(p) }

// Close closes the terminal.
func (t *syncTerminal) Close() error { return t.f.Close() }

// Fd is the terminal's file descriptor.
func (t *syncTerminal) Fd() uintptr { return t.f.Fd() }

// shareTerminal gives the program and the default clipboard one
// synchronised output on stdout. A clipboard passed in Deps is left alone
// (and so is the program's output: options passed to Run come after).
func shareTerminal(deps Deps, stdout terminalFile) (Deps, []tea.ProgramOption) {
	if deps.Clipboard != nil {
		return deps, nil
	}
	out := newSyncTerminal(stdout)
	deps.Clipboard = NewClipboard(out)
	return deps, []tea.ProgramOption{tea.WithOutput(out)}
}

var _ terminalFile = (*os.File)(nil)
