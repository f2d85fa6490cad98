// Command tokentop is a terminal dashboard and CLI for PathStack and Galileo
// API sessions: an encrypted local vault of access and refresh tokens, live
// expiry countdowns, refresh on demand or on a schedule, and safe copying.
package main

import (
	"context"
	"os"
	"os/signal"
	"sync"
	"syscall"
)

func main() {
	// One place for the signals that end tokentop: each cancels ctx, and the
	// command in hand winds down (refreshes in flight save their tokens, the
	// dashboard restores the terminal). SIGHUP too: the terminal went away.
	// Installed when the command is about to need them (app.handleSignals):
	// one that only reads may simply be ended.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 1)
	io := newStdio()
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
