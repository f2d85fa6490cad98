package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// OutcomeOK is the Attempt.Outcome of a successful refresh.
const OutcomeOK = "ok"

// RecordRefresh writes, in ONE transaction: the attempt (a.SessionID = id),
// last_status/last_refresh_at, needs_login, the end of the sent mark (see
// MarkSent) when it records an attempt or tokens, and when upd != nil the new tokens
// with compare-and-swap on expectVersion (ErrVersionConflict when stale; then
// nothing is written). Returns the session as stored afterwards (tokens unsealed).
//
// expectVersion is the version the refresh was made from. needs_login is set
// when needsLogin, and cleared by an ok outcome or new tokens, but without new
// tokens only while the stored version is still expectVersion: an answer about
// a refresh token that was replaced meanwhile says nothing about the session.
// expectVersion 0 (with upd == nil) skips that check, for callers that do not
// know the version. a may be nil (tokens only, no history). a.ID is set.
//
// Tokens RecordRefresh would refuse (see CheckTokenUpdate) fail it with
// ErrInvalid before anything is written.
func (s *Store) RecordRefresh(ctx context.Context, id, expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool) (Session, error) {
	after, _, err := s.recordRefresh(ctx, "", id, expectVersion, upd, a, needsLogin, nil)
	return after, err
}

// RecordRefreshReleasing is RecordRefresh that also drops owner's lease on
// the session in the same transaction: one disk sync fewer per refresh. When
// it fails nothing is written and the lease is still held.
func (s *Store) RecordRefreshReleasing(ctx context.Context, owner string, id, expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool) (Session, error) {
	after, _, err := s.recordRefresh(ctx, owner, id, expectVersion, upd, a, needsLogin, nil)
	return after, err
}

// ScheduleSettler works out a schedule's new state after a refresh from the
// schedule as stored (cur) and the session as recorded (after); write false
// leaves the stored schedule as it is. It runs inside the write transaction:
// it must not use the Store.
type ScheduleSettler func(cur Schedule, after Session) (next Schedule, write bool)

// Settled is what RecordRefreshSettling did to the session's schedule.
type Settled struct {
	Found    bool     // the session has a schedule (settle was called)
	Schedule Schedule // as stored afterwards
}

// RecordRefreshSettling is RecordRefreshReleasing that also settles the
// session's schedule (when it has one) in the same transaction: a scheduled
// refresh commits, and syncs, once fewer. When it fails nothing is written.
func (s *Store) RecordRefreshSettling(ctx context.Context, owner string, id, expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool, settle ScheduleSettler) (Session, Settled, error) {
	return s.recordRefresh(ctx, owner, id, expectVersion, upd, a, needsLogin, settle)
}

// CheckTokenUpdate reports what RecordRefresh would refuse in upd: an empty
// or malformed access token, a malformed rotated refresh token, a sub or
// token type with whitespace or control characters (ErrInvalid, naming the
// field, never a value). A refresher checks first so that it can keep what is
// fine: a rotated refresh token must be saved even when the access token that
// came with it is unusable.
//
// When upd passes, the times left zero are filled from the tokens' claims
// (as RecordRefresh would) and upd is marked as checked: recording it as it
// stands then decodes nothing again.
func CheckTokenUpdate(upd *TokenUpdate) error {
	access, err := checkToken("access token", upd.AccessToken)
	if err != nil {
		return err
	}
	var refresh *Token
	if upd.RefreshToken != "" {
		if refresh, err = checkToken("refresh token", upd.RefreshToken); err != nil {
			return err
		}
	}
	if hasSpaceOrControl(upd.Sub) || hasSpaceOrControl(upd.TokenType) {
		return fmt.Errorf("%w: sub or token type contains whitespace or control characters", ErrInvalid)
	}
	fillTokenTimes(&upd.IssuedAt, &upd.ExpiresAt, &upd.RefreshExpiresAt, access, refresh)
	upd.checked = &checkedTokens{upd.AccessToken, upd.RefreshToken, upd.TokenType, upd.Sub}
	return nil
}

