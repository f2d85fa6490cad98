// Command tokentop is a terminal dashboard and CLI for PathStack and Galileo
// API sessions: an encrypted local vault of access and refresh tokens, live
// expiry countdowns, refresh on demand or on a schedule, and safe copying.
//
// This program is the CLI. The dashboard (tokentop with no command, and
// tokentop demo) is the tokentop-dashboard program's, and every call on a
// vault on PostgreSQL is tokentop-postgres's: tokentop runs them in its
// place, so that Bubble Tea's start-up, which asks the terminal for its
// colours, and the PostgreSQL driver's are not paid by every tokentop token.
//
//go:debug updatemaxprocs=0
package main

// updatemaxprocs=0: GOMAXPROCS stays what the runtime chose at start (from
// the CPUs and the cgroup's CPU limit then), instead of following later
// changes to them. The goroutine that follows them is started before main,
// and waking a thread to run it cost about 2% of a tokentop token in a
// 2-CPU VM; the commands that run for long (watch) gain little from it.

import "github.com/tokentop/tokentop/cmd/internal/cli"

func main() { cli.Main(nil) }
