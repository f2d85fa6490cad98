package vault

import (
	"context"
	"fmt"
)

// ImportEntry is one session of an import, with what to do to its schedule.
type ImportEntry struct {
	Session Session
	// Schedule, when not nil, becomes the session's schedule (its SessionID
	// is filled in; UpdatedAt is set).
	Schedule *Schedule
	// DropSchedule removes a schedule the session already has when Schedule
	// is nil: the export said the session had none.
	DropSchedule bool
}

// Import is ImportSessions with schedules: every session and schedule is
// validated first, then all are written in one transaction (all or
// nothing). Existing labels are refused unless replace. Sessions keep their
// CreatedAt, LastRefreshAt, LastStatus and NeedsLogin.
func (s *Store) Import(ctx context.Context, entries []ImportEntry, replace bool) error {
	batch := make([]ImportEntry, len(entries))
	seen := make(map[string]int, len(entries))
	for i, e := range entries {
		batch[i] = e
		if err := prepareSession(&batch[i].Session); err != nil {
			return fmt.Errorf("import session %d (%q): %w", i+1, e.Session.Label, err)
		}
		label := batch[i].Session.Label
		if j, dup := seen[label]; dup {
			return fmt.Errorf("import session %d (%q): %w (also session %d)", i+1, label, ErrDuplicateLabel, j+1)
		}
		seen[label] = i
		if e.Schedule != nil {
			sch := *e.Schedule
			if err := validateSchedule(sch); err != nil {
				return fmt.Errorf("import session %d (%q): %w", i+1, label, err)
			}
			batch[i].Schedule = &sch
		}
	}
	now := s.nowMs()
	err := s.tx(ctx, func(tx *rtx) error {
		for i := range batch {
			sess := &batch[i].Session
			if err := s.putSession(ctx, tx, sess, replace, now); err != nil {
				return fmt.Errorf("session %d (%q): %w", i+1, sess.Label, err)
			}
			var err error
			switch sch := batch[i].Schedule; {
			case sch != nil:
				err = putSchedule(ctx, tx, sess.ID, *sch, now)
			case batch[i].DropSchedule:
				_, err = tx.ExecContext(ctx, "DELETE FROM schedules WHERE session_id = ?", sess.ID)
			}
			if err != nil {
				return fmt.Errorf("session %d (%q): schedule: %w", i+1, sess.Label, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("import sessions: %w", err)
	}
	return nil
}
