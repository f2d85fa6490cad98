package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// PutSchedule creates or replaces a session's schedule (UpdatedAt set).
// ErrInvalidSchedule for an unknown mode, a missing interval or negative
// durations; ErrNotFound when the session does not exist.
func (s *Store) PutSchedule(ctx context.Context, sch Schedule) error {
	if err := validateSchedule(sch); err != nil {
		return fmt.Errorf("put schedule of session %d: %w", sch.SessionID, err)
	}
	err := s.tx(ctx, func(tx *rtx) error {
		return putSchedule(ctx, tx, sch.SessionID, sch, s.nowMs())
	})
	if err != nil {
		return fmt.Errorf("put schedule of session %d: %w", sch.SessionID, s.d.mapError(err))
	}
	return nil
}

func validateSchedule(sch Schedule) error {
	switch sch.Mode {
	case ScheduleBeforeExpiry:
	case ScheduleEvery:
		if sch.Interval <= 0 {
			return fmt.Errorf("%w: mode %q needs a positive interval", ErrInvalidSchedule, sch.Mode)
		}
	default:
		return fmt.Errorf("%w: unknown mode %q", ErrInvalidSchedule, sch.Mode)
	}
	if sch.Margin < 0 || sch.Interval < 0 || sch.Failures < 0 {
		return fmt.Errorf("%w: negative margin, interval or failure count", ErrInvalidSchedule)
	}
	return nil
}

// putScheduleSQL creates or replaces a schedule (an upsert both backends take).
const putScheduleSQL = `INSERT INTO schedules (session_id, mode, margin_ms, interval_ms,
	enabled, next_due, failures, backoff_until, last_error, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (session_id) DO UPDATE SET mode = excluded.mode, margin_ms = excluded.margin_ms,
	interval_ms = excluded.interval_ms, enabled = excluded.enabled, next_due = excluded.next_due,
	failures = excluded.failures, backoff_until = excluded.backoff_until,
	last_error = excluded.last_error, updated_at = excluded.updated_at`

// putSchedule creates or replaces session id's schedule, updated at now.
func putSchedule(ctx context.Context, tx *rtx, id int64, sch Schedule, now time.Time) error {
	_, err := tx.ExecContext(ctx, putScheduleSQL, id, sch.Mode, sch.Margin.Milliseconds(), sch.Interval.Milliseconds(), sch.Enabled,
		msOf(sch.NextDue), sch.Failures, msOf(sch.BackoffUntil), sch.LastError, now.UnixMilli())
	return err
}

const scheduleColumns = `session_id, mode, margin_ms, interval_ms, enabled, next_due,
	failures, backoff_until, last_error, updated_at`

// ScheduleReader reads a session's schedule (ErrNotFound when none): a Store
// reads what is committed; the reader a TakeLeaseAndMark decision is given
// reads in that decision's transaction.
type ScheduleReader interface {
	GetSchedule(ctx context.Context, sessionID int64) (Schedule, error)
}

// GetSchedule returns a session's schedule. ErrNotFound when none.
func (s *Store) GetSchedule(ctx context.Context, sessionID int64) (Schedule, error) {
	return getSchedule(ctx, s.db, sessionID)
}

// txSchedules is a ScheduleReader on a transaction.
type txSchedules struct{ tx *rtx }

func (t txSchedules) GetSchedule(ctx context.Context, sessionID int64) (Schedule, error) {
	return getSchedule(ctx, t.tx, sessionID)
}

func getSchedule(ctx context.Context, q queryer, sessionID int64) (Schedule, error) {
	sch, err := readSchedule(ctx, q, sessionID, "")
	if err != nil {
		return Schedule{}, fmt.Errorf("get schedule of session %d: %w", sessionID, err)
	}
	return sch, nil
}

// readSchedule reads a session's schedule through q, the query ended by lock
// (the dialect's forUpdate, or ""); ErrNotFound when there is none.
func readSchedule(ctx context.Context, q queryer, sessionID int64, lock string) (Schedule, error) {
	sch, err := scanSchedule(q.QueryRowContext(ctx, "SELECT "+scheduleColumns+" FROM schedules WHERE session_id = ?"+lock, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return Schedule{}, ErrNotFound
	}
	return sch, err
}

// ListSchedules returns all schedules, ordered by session id.
func (s *Store) ListSchedules(ctx context.Context) ([]Schedule, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT "+scheduleColumns+" FROM schedules ORDER BY session_id")
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	defer rows.Close()
	var out []Schedule
	for rows.Next() {
		sch, err := scanSchedule(rows)
		if err != nil {
			return nil, fmt.Errorf("list schedules: %w", err)
		}
		out = append(out, sch)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// DeleteSchedule removes a session's schedule (no-op when none).
func (s *Store) DeleteSchedule(ctx context.Context, sessionID int64) error {
	err := s.tx(ctx, func(tx *rtx) error {
		_, err := tx.ExecContext(ctx, "DELETE FROM schedules WHERE session_id = ?", sessionID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete schedule of session %d: %w", sessionID, err)
	}
	return nil
}

func scanSchedule(row interface{ Scan(...any) error }) (Schedule, error) {
	var (
		sch              Schedule
		margin, interval int64
		nextDue, backoff sql.NullInt64
		updated          int64
	)
	err := row.Scan(&sch.SessionID, &sch.Mode, &margin, &interval, &sch.Enabled, &nextDue,
		&sch.Failures, &backoff, &sch.LastError, &updated)
	if err != nil {
		return Schedule{}, err
	}
	sch.Margin = time.Duration(margin) * time.Millisecond
	sch.Interval = time.Duration(interval) * time.Millisecond
	sch.NextDue, sch.BackoffUntil = timeOf(nextDue), timeOf(backoff)
	sch.UpdatedAt = time.UnixMilli(updated)
	return sch, nil
}
