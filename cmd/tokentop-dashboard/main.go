// Command tokentop-dashboard is the whole of tokentop: the CLI with the
// dashboard and with vaults on PostgreSQL. tokentop (and tokentop-postgres)
// runs it for `tokentop` with no command and for `tokentop demo`. It takes
// every tokentop command and flag.
package main

import (
	"context"

	"github.com/tokentop/tokentop/cmd/internal/cli"
	"github.com/tokentop/tokentop/ui"
	_ "github.com/tokentop/tokentop/vault/postgres" // team vaults (postgres://)
)

func main() { cli.Main(dashboard) }

// dashboard runs the Bubble Tea dashboard. Its own signal handler is off
// (ui.Run): cli.Main turns SIGINT, SIGTERM and SIGHUP into the end of ctx.
func dashboard(ctx context.Context, d cli.DashboardDeps) error {
	return ui.Run(ctx, ui.Deps{Store: d.Store, Refresher: d.Refresher, Logins: d.Logins, LoginHint: d.LoginHint, Now: d.Now, Title: d.Title})
}
