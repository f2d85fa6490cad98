package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TakeLease takes a short refresh lease on a session for owner, atomically
// across processes. False (nil error) if another owner holds an unexpired lease.
// Taking a lease already held by owner extends it. ErrNotFound when there is
// no such session.
func (s *Store) TakeLease(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("take lease on session %d: owner and a positive ttl are required", id)
	}
	now := s.now()
	var taken bool
	// One UPDATE decides: SQLite serialises writers across processes, so two
	// contenders cannot both see the lease free.
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET lease_owner = ?, lease_until = ?
			WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_until < ?)`,
			owner, now.Add(ttl).UnixMilli(), id, owner, now.UnixMilli())
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 1 {
			taken = true
			return nil
		}
		var one int
		err = tx.QueryRowContext(ctx, "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take lease on session %d: %w", id, err)
	}
	return taken, nil
}

// ReleaseLease drops owner's lease (no-op if not held by owner).
func (s *Store) ReleaseLease(ctx context.Context, id int64, owner string) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE sessions SET lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?", id, owner)
		return err
	})
	if err != nil {
		return fmt.Errorf("release lease on session %d: %w", id, err)
	}
	return nil
}
