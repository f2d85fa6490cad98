// Package vault is tokentop's store: an SQLite file (or, for a team, a
// PostgreSQL database: see postgres.go) holding sessions, refresh attempts
// and schedules, with every token sealed by AES-256-GCM before it is stored.
// It also decodes tokens (claims and expiry) without verifying them.
//
// vault knows nothing of HTTP or the UI; it imports no other tokentop package.
package vault

import (
	"encoding/json"
	"errors"
	"time"
)

// Provider names as stored in the sessions table.
const (
	ProviderPathStack = "pathstack"
	ProviderGalileo   = "galileo"
)

// DefaultPathStackAPIVersion is the x-api-version sent when a session has none.
const DefaultPathStackAPIVersion = "2024-03-27"

// Triggers of a refresh attempt.
const (
	TriggerManual    = "manual"
	TriggerScheduled = "scheduled"
	TriggerCLI       = "cli"
	// TriggerRelogin: tokentop logged in again by itself with a remembered
	// login after the provider rejected the refresh token.
	TriggerRelogin = "relogin"
)

// Schedule modes.
const (
	ScheduleBeforeExpiry = "before-expiry"
	ScheduleEvery        = "every"
)

// State is what a session is fit for right now, derived from its plain columns.
type State string

// The states a session can be in.
const (
	StateValid      State = "valid"
	StateExpiring   State = "expiring"
	StateExpired    State = "expired"
	StateNeedsLogin State = "needs_login"
	StateUnknown    State = "unknown"
)

// Sentinel errors. Callers match them with errors.Is.
var (
	ErrNotFound         = errors.New("no such session")
	ErrDuplicateLabel   = errors.New("a session with that label exists")
	ErrVersionConflict  = errors.New("session changed meanwhile (version conflict)")
	ErrWrongKey         = errors.New("wrong passphrase or key")
	ErrPassphraseNeeded = errors.New("this vault is locked with a passphrase: set TOKENTOP_PASSPHRASE or run on a terminal")
	ErrNewerSchema      = errors.New("vault was written by a newer tokentop; refusing to touch it")
	ErrNotVault         = errors.New("not a tokentop vault")
	ErrKeyFile          = errors.New("key file missing or unreadable")
	ErrInvalid          = errors.New("invalid session")
	ErrLeaseHeld        = errors.New("another tokentop process is refreshing this session")
	ErrLeaseLost        = errors.New("the refresh lease on this session is held by another owner")
	ErrReadOnly         = errors.New("vault file is read-only")
	ErrTruncated        = errors.New("vault file is truncated")
	ErrSealBroken       = errors.New("sealed value does not open here (moved to another row, tampered with, or sealed with another key)")
	ErrInvalidSchedule  = errors.New("invalid schedule")
	// ErrNoVault: Options.MustExist and there is no vault yet (PostgreSQL).
	ErrNoVault = errors.New("no vault here yet (create one with tokentop add, login or import)")
)

// Session is one stored API session. Times are zero when unknown.
// AccessToken and RefreshToken are plaintext in memory and sealed on disk;
// ListSessions leaves them empty (listing never unseals).
type Session struct {
	ID               int64
	Provider         string
	Label            string
	BaseURL          string
	APIVersion       string // PathStack only
	Sub              string // PathStack only: needed by /refresh
	AccessToken      string
	RefreshToken     string
	TokenType        string
	IssuedAt         time.Time // access token's iat, or when it was received
	ExpiresAt        time.Time // access token's exp, or now+expires_in at refresh
	RefreshExpiresAt time.Time // refresh token's exp when it is a JWT
	CreatedAt        time.Time
	UpdatedAt        time.Time
	LastRefreshAt    time.Time
	LastStatus       string // outcome of the last refresh attempt ("" if none)
	NeedsLogin       bool   // the provider rejected the refresh token for good
	Version          int64  // incremented on every token change (compare-and-swap)

	// A refresh recorded as sent (Store.MarkSent) whose outcome is not
	// recorded yet: its answer may be lost, and the refresh token it sent
	// may be spent. Zero when none is pending; ListSessions leaves them zero.
	SentFP string    // fingerprint of the refresh token sent
	SentAt time.Time // when it was marked sent
	SentBy string    // the lease owner that sent it

	// Recovery is how many recovery entries (rows and files) are kept for
	// this session: tokens received but never written to it.
	Recovery int

	// LoginRemembered is the method of the login kept for automatic
	// re-login ("password" or "api_key"; "" when none is kept) and LoginUser
	// its username (password logins). The secret itself is read only by
	// Store.RememberedLogin. ListSessions leaves both empty.
	LoginRemembered string
	LoginUser       string
}

// TokenUpdate is the result of a successful refresh or login, written with
// compare-and-swap by Store.RecordRefresh. Empty RefreshToken/Sub keep the old ones.
type TokenUpdate struct {
	AccessToken      string
	RefreshToken     string
	TokenType        string
	Sub              string
	IssuedAt         time.Time
	ExpiresAt        time.Time
	RefreshExpiresAt time.Time

	// checked is what CheckTokenUpdate passed, so that RecordRefresh need
	// not decode the same tokens again (it checks anything else).
	checked *checkedTokens
}

type checkedTokens struct{ access, refresh, tokenType, sub string }

func (u *TokenUpdate) isChecked() bool {
	return u.checked != nil && *u.checked == checkedTokens{u.AccessToken, u.RefreshToken, u.TokenType, u.Sub}
}

// Attempt is one refresh attempt in a session's history. Exchange holds the
// redacted request and response as JSON (vault does not know its shape).
type Attempt struct {
	ID         int64
	SessionID  int64
	Trigger    string // TriggerManual | TriggerScheduled | TriggerCLI
	StartedAt  time.Time
	Duration   time.Duration
	Outcome    string // ok | rejected | server_error | network_error | cancelled
	Status     int    // HTTP status, 0 when none
	Rotated    bool
	Envelope   json.RawMessage // parsed error envelope, nil when none
	Exchange   json.RawMessage // redacted exchange, nil when none
	Error      string          // one line, secrets never included
	SentFP     string          // fingerprint of the refresh token sent
	ReceivedFP string          // fingerprint of the refresh token received ("" if not rotated)
	Owner      string          // lease owner that made the attempt ("" when unknown)
}

// Schedule says when a session is refreshed on its own.
type Schedule struct {
	SessionID    int64
	Mode         string        // ScheduleBeforeExpiry | ScheduleEvery
	Margin       time.Duration // before-expiry: 0 means the default margin
	Interval     time.Duration // every
	Enabled      bool
	NextDue      time.Time
	Failures     int // consecutive failures
	BackoffUntil time.Time
	LastError    string
	UpdatedAt    time.Time
}
