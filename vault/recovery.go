package vault

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// Recovery is a set of tokens that could not be written to their session
// (a rotated refresh token must never be lost), kept sealed for the user and
// for the next refresh (see PendingRecovery).
type Recovery struct {
	ID        int64  // row id; 0 for a recovery file
	Path      string // the recovery file; "" for a row
	SessionID int64
	CreatedAt time.Time
	Reason    string
	// SpentHash is the hex SHA-256 of the refresh token spent to get Tokens
	// ("" when unknown, as in recoveries kept by older builds).
	SpentHash string
	Tokens    TokenUpdate
}

// spentHash is the hex SHA-256 of a refresh token, "" for none.
func spentHash(refreshToken string) string {
	if refreshToken == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(refreshToken))
	return hex.EncodeToString(sum[:])
}

// SaveRecovery keeps tokens that could not be written to their session
// (sealed, in the recovery table; if that fails too, in a sealed 0600 file
// beside the vault). spent is the refresh token that was sent to get them:
// only its hash is kept, so that PendingRecovery can tell whether the
// session still holds it. Returns where the tokens went.
func (s *Store) SaveRecovery(ctx context.Context, sessionID int64, spent string, upd TokenUpdate, reason string) (string, error) {
	now := s.nowMs()
	hash := spentHash(spent)
	var id int64
	dbErr := s.tx(ctx, func(tx *rtx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO recovery (session_id, created_at, token_type, sub,
			issued_at, expires_at, refresh_expires_at, reason, spent_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			sessionID, now.UnixMilli(), upd.TokenType, upd.Sub,
			msOf(upd.IssuedAt), msOf(upd.ExpiresAt), msOf(upd.RefreshExpiresAt), reason, hash).Scan(&id)
		if err != nil {
			return err
		}
		access, err := s.sealOptional(upd.AccessToken, recoveryAD(id, colAccessToken))
		if err != nil {
			return err
		}
		refresh, err := s.sealOptional(upd.RefreshToken, recoveryAD(id, colRefreshToken))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "UPDATE recovery SET access_token = ?, refresh_token = ? WHERE id = ?", access, refresh, id)
		return err
	})
	if dbErr == nil {
		return fmt.Sprintf("recovery row %d in %s", id, s.path), nil
	}
	path, fileErr := s.writeRecoveryFile(sessionID, hash, upd, reason, now)
	if fileErr != nil {
		return "", fmt.Errorf("save recovery for session %d: %w (recovery file failed too: %v)", sessionID, dbErr, fileErr)
	}
	return path, nil
}

