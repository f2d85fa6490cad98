package vault

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// dialect is what differs between the two backends' SQL; everything else
// (sealing, validation, the refresh and lease logic) is shared. The SQL in
// the shared code is written with '?' placeholders and in the common subset
// of SQLite and PostgreSQL (RETURNING, ON CONFLICT … DO UPDATE, coalesce);
// what cannot be shared is here. sqlite.go and postgres.go each hold one.
type dialect struct {
	// name is "sqlite" or "postgres".
	name string
	// numbered: placeholders are $1, $2, … (PostgreSQL), rewritten from '?'
	// when a statement is built (see rebind).
	numbered bool
	// migrations[i] takes the schema from version i to i+1. Both backends
	// have the same number of steps with the same meaning. A function: tests
	// swap the lists.
	migrations func() []string
	// lockSchema is run first in each migration transaction (PostgreSQL: an
	// advisory lock, so two processes do not migrate at once; SQLite's
	// BEGIN IMMEDIATE already serialises them).
	lockSchema string
	// readVersion and writeVersion read and set the schema version inside
	// the migration transaction (PRAGMA user_version, or schema_version).
	readVersion  func(ctx context.Context, tx *rtx) (int64, error)
	writeVersion func(ctx context.Context, tx *rtx, v int64) error
	// forUpdate ends a SELECT whose row a transaction goes on to change:
	// PostgreSQL locks the row (READ COMMITTED + row locks); SQLite's
	// BEGIN IMMEDIATE already holds the whole database.
	forUpdate string
	// labelOrder orders sessions by label byte-wise, as SQLite's BINARY
	// collation does (PostgreSQL would follow the database's locale).
	labelOrder string
	// cacheStatements: the Store prepares each statement once (see rdb).
	// SQLite: compiling is a large part of a statement's cost in the
	// transpiled VM. PostgreSQL: pgx keeps its own per-connection cache.
	cacheStatements bool
	// groupCommit: concurrent write transactions share one (see group.go).
	groupCommit bool
	// listingColumn: ListSessions reads the generated listing column from
	// its covering index (SQLite; see listing.go), else the plain columns.
	listingColumn bool
	// leaseNow is the SQL expression of "now" in unix milliseconds for
	// leases, with its arguments: SQLite binds the Store's clock (all its
	// processes share one machine); PostgreSQL uses the database's clock,
	// which every machine of a team vault shares.
	leaseNow func(clock func() time.Time) (expr string, args []any)
	// mapError turns constraint violations into the package's sentinels.
	mapError func(error) error
	// beforeCommit, when not nil, runs at the end of every write
	// transaction (PostgreSQL: NOTIFY, see Changes).
	beforeCommit func(ctx context.Context, s *Store, tx *rtx) error
	// connLost, when not nil, says whether err means the connection died
	// (a write transaction that failed so before COMMIT is run again).
	connLost func(err error) bool

	rebound sync.Map // statement with '?' -> with $n
}

// rebind rewrites '?' placeholders for the dialect. The shared statements
// hold no '?' inside string literals.
func (d *dialect) rebind(query string) string {
	if !d.numbered || !strings.Contains(query, "?") {
		return query
	}
	if q, ok := d.rebound.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	q := b.String()
	d.rebound.Store(query, q)
	return q
}

// rdb is the Store's *sql.DB with statements rebound for its dialect and,
// where the dialect asks for it (cacheStatements), prepared once: a
// statement's *sql.Stmt is kept and reused on every call, by every pooled
// connection (database/sql prepares it again on a connection that has not
// seen it) and inside transactions (Tx.StmtContext). With the modernc
// driver, compiling a statement costs more than running most of ours.
type rdb struct {
	*sql.DB
	d *dialect

	stmts  sync.Map // query as given -> *sql.Stmt
	nstmts atomic.Int32
}

// maxCachedStatements bounds the cache: the Store's statements are a fixed
// set, but a query built with a value in it must not grow it for ever.
const maxCachedStatements = 256

// stmt is query's prepared statement, nil when statements are not cached
// (the dialect, a full cache, or preparing failed: the caller then runs the
// query unprepared and gets its error there).
func (db *rdb) stmt(ctx context.Context, query string) *sql.Stmt {
	if !db.d.cacheStatements {
		return nil
	}
	if st, ok := db.stmts.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if db.nstmts.Load() >= maxCachedStatements {
		return nil
	}
	st, err := db.DB.PrepareContext(ctx, db.d.rebind(query))
	if err != nil {
		return nil
	}
	if prev, loaded := db.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	db.nstmts.Add(1)
	return st
}

func (db *rdb) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := db.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return db.DB.ExecContext(ctx, db.d.rebind(query), args...)
}

func (db *rdb) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.DB.QueryContext(ctx, db.d.rebind(query), args...)
}

func (db *rdb) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.DB.QueryRowContext(ctx, db.d.rebind(query), args...)
}

// Exec is ExecContext without a context (tests poke at rows with it).
func (db *rdb) Exec(query string, args ...any) (sql.Result, error) {
	return db.ExecContext(context.Background(), query, args...)
}

// QueryRow is QueryRowContext without a context.
func (db *rdb) QueryRow(query string, args ...any) *sql.Row {
	return db.QueryRowContext(context.Background(), query, args...)
}

// Close closes the cached statements, then the database.
func (db *rdb) Close() error {
	db.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	return db.DB.Close()
}

// rtx is a write transaction with statements rebound for its dialect, and
// prepared through the Store's cache (db) where it keeps one.
type rtx struct {
	*sql.Tx
	d  *dialect
	db *rdb
	// ctx, when not nil, stands for every context given to the methods: a
	// transaction shared by several callers (group commit) must not be
	// interrupted by one of them.
	ctx context.Context
}

// use is the context a statement runs with.
func (tx *rtx) use(ctx context.Context) context.Context {
	if tx.ctx != nil {
		return tx.ctx
	}
	return ctx
}

// stmt is query's cached statement bound to the transaction, or nil.
func (tx *rtx) stmt(ctx context.Context, query string) *sql.Stmt {
	if tx.db == nil {
		return nil
	}
	if st := tx.db.stmt(ctx, query); st != nil {
		return tx.Tx.StmtContext(ctx, st)
	}
	return nil
}

func (tx *rtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = tx.use(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, tx.d.rebind(query), args...)
}

func (tx *rtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = tx.use(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, tx.d.rebind(query), args...)
}

func (tx *rtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	ctx = tx.use(ctx)
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, tx.d.rebind(query), args...)
}

// Backend names, as Store.Backend returns them.
const (
	BackendSQLite   = "sqlite"
	BackendPostgres = "postgres"
)

// Backend is the kind of database the Store is on: BackendSQLite or BackendPostgres.
func (s *Store) Backend() string { return s.d.name }
