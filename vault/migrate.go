package vault

import (
	"context"
	"fmt"
)

// schemaVersion is the schema version this build writes and understands
// (both backends have the same steps).
func schemaVersion() int64 { return int64(len(sqliteMigrations)) }

// migrate runs the pending migrations, each in its own transaction that also
// sets the schema version. newMeta, for a vault being created, is written in
// the same transaction as the first migration, so a vault never exists
// without its key check.
func (s *Store) migrate(ctx context.Context, newMeta map[string][]byte) error {
	for i, step := range s.d.migrations() {
		target := int64(i + 1)
		err := s.tx(ctx, func(tx *rtx) error {
			if s.d.lockSchema != "" {
				if _, err := tx.ExecContext(ctx, s.d.lockSchema); err != nil {
					return err
				}
			}
			// Read inside the write transaction: another process may be migrating too.
			current, err := s.d.readVersion(ctx, tx)
			if err != nil {
				return err
			}
			if current >= target {
				return nil
			}
			if current != target-1 {
				return fmt.Errorf("schema version %d cannot be migrated to %d", current, target)
			}
			if _, err := tx.ExecContext(ctx, step); err != nil {
				return err
			}
			if target == 1 {
				if newMeta == nil {
					return fmt.Errorf("vault has no key metadata: %w", ErrNotVault)
				}
				for k, v := range newMeta {
					if _, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", k, v); err != nil {
						return err
					}
				}
			}
			return s.d.writeVersion(ctx, tx, target)
		})
		if err != nil {
			return fmt.Errorf("migrate to schema %d: %w", target, err)
		}
	}
	return nil
}
