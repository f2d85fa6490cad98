package vault

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// recoveryFile is the JSON of a recovery file: the same as a recovery row,
// tokens sealed with associated data naming the session, time and spent hash.
type recoveryFile struct {
	SessionID        int64  `json:"session_id"`
	CreatedAt        int64  `json:"created_at_ms"`
	Reason           string `json:"reason"`
	SpentHash        string `json:"spent_hash,omitempty"`
	TokenType        string `json:"token_type,omitempty"`
	Sub              string `json:"sub,omitempty"`
	IssuedAt         int64  `json:"issued_at_ms,omitempty"`
	ExpiresAt        int64  `json:"expires_at_ms,omitempty"`
	RefreshExpiresAt int64  `json:"refresh_expires_at_ms,omitempty"`
	AccessToken      []byte `json:"access_token_sealed,omitempty"`
	RefreshToken     []byte `json:"refresh_token_sealed,omitempty"`
}

// recoveryFileAD binds a recovery file's sealed value to its session, time
// and spent hash (files from before spent hashes have none).
func recoveryFileAD(sessionID, createdMs int64, hash, column string) string {
	ad := fmt.Sprintf("recovery-file/%d/%d/%s", sessionID, createdMs, column)
	if hash != "" {
		ad += "/spent/" + hash
	}
	return ad
}

// ReadRecoveryFile opens a recovery file written by SaveRecovery with this
// vault's key.
func (s *Store) ReadRecoveryFile(path string) (Recovery, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Recovery{}, fmt.Errorf("read recovery file: %w", err)
	}
	var f recoveryFile
	if err := json.Unmarshal(data, &f); err != nil {
		return Recovery{}, fmt.Errorf("read recovery file %s: %w", path, err)
	}
	r := Recovery{Path: path, SessionID: f.SessionID, CreatedAt: time.UnixMilli(f.CreatedAt), Reason: f.Reason, SpentHash: f.SpentHash}
	r.Tokens.TokenType, r.Tokens.Sub = f.TokenType, f.Sub
	r.Tokens.IssuedAt = timeOf(sql.NullInt64{Int64: f.IssuedAt, Valid: true})
	r.Tokens.ExpiresAt = timeOf(sql.NullInt64{Int64: f.ExpiresAt, Valid: true})
	r.Tokens.RefreshExpiresAt = timeOf(sql.NullInt64{Int64: f.RefreshExpiresAt, Valid: true})
	if r.Tokens.AccessToken, err = s.unsealOptional(f.AccessToken, recoveryFileAD(f.SessionID, f.CreatedAt, f.SpentHash, colAccessToken)); err != nil {
		return Recovery{}, fmt.Errorf("read recovery file %s: %w", path, err)
	}
	if r.Tokens.RefreshToken, err = s.unsealOptional(f.RefreshToken, recoveryFileAD(f.SessionID, f.CreatedAt, f.SpentHash, colRefreshToken)); err != nil {
		return Recovery{}, fmt.Errorf("read recovery file %s: %w", path, err)
	}
	return r, nil
}

// readRecoveryEntry is ListRecovery's view of a file: its content, or a
// placeholder saying why it cannot be read.
func (s *Store) readRecoveryEntry(f recoveryFileName) Recovery {
	r, err := s.ReadRecoveryFile(f.path)
	if err == nil {
		return r
	}
	r = Recovery{Path: f.path, SessionID: f.sessionID, Reason: "unreadable recovery file: " + err.Error()}
	if fi, serr := os.Stat(f.path); serr == nil {
		r.CreatedAt = fi.ModTime()
	}
	return r
}

// recoveryFileName is a recovery file found beside the vault.
type recoveryFileName struct {
	path      string
	sessionID int64
}

// recoveryBase is the path recovery files are named after: the vault file
// (they sit beside it), or for a PostgreSQL vault a name for it in the
// user's data folder (see Options.RecoveryDir).
func (s *Store) recoveryBase() string {
	if s.recoveryPath != "" {
		return s.recoveryPath
	}
	return s.path
}

// recoveryPrefix starts the name of every recovery file of the vault:
// <vault>.recovery-<session id>-<unix ms>[-n].json.
func (s *Store) recoveryPrefix() string { return filepath.Base(s.recoveryBase()) + ".recovery-" }

// recoveryFiles lists the recovery files beside the vault (by name only).
//
// It is asked on every session read, and the folder almost never changes,
// so the last listing is kept with the folder's modification time and used
// again while that time stays the same. A folder modified less than
// listingSlack before it was listed is listed again each time: on a file
// system with coarse timestamps a file added in the same tick would not
// change the time.
//
// fresh lists the folder whatever is kept, for the reads a refresh token is
// sent on (the kept listing could miss a file when the clock steps back on
// a file system with coarse timestamps).
func (s *Store) recoveryFiles(fresh bool) ([]recoveryFileName, error) {
	dir := filepath.Dir(s.recoveryBase())
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) && s.d.name == BackendPostgres {
		return nil, nil // no recovery file was ever written for this vault
	}
	if err != nil {
		return nil, err
	}
	c := &s.recoveryListing
	c.mu.Lock()
	defer c.mu.Unlock()
	if !fresh && c.ok && fi.ModTime().Equal(c.mtime) {
		return c.files, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []recoveryFileName
	for _, e := range entries {
		if id, ok := s.parseRecoveryName(e.Name()); ok && e.Type().IsRegular() {
			out = append(out, recoveryFileName{path: filepath.Join(dir, e.Name()), sessionID: id})
		}
	}
	// The time read before listing: a change during the listing moves it on.
	c.files, c.mtime = out, fi.ModTime()
	c.ok = time.Since(fi.ModTime()) > listingSlack(fi.ModTime())
	return out, nil
}