func (s *Store) recordRefresh(ctx context.Context, leaseOwner string, id, expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool,
	settle ScheduleSettler) (Session, Settled, error) {
	now := s.nowMs()
	var tokens *TokenUpdate
	if upd != nil {
		prepared, err := prepareTokens(*upd, now)
		if err != nil {
			return Session{}, Settled{}, fmt.Errorf("record refresh of session %d: %w", id, err)
		}
		tokens = &prepared
	}
	var attempt *Attempt
	if a != nil {
		copied := *a // a is only updated once the transaction commits
		attempt = &copied
	}

	var (
		after   Session
		settled Settled
	)
	err := s.tx(ctx, func(tx *rtx) error {
		var err error
		after, err = s.recordRefreshTx(ctx, tx, leaseOwner, id, expectVersion, tokens, attempt, needsLogin, now)
		if err != nil || settle == nil {
			return err
		}
		settled, err = s.settleSchedule(ctx, tx, id, after, settle, now)
		return err
	})
	if err != nil {
		return Session{}, Settled{}, fmt.Errorf("record refresh of session %d: %w", id, err)
	}
	if a != nil {
		a.ID, a.SessionID = attempt.ID, id
	}
	return after, settled, nil
}

// settleSchedule is RecordRefreshSettling's part in the transaction.
func (s *Store) settleSchedule(ctx context.Context, tx *rtx, id int64, after Session, settle ScheduleSettler, now time.Time) (Settled, error) {
	cur, err := readSchedule(ctx, tx, id, s.d.forUpdate)
	if errors.Is(err, ErrNotFound) {
		return Settled{}, nil
	}
	if err != nil {
		return Settled{}, err
	}
	next, write := settle(cur, after)
	if !write {
		return Settled{Found: true, Schedule: cur}, nil
	}
	next.SessionID = id
	if err := validateSchedule(next); err != nil {
		return Settled{}, err
	}
	next.UpdatedAt = now
	if err := putSchedule(ctx, tx, id, next, now); err != nil {
		return Settled{}, err
	}
	return Settled{Found: true, Schedule: next}, nil
}

// prepareTokens checks upd as RecordRefresh does and fills the times left
// zero from the tokens' claims.
func prepareTokens(upd TokenUpdate, now time.Time) (TokenUpdate, error) {
	if !upd.isChecked() {
		if err := CheckTokenUpdate(&upd); err != nil {
			return TokenUpdate{}, err
		}
	}
	if upd.IssuedAt.IsZero() {
		upd.IssuedAt = now // no iat: the token was issued about when it was received
	}
	return upd, nil
}

// recordRefreshTx is recordRefresh's transaction. upd (prepared by
// prepareTokens) and a may be nil; a gets its ID. It also clears the sent
// mark (MarkSent) whenever it records an attempt or tokens: the refresh the
// mark stood for now has its outcome, or its tokens, on record.
func (s *Store) recordRefreshTx(ctx context.Context, tx *rtx, leaseOwner string, id, expectVersion int64,
	upd *TokenUpdate, a *Attempt, needsLogin bool, now time.Time) (Session, error) {
	version, sealedRefresh, err := s.lockSessionTokens(ctx, tx, id)
	if err != nil {
		return Session{}, err
	}
	return s.recordRefreshLocked(ctx, tx, leaseOwner, id, version, sealedRefresh, expectVersion, upd, a, needsLogin, now)
}

// lockSessionTokens reads session id's version and sealed refresh token in
// tx, locking the row where the dialect does (ErrNotFound when it is gone).
func (s *Store) lockSessionTokens(ctx context.Context, tx *rtx, id int64) (version int64, sealedRefresh []byte, err error) {
	err = tx.QueryRowContext(ctx, "SELECT version, refresh_token FROM sessions WHERE id = ?"+s.d.forUpdate, id).Scan(&version, &sealedRefresh)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return version, sealedRefresh, err
}

