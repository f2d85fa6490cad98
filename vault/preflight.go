package vault

import (
	"bytes"
	"context"
	"crypto/cipher"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteMagic opens every SQLite 3 database file.
const sqliteMagic = "SQLite format 3\x00"

// sqliteHeaderSize is the length of the database header on page 1.
const sqliteHeaderSize = 100

// checkFile validates the vault file before the SQLite driver may touch it.
// It reports isNew for a missing file. An existing file must not be empty,
// must carry the SQLite magic, be at least as long as its header says, have
// a user_version this build knows, and be writable by its owner
// (ErrReadOnly).
func checkFile(path string) (isNew bool, h fileHeader, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return true, h, nil
	}
	if err != nil {
		return false, h, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return false, h, err
	}
	if fi.IsDir() {
		return false, h, fmt.Errorf("%s is a folder: %w", path, ErrNotVault)
	}
	if fi.Size() == 0 {
		// Open never leaves an empty file (a new vault is linked into place
		// whole): an empty file is someone else's, or what is left of one.
		return false, h, fmt.Errorf("%s is empty: %w", path, ErrNotVault)
	}

	hdr := make([]byte, sqliteHeaderSize)
	n, err := io.ReadFull(f, hdr)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return false, h, err
	}
	if n < len(sqliteMagic) || !bytes.Equal(hdr[:len(sqliteMagic)], []byte(sqliteMagic)) {
		return false, h, fmt.Errorf("%s is not a SQLite database: %w", path, ErrNotVault)
	}
	if n < sqliteHeaderSize {
		return false, h, fmt.Errorf("%s: %w", path, ErrTruncated)
	}

	pageSize := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if pageSize == 1 {
		pageSize = 65536
	}
	if pageSize < 512 || pageSize&(pageSize-1) != 0 {
		return false, h, fmt.Errorf("%s has a damaged header (page size %d): %w", path, pageSize, ErrNotVault)
	}
	// The in-header page count is only trusted when the change counter and
	// the version-valid-for number agree (SQLite's own rule). With a WAL
	// beside the file, a checkpoint may be midway, so SQLite gets to decide.
	pageCount := int64(binary.BigEndian.Uint32(hdr[28:32]))
	countValid := pageCount > 0 && bytes.Equal(hdr[24:28], hdr[92:96])
	if countValid && fi.Size() < pageSize*pageCount && !hasWAL(path) {
		return false, h, fmt.Errorf("%s: %w (%d bytes, header says %d)", path, ErrTruncated, fi.Size(), pageSize*pageCount)
	}

	uv := int64(int32(binary.BigEndian.Uint32(hdr[60:64])))
	if uv > schemaVersion() {
		return false, h, fmt.Errorf("%s: %w (schema %d, this build knows %d)", path, ErrNewerSchema, uv, schemaVersion())
	}
	// Decided by the mode bits, not by trying: root may write anyway, and
	// the owner made the file read-only for a reason.
	if mode := fi.Mode().Perm(); mode&0o200 == 0 {
		return false, h, readOnlyError{path: path, mode: mode}
	}
	h.wal = hdr[18] == 2 && hdr[19] == 2
	h.userVersion = uv
	return false, h, nil
}

// fileHeader is what checkFile read in an existing file's header.
type fileHeader struct {
	wal         bool  // in WAL mode (file format read and write versions 2)
	userVersion int64 // the schema version in the main file; the WAL may hold a newer one
}

// readOnlyError refuses a vault file without the owner's write permission.
type readOnlyError struct {
	path string
	mode fs.FileMode
}

func (e readOnlyError) Error() string {
	return fmt.Sprintf("vault file %s is read-only (mode %04o): make it writable (chmod 600) to use it", e.path, e.mode)
}

func (e readOnlyError) Is(target error) bool { return target == ErrReadOnly }

// hasWAL reports whether a non-empty write-ahead log sits beside path.
func hasWAL(path string) bool {
	fi, err := os.Stat(path + "-wal")
	return err == nil && fi.Size() > 0
}

