// Package pgdriver is where package vault meets the PostgreSQL driver
// without importing it: vault/postgres fills in Listen when a program
// imports it, and registers pgx's database/sql driver (DriverName) beside
// it. A program that does not (the tokentop CLI) then links no PostgreSQL
// code, and does not pay for its start-up on every call.
package pgdriver

import "context"

// DriverName is the database/sql driver vault opens postgres:// URLs with.
const DriverName = "pgx"

// Notifications is a connection that LISTENs on one channel.
type Notifications interface {
	// Wait blocks until a notification arrives and returns its payload, or
	// returns an error when ctx ends or the connection is lost.
	Wait(ctx context.Context) (payload string, err error)
	// Close closes the connection.
	Close()
}

// Listen opens a connection of its own to connURL and LISTENs on channel;
// nil when no driver is linked (see vault/postgres).
var Listen func(ctx context.Context, connURL, channel string) (Notifications, error)
