package ui

import (
	"context"
	"errors"
	"fmt"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"
)

// shutdownGrace is how long Run waits, after the program ended, for
// refreshes to finish persisting (they were cancelled; a rotated refresh
// token being written must not be cut off).
const shutdownGrace = 5 * time.Second

// Run runs the dashboard on the terminal (alternate screen, mouse cell
// motion) until q or ctrl+c, or until ctx is cancelled (then it returns
// nil). The terminal is restored on every exit: Bubble Tea recovers panics
// in Update, View and commands and returns an error wrapping
// tea.ErrProgramPanic; a panic escaping anyway is recovered here, the
// program killed (restoring the terminal), then re-panicked.
func Run(parent context.Context, deps Deps, opts ...tea.ProgramOption) (err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	// Ask the terminal for its background before Bubble Tea reads the
	// keyboard, so the answer is not taken for key presses. Without colours
	// (NO_COLOR, a dumb terminal) the answer is moot: do not ask.
	if lipgloss.ColorProfile() == termenv.Ascii {
		lipgloss.SetHasDarkBackground(true)
	} else {
		lipgloss.HasDarkBackground()
	}

	m := New(deps)
	m.ctx = ctx
	wg := m.wg
	p := tea.NewProgram(m, append([]tea.ProgramOption{
		tea.WithAltScreen(),
		tea.WithMouseCellMotion(),
		tea.WithContext(ctx),
	}, opts...)...)

	defer func() {
		if r := recover(); r != nil {
			p.Kill()
			panic(r)
		}
	}()

	_, err = p.Run()
	cancel() // stop refreshes and logins still running

	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(shutdownGrace):
	}

	if errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrProgramPanic) && parent.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
