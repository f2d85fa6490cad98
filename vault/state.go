package vault

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// minExpiringWindow is the least warning a session gets before it expires.
const minExpiringWindow = 5 * time.Minute

// State derives the session's state at now: needs_login when flagged; unknown
// when ExpiresAt is zero; expired at or past ExpiresAt; expiring when less than
// ExpiringWindow(lifetime) is left; valid otherwise. The lifetime is
// ExpiresAt - IssuedAt (0, so a 5 min window, when IssuedAt is unknown).
func (s Session) State(now time.Time) State {
	switch {
	case s.NeedsLogin:
		return StateNeedsLogin
	case s.ExpiresAt.IsZero():
		return StateUnknown
	case !now.Before(s.ExpiresAt):
		return StateExpired
	}
	var lifetime time.Duration
	if !s.IssuedAt.IsZero() {
		lifetime = s.ExpiresAt.Sub(s.IssuedAt)
	}
	if s.ExpiresAt.Sub(now) < ExpiringWindow(lifetime) {
		return StateExpiring
	}
	return StateValid
}

// ExpiringWindow is max(10% of lifetime, 5 min) — capped at the lifetime's half
// for short tokens so a 90 s token is "valid" for its first 45 s. lifetime <= 0: 5 min.
func ExpiringWindow(lifetime time.Duration) time.Duration {
	if lifetime <= 0 {
		return minExpiringWindow
	}
	return min(max(lifetime/10, minExpiringWindow), lifetime/2)
}

// Fingerprint is a short, non-reversible tag of a secret (first 8 hex chars
// of SHA-256). The empty secret has no fingerprint: "".
func Fingerprint(secret string) string {
	if secret == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:4])
}
