package vault

import (
	"context"
	"crypto/cipher"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// DefaultMaxAttempts is how many refresh attempts are kept per session when
// Options.MaxAttempts is 0.
const DefaultMaxAttempts = 200

// Options configures Open.
type Options struct {
	// Path of the vault file. Its folder is created 0700 when missing; the file is 0600.
	// A postgres:// or postgresql:// URL opens a team vault on PostgreSQL
	// instead (see postgres.go): the same tables in the URL's database, in
	// the first schema of its search_path.
	Path string
	// KeyFile is the random 32-byte key used when the vault is not in passphrase
	// mode. Created (0600, folder 0700) only when a new vault is created.
	KeyFile string
	// Passphrase, when non-empty, unlocks a passphrase vault, and makes a NEW
	// vault a passphrase vault (argon2id, salt in meta).
	Passphrase string
	// PromptPassphrase is called when the vault is in passphrase mode and
	// Passphrase is empty. Nil means ErrPassphraseNeeded.
	PromptPassphrase func() (string, error)
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// MaxAttempts kept per session (0: 200).
	MaxAttempts int
	// Process, when not nil, stands for this program as a lease holder
	// (default: this host, PID and process start time). Tests use it to act
	// as another process.
	Process *Process
	// MustExist refuses to create a vault that is not there yet
	// (PostgreSQL: a database or schema with no tokentop tables).
	MustExist bool
	// RecoveryDir, for a PostgreSQL vault, is where recovery files go when
	// a recovery row cannot be written (the database is unreachable, say).
	// Default: $XDG_DATA_HOME/tokentop/recovery. SQLite vaults keep them
	// beside the vault file.
	RecoveryDir string
	// Warn is called with one line for things worth fixing that do not stop
	// Open, such as a key file readable by others. Nil: silent.
	Warn func(msg string)
	// ReadOnly opens a SQLite vault for reading only when it can (its
	// -wal and -shm are in place and its schema is current): nothing is
	// written to its files, and every write fails. Otherwise, and on
	// PostgreSQL, the vault is opened as usual.
	ReadOnly bool
}

// Store is an open vault. Safe for concurrent use.
type Store struct {
	db          *rdb
	d           *dialect
	path        string // the vault file, or the PostgreSQL URL without its password
	aead        cipher.AEAD
	now         func() time.Time
	maxAttempts int
	// proc is this program as a lease holder, worked out the first time a
	// lease needs it (reading /proc costs a command that only reads).
	proc func() Process
	// SQLite only: the pool is read-only (Options.ReadOnly), and its
	// connections keep the write-ahead log (see openSQLite).
	readOnly   bool
	persistWAL atomic.Bool
	group      group // concurrent write transactions, committed together
	// the last listing of the recovery files' folder (recoveryFiles)
	recoveryListing dirListing
	// PostgreSQL only: the URL with its password (for LISTEN connections),
	// the NOTIFY channel of this vault's schema, this Store's tag in
	// notifications (its own are not news), and where recovery files go.
	connURL      string
	channel      string
	tag          string
	recoveryPath string
	// writeHook writes a recovery file's bytes (nil: f.Write); tests use it
	// to make the write fail.
	writeHook func(f *os.File, data []byte) (int, error)
}

// Open opens or creates the vault. It validates an existing file before any
// write (SQLite header, not truncated, schema not newer, key check) so that a
// bad file is left byte-for-byte unchanged, then runs pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	if IsPostgresURL(opts.Path) {
		st, err := openPostgres(ctx, opts)
		if err != nil {
			// The URL without its password, and the password out of every message.
			return nil, fmt.Errorf("open vault %s: %w", redactURL(opts.Path), scrubbed(err, opts.Path))
		}
		return st, nil
	}
	st, err := open(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("open vault: %w", err)
	}
	return st, nil
}

func open(ctx context.Context, opts Options) (*Store, error) {
	if opts.Path == "" {
		return nil, errors.New("no vault path given")
	}
	path, err := filepath.Abs(opts.Path)
	if err != nil {
		return nil, err
	}

	// Everything up to unlocking only reads: a file that turns out to be
	// foreign, damaged, newer, read-only or locked with another key is left
	// untouched. The raw header is checked first (cheap, no SQLite), then the
	// schema version and the key on a connection of the one pool the Store
	// keeps, before anything is written.
	isNew, hdr, err := checkFile(path)
	if err != nil {
		return nil, err
	}
	if isNew {
		aead, err := createVault(ctx, path, opts)
		if err != nil {
			return nil, err
		}
		if aead == nil { // another process created it meanwhile: open theirs
			if isNew, hdr, err = checkFile(path); err != nil {
				return nil, err
			}
			if isNew {
				return nil, fmt.Errorf("vault file %s vanished while it was being created", path)
			}
		} else {
			return openExisting(ctx, path, opts, hdr, aead, false)
		}
	}
	// A read-only open writes nothing, but needs the write-ahead log and its
	// index in place (a writable open leaves them) and a current schema.
	readOnly := opts.ReadOnly && hdr.userVersion == schemaVersion() && walFilesExist(path)
	st, err := openExisting(ctx, path, opts, hdr, nil, readOnly)
	if errors.Is(err, errNeedsWrite) {
		st, err = openExisting(ctx, path, opts, hdr, nil, false)
	}
	return st, err
}

