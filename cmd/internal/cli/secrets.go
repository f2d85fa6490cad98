package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/term"
)

// errInterrupted is what a prompt answers to Ctrl-C: Main turns SIGINT into
// a cancelled context, which a blocked terminal read would never notice.
var errInterrupted = errors.New("interrupted")

// promptSecret asks on the terminal without echo. Secrets never come from argv.
func (a *app) promptSecret(prompt string) (string, error) {
	if a.io.tty == nil {
		return "", errors.New("no terminal to prompt on")
	}
	// Echo goes off below: a signal must end the prompt (and restore the
	// terminal), not the process, also in a command that only reads.
	a.handleSignals()
	fd := int(a.io.tty.Fd())
	state, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	fmt.Fprint(a.io.err, prompt)
	b, err := a.interruptible(func() ([]byte, error) { return term.ReadPassword(fd) })
	fmt.Fprintln(a.io.err)
	if errors.Is(err, errInterrupted) {
		_ = term.Restore(fd, state) // echo back on: ReadPassword never returned
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// promptLine asks on the terminal with echo.
func (a *app) promptLine(prompt string) (string, error) {
	fmt.Fprint(a.io.err, prompt)
	b, err := a.interruptible(func() ([]byte, error) {
		line, err := bufio.NewReader(a.io.in).ReadString('\n')
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return []byte(line), err
	})
	if errors.Is(err, errInterrupted) {
		fmt.Fprintln(a.io.err)
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("read answer: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// interruptible runs a blocking read and gives up when the command's context
// ends (Ctrl-C, SIGTERM); the read is abandoned with the process.
func (a *app) interruptible(read func() ([]byte, error)) ([]byte, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := read()
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return r.b, r.err
	case <-a.ctx.Done():
		return nil, errInterrupted
	}
}

// lineReader reads secrets given one per line on stdin (scripts, pipes).
type lineReader struct{ sc *bufio.Scanner }

func newLineReader(r io.Reader) *lineReader {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4<<20) // tokens can be large
	return &lineReader{sc: sc}
}

// next returns the next line, trimmed; what names it in the error.
func (l *lineReader) next(what string) (string, error) {
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			return "", fmt.Errorf("read %s from stdin: %w", what, err)
		}
		return "", fmt.Errorf("read %s from stdin: no line given", what)
	}
	s := strings.TrimSpace(l.sc.Text())
	if s == "" {
		return "", fmt.Errorf("read %s from stdin: empty line", what)
	}
	return s, nil
}

// secrets reads named secrets: prompted without echo on a terminal, else one
// line each from stdin.
func (a *app) secrets(names ...string) ([]string, error) {
	out := make([]string, 0, len(names))
	var lr *lineReader
	for _, n := range names {
		var v string
		var err error
		if a.io.tty != nil {
			v, err = a.promptSecret(strings.ToUpper(n[:1]) + n[1:] + ": ")
			if err == nil && v == "" {
				err = fmt.Errorf("%s is empty", n)
			}
		} else {
			if lr == nil {
				lr = newLineReader(a.io.in)
			}
			v, err = lr.next(n)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