// ListRecovery returns the kept recovery rows and the recovery files beside
// the vault, newest first, tokens unsealed. A file that cannot be read or
// unsealed is listed all the same, with Path, the SessionID its name gives,
// its modification time, no tokens, and Reason "unreadable recovery file: …",
// so that it can be shown and deleted (DeleteRecovery).
func (s *Store) ListRecovery(ctx context.Context) ([]Recovery, error) {
	out, err := s.recoveryRows(ctx, "TRUE")
	if err != nil {
		return nil, fmt.Errorf("list recovery: %w", err)
	}
	files, err := s.recoveryFiles(false)
	if err != nil {
		return nil, fmt.Errorf("list recovery: %w", err)
	}
	for _, f := range files {
		out = append(out, s.readRecoveryEntry(f))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

// PendingRecovery is the newest kept recovery for sess that carries a
// refresh token and was bought by spending the refresh token sess holds:
// the session's own token is spent, and these tokens replace it (ApplyRecovery).
// A refresher asks under the lease, before it sends anything. nil, nil when
// there is none. Unreadable recovery files are passed over.
func (s *Store) PendingRecovery(ctx context.Context, sess Session) (*Recovery, error) {
	hash := spentHash(sess.RefreshToken)
	if hash == "" {
		return nil, nil
	}
	rows, err := s.recoveryRows(ctx, "session_id = ? AND spent_hash = ? AND refresh_token IS NOT NULL", sess.ID, hash)
	if err != nil {
		return nil, fmt.Errorf("pending recovery of session %d: %w", sess.ID, err)
	}
	var best *Recovery
	if len(rows) > 0 {
		best = &rows[0]
	}
	files, err := s.recoveryFiles(true) // afresh: the token is sent on this answer
	if err != nil {
		return nil, fmt.Errorf("pending recovery of session %d: %w", sess.ID, err)
	}
	for _, f := range files {
		if f.sessionID != sess.ID {
			continue
		}
		r, err := s.ReadRecoveryFile(f.path)
		if err != nil || r.SpentHash != hash || r.Tokens.RefreshToken == "" {
			continue
		}
		if best == nil || r.CreatedAt.After(best.CreatedAt) {
			best = &r
		}
	}
	return best, nil
}

// ApplyRecovery writes rec's tokens into its session, in one transaction
// with compare-and-swap on expectVersion (ErrVersionConflict otherwise, also
// when rec was not bought with the refresh token the session holds), records
// attempt a when not nil (a.ID is set), and deletes the recovery row. A
// recovery file is removed after the commit (a leftover one is harmless: its
// spent hash no longer matches). Returns the session as stored.
func (s *Store) ApplyRecovery(ctx context.Context, rec Recovery, expectVersion int64, a *Attempt) (Session, error) {
	id := rec.SessionID
	now := s.nowMs()
	tokens, err := prepareTokens(rec.Tokens, now)
	if err != nil {
		return Session{}, fmt.Errorf("apply recovery to session %d: %w", id, err)
	}
	if rec.Path != "" && !s.isRecoveryFile(rec.Path) {
		return Session{}, fmt.Errorf("apply recovery to session %d: %s is not a recovery file of this vault", id, rec.Path)
	}
	var attempt *Attempt
	if a != nil {
		copied := *a
		attempt = &copied
	}
	var after Session
	err = s.tx(ctx, func(tx *rtx) error {
		version, sealed, err := s.lockSessionTokens(ctx, tx, id)
		if err != nil {
			return err
		}
		if rec.SpentHash != "" {
			stored, err := unseal(s.aead, sealed, sessionAD(id, colRefreshToken))
			if err != nil {
				return err
			}
			if spentHash(string(stored)) != rec.SpentHash {
				return fmt.Errorf("%w: the recovery was not bought with the stored refresh token", ErrVersionConflict)
			}
		}
		// Deleted first so that the session read back does not count it.
		if rec.ID != 0 {
			if _, err := tx.ExecContext(ctx, "DELETE FROM recovery WHERE id = ?", rec.ID); err != nil {
				return err
			}
		}
		after, err = s.recordRefreshLocked(ctx, tx, "", id, version, sealed, expectVersion, &tokens, attempt, false, now)
		return err
	})
	if err != nil {
		return Session{}, fmt.Errorf("apply recovery to session %d: %w", id, err)
	}
	if rec.Path != "" && os.Remove(rec.Path) == nil {
		s.forgetRecoveryListing()
		if after.Recovery > 0 {
			after.Recovery--
		}
	}
	if a != nil {
		a.ID, a.SessionID = attempt.ID, id
	}
	return after, nil
}

// DeleteRecovery removes a recovery row, or a recovery file of this vault.
// Removing one that is gone already is not an error.
func (s *Store) DeleteRecovery(ctx context.Context, rec Recovery) error {
	if rec.Path != "" {
		if !s.isRecoveryFile(rec.Path) {
			return fmt.Errorf("delete recovery: %s is not a recovery file of this vault", rec.Path)
		}
		err := os.Remove(rec.Path)
		s.forgetRecoveryListing()
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delete recovery: %w", err)
		}
		return nil
	}
	err := s.tx(ctx, func(tx *rtx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM recovery WHERE id = ?", rec.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete recovery row %d: %w", rec.ID, err)
	}
	return nil
}

// recoveryRows reads the recovery rows matching where, newest first, tokens unsealed.
func (s *Store) recoveryRows(ctx context.Context, where string, args ...any) ([]Recovery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, created_at, reason, spent_hash, token_type, sub,
		issued_at, expires_at, refresh_expires_at, access_token, refresh_token
		FROM recovery WHERE `+where+` ORDER BY created_at DESC, id DESC`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Recovery
	for rows.Next() {
		var (
			r                               Recovery
			created                         int64
			issued, expires, refreshExpires sql.NullInt64
			sealedAccess, sealedRefresh     []byte
		)
		if err := rows.Scan(&r.ID, &r.SessionID, &created, &r.Reason, &r.SpentHash, &r.Tokens.TokenType, &r.Tokens.Sub,
			&issued, &expires, &refreshExpires, &sealedAccess, &sealedRefresh); err != nil {
			return nil, err
		}
		r.CreatedAt = time.UnixMilli(created)
		r.Tokens.IssuedAt, r.Tokens.ExpiresAt, r.Tokens.RefreshExpiresAt = timeOf(issued), timeOf(expires), timeOf(refreshExpires)
		if r.Tokens.AccessToken, err = s.unsealOptional(sealedAccess, recoveryAD(r.ID, colAccessToken)); err != nil {
			return nil, err
		}
		if r.Tokens.RefreshToken, err = s.unsealOptional(sealedRefresh, recoveryAD(r.ID, colRefreshToken)); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// recoveryCounts is how many recovery entries (rows and files) each session
// has. Cheap when there are none: one query on an empty table, one folder
// read (whose failure only leaves files uncounted).
func (s *Store) recoveryCounts(ctx context.Context) (map[int64]int, error) {
	counts := map[int64]int{}
	rows, err := s.db.QueryContext(ctx, "SELECT session_id, count(*) FROM recovery GROUP BY session_id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return nil, err
		}
		counts[id] = n
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	files, _ := s.recoveryFiles(false) // best effort, as in getSession: a count, not the tokens
	for _, f := range files {
		counts[f.sessionID]++
	}
	return counts, nil
}

// sealOptional seals a non-empty value; the empty one stays NULL.
func (s *Store) sealOptional(plain, ad string) ([]byte, error) {
	if plain == "" {
		return nil, nil
	}
	return seal(s.aead, []byte(plain), ad)
}

func (s *Store) unsealOptional(sealed []byte, ad string) (string, error) {
	if len(sealed) == 0 {
		return "", nil
	}
	plain, err := unseal(s.aead, sealed, ad)
	return string(plain), err
}

func unixMsOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
