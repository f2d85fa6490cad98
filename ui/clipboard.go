package ui

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/atotto/clipboard"
	"github.com/aymanbagabas/go-osc52/v2"
)

// DefaultClipboardClear is how long a copied secret may stay on the
// clipboard, as with pass(1).
const DefaultClipboardClear = 45 * time.Second

// NativeClipboard is the system clipboard (xclip, wl-copy, pbcopy, ...).
type NativeClipboard interface {
	ReadAll() (string, error)
	WriteAll(text string) error
}

// Clipboard copies text with OSC 52, which reaches the terminal's clipboard
// over SSH and through tmux, and to the native clipboard when one is
// reachable. It remembers what it put on the native clipboard so that
// clearing never wipes something the user copied since.
type Clipboard struct {
	out        io.Writer
	native     NativeClipboard
	clearAfter time.Duration
	tmux       bool
	screen     bool

	mu   sync.Mutex
	last string // what tokentop last put on the native clipboard
}

// ClipboardOption configures a Clipboard.
type ClipboardOption func(*Clipboard)

// WithNativeClipboard replaces the system clipboard (nil: OSC 52 only).
func WithNativeClipboard(n NativeClipboard) ClipboardOption {
	return func(c *Clipboard) { c.native = n }
}

// WithClearAfter sets how long until a copy is cleared (default 45 s).
func WithClearAfter(d time.Duration) ClipboardOption {
	return func(c *Clipboard) { c.clearAfter = d }
}

// WithEnv reads TMUX and TERM through getenv instead of os.Getenv.
func WithEnv(getenv func(string) string) ClipboardOption {
	return func(c *Clipboard) { c.detect(getenv) }
}

// NewClipboard writes OSC 52 sequences to osc52 (use the terminal the
// program draws on) and uses the native clipboard when the system has one.
func NewClipboard(osc52 io.Writer, opts ...ClipboardOption) *Clipboard {
	c := &Clipboard{out: osc52, clearAfter: DefaultClipboardClear}
	if !clipboard.Unsupported {
		c.native = systemClipboard{}
	}
	c.detect(os.Getenv)
	for _, o := range opts {
		o(c)
	}
	return c
}

func (c *Clipboard) detect(getenv func(string) string) {
	c.tmux = getenv("TMUX") != ""
	c.screen = !c.tmux && strings.HasPrefix(getenv("TERM"), "screen")
}

// ClearAfter is how long a copy stays before Clear is due.
func (c *Clipboard) ClearAfter() time.Duration { return c.clearAfter }

// Copy puts text on the clipboards. native reports whether the native
// clipboard took it; its failure is not an error (OSC 52 may still work).
func (c *Clipboard) Copy(text string) (native bool, err error) {
	if err := c.writeOSC52(osc52.New(text)); err != nil {
		return false, fmt.Errorf("copy with OSC 52: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = ""
	if c.native != nil && c.native.WriteAll(text) == nil {
		c.last = text
		return true, nil
	}
	return false, nil
}

// Clear empties the clipboards if they still hold what Copy put there: the
// native clipboard is cleared only when it holds exactly that text; the
// terminal's (OSC 52, which cannot be read back) gets an empty copy when
// the native one was ours or there is no native one.
func (c *Clipboard) Clear() (cleared bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.native != nil && c.last != "" {
		cur, rerr := c.native.ReadAll()
		if rerr != nil || cur != c.last {
			c.last = ""
			return false, nil // someone copied something else meanwhile: leave it
		}
		c.last = ""
		if werr := c.native.WriteAll(""); werr != nil {
			return false, fmt.Errorf("clear clipboard: %w", werr)
		}
		return true, c.writeOSC52(osc52.New(""))
	}
	// Only OSC 52 carried the copy, and it cannot be read back: clear it.
	// An empty copy rather than OSC 52's "!" clear: more terminals honour it.
	return true, c.writeOSC52(osc52.New(""))
}

// writeOSC52 writes one sequence in a single Write. Inside tmux it writes
// the plain sequence (tmux with set-clipboard on takes it) and the same in
// tmux's passthrough wrapping (for allow-passthrough on).
func (c *Clipboard) writeOSC52(seq osc52.Sequence) error {
	if c.out == nil {
		return errors.New("no terminal to write to")
	}
	s := seq.String()
	switch {
	case c.tmux:
		s += seq.Tmux().String()
	case c.screen:
		s = seq.Screen().String()
	}
	_, err := io.WriteString(c.out, s)
	return err
}

// systemClipboard is atotto/clipboard.
type systemClipboard struct{}

// ReadAll reads the system clipboard.
func (systemClipboard) ReadAll() (string, error) { return clipboard.ReadAll() }

// WriteAll writes the system clipboard.
func (systemClipboard) WriteAll(text string) error { return clipboard.WriteAll(text) }
