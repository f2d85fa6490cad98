// Package postgres links the PostgreSQL driver (pgx) into a program, so
// that its vaults can live on PostgreSQL (postgres:// URLs). Import it for
// its effect:
//
//	import _ "github.com/tokentop/tokentop/vault/postgres"
//
// Without it, vault.Open refuses a postgres:// URL (vault.ErrNoPostgres).
// The tokentop CLI leaves it out and hands a call on such a vault to the
// tokentop-postgres program, which has it: pgx and what it brings (5.7 MB
// of the binary, golang.org/x/text's tables) would otherwise cost every
// tokentop call on a file vault at its start.
package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" (pgdriver.DriverName)

	"github.com/tokentop/tokentop/vault/internal/pgdriver"
)

func init() { pgdriver.Listen = listen }

// listen opens a connection of its own: LISTEN holds for one connection,
// not for a pool's.
func listen(ctx context.Context, connURL, channel string) (pgdriver.Notifications, error) {
	conn, err := pgx.Connect(ctx, connURL)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel}.Sanitize()); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	return listening{conn}, nil
}

// listening is a connection that LISTENs.
type listening struct{ conn *pgx.Conn }

func (l listening) Wait(ctx context.Context) (string, error) {
	n, err := l.conn.WaitForNotification(ctx)
	if err != nil {
		return "", err
	}
	return n.Payload, nil
}

func (l listening) Close() { l.conn.Close(context.Background()) }
