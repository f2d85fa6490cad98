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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], newStdio())
	stop()
	os.Exit(code)
}