// recordRefreshLocked is recordRefreshTx once the row is read and locked
// (lockSessionTokens): version and sealedRefresh are as stored.
func (s *Store) recordRefreshLocked(ctx context.Context, tx *rtx, leaseOwner string, id, version int64, sealedRefresh []byte,
	expectVersion int64, upd *TokenUpdate, a *Attempt, needsLogin bool, now time.Time) (Session, error) {
	// One UPDATE of the session row for all of it (every SET sees the row
	// as it was): the new tokens, the attempt's status, the end of the sent
	// mark, needs_login and the lease.
	u := rowUpdate{}
	if upd != nil || a != nil {
		u.set("updated_at = ?, sent_fp = NULL, sent_at = NULL, sent_by = NULL", now.UnixMilli())
	}
	if upd != nil {
		if version != expectVersion {
			return Session{}, fmt.Errorf("%w (have %d, stored %d)", ErrVersionConflict, expectVersion, version)
		}
		if err := s.setTokens(&u, id, *upd, sealedRefresh); err != nil {
			return Session{}, err
		}
	}
	if a != nil {
		if err := s.insertAttempt(ctx, tx, id, a, now); err != nil {
			return Session{}, err
		}
		setAttemptStatus(&u, a)
	}
	// Only an attempt made with the session as stored speaks for it: a
	// late 401 for a refresh token that has since been replaced must not
	// flag the healthy session.
	current := expectVersion == 0 || version == expectVersion
	switch {
	case needsLogin && current:
		u.set("needs_login = ?", true)
	case upd != nil || (a != nil && a.Outcome == OutcomeOK && current):
		u.set("needs_login = ?", false)
	}
	if leaseOwner != "" {
		// Dropped only when leaseOwner holds it.
		u.set(`lease_owner = CASE WHEN lease_owner = ? THEN NULL ELSE lease_owner END,
			lease_until = CASE WHEN lease_owner = ? THEN NULL ELSE lease_until END,
			lease_host = CASE WHEN lease_owner = ? THEN NULL ELSE lease_host END,
			lease_pid = CASE WHEN lease_owner = ? THEN NULL ELSE lease_pid END,
			lease_start = CASE WHEN lease_owner = ? THEN NULL ELSE lease_start END`,
			leaseOwner, leaseOwner, leaseOwner, leaseOwner, leaseOwner)
	}
	if err := u.exec(ctx, tx, id); err != nil {
		return Session{}, err
	}
	return s.getSession(ctx, tx, "id = ?", id)
}

// rowUpdate builds one UPDATE of a session row.
type rowUpdate struct {
	sets []string
	args []any
}

func (u *rowUpdate) set(clause string, args ...any) {
	u.sets = append(u.sets, clause)
	u.args = append(u.args, args...)
}

func (u *rowUpdate) exec(ctx context.Context, tx *rtx, id int64) error {
	if len(u.sets) == 0 {
		return nil
	}
	_, err := tx.ExecContext(ctx, "UPDATE sessions SET "+strings.Join(u.sets, ", ")+" WHERE id = ?", append(u.args, id)...)
	return err
}

// recordAttempt inserts attempt a for session id (StartedAt defaults to now)
// and makes its outcome the session's last status.
func (s *Store) recordAttempt(ctx context.Context, tx *rtx, id int64, a *Attempt, now time.Time) error {
	if err := s.insertAttempt(ctx, tx, id, a, now); err != nil {
		return err
	}
	u := rowUpdate{}
	u.set("updated_at = ?", now.UnixMilli())
	setAttemptStatus(&u, a)
	return u.exec(ctx, tx, id)
}

// setAttemptStatus makes a's outcome the session's last status, and its
// start the last refresh when it succeeded.
func setAttemptStatus(u *rowUpdate, a *Attempt) {
	var lastRefresh any // NULL: keep
	if a.Outcome == OutcomeOK {
		lastRefresh = a.StartedAt.UnixMilli()
	}
	u.set("last_status = ?, last_refresh_at = coalesce(?, last_refresh_at)", a.Outcome, lastRefresh)
}

