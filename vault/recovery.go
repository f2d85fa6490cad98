package vault

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"
)

// Recovery is a set of tokens that could not be written to their session
// (a rotated refresh token must never be lost), kept sealed for the user.
type Recovery struct {
	ID        int64 // 0 for a recovery file
	SessionID int64
	CreatedAt time.Time
	Reason    string
	Tokens    TokenUpdate
}

// recoveryFile is the JSON of a recovery file: the same as a recovery row,
// tokens sealed with associated data naming the session and time.
type recoveryFile struct {
	SessionID        int64  `json:"session_id"`
	CreatedAt        int64  `json:"created_at_ms"`
	Reason           string `json:"reason"`
	TokenType        string `json:"token_type,omitempty"`
	Sub              string `json:"sub,omitempty"`
	IssuedAt         int64  `json:"issued_at_ms,omitempty"`
	ExpiresAt        int64  `json:"expires_at_ms,omitempty"`
	RefreshExpiresAt int64  `json:"refresh_expires_at_ms,omitempty"`
	AccessToken      []byte `json:"access_token_sealed,omitempty"`
	RefreshToken     []byte `json:"refresh_token_sealed,omitempty"`
}

// SaveRecovery keeps tokens that could not be written to their session
// (sealed, in the recovery table; if that fails too, in a sealed 0600 file
// beside the vault). Returns where they went.
func (s *Store) SaveRecovery(ctx context.Context, sessionID int64, upd TokenUpdate, reason string) (string, error) {
	now := s.nowMs()
	var id int64
	dbErr := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO recovery (session_id, created_at, token_type, sub,
			issued_at, expires_at, refresh_expires_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			sessionID, now.UnixMilli(), upd.TokenType, upd.Sub,
			msOf(upd.IssuedAt), msOf(upd.ExpiresAt), msOf(upd.RefreshExpiresAt), reason)
		if err != nil {
			return err
		}
		if id, err = res.LastInsertId(); err != nil {
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
	path, fileErr := s.writeRecoveryFile(sessionID, upd, reason, now)
	if fileErr != nil {
		return "", fmt.Errorf("save recovery for session %d: %w (recovery file failed too: %v)", sessionID, dbErr, fileErr)
	}
	return path, nil
}

// ListRecovery returns the kept recovery rows, newest first, tokens unsealed.
func (s *Store) ListRecovery(ctx context.Context) ([]Recovery, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, session_id, created_at, reason, token_type, sub,
		issued_at, expires_at, refresh_expires_at, access_token, refresh_token
		FROM recovery ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("list recovery: %w", err)
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
		if err := rows.Scan(&r.ID, &r.SessionID, &created, &r.Reason, &r.Tokens.TokenType, &r.Tokens.Sub,
			&issued, &expires, &refreshExpires, &sealedAccess, &sealedRefresh); err != nil {
			return nil, fmt.Errorf("list recovery: %w", err)
		}
		r.CreatedAt = time.UnixMilli(created)
		r.Tokens.IssuedAt, r.Tokens.ExpiresAt, r.Tokens.RefreshExpiresAt = timeOf(issued), timeOf(expires), timeOf(refreshExpires)
		if r.Tokens.AccessToken, err = s.unsealOptional(sealedAccess, recoveryAD(r.ID, colAccessToken)); err != nil {
			return nil, fmt.Errorf("list recovery: %w", err)
		}
		if r.Tokens.RefreshToken, err = s.unsealOptional(sealedRefresh, recoveryAD(r.ID, colRefreshToken)); err != nil {
			return nil, fmt.Errorf("list recovery: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list recovery: %w", err)
	}
	return out, nil
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
	r := Recovery{SessionID: f.SessionID, CreatedAt: time.UnixMilli(f.CreatedAt), Reason: f.Reason}
	r.Tokens.TokenType, r.Tokens.Sub = f.TokenType, f.Sub
	r.Tokens.IssuedAt = timeOf(sql.NullInt64{Int64: f.IssuedAt, Valid: true})
	r.Tokens.ExpiresAt = timeOf(sql.NullInt64{Int64: f.ExpiresAt, Valid: true})
	r.Tokens.RefreshExpiresAt = timeOf(sql.NullInt64{Int64: f.RefreshExpiresAt, Valid: true})
	if r.Tokens.AccessToken, err = s.unsealOptional(f.AccessToken, recoveryFileAD(f.SessionID, f.CreatedAt, colAccessToken)); err != nil {
		return Recovery{}, fmt.Errorf("read recovery file %s: %w", path, err)
	}
	if r.Tokens.RefreshToken, err = s.unsealOptional(f.RefreshToken, recoveryFileAD(f.SessionID, f.CreatedAt, colRefreshToken)); err != nil {
		return Recovery{}, fmt.Errorf("read recovery file %s: %w", path, err)
	}
	return r, nil
}

// writeRecoveryFile is SaveRecovery's last resort: a sealed 0600 file beside
// the vault, created exclusively so that nothing is overwritten.
func (s *Store) writeRecoveryFile(sessionID int64, upd TokenUpdate, reason string, now time.Time) (string, error) {
	f := recoveryFile{
		SessionID: sessionID, CreatedAt: now.UnixMilli(), Reason: reason, TokenType: upd.TokenType, Sub: upd.Sub,
		IssuedAt: unixMsOrZero(upd.IssuedAt), ExpiresAt: unixMsOrZero(upd.ExpiresAt), RefreshExpiresAt: unixMsOrZero(upd.RefreshExpiresAt),
	}
	var err error
	if f.AccessToken, err = s.sealOptional(upd.AccessToken, recoveryFileAD(sessionID, f.CreatedAt, colAccessToken)); err != nil {
		return "", err
	}
	if f.RefreshToken, err = s.sealOptional(upd.RefreshToken, recoveryFileAD(sessionID, f.CreatedAt, colRefreshToken)); err != nil {
		return "", err
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return "", err
	}
	for n := 0; ; n++ {
		path := fmt.Sprintf("%s.recovery-%d-%d.json", s.path, sessionID, f.CreatedAt)
		if n > 0 {
			path = fmt.Sprintf("%s.recovery-%d-%d-%d.json", s.path, sessionID, f.CreatedAt, n)
		}
		out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) && n < 100 {
			continue
		}
		if err != nil {
			return "", err
		}
		if _, err := out.Write(data); err != nil {
			out.Close()
			return "", err
		}
		if err := out.Sync(); err != nil {
			out.Close()
			return "", err
		}
		return path, out.Close()
	}
}

func recoveryFileAD(sessionID, createdMs int64, column string) string {
	return fmt.Sprintf("recovery-file/%d/%d/%s", sessionID, createdMs, column)
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
