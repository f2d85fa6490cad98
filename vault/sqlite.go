package vault

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The SQLite backend's SQL: the default, a file beside the user's data.

// sqliteDialect is the SQLite backend (modernc.org/sqlite, pure Go).
var sqliteDialect = &dialect{
	name:       BackendSQLite,
	migrations: func() []string { return sqliteMigrations },
	readVersion: func(ctx context.Context, tx *rtx) (int64, error) {
		var v int64
		err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v)
		return v, err
	},
	writeVersion: func(ctx context.Context, tx *rtx, v int64) error {
		// PRAGMA takes no bound parameters; v is an int.
		_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", v))
		return err
	},
	labelOrder:      "label",
	listingColumn:   true,
	cacheStatements: true,
	groupCommit:     true,
	leaseNow: func(clock func() time.Time) (string, []any) {
		// Every process of a SQLite vault runs on one machine: its clock.
		return "?", []any{clock().UnixMilli()}
	},
	mapError: mapSQLiteConstraint,
}

// sqliteMigrations are the SQLite schema steps in order: step i takes the
// vault from user_version i to i+1. Append only; never edit a released step;
// postgresMigrations has the same steps.
var sqliteMigrations = []string{
	// 1: sessions, attempts, schedules, recovery, meta.
	// Times are unix milliseconds; NULL is unknown.
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE sessions (
	id                 INTEGER PRIMARY KEY,
	provider           TEXT    NOT NULL,
	label              TEXT    NOT NULL UNIQUE,
	base_url           TEXT    NOT NULL DEFAULT '',
	api_version        TEXT    NOT NULL DEFAULT '',
	sub                TEXT    NOT NULL DEFAULT '',
	access_token       BLOB,   -- sealed, AD sessions/<id>/access_token
	refresh_token      BLOB,   -- sealed, AD sessions/<id>/refresh_token
	token_type         TEXT    NOT NULL DEFAULT '',
	issued_at          INTEGER,
	expires_at         INTEGER,
	refresh_expires_at INTEGER,
	created_at         INTEGER NOT NULL,
	updated_at         INTEGER NOT NULL,
	last_refresh_at    INTEGER,
	last_status        TEXT    NOT NULL DEFAULT '',
	needs_login        INTEGER NOT NULL DEFAULT 0,
	version            INTEGER NOT NULL DEFAULT 1,
	lease_owner        TEXT,
	lease_until        INTEGER,
	-- listing packs the plain columns into one value for ListSessions (see
	-- listing.go): texts as <bytes>:<text>, integers in decimal, NULL as 0,
	-- comma-separated. VIRTUAL: it is stored only in sessions_by_label.
	listing            TEXT GENERATED ALWAYS AS (
		id || ',' ||
		length(CAST(provider AS BLOB)) || ':' || provider || ',' ||
		length(CAST(label AS BLOB)) || ':' || label || ',' ||
		length(CAST(base_url AS BLOB)) || ':' || base_url || ',' ||
		length(CAST(api_version AS BLOB)) || ':' || api_version || ',' ||
		length(CAST(sub AS BLOB)) || ':' || sub || ',' ||
		length(CAST(token_type AS BLOB)) || ':' || token_type || ',' ||
		ifnull(issued_at, 0) || ',' || ifnull(expires_at, 0) || ',' || ifnull(refresh_expires_at, 0) || ',' ||
		created_at || ',' || updated_at || ',' || ifnull(last_refresh_at, 0) || ',' ||
		length(CAST(last_status AS BLOB)) || ':' || last_status || ',' ||
		needs_login || ',' || version
	) VIRTUAL
);
-- Covering index: listing in label order without touching the table rows,
-- which also hold the sealed tokens.
CREATE INDEX sessions_by_label ON sessions(label, listing);

CREATE TABLE attempts (
	id           INTEGER PRIMARY KEY,
	session_id   INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
	triggered_by TEXT    NOT NULL DEFAULT '',
	started_at   INTEGER NOT NULL,
	duration_ns  INTEGER NOT NULL DEFAULT 0,
	outcome      TEXT    NOT NULL DEFAULT '',
	status       INTEGER NOT NULL DEFAULT 0,
	rotated      INTEGER NOT NULL DEFAULT 0,
	envelope     BLOB,
	exchange     BLOB,
	error        TEXT    NOT NULL DEFAULT '',
	sent_fp      TEXT    NOT NULL DEFAULT '',
	received_fp  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX attempts_by_session ON attempts(session_id, started_at);

CREATE TABLE schedules (
	session_id    INTEGER PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
	mode          TEXT    NOT NULL,
	margin_ms     INTEGER NOT NULL DEFAULT 0,
	interval_ms   INTEGER NOT NULL DEFAULT 0,
	enabled       INTEGER NOT NULL DEFAULT 1,
	next_due      INTEGER,
	failures      INTEGER NOT NULL DEFAULT 0,
	backoff_until INTEGER,
	last_error    TEXT    NOT NULL DEFAULT '',
	updated_at    INTEGER NOT NULL
);

-- No foreign key: rescued tokens outlive their session on purpose.
CREATE TABLE recovery (
	id                 INTEGER PRIMARY KEY,
	session_id         INTEGER NOT NULL,
	created_at         INTEGER NOT NULL,
	access_token       BLOB,   -- sealed, AD recovery/<id>/access_token
	refresh_token      BLOB,   -- sealed, AD recovery/<id>/refresh_token
	token_type         TEXT    NOT NULL DEFAULT '',
	sub                TEXT    NOT NULL DEFAULT '',
	issued_at          INTEGER,
	expires_at         INTEGER,
	refresh_expires_at INTEGER,
	reason             TEXT    NOT NULL DEFAULT ''
);
`,
	// 2: who holds a lease (host, pid, process start: a dead holder's lease
	// is taken over at once), the refresh sent under it (written before the
	// request goes out), who made each attempt, which refresh token a
	// recovery's tokens were bought with, and a session's remembered login
	// (for automatic re-login; see login.go). Times are unix milliseconds.
	`
ALTER TABLE sessions ADD COLUMN lease_host  TEXT;
ALTER TABLE sessions ADD COLUMN lease_pid   INTEGER;
ALTER TABLE sessions ADD COLUMN lease_start INTEGER; -- process start, clock ticks since boot; 0 unknown
ALTER TABLE sessions ADD COLUMN sent_fp     TEXT;    -- fingerprint of the refresh token sent, NULL when none pending
ALTER TABLE sessions ADD COLUMN sent_at     INTEGER;
ALTER TABLE sessions ADD COLUMN sent_by     TEXT;    -- lease owner that sent it
ALTER TABLE attempts ADD COLUMN owner       TEXT NOT NULL DEFAULT '';
ALTER TABLE recovery ADD COLUMN spent_hash  TEXT NOT NULL DEFAULT ''; -- hex SHA-256 of the refresh token spent
CREATE INDEX recovery_by_session ON recovery(session_id, created_at);
ALTER TABLE sessions ADD COLUMN login_method TEXT NOT NULL DEFAULT ''; -- "password", "api_key"; '' when none kept
ALTER TABLE sessions ADD COLUMN login_user   TEXT NOT NULL DEFAULT '';
ALTER TABLE sessions ADD COLUMN login_secret BLOB;                     -- sealed, AD sessions/<id>/login_secret
`,
}

// dsn builds the modernc DSN. Pragmas must live here: PRAGMA through db.Exec
// reaches only one pooled connection. None of them writes: journal_mode is
// persistent in the file and set once (createVault, or setWAL for an older
// file), so that opening an existing vault changes nothing in it.
// journal_size_limit(0) truncates the write-ahead log, which is kept
// (persistWAL), when the last connection closes.
//
// A read-only DSN (mode=ro, readonly_shm=1) opens the vault for commands that
// only read: no write to any of its files, and the -wal and -shm (which must
// exist: see openSQLite) are left as they are.
func dsn(path string, readOnly bool) string {
	// SQLite URI filenames end the path at '?' or '#' and decode %HH.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(filepath.ToSlash(path))
	if readOnly {
		return "file:" + escaped + "?mode=ro&readonly_shm=1&_pragma=busy_timeout(5000)&_pragma=query_only(1)"
	}
	return "file:" + escaped + "?_pragma=busy_timeout(5000)&_pragma=journal_size_limit(0)" +
		"&_pragma=synchronous(FULL)&_pragma=foreign_keys(1)&_txlock=immediate"
}

// openSQLite opens a pool on path. Connections of a writable pool keep the
// write-ahead log and its index (SQLITE_FCNTL_PERSIST_WAL) once persist is
// set, that is once the file is known to be a vault: the last connection to
// close then leaves -wal (empty) and -shm in place instead of deleting them,
// so that the next process's read-only open finds them and writes nothing.
func openSQLite(path string, readOnly bool, persist *atomic.Bool) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn(path, readOnly))
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(persistWALConnector{Connector: base, persist: persist})
	// A connection costs an open, its pragmas and the schema read, and then
	// each statement is prepared on it again: keep as many as a scheduler's
	// refreshes use at once rather than database/sql's default of two.
	db.SetMaxIdleConns(maxIdleSQLite)
	return db, nil
}

// maxIdleSQLite is how many idle connections a SQLite pool keeps.
const maxIdleSQLite = 16

// persistWALConnector sets SQLITE_FCNTL_PERSIST_WAL on each new connection
// while persist is set (nil: never).
type persistWALConnector struct {
	driver.Connector
	persist *atomic.Bool
}

func (c persistWALConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil || c.persist == nil || !c.persist.Load() {
		return conn, err
	}
	if err := persistWAL(conn); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// persistWAL sets SQLITE_FCNTL_PERSIST_WAL on a driver connection.
func persistWAL(conn any) error {
	fc, ok := conn.(sqlite.FileControl)
	if !ok {
		return fmt.Errorf("sqlite driver connection %T has no file control", conn)
	}
	_, err := fc.FileControlPersistWAL("main", 1)
	return err
}

// sqliteCode is the extended result code of a SQLite error, 0 for others.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

// mapSQLiteConstraint turns SQLite constraint violations into the package's sentinels.
func mapSQLiteConstraint(err error) error {
	switch sqliteCode(err) {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE:
		return ErrDuplicateLabel
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return ErrNotFound
	}
	return err
}