// unlockExisting inspects an existing SQLite file through conn, a
// connection of the Store's own pool, before anything is written (no journal
// mode change, no migration), and unlocks its key. hdr is the main file's
// header (checkFile). It returns the schema version; treatAsNew is true for
// an empty database with no schema at all.
func unlockExisting(ctx context.Context, conn *sql.Conn, path string, hdr fileHeader, opts Options) (aead cipher.AEAD, uv int64, treatAsNew bool, err error) {
	// A file whose header has a schema version (a vault as it usually is):
	// version and meta in one statement, as every statement costs a fresh
	// process (token) its compilation. Anything else (version 0 in the
	// header: empty or foreign; no meta table; an error) takes the careful
	// path below, which reads the version first and says what the file is
	// before reading anything of it.
	var meta map[string][]byte
	if hdr.userVersion != 0 {
		meta, uv, err = readMetaVersion(ctx, conn)
	}
	if hdr.userVersion == 0 || err != nil || uv == 0 {
		if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&uv); err != nil {
			return nil, 0, false, damaged(path, err)
		}
		meta = nil
	}
	if uv > schemaVersion() {
		// The header check read the main file; a newer version can still sit in the WAL.
		return nil, uv, false, fmt.Errorf("%s: %w (schema %d, this build knows %d)", path, ErrNewerSchema, uv, schemaVersion())
	}
	if uv == 0 {
		var objects int
		if err := conn.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema").Scan(&objects); err != nil {
			return nil, uv, false, damaged(path, err)
		}
		if objects > 0 {
			return nil, uv, false, fmt.Errorf("%s is a SQLite database of something else: %w", path, ErrNotVault)
		}
		return nil, uv, true, nil
	}

	if meta == nil {
		if meta, err = readMeta(ctx, conn); err != nil {
			return nil, uv, false, damaged(path, err)
		}
	}
	aead, err = unlock(meta, opts)
	if err != nil {
		return nil, uv, false, err
	}
	return aead, uv, false, nil
}

// damaged describes a failure to read an existing file, marking files that
// SQLite itself calls corrupt or not a database as ErrNotVault.
func damaged(path string, err error) error {
	switch sqliteCode(err) & 0xff {
	case sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT:
		return fmt.Errorf("%s is damaged: %w: %v", path, ErrNotVault, err)
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// maxMetaRows bounds the meta rows read: a vault has a handful, and a file
// that is not one may have a meta table (or view) of any size.
const maxMetaRows = 64

// metaLimit is the LIMIT of a meta read: one row more than maxMetaRows, to
// tell a full meta table from one too long (a constant in the text, the
// same on SQLite and PostgreSQL).
const metaLimit = "65"

// errMetaTooLong: more meta rows than a vault has.
var errMetaTooLong = fmt.Errorf("meta has more than %d rows: %w", maxMetaRows, ErrNotVault)

// readMetaVersion reads the meta table and the schema version in one
// statement (one snapshot). A meta table with no rows gives version 0.
func readMetaVersion(ctx context.Context, conn *sql.Conn) (map[string][]byte, int64, error) {
	var uv int64
	meta, err := scanMeta(ctx, conn, "SELECT (SELECT user_version FROM pragma_user_version), key, value FROM meta LIMIT "+metaLimit, &uv)
	if err != nil {
		return nil, 0, err
	}
	return meta, uv, nil
}

// readMeta loads the meta table (key material and key check).
func readMeta(ctx context.Context, q metaQueryer) (map[string][]byte, error) {
	return scanMeta(ctx, q, "SELECT key, value FROM meta LIMIT "+metaLimit)
}

type metaQueryer interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// scanMeta runs query, whose rows end with a meta key and value, and
// collects them (at most maxMetaRows); the columns before them are scanned
// into lead, row after row.
func scanMeta(ctx context.Context, q metaQueryer, query string, lead ...any) (map[string][]byte, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var k string
	var v []byte
	dest := append(lead[:len(lead):len(lead)], &k, &v)
	meta := map[string][]byte{}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if len(meta) == maxMetaRows {
			return nil, errMetaTooLong
		}
		meta[k] = v
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return meta, nil
}
