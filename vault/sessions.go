package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Sealed column names; they are part of each value's associated data.
const (
	colAccessToken  = "access_token"
	colRefreshToken = "refresh_token"
)

// sessionPlainColumns are the session's columns other than the sealed tokens,
// in the order scanSession expects (and the listing column packs them).
const sessionPlainColumns = `id, provider, label, base_url, api_version, sub, token_type,
	issued_at, expires_at, refresh_expires_at, created_at, updated_at,
	last_refresh_at, last_status, needs_login, version`

// CreateSession validates and inserts s, setting s.ID, s.Version (1),
// CreatedAt and UpdatedAt. ErrDuplicateLabel if the label exists.
// Zero token times are filled from the tokens' JWT claims where present.
func (s *Store) CreateSession(ctx context.Context, sess *Session) error {
	if err := prepareSession(sess); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	now := s.nowMs()
	stored := *sess
	stored.CreatedAt = now
	err := s.tx(ctx, func(tx *rtx) error { return s.insertSession(ctx, tx, &stored, now) })
	if err != nil {
		return fmt.Errorf("create session %q: %w", sess.Label, err)
	}
	*sess = stored
	return nil
}

// PutSession inserts sess, or when replace is true and its label exists,
// overwrites that row's fields and tokens (keeping its ID and history, version+1).
// sess is updated to what was stored.
func (s *Store) PutSession(ctx context.Context, sess *Session, replace bool) error {
	if err := prepareSession(sess); err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	now := s.nowMs()
	stored := *sess
	err := s.tx(ctx, func(tx *rtx) error {
		if err := s.putSession(ctx, tx, &stored, replace, now); err != nil {
			return err
		}
		got, err := s.getSession(ctx, tx, "id = ?", stored.ID)
		stored = got
		return err
	})
	if err != nil {
		return fmt.Errorf("put session %q: %w", sess.Label, err)
	}
	*sess = stored
	return nil
}

// ImportSessions validates every session first, then writes them all in one
// transaction (all or nothing). Existing labels are refused unless replace.
// Imported sessions keep their CreatedAt, LastRefreshAt, LastStatus and
// NeedsLogin (CreatedAt defaults to now); the caller's slice is not modified.
// It is Import with no schedules.
func (s *Store) ImportSessions(ctx context.Context, sessions []Session, replace bool) error {
	entries := make([]ImportEntry, len(sessions))
	for i, sess := range sessions {
		entries[i].Session = sess // a zero CreatedAt becomes now as it is inserted (putSession)
	}
	return s.Import(ctx, entries, replace)
}

// putSession inserts sess, or overwrites the row with its label when replace.
func (s *Store) putSession(ctx context.Context, tx *rtx, sess *Session, replace bool, now time.Time) error {
	var id int64
	err := tx.QueryRowContext(ctx, "SELECT id FROM sessions WHERE label = ?", sess.Label).Scan(&id)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if sess.CreatedAt.IsZero() {
			sess.CreatedAt = now
		}
		return s.insertSession(ctx, tx, sess, now)
	case err != nil:
		return err
	case !replace:
		return ErrDuplicateLabel
	}
	// New tokens: the last refresh's outcome and a refresh marked as sent
	// were about the old ones (an import brings its own last status).
	_, err = tx.ExecContext(ctx, `UPDATE sessions SET provider = ?, base_url = ?, api_version = ?, sub = ?,
		token_type = ?, issued_at = ?, expires_at = ?, refresh_expires_at = ?, updated_at = ?,
		needs_login = ?, last_status = ?, sent_fp = NULL, sent_at = NULL, sent_by = NULL,
		version = version + 1 WHERE id = ?`,
		sess.Provider, sess.BaseURL, sess.APIVersion, sess.Sub,
		sess.TokenType, msOf(sess.IssuedAt), msOf(sess.ExpiresAt), msOf(sess.RefreshExpiresAt), now.UnixMilli(),
		sess.NeedsLogin, sess.LastStatus, id)
	if err != nil {
		return s.d.mapError(err)
	}
	sess.ID = id
	return s.writeTokens(ctx, tx, id, sess.AccessToken, sess.RefreshToken)
}

