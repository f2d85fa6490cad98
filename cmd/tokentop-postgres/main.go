// Command tokentop-postgres is the tokentop CLI with the PostgreSQL driver:
// tokentop runs it in its place for every call on a vault on PostgreSQL
// (postgres:// or postgresql://, from --vault or TOKENTOP_VAULT). It takes
// every tokentop command and flag, and hands the dashboard and the demo to
// tokentop-dashboard as tokentop does.
//
// The driver (pgx, with golang.org/x/text's tables) is a quarter of this
// program and about 6% of a tokentop token's time on a file vault, which
// the CLI does not pay; a call on PostgreSQL pays one more program start
// instead, next to its connection to the database.
//
//go:debug updatemaxprocs=0
package main

// updatemaxprocs=0: as for tokentop (cmd/tokentop).

import (
	"github.com/tokentop/tokentop/cmd/internal/cli"
	_ "github.com/tokentop/tokentop/vault/postgres" // vaults on postgres://
)

func main() { cli.Main(nil) }
