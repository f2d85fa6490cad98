package ui

import (
	"io"
	"os"
	"strings"
	"sync"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
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

// themeEnv names the variable that says the terminal's background, "dark"
// or "light": the palette then follows it, whatever the terminal answers
// (or does not) when asked.
const themeEnv = "TOKENTOP_THEME"

// look is how the dashboard draws on this terminal.
type look struct {
	// noColor: NO_COLOR is set, or the terminal has no colours. The theme
	// is then colourless (common.MonoTheme), and where the terminal can,
	// attributes (bold, faint, reverse, underline) still tell a
	// placeholder from a value and show the cursor.
	noColor bool
	dark    bool // the background is dark
}

// chooseLook decides the look from the environment, asking the terminal
// (query) only when colours are drawn and TOKENTOP_THEME does not say the
// background.
func chooseLook(getenv func(string) string, terminal termenv.Profile, query func() bool) look {
	l := look{noColor: getenv("NO_COLOR") != "" || terminal == termenv.Ascii, dark: true}
	switch strings.ToLower(strings.TrimSpace(getenv(themeEnv))) {
	case "dark":
		return l
	case "light":
		l.dark = false
		return l
	}
	if !l.noColor {
		l.dark = query()
	}
	return l
}

// setUpLook chooses the look for r's terminal (lipgloss's default
// renderer, in Run) and sets r to draw it. It runs before Bubble Tea reads
// the keyboard, so that an answer of the terminal is not taken for keys.
// Without colours but on a terminal that has them (NO_COLOR), r draws the
// ANSI profile: the colourless theme emits no colour, and the attributes
// it keeps reach the terminal (lipgloss drops them all without colours).
//
// Bubble Tea v1 asks the terminal for its background when its package is
// initialised (tea_init.go), before any of tokentop runs: r has the answer
// cached by now, and query costs nothing.
func setUpLook(r *lipgloss.Renderer, getenv func(string) string) look {
	terminal := r.Output().ColorProfile() // the terminal's own, whatever NO_COLOR says
	l := chooseLook(getenv, terminal, r.HasDarkBackground)
	r.SetHasDarkBackground(l.dark)
	if l.noColor && terminal != termenv.Ascii {
		r.SetColorProfile(termenv.ANSI)
	}
	return l
}