// insertSession inserts a validated session with sess.CreatedAt set, then
// seals its tokens under the new row id (the associated data needs the id).
func (s *Store) insertSession(ctx context.Context, tx *rtx, sess *Session, now time.Time) error {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO sessions (provider, label, base_url, api_version, sub,
		token_type, issued_at, expires_at, refresh_expires_at, created_at, updated_at,
		last_refresh_at, last_status, needs_login, version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`,
		sess.Provider, sess.Label, sess.BaseURL, sess.APIVersion, sess.Sub,
		sess.TokenType, msOf(sess.IssuedAt), msOf(sess.ExpiresAt), msOf(sess.RefreshExpiresAt),
		sess.CreatedAt.UnixMilli(), now.UnixMilli(), msOf(sess.LastRefreshAt), sess.LastStatus, sess.NeedsLogin).Scan(&id)
	if err != nil {
		return s.d.mapError(err)
	}
	if err := s.writeTokens(ctx, tx, id, sess.AccessToken, sess.RefreshToken); err != nil {
		return err
	}
	sess.ID, sess.Version, sess.UpdatedAt = id, 1, now
	sess.IssuedAt, sess.ExpiresAt, sess.RefreshExpiresAt = msTime(sess.IssuedAt), msTime(sess.ExpiresAt), msTime(sess.RefreshExpiresAt)
	sess.CreatedAt, sess.LastRefreshAt = msTime(sess.CreatedAt), msTime(sess.LastRefreshAt)
	return nil
}

// writeTokens seals and stores both tokens of row id.
func (s *Store) writeTokens(ctx context.Context, tx *rtx, id int64, access, refresh string) error {
	sealedAccess, err := seal(s.aead, []byte(access), sessionAD(id, colAccessToken))
	if err != nil {
		return err
	}
	sealedRefresh, err := seal(s.aead, []byte(refresh), sessionAD(id, colRefreshToken))
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "UPDATE sessions SET access_token = ?, refresh_token = ? WHERE id = ?",
		sealedAccess, sealedRefresh, id)
	return err
}

// GetSession returns one session with its tokens unsealed, its sent mark
// and its count of recovery entries. ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id int64) (Session, error) {
	sess, err := s.getSession(ctx, s.db, "id = ?", id)
	if err != nil {
		return Session{}, fmt.Errorf("get session %d: %w", id, err)
	}
	return sess, nil
}

// GetSessionByLabel returns one session with its tokens unsealed. ErrNotFound.
func (s *Store) GetSessionByLabel(ctx context.Context, label string) (Session, error) {
	sess, err := s.getSession(ctx, s.db, "label = ?", label)
	if err != nil {
		return Session{}, fmt.Errorf("get session %q: %w", label, err)
	}
	return sess, nil
}

// queryer is what both *sql.DB and *rtx offer for one-row reads.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// getSession reads the one session matching where and unseals its tokens.
// Its Recovery counts recovery files as best it can (a folder that cannot
// be listed counts none); see getSessionStrict.
func (s *Store) getSession(ctx context.Context, q queryer, where string, arg any) (Session, error) {
	return s.readSession(ctx, q, where, arg, false)
}

// getSessionStrict is getSession for a decision to send the refresh token:
// the recovery folder is listed afresh, and a listing that fails fails the
// read. A recovery file exists exactly when a vault write failed, and a
// count that missed it would let the spent token go out.
func (s *Store) getSessionStrict(ctx context.Context, q queryer, where string, arg any) (Session, error) {
	return s.readSession(ctx, q, where, arg, true)
}

func (s *Store) readSession(ctx context.Context, q queryer, where string, arg any, strict bool) (Session, error) {
	row := q.QueryRowContext(ctx, "SELECT "+sessionPlainColumns+`, access_token, refresh_token,
		sent_fp, sent_at, sent_by, (SELECT count(*) FROM recovery WHERE session_id = sessions.id),
		login_method, login_user
		FROM sessions WHERE `+where, arg)
	var (
		sealedAccess, sealedRefresh []byte
		sentFP, sentBy              sql.NullString
		sentAt                      sql.NullInt64
		recoveryRows                int
		loginMethod, loginUser      string
	)
	sess, err := scanSession(row, &sealedAccess, &sealedRefresh, &sentFP, &sentAt, &sentBy, &recoveryRows, &loginMethod, &loginUser)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	if err != nil {
		return Session{}, err
	}
	access, err := unseal(s.aead, sealedAccess, sessionAD(sess.ID, colAccessToken))
	if err != nil {
		return Session{}, err
	}
	refresh, err := unseal(s.aead, sealedRefresh, sessionAD(sess.ID, colRefreshToken))
	if err != nil {
		return Session{}, err
	}
	sess.AccessToken, sess.RefreshToken = string(access), string(refresh)
	sess.SentFP, sess.SentAt, sess.SentBy = sentFP.String, timeOf(sentAt), sentBy.String
	// Strict: listed afresh, and a failure fails the read. Otherwise best
	// effort: a count, not the tokens (no files counted on failure).
	files, err := s.recoveryFiles(strict)
	if err != nil && strict {
		return Session{}, fmt.Errorf("list recovery files: %w", err)
	}
	sess.Recovery = recoveryRows + countRecoveryFiles(files, sess.ID)
	sess.LoginRemembered, sess.LoginUser = loginMethod, loginUser
	return sess, nil
}

// scanSession scans sessionPlainColumns followed by extra destinations.
func scanSession(row interface{ Scan(...any) error }, extra ...any) (Session, error) {
	var (
		sess                                      Session
		issued, expires, refreshExpires, lastRefr sql.NullInt64
		created, updated                          int64
	)
	dest := append([]any{&sess.ID, &sess.Provider, &sess.Label, &sess.BaseURL, &sess.APIVersion, &sess.Sub,
		&sess.TokenType, &issued, &expires, &refreshExpires, &created, &updated,
		&lastRefr, &sess.LastStatus, &sess.NeedsLogin, &sess.Version}, extra...)
	if err := row.Scan(dest...); err != nil {
		return Session{}, err
	}
	sess.IssuedAt, sess.ExpiresAt, sess.RefreshExpiresAt = timeOf(issued), timeOf(expires), timeOf(refreshExpires)
	sess.CreatedAt = timeOf(sql.NullInt64{Int64: created, Valid: true})
	sess.UpdatedAt = timeOf(sql.NullInt64{Int64: updated, Valid: true})
	sess.LastRefreshAt = timeOf(lastRefr)
	return sess, nil
}

// UpdateSessionInfo changes label, base URL and API version (not tokens).
// An empty base URL means the provider's default (PathStack only).
func (s *Store) UpdateSessionInfo(ctx context.Context, id int64, label, baseURL, apiVersion string) error {
	err := s.tx(ctx, func(tx *rtx) error {
		var provider string
		err := tx.QueryRowContext(ctx, "SELECT provider FROM sessions WHERE id = ?", id).Scan(&provider)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if provider == ProviderPathStack && baseURL == "" {
			baseURL = DefaultPathStackBaseURL
		}
		if err := validateLabel(label); err != nil {
			return err
		}
		if err := validateBaseURL(baseURL); err != nil {
			return err
		}
		if err := validateAPIVersion(apiVersion); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE sessions SET label = ?, base_url = ?, api_version = ?, updated_at = ? WHERE id = ?",
			label, baseURL, apiVersion, s.nowMs().UnixMilli(), id)
		return s.d.mapError(err)
	})
	if err != nil {
		return fmt.Errorf("update session %d: %w", id, err)
	}
	return nil
}

// DeleteSession removes a session with its attempts and schedule. ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id int64) error {
	err := s.tx(ctx, func(tx *rtx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE id = ?", id)
		if err != nil {
			return err
		}
		return changedRow(res)
	})
	if err != nil {
		return fmt.Errorf("delete session %d: %w", id, err)
	}
	return nil
}

// msTime truncates t to the millisecond the vault keeps (zero stays zero).
func msTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return time.UnixMilli(t.UnixMilli())
}
