// Package pgtest gives tests a PostgreSQL vault of their own: a fresh
// schema in the server named by TOKENTOP_TEST_POSTGRES (start one with
// scripts/pg-test-server), dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"sync"
	"testing"

	"github.com/tokentop/tokentop/vault/internal/pgdriver"
	_ "github.com/tokentop/tokentop/vault/postgres" // the driver, for these tests' vaults and their own connection
)

// EnvVar names the server: postgres://USER@HOST:PORT/DB?sslmode=disable.
const EnvVar = "TOKENTOP_TEST_POSTGRES"

// skipMessage is what a test says when no server is given.
const skipMessage = EnvVar + " not set: start one with scripts/pg-test-server"

// Available reports whether a server is given, and fails the test when
// none is but CI is set: CI never skips the PostgreSQL tests.
func Available(t testing.TB) bool {
	t.Helper()
	if os.Getenv(EnvVar) != "" {
		return true
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (CI is set, so this is a failure, not a skip)", skipMessage)
	}
	return false
}

// Require skips the test when no server is given (fails it under CI).
func Require(t testing.TB) {
	t.Helper()
	if !Available(t) {
		t.Skip(skipMessage)
	}
}

var (
	adminOnce sync.Once
	admin     *sql.DB
	adminErr  error
)

func adminDB() (*sql.DB, error) {
	adminOnce.Do(func() {
		admin, adminErr = sql.Open(pgdriver.DriverName, os.Getenv(EnvVar))
		if adminErr == nil {
			admin.SetMaxIdleConns(2)
		}
	})
	return admin, adminErr
}

// Schema makes a fresh schema and returns the URL of the server with that
// schema as its search_path and as its application_name (so that a test
// can find its own connections in pg_stat_activity). The schema is dropped
// at the end of the test. Skips when no server is given (fails under CI).
func Schema(t testing.TB) (vaultURL, schema string) {
	t.Helper()
	Require(t)
	db := DB(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema = "t_" + hex.EncodeToString(b)
	if _, err := db.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("pgtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		// Connections still open (a LISTEN, a pool not closed) must not hold the drop up.
		Terminate(t, schema)
		if _, err := db.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("pgtest: drop schema: %v", err)
		}
	})
	u, err := url.Parse(os.Getenv(EnvVar))
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), schema
}

// Terminate ends every server connection whose application_name is
// schema (those of the vault URL Schema returned): pg_terminate_backend,
// as when the network drops or an admin kills them. It returns how many.
func Terminate(t testing.TB, schema string) int {
	t.Helper()
	var n int
	err := DB(t).QueryRowContext(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name = $1 AND pid <> pg_backend_pid()`, schema).Scan(&n)
	if err != nil {
		t.Errorf("pgtest: terminate: %v", err)
	}
	return n
}

// Exec runs a statement as the server's admin (tests look at raw rows with it).
func Exec(t testing.TB, query string, args ...any) {
	t.Helper()
	if _, err := DB(t).ExecContext(context.Background(), query, args...); err != nil {
		t.Fatalf("pgtest: %v", err)
	}
}

// DB is the admin connection pool (do not close it).
func DB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := adminDB()
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return db
}
