// Command tokentop is a terminal dashboard and CLI for PathStack and Galileo
// API sessions: an encrypted local vault of access and refresh tokens, live
// expiry countdowns, refresh on demand or on a schedule, and safe copying.
//
// This program is the CLI. The dashboard (tokentop with no command, and
// tokentop demo) is the tokentop-dashboard program, which tokentop runs in
// its place: Bubble Tea's start-up, which asks the terminal for its colours,
// is not paid by every tokentop token.
package main

import "github.com/tokentop/tokentop/cmd/internal/cli"

func main() { cli.Main(nil) }
