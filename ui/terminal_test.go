package ui

import (
	"bytes"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// overlapFile is a terminal that notes writes running at the same time.
type overlapFile struct {
	active, overlaps atomic.Int32
	mu               sync.Mutex
	out              bytes.Buffer
}

func (f *overlapFile) Write(p []byte) (int, error) {
	if f.active.Add(1) > 1 {
		f.overlaps.Add(1)
	}
	defer f.active.Add(-1)
	// Write in pieces, as a terminal may take a long frame: another write
	// slipping in between would split it.
	for i := 0; i < len(p); i += 16 {
		runtime.Gosched()
		f.mu.Lock()
		f.out.Write(p[i:min(i+16, len(p))])
		f.mu.Unlock()
	}
	return len(p), nil
}

func (f *overlapFile) Read([]byte) (int, error) { return 0, nil }
func (f *overlapFile) Close() error             { return nil }
func (f *overlapFile) Fd() uintptr              { return ^uintptr(0) }

// The renderer's frames and the clipboard's OSC 52 sequences share one
// output: no write may start while another is under way.
func TestClipboardAndRendererWritesDoNotInterleave(t *testing.T) {
	f := &overlapFile{}
	deps, opts := shareTerminal(Deps{}, f)
	if len(opts) != 1 || deps.Clipboard == nil {
		t.Fatalf("shareTerminal: %d options, clipboard %v", len(opts), deps.Clipboard)
	}
	out, ok := deps.Clipboard.out.(*syncTerminal)
	if !ok || out.f != f {
		t.Fatalf("the clipboard writes to %T, not the program's output", deps.Clipboard.out)
	}
	var _ terminalFile = out    // Bubble Tea still sees a terminal (x/term.File)
	deps.Clipboard.native = nil // leave this machine's clipboard alone

	frame := bytes.Repeat([]byte("frame-line\n"), 200)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(2)
		go func() { // the renderer
			defer wg.Done()
			for range 20 {
				_, _ = out.Write(frame)
			}
		}()
		go func() { // a copy
			defer wg.Done()
			for range 20 {
				if _, err := deps.Clipboard.Copy("token"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := f.overlaps.Load(); n != 0 {
		t.Fatalf("%d writes overlapped", n)
	}
	want := oscSeq("token")
	if got := bytes.Count(f.out.Bytes(), []byte(want)); got != 80 {
		t.Fatalf("%d whole OSC 52 sequences in the output, want 80", got)
	}

	// A clipboard passed in is kept, and the program's output left alone.
	own := NewClipboard(&bytes.Buffer{})
	if d, opts := shareTerminal(Deps{Clipboard: own}, f); d.Clipboard != own || opts != nil {
		t.Fatal("shareTerminal replaced the clipboard passed in")
	}
}
