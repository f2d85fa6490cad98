package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Remembered login methods (the same strings as providers.LoginPassword and
// providers.LoginAPIKey; vault imports no other tokentop package).
const (
	LoginMethodPassword = "password"
	LoginMethodAPIKey   = "api_key"
)

// colLoginSecret is the sealed column of a remembered login's secret; part
// of its associated data.
const colLoginSecret = "login_secret"

// RememberedLogin is a session's kept login secret.
type RememberedLogin struct {
	Method   string // "password" or "api_key"
	Username string // for password logins
	Secret   string // the password or API key (plaintext in memory only)
}

// validate checks a login before it is kept. Errors wrap ErrInvalid and
// never show the secret.
func (l RememberedLogin) validate() error {
	switch l.Method {
	case LoginMethodPassword:
		if l.Username == "" {
			return fmt.Errorf("%w: a remembered password login needs its username", ErrInvalid)
		}
	case LoginMethodAPIKey:
	default:
		return fmt.Errorf("%w: unknown login method %q (want %q or %q)", ErrInvalid, l.Method, LoginMethodPassword, LoginMethodAPIKey)
	}
	if len(l.Username) > MaxTokenLen || strings.IndexFunc(l.Username, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: login username is over %d bytes or holds control characters", ErrInvalid, MaxTokenLen)
	}
	if l.Secret == "" {
		return fmt.Errorf("%w: empty login secret", ErrInvalid)
	}
	if len(l.Secret) > MaxTokenLen {
		return fmt.Errorf("%w: login secret is over %d bytes", ErrInvalid, MaxTokenLen)
	}
	return nil
}

// RememberLogin keeps l for session id, replacing any login kept before:
// the method and username in plain columns, the secret sealed with the
// session's id and column as associated data (it opens on no other row).
// ErrNotFound when the session does not exist; ErrInvalid for a bad login.
// The session's version is not changed: its tokens are not.
func (s *Store) RememberLogin(ctx context.Context, id int64, l RememberedLogin) error {
	if err := l.validate(); err != nil {
		return fmt.Errorf("remember login for session %d: %w", id, err)
	}
	if l.Method != LoginMethodPassword {
		l.Username = ""
	}
	sealed, err := seal(s.aead, []byte(l.Secret), sessionAD(id, colLoginSecret))
	if err != nil {
		return fmt.Errorf("remember login for session %d: %w", id, err)
	}
	err = s.tx(ctx, func(tx *rtx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET login_method = ?, login_user = ?, login_secret = ? WHERE id = ?",
			l.Method, l.Username, sealed, id)
		if err != nil {
			return err
		}
		return changedRow(res)
	})
	if err != nil {
		return fmt.Errorf("remember login for session %d: %w", id, err)
	}
	return nil
}

// RememberedLogin returns the login kept for session id, its secret
// unsealed; nil, nil when none is kept. ErrNotFound when the session does
// not exist; ErrSealBroken when the secret does not open for this row.
func (s *Store) RememberedLogin(ctx context.Context, id int64) (*RememberedLogin, error) {
	var (
		l      RememberedLogin
		sealed []byte
	)
	err := s.db.QueryRowContext(ctx, "SELECT login_method, login_user, login_secret FROM sessions WHERE id = ?", id).
		Scan(&l.Method, &l.Username, &sealed)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("remembered login of session %d: %w", id, err)
	}
	if l.Method == "" || sealed == nil {
		return nil, nil
	}
	secret, err := unseal(s.aead, sealed, sessionAD(id, colLoginSecret))
	if err != nil {
		return nil, fmt.Errorf("remembered login of session %d: %w", id, err)
	}
	l.Secret = string(secret)
	return &l, nil
}

// ForgetLogin drops the login kept for session id. ErrNotFound when the
// session does not exist; a no-op when none is kept.
func (s *Store) ForgetLogin(ctx context.Context, id int64) error {
	err := s.tx(ctx, func(tx *rtx) error {
		res, err := tx.ExecContext(ctx, "UPDATE sessions SET login_method = '', login_user = '', login_secret = NULL WHERE id = ?", id)
		if err != nil {
			return err
		}
		return changedRow(res)
	})
	if err != nil {
		return fmt.Errorf("forget login of session %d: %w", id, err)
	}
	return nil
}

// changedRow is ErrNotFound when res changed no row.
func changedRow(res sql.Result) error {
	ok, err := oneRow(res)
	if err == nil && !ok {
		err = ErrNotFound
	}
	return err
}
