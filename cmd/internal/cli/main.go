// Package cli is tokentop's command line: every command, and the wiring of
// vault, providers and (through a Dashboard) the dashboard. Three programs
// run it: cmd/tokentop, the CLI, which leaves the dashboard and the
// PostgreSQL driver out (see Main); cmd/tokentop-postgres, which adds the
// driver; and cmd/tokentop-dashboard, which adds both.
package cli

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

// Main runs tokentop with the process's arguments and exits. dashboard runs
// the dashboard; nil hands the dashboard and the demo to the
// tokentop-dashboard program (execProgram). Bubble Tea's package init puts
// a terminal in raw mode and asks it for its background colour, and its
// packages cost every start about 0.7 ms: the CLI links none of it. A
// program that does not import vault/postgres (the CLI) hands the calls on
// a postgres:// vault to tokentop-postgres, which does (handsToPostgres).
func Main(dashboard Dashboard) {
	// One place for the signals that end tokentop: each cancels ctx, and the
	// command in hand winds down (refreshes in flight save their tokens, the
	// dashboard restores the terminal). SIGHUP too: the terminal went away.
	// Installed when the command is about to need them (app.handleSignals):
	// one that only reads may simply be ended.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	io := newStdio()
	io.dashboard = dashboard
	// tokentop's version, when tokentop handed this call over: checked in
	// run, and kept from this program's children (tokentop exec ...).
	io.dashboardFor = os.Getenv(envDashboardFor)
	os.Unsetenv(envDashboardFor)
	io.signals = sync.OnceFunc(func() {
		signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
		go func() {
			<-sigs
			cancel() // later signals stay caught (sigs is full) until exit
		}()
	})
	code := run(ctx, os.Args[1:], io)
	signal.Stop(sigs)
	cancel()
	os.Exit(code)
}