// errNeedsWrite: a read-only open found the vault needs a migration.
var errNeedsWrite = errors.New("vault needs a migration")

// walFilesExist reports whether the vault's -wal and -shm are both there.
func walFilesExist(path string) bool {
	for _, p := range []string{path + "-wal", path + "-shm"} {
		if _, err := os.Lstat(p); err != nil {
			return false
		}
	}
	return true
}

// openExisting opens the pool on a checked file and finishes the open on
// one of its connections: schema version and key first (reads only), then,
// on a writable pool, WAL mode when the header says otherwise and the
// migrations when the version says some are pending. aead is the key of a
// vault this process just created (nil: unlock the stored one).
func openExisting(ctx context.Context, path string, opts Options, hdr fileHeader, aead cipher.AEAD, readOnly bool) (*Store, error) {
	s := &Store{d: sqliteDialect, path: path, aead: aead, now: opts.Now, readOnly: readOnly,
		maxAttempts: opts.MaxAttempts, proc: leaseHolderProcess(opts, nil)}
	db, err := openSQLite(path, readOnly, &s.persistWAL)
	if err != nil {
		return nil, err
	}
	s.db = &rdb{DB: db, d: sqliteDialect}
	if err := s.unlockSQLite(ctx, opts, hdr); err != nil {
		db.Close()
		return nil, err
	}
	if !readOnly {
		restrictFiles(path)
	}
	return s, nil
}

// unlockSQLite is openExisting's checks and setup, on one connection.
func (s *Store) unlockSQLite(ctx context.Context, opts Options, hdr fileHeader) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	uv := schemaVersion()
	var newMeta map[string][]byte // written with the first migration of a vault set up in place
	if s.aead == nil {
		var emptyDB bool
		var aead cipher.AEAD
		if aead, uv, emptyDB, err = unlockExisting(ctx, conn, s.path, hdr, opts); err != nil {
			return err
		}
		if emptyDB {
			// A SQLite database with no schema at all: set it up in place.
			if aead, newMeta, err = newKey(opts); err != nil {
				return err
			}
		}
		s.aead = aead
	}
	if s.readOnly {
		if uv != schemaVersion() {
			return errNeedsWrite
		}
		return nil
	}
	// A vault from now on: keep its write-ahead log (see openSQLite), on
	// this connection and on those the pool opens later.
	if err := conn.Raw(func(dc any) error { return persistWAL(dc) }); err != nil {
		return err
	}
	s.persistWAL.Store(true)
	if !hdr.wal {
		// Persistent in the file: once for every connection, now and later.
		var mode string
		if err := conn.QueryRowContext(ctx, "PRAGMA journal_mode=WAL").Scan(&mode); err != nil {
			return fmt.Errorf("set WAL mode: %w", err)
		}
	}
	conn.Close() // migrations take connections of their own
	return s.finishOpen(ctx, uv, newMeta)
}

// finishOpen runs the migrations pending on a vault at schema version and
// checks the key in hand against the stored one (the caller closes the
// database when it fails).
func (s *Store) finishOpen(ctx context.Context, version int64, newMeta map[string][]byte) error {
	if version == schemaVersion() {
		// Nothing to migrate (on PostgreSQL migrate would only take the
		// schema lock and NOTIFY every listener, twice), and unlocking
		// checked the key against the stored one.
		return nil
	}
	if err := s.migrate(ctx, newMeta); err != nil {
		return err
	}
	// Two processes may create the same vault at once; only one wins the
	// first migration, so the key in hand is checked against what is stored.
	return s.verifyStoredKey(ctx)
}

// Close closes the database.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close vault: %w", err)
	}
	return nil
}

// Path is the vault file's path; for a PostgreSQL vault, its URL without
// the password.
func (s *Store) Path() string { return s.path }

