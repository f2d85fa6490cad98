// Command tokentop is a terminal dashboard and CLI for PathStack and Galileo
// API sessions: an encrypted local vault of access and refresh tokens, live
// expiry countdowns, refresh on demand or on a schedule, and safe copying.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// One place for the signals that end tokentop: each cancels ctx, and the
	// command in hand winds down (refreshes in flight save their tokens, the
	// dashboard restores the terminal). SIGHUP too: the terminal went away.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	code := run(ctx, os.Args[1:], newStdio())
	stop()
	os.Exit(code)
}