// listingSlack is how old a folder's modification time must be for a
// listing of it to be kept (see recoveryFiles): longer than the file
// system's timestamp tick. A time with a fraction of a second comes from
// fine timestamps, which Linux takes from a clock that ticks every few
// milliseconds; a whole second may come from a file system that keeps
// seconds, or two (FAT).
func listingSlack(mtime time.Time) time.Duration {
	if mtime.Nanosecond() != 0 {
		return 100 * time.Millisecond
	}
	return 2 * time.Second
}

// dirListing is the kept listing of the recovery files' folder.
type dirListing struct {
	mu    sync.Mutex
	ok    bool // files may be used while the folder's time is mtime
	mtime time.Time
	files []recoveryFileName // never changed once kept: callers may hold it
}

// forgetRecoveryListing drops the kept listing, after this Store added or
// removed a recovery file.
func (s *Store) forgetRecoveryListing() {
	s.recoveryListing.mu.Lock()
	s.recoveryListing.ok = false
	s.recoveryListing.mu.Unlock()
}

// parseRecoveryName returns the session id in a recovery file's name.
func (s *Store) parseRecoveryName(name string) (int64, bool) {
	rest, ok := strings.CutPrefix(name, s.recoveryPrefix())
	if !ok {
		return 0, false
	}
	if rest, ok = strings.CutSuffix(rest, ".json"); !ok {
		return 0, false
	}
	idText, _, ok := strings.Cut(rest, "-")
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	return id, err == nil
}

// isRecoveryFile says whether path names a recovery file of this vault, so
// that DeleteRecovery and ApplyRecovery remove nothing else.
func (s *Store) isRecoveryFile(path string) bool {
	abs, err := filepath.Abs(path)
	if err != nil || filepath.Dir(abs) != filepath.Dir(s.recoveryBase()) {
		return false
	}
	_, ok := s.parseRecoveryName(filepath.Base(abs))
	return ok
}

// countRecoveryFiles is how many of files belong to session id.
func countRecoveryFiles(files []recoveryFileName, id int64) int {
	n := 0
	for _, f := range files {
		if f.sessionID == id {
			n++
		}
	}
	return n
}

// writeRecoveryFile is SaveRecovery's last resort: a sealed 0600 file beside
// the vault. It is written to a temporary file in the same folder, synced,
// and linked into place without replacing anything, then the folder is
// synced: a failed write leaves no empty or partial recovery file behind.
func (s *Store) writeRecoveryFile(sessionID int64, hash string, upd TokenUpdate, reason string, now time.Time) (string, error) {
	defer s.forgetRecoveryListing()
	f := recoveryFile{
		SessionID: sessionID, CreatedAt: now.UnixMilli(), Reason: reason, SpentHash: hash, TokenType: upd.TokenType, Sub: upd.Sub,
		IssuedAt: unixMsOrZero(upd.IssuedAt), ExpiresAt: unixMsOrZero(upd.ExpiresAt), RefreshExpiresAt: unixMsOrZero(upd.RefreshExpiresAt),
	}
	var err error
	if f.AccessToken, err = s.sealOptional(upd.AccessToken, recoveryFileAD(sessionID, f.CreatedAt, hash, colAccessToken)); err != nil {
		return "", err
	}
	if f.RefreshToken, err = s.sealOptional(upd.RefreshToken, recoveryFileAD(sessionID, f.CreatedAt, hash, colRefreshToken)); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	dir := filepath.Dir(s.recoveryBase())
	if s.d.name == BackendPostgres {
		if err := ensureDir(dir); err != nil {
			return "", err
		}
	}
	// The leading dot keeps a leftover temporary file out of recoveryFiles.
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(s.recoveryBase())+".recovery-tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // linked into place, or abandoned
	if err := writeSynced(tmp, data, s.writeHook); err != nil {
		return "", err
	}
	for n := 0; ; n++ {
		path := fmt.Sprintf("%s.recovery-%d-%d.json", s.recoveryBase(), sessionID, f.CreatedAt)
		if n > 0 {
			path = fmt.Sprintf("%s.recovery-%d-%d-%d.json", s.recoveryBase(), sessionID, f.CreatedAt, n)
		}
		err := linkNoReplace(tmp.Name(), path)
		if errors.Is(err, fs.ErrExist) && n < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		if err := syncDir(dir); err != nil {
			return path, fmt.Errorf("recovery file %s written, but syncing its folder failed: %w", path, err)
		}
		return path, nil
	}
}

// writeSynced writes data to f (through write when not nil: tests make it
// fail), syncs and closes it; f is closed whatever happens.
func writeSynced(f *os.File, data []byte, write func(*os.File, []byte) (int, error)) error {
	if write == nil {
		write = (*os.File).Write
	}
	n, err := write(f, data)
	if err == nil && n < len(data) {
		err = io.ErrShortWrite
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// linkNoReplace gives the file at oldPath the name newPath as well, failing
// with fs.ErrExist rather than replacing a file already there. Where hard
// links are not supported it renames instead, after checking that newPath
// is free.
func linkNoReplace(oldPath, newPath string) error {
	err := os.Link(oldPath, newPath)
	if err == nil || errors.Is(err, fs.ErrExist) {
		return err
	}
	if _, serr := os.Lstat(newPath); serr == nil {
		return fs.ErrExist
	}
	return os.Rename(oldPath, newPath)
}

// syncDir makes a new name in dir durable. Windows cannot sync a folder.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}
