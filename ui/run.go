package ui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/tokentop/tokentop/providers"
)

// shutdownGrace is how long Run waits, after the program ended, for the
// refreshes in flight to finish and save their tokens, including those esc
// stopped the dashboard waiting for (the Refresher completes their
// requests in the background). Ending the program stops the dashboard
// waiting for each, as esc does, but a request already sent goes on: the
// server may have rotated the refresh token, and its answer must reach the
// vault. Each is bounded by the HTTP timeout (manual) or the Scheduler's
// RefreshTimeout (scheduled).
const shutdownGrace = providers.DefaultScheduledRefreshTimeout + 5*time.Second

// commandGrace bounds the wait for the dashboard's refresh and login
// commands to return once their context is cancelled (they return at once:
// a refresh whose request is out goes on in the Refresher, which Run waits
// for next). Bubble Tea drops the commands it had not started when the
// program ended, and their count never comes down: without a bound Run
// would wait the whole shutdownGrace for them.
const commandGrace = time.Second

// waitNotice is how long a quiet wait lasts before Run says what it waits for.
const waitNotice = 300 * time.Millisecond

// Run runs the dashboard on the terminal (alternate screen, mouse cell
// motion) until q or ctrl+c, or until ctx is cancelled (then it returns
// nil, the terminal restored, once the refreshes in flight are saved).
//
// Run installs no signal handler: the caller turns SIGINT, SIGTERM and
// SIGHUP into cancelling ctx (cmd/internal/cli does).
// Bubble Tea's own handler is always off, whatever opts say: next to a
// cancelled context it could block forever sending its quit message to an
// event loop that had already returned, and Bubble Tea's shutdown waits for
// it (the process hung with the terminal raw).
//
// While it runs, a providers.Scheduler runs the vault's schedules (unless
// Deps.NoScheduler), and their refreshes show like manual ones.
// Without Deps.Clipboard, the program and the clipboard write to stdout
// through one lock (OSC 52 sequences never land inside a frame).
// The terminal is restored on every exit: Bubble Tea recovers panics
// in Update, View and commands and returns an error wrapping
// tea.ErrProgramPanic; a panic escaping anyway is recovered here, the
// program killed (restoring the terminal), then re-panicked.
func Run(parent context.Context, deps Deps, opts ...tea.ProgramOption) (err error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()

	// Colours or not (NO_COLOR), and the background (TOKENTOP_THEME, or
	// the terminal's answer), set before Bubble Tea reads the keyboard.
	deps.NoColor = setUpLook(lipgloss.DefaultRenderer(), os.Getenv).noColor || deps.NoColor
	if parent.Err() != nil {
		return nil // a signal came before the program started
	}

	deps, outputOpts := shareTerminal(deps, os.Stdout)
	if deps.Changes == nil && deps.Store != nil && deps.Store.Notifies() {
		deps.Changes = deps.Store.Changes(ctx) // closed when the program ends
	}
	m := New(deps)
	// Refreshes and logins run on a context of their own, cancelled once the
	// program ended (see shutdownGrace and commandGrace).
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(parent))
	defer stopWork()
	m.ctx = workCtx
	wg := m.wg
	// The Scheduler starts before the program and hands it results through
	// send: Send blocks until the program reads, and returns at once after
	// it ended.
	var p *tea.Program
	programReady := make(chan struct{})
	send := func(msg tea.Msg) {
		<-programReady
		p.Send(msg)
	}
	wake, schedulerDone := startScheduler(ctx, m.deps, send)
	m.wake = wake
	p = tea.NewProgram(m, slices.Concat(outputOpts, []tea.ProgramOption{
		tea.WithAltScreen(),
		tea.WithMouseCellMotion(),
		tea.WithContext(ctx),
	}, opts, []tea.ProgramOption{tea.WithoutSignalHandler()})...)
	close(programReady)

	defer func() {
		if r := recover(); r != nil {
			p.Kill()
			panic(r)
		}
	}()

	_, err = p.Run()
	cancel() // the Scheduler takes no new work; refreshes in flight go on
	// As esc on each: a refresh not sent yet never is (nor one whose
	// command starts now); one whose request is out goes on in the
	// Refresher. A login in flight is abandoned, as q does.
	stopWork()

	// Wait for the dashboard's commands to return, the Scheduler, and the
	// requests the Refresher completes in the background.
	graceCtx, stopGrace := context.WithTimeout(context.WithoutCancel(parent), waitNotice+shutdownGrace)
	defer stopGrace()
	waited := make(chan struct{})
	go func() {
		defer close(waited)
		commands := make(chan struct{})
		go func() { wg.Wait(); close(commands) }()
		select {
		case <-commands:
		case <-time.After(commandGrace):
		}
		<-schedulerDone
		if deps.Refresher != nil {
			_ = deps.Refresher.Wait(graceCtx) // its error is the grace running out
		}
	}()
	select {
	case <-waited:
	case <-time.After(waitNotice):
		fmt.Fprintln(os.Stderr, "tokentop: letting the refreshes in flight finish and save their tokens…")
		select {
		case <-waited:
		case <-graceCtx.Done():
		}
	}

	if errors.Is(err, tea.ErrProgramKilled) && !errors.Is(err, tea.ErrProgramPanic) && parent.Err() != nil {
		return nil
	}
	if err != nil {
		return fmt.Errorf("dashboard: %w", err)
	}
	return nil
}
