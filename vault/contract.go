package vault

// CONTRACT STUBS — the vault helper replaces every body below with the real
// implementation (moving them into store.go, sessions.go, ... as it likes) and
// deletes this file. Signatures are the contract other packages code against.

import (
	"context"
	"time"
)

// Options configures Open.
type Options struct {
	// Path of the vault file. Its folder is created 0700 when missing; the file is 0600.
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
}

// Store is an open vault. Safe for concurrent use.
type Store struct{}

// Open opens or creates the vault. It validates an existing file before any
// write (SQLite header, not truncated, schema not newer, key check) so that a
// bad file is left byte-for-byte unchanged, then runs pending migrations.
func Open(ctx context.Context, opts Options) (*Store, error) { panic("unimplemented") }

// Close closes the database.
func (s *Store) Close() error { panic("unimplemented") }

// Path is the vault file's path.
func (s *Store) Path() string { panic("unimplemented") }

// CreateSession validates and inserts s, setting s.ID, s.Version (1),
// CreatedAt and UpdatedAt. ErrDuplicateLabel if the label exists.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error { panic("unimplemented") }

// PutSession inserts sess, or when replace is true and its label exists,
// overwrites that row's fields and tokens (keeping its ID and history, version+1).
func (s *Store) PutSession(ctx context.Context, sess *Session, replace bool) error {
	panic("unimplemented")
}

// ImportSessions validates every session first, then writes them all in one
// transaction (all or nothing). Existing labels are refused unless replace.
func (s *Store) ImportSessions(ctx context.Context, sessions []Session, replace bool) error {
	panic("unimplemented")
}

// GetSession returns one session with its tokens unsealed. ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id int64) (Session, error) { panic("unimplemented") }

// GetSessionByLabel returns one session with its tokens unsealed. ErrNotFound.
func (s *Store) GetSessionByLabel(ctx context.Context, label string) (Session, error) {
	panic("unimplemented")
}

// ListSessions returns every session ordered by label, reading plain columns
// only: AccessToken and RefreshToken are empty.
func (s *Store) ListSessions(ctx context.Context) ([]Session, error) { panic("unimplemented") }

// UpdateSessionInfo changes label, base URL and API version (not tokens).
func (s *Store) UpdateSessionInfo(ctx context.Context, id int64, label, baseURL, apiVersion string) error {
	panic("unimplemented")
}

// DeleteSession removes a session with its attempts and schedule.
func (s *Store) DeleteSession(ctx context.Context, id int64) error { panic("unimplemented") }

// RecordRefresh writes, in ONE transaction: the attempt (a.SessionID = id),
// last_status/last_refresh_at, needs_login, and when upd != nil the new tokens
// with compare-and-swap on expectVersion (ErrVersionConflict when stale; then
// nothing is written). Returns the session as stored afterwards (tokens unsealed).
func (s *Store) RecordRefresh(ctx context.Context, id, expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool) (Session, error) {
	panic("unimplemented")
}

// ListAttempts returns a session's attempts, newest first (limit <= 0: all kept).
func (s *Store) ListAttempts(ctx context.Context, sessionID int64, limit int) ([]Attempt, error) {
	panic("unimplemented")
}

// SaveRecovery keeps tokens that could not be written to their session
// (sealed, in the recovery table; if that fails too, in a sealed 0600 file
// beside the vault). Returns where they went.
func (s *Store) SaveRecovery(ctx context.Context, sessionID int64, upd TokenUpdate, reason string) (string, error) {
	panic("unimplemented")
}

// TakeLease takes a short refresh lease on a session for owner, atomically
// across processes. False (nil error) if another owner holds an unexpired lease.
func (s *Store) TakeLease(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error) {
	panic("unimplemented")
}

// ReleaseLease drops owner's lease (no-op if not held by owner).
func (s *Store) ReleaseLease(ctx context.Context, id int64, owner string) error {
	panic("unimplemented")
}

// PutSchedule creates or replaces a session's schedule (UpdatedAt set).
func (s *Store) PutSchedule(ctx context.Context, sch Schedule) error { panic("unimplemented") }

// GetSchedule returns a session's schedule. ErrNotFound when none.
func (s *Store) GetSchedule(ctx context.Context, sessionID int64) (Schedule, error) {
	panic("unimplemented")
}

// ListSchedules returns all schedules.
func (s *Store) ListSchedules(ctx context.Context) ([]Schedule, error) { panic("unimplemented") }

// DeleteSchedule removes a session's schedule (no-op when none).
func (s *Store) DeleteSchedule(ctx context.Context, sessionID int64) error { panic("unimplemented") }

// State derives the session's state at now: needs_login when flagged; unknown
// when ExpiresAt is zero; expired at or past ExpiresAt; expiring when less than
// ExpiringWindow(lifetime) is left; valid otherwise.
func (s Session) State(now time.Time) State { panic("unimplemented") }

// ExpiringWindow is max(10% of lifetime, 5 min) — capped at the lifetime's half
// for short tokens so a 90 s token is "valid" for its first 45 s. lifetime <= 0: 5 min.
func ExpiringWindow(lifetime time.Duration) time.Duration { panic("unimplemented") }

// Fingerprint is a short, non-reversible tag of a secret (first 8 hex chars of SHA-256).
func Fingerprint(secret string) string { panic("unimplemented") }
