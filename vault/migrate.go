package vault

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are the schema steps in order: migrations[i] takes the vault
// from user_version i to i+1. Append only; never edit a released step.
var migrations = []string{
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

// schemaVersion is the user_version this build writes and understands.
func schemaVersion() int64 { return int64(len(migrations)) }

// migrate runs the pending migrations, each in its own transaction that also
// sets user_version. newMeta, for a vault being created, is written in the
// same transaction as the first migration, so a vault never exists without
// its key check.
func (s *Store) migrate(ctx context.Context, newMeta map[string][]byte) error {
	for i, step := range migrations {
		target := int64(i + 1)
		err := s.tx(ctx, func(tx *sql.Tx) error {
			// Read inside the write transaction: another process may be migrating too.
			var current int64
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&current); err != nil {
				return err
			}
			if current >= target {
				return nil
			}
			if current != target-1 {
				return fmt.Errorf("schema version %d cannot be migrated to %d", current, target)
			}
			if _, err := tx.ExecContext(ctx, step); err != nil {
				return err
			}
			if target == 1 {
				if newMeta == nil {
					return fmt.Errorf("vault has no key metadata: %w", ErrNotVault)
				}
				for k, v := range newMeta {
					if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", k, v); err != nil {
						return err
					}
				}
			}
			// PRAGMA takes no bound parameters; target is an int.
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", target))
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d: %w", target, err)
		}
	}
	return nil
}