// tx runs fn in a write transaction (BEGIN IMMEDIATE through _txlock, so a
// read-then-write never fails with SQLITE_BUSY halfway) and commits it when fn
// returns nil.
//
// On SQLite the write transactions of concurrent callers share one commit
// (see group.go); fn may then run after other callers' functions in the
// same transaction, and must only use tx.
func (s *Store) tx(ctx context.Context, fn func(*rtx) error) error {
	if s.d.groupCommit {
		return s.groupTx(ctx, fn, false)
	}
	writeStats.transactions.Add(1)
	return s.txAlone(ctx, fn)
}

// txAlone runs fn in a transaction of its own.
func (s *Store) txAlone(ctx context.Context, fn func(*rtx) error) error {
	err := s.tx1(ctx, fn)
	if err != nil && !errors.Is(err, errCommit) && s.d.connLost != nil && s.d.connLost(err) && ctx.Err() == nil {
		// The connection died before COMMIT was sent (a server restart, an
		// admin's pg_terminate_backend, a dropped network): nothing was
		// written, so the whole transaction runs again on a new connection.
		err = s.tx1(ctx, fn)
	}
	var ce commitError
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// errCommit marks a failure of COMMIT itself: the transaction may or may
// not have been written, so it is not run again.
var errCommit = errors.New("commit failed")

type commitError struct{ err error }

func (e commitError) Error() string        { return e.err.Error() }
func (e commitError) Is(target error) bool { return target == errCommit }
func (e commitError) Unwrap() error        { return e.err }

func (s *Store) tx1(ctx context.Context, fn func(*rtx) error) error {
	sqlTx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	tx := &rtx{Tx: sqlTx, d: s.d, db: s.db}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback() // never leave the connection in a transaction
			panic(p)
		}
	}()
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if s.d.beforeCommit != nil {
		if err := s.d.beforeCommit(ctx, s, tx); err != nil {
			tx.Rollback()
			return err
		}
	}
	countCommit(true)
	if err := tx.Commit(); err != nil {
		return commitError{err}
	}
	return nil
}

// ensureDir creates dir 0700 when it is missing (an existing folder keeps
// its mode: it may be shared).
func ensureDir(dir string) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.Chmod(dir, 0o700) // MkdirAll's mode passes through the umask
}

// createVault makes a new vault at path, which did not exist: the key first
// (without one, no file is made), then the whole schema in a temporary file
// beside it, which is linked into place only when complete, so that no empty
// or half-made vault is ever seen at path. It returns nil (and no error) when
// another process created path meanwhile.
func createVault(ctx context.Context, path string, opts Options) (cipher.AEAD, error) {
	aead, newMeta, err := newKey(opts)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	if err := ensureDir(dir); err != nil {
		return nil, fmt.Errorf("create vault folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".new-*") // 0600
	if err != nil {
		return nil, fmt.Errorf("create vault file: %w", err)
	}
	tmpPath := tmp.Name()
	defer func() {
		for _, p := range []string{tmpPath, tmpPath + "-wal", tmpPath + "-shm"} {
			os.Remove(p)
		}
	}()
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("create vault file: %w", err)
	}
	db, err := openSQLite(tmpPath, false, nil)
	if err != nil {
		return nil, err
	}
	s := &Store{db: &rdb{DB: db, d: sqliteDialect}, d: sqliteDialect, path: tmpPath, aead: aead}
	if _, err = db.ExecContext(ctx, "PRAGMA journal_mode=WAL"); err == nil {
		err = s.migrate(ctx, newMeta)
	}
	// Closing the last connection checkpoints the WAL into the file.
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("create vault file: %w", err)
	}
	if hasWAL(tmpPath) {
		return nil, fmt.Errorf("create vault file: %s-wal was not checkpointed", tmpPath)
	}
	err = linkNoReplace(tmpPath, path)
	if errors.Is(err, fs.ErrExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("create vault file: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("create vault file: %w", err)
	}
	return aead, nil
}

// restrictFiles takes group and other permissions off the vault and its WAL
// companions (SQLite creates -wal and -shm with the main file's mode; this
// covers older files). It never adds a permission: a read-only file is
// refused by checkFile, not made writable.
func restrictFiles(path string) {
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
			_ = os.Chmod(p, fi.Mode().Perm()&^0o077) // best effort: the file may belong to another user
		}
	}
}

// now is the store's clock truncated to what the vault keeps (milliseconds),
// so values handed back equal what a later read returns.
func (s *Store) nowMs() time.Time { return time.UnixMilli(s.now().UnixMilli()) }

// msOf is t as unix milliseconds, NULL for the zero time.
func msOf(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// timeOf is the inverse of msOf: NULL or 0 is the zero time.
func timeOf(v sql.NullInt64) time.Time {
	if !v.Valid || v.Int64 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64)
}

// ReadOnly reports whether the Store was opened for reading only (see
// Options.ReadOnly): every write fails.
func (s *Store) ReadOnly() bool { return s.readOnly }