// setTokens writes new tokens and bumps the version. An empty refresh
// token, sub or token type keeps the stored one (and the refresh token's expiry).
func (s *Store) setTokens(u *rowUpdate, id int64, upd TokenUpdate, sealedRefresh []byte) error {
	sealedAccess, err := seal(s.aead, []byte(upd.AccessToken), sessionAD(id, colAccessToken))
	if err != nil {
		return err
	}
	if upd.RefreshToken != "" {
		if sealedRefresh, err = seal(s.aead, []byte(upd.RefreshToken), sessionAD(id, colRefreshToken)); err != nil {
			return err
		}
	}
	u.set(`access_token = ?, refresh_token = ?,
		token_type = CASE WHEN ? = '' THEN token_type ELSE ? END,
		sub = CASE WHEN ? = '' THEN sub ELSE ? END,
		issued_at = ?, expires_at = ?, version = version + 1`,
		sealedAccess, sealedRefresh, upd.TokenType, upd.TokenType, upd.Sub, upd.Sub, msOf(upd.IssuedAt), msOf(upd.ExpiresAt))
	// A kept refresh token keeps its expiry unless the caller knows better.
	if upd.RefreshToken != "" || !upd.RefreshExpiresAt.IsZero() {
		u.set("refresh_expires_at = ?", msOf(upd.RefreshExpiresAt))
	}
	return nil
}

// insertAttempt records a for session id (StartedAt defaults to now) and
// prunes the session's history to the newest maxAttempts.
func (s *Store) insertAttempt(ctx context.Context, tx *rtx, id int64, a *Attempt, now time.Time) error {
	a.SessionID = id
	if a.StartedAt.IsZero() {
		a.StartedAt = now
	}
	err := tx.QueryRowContext(ctx, `INSERT INTO attempts (session_id, triggered_by, started_at, duration_ns,
		outcome, status, rotated, envelope, exchange, error, sent_fp, received_fp, owner)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		a.SessionID, a.Trigger, a.StartedAt.UnixMilli(), int64(a.Duration), a.Outcome, a.Status, a.Rotated,
		nullBytes(a.Envelope), nullBytes(a.Exchange), a.Error, a.SentFP, a.ReceivedFP, a.Owner).Scan(&a.ID)
	if err != nil {
		return err
	}
	// Everything from the first attempt past the newest maxAttempts on: one
	// walk down the index, where NOT IN (newest maxAttempts) built a table
	// of them on every insert. The count is part of the text, not a bound
	// parameter, which would make SQLite compile the statement again each
	// time (a LIMIT or OFFSET value can change its plan).
	_, err = tx.ExecContext(ctx, fmt.Sprintf(`DELETE FROM attempts WHERE session_id = ? AND (started_at, id) <= (
		SELECT started_at, id FROM attempts WHERE session_id = ? ORDER BY started_at DESC, id DESC LIMIT 1 OFFSET %d)`,
		s.maxAttempts), a.SessionID, a.SessionID)
	return err
}

// ListAttempts returns a session's attempts, newest first (limit <= 0: all kept).
func (s *Store) ListAttempts(ctx context.Context, sessionID int64, limit int) ([]Attempt, error) {
	if limit <= 0 {
		limit = math.MaxInt64 // no limit, said in a way both backends take
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, triggered_by, started_at, duration_ns,
		outcome, status, rotated, envelope, exchange, error, sent_fp, received_fp, owner
		FROM attempts WHERE session_id = ? ORDER BY started_at DESC, id DESC LIMIT ?`, sessionID, limit)
	if err != nil {
		return nil, fmt.Errorf("list attempts of session %d: %w", sessionID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		var started, duration int64
		var envelope, exchange []byte
		if err := rows.Scan(&a.ID, &a.SessionID, &a.Trigger, &started, &duration, &a.Outcome, &a.Status,
			&a.Rotated, &envelope, &exchange, &a.Error, &a.SentFP, &a.ReceivedFP, &a.Owner); err != nil {
			return nil, fmt.Errorf("list attempts of session %d: %w", sessionID, err)
		}
		a.StartedAt = time.UnixMilli(started)
		a.Duration = time.Duration(duration)
		if len(envelope) > 0 {
			a.Envelope = envelope
		}
		if len(exchange) > 0 {
			a.Exchange = exchange
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list attempts of session %d: %w", sessionID, err)
	}
	return out, nil
}

// nullBytes stores empty JSON as NULL.
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
