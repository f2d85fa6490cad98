package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TakeLease takes a short refresh lease on a session for owner, atomically
// across processes, recording this Store's Process as the holder. False (nil
// error) if another owner holds an unexpired lease whose holder may be alive.
// Taking a lease already held by owner extends it. A lease whose holder ran on
// this host and is gone (killed, say: its PID no longer exists or now belongs
// to a process started at another time) is taken over at once. ErrNotFound
// when there is no such session.
func (s *Store) TakeLease(ctx context.Context, id int64, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, fmt.Errorf("take lease on session %d: owner and a positive ttl are required", id)
	}
	var taken bool
	// Lazy: a lease a power cut takes back was worth nothing, since nothing
	// is sent before MarkSent, which syncs it with its own commit.
	err := s.lazyTx(ctx, func(tx *rtx) error {
		var err error
		taken, err = s.takeLease(ctx, tx, id, owner, ttl)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("take lease on session %d: %w", id, err)
	}
	return taken, nil
}

// takeLease is TakeLease's part in a transaction.
func (s *Store) takeLease(ctx context.Context, tx *rtx, id int64, owner string, ttl time.Duration) (bool, error) {
	// "now" is the Store's clock on SQLite and the database's on PostgreSQL,
	// where the holders run on machines whose clocks need not agree.
	nowSQL, nowArgs := s.d.leaseNow(s.now)
	set := `UPDATE sessions SET lease_owner = ?, lease_until = ` + nowSQL + ` + ?, lease_host = ?, lease_pid = ?, lease_start = ?
		WHERE id = ? AND `
	args := func(extra ...any) []any {
		a := append([]any{owner}, nowArgs...)
		self := s.proc()
		a = append(a, ttl.Milliseconds(), self.Host, self.PID, self.Start, id)
		return append(a, extra...)
	}
	// One UPDATE decides: SQLite serialises writers across processes, and
	// PostgreSQL re-checks the WHERE on the row's newest version after
	// waiting for its row lock, so two contenders cannot both see the
	// lease free.
	res, err := tx.ExecContext(ctx, set+"(lease_owner IS NULL OR lease_owner = ? OR lease_until < "+nowSQL+")",
		append(args(owner), nowArgs...)...)
	if err != nil {
		return false, err
	}
	if taken, err := oneRow(res); err != nil || taken {
		return taken, err
	}
	holder, _, hp, err := leaseHolder(ctx, tx, id)
	if err != nil {
		return false, err
	}
	if !holderGone(s.proc(), hp) {
		return false, nil
	}
	// The holder is dead (same host only: a PID says nothing about
	// another machine). Compare-and-swap on the stale holder: of two
	// takers judging the same corpse, only the first write matches.
	res, err = tx.ExecContext(ctx, set+"lease_owner = ? AND lease_pid = ? AND lease_host = ?",
		args(holder, hp.PID, hp.Host)...)
	if err != nil {
		return false, err
	}
	return oneRow(res)
}

// SendPlan is what a TakeLeaseAndMark decision says to do with the session
// read under the new lease.
type SendPlan struct {
	// Mark: record the refresh token with fingerprint FP as about to be
	// sent, as MarkSent does; false leaves the session as it is (the caller
	// goes on under the lease, and may MarkSent later).
	Mark bool
	FP   string
	// Lost, when not nil, is inserted as an attempt with the mark (see
	// MarkSent); its ID is set.
	Lost *Attempt
}

// TakeLeaseAndMark is TakeLease, then, when the lease is taken, the
// session read under it and decide's plan carried out, all in one durable
// transaction: when a refresh can go ahead at once, taking the lease and
// MarkSent cost one commit instead of two. decide runs inside the
// transaction (perhaps more than once: the last run is the one that
// counts), and may read the session's schedule through sched, in the same
// transaction; it must not write through the Store: a write would wait for
// this very transaction. It returns the session as read
// (zero when the lease was not taken), whether the lease was taken, and
// the plan carried out.
func (s *Store) TakeLeaseAndMark(ctx context.Context, id int64, owner string, ttl time.Duration, decide func(sess Session, sched ScheduleReader) SendPlan) (Session, bool, SendPlan, error) {
	if owner == "" || ttl <= 0 {
		return Session{}, false, SendPlan{}, fmt.Errorf("take lease on session %d: owner and a positive ttl are required", id)
	}
	now := s.nowMs()
	var (
		sess  Session
		taken bool
		plan  SendPlan
		lost  Attempt
	)
	err := s.tx(ctx, func(tx *rtx) error {
		var err error
		sess, plan = Session{}, SendPlan{}
		if taken, err = s.takeLease(ctx, tx, id, owner, ttl); err != nil || !taken {
			return err
		}
		// Strict: a refresh token is sent on what this read says about
		// recovery (a folder that cannot be listed fails it: nothing sent).
		if sess, err = s.getSessionStrict(ctx, tx, "id = ?", id); err != nil {
			return err
		}
		if plan = decide(sess, txSchedules{tx}); !plan.Mark {
			return nil
		}
		var a *Attempt
		if plan.Lost != nil {
			lost, a = *plan.Lost, &lost
		}
		return s.markSent(ctx, tx, id, owner, plan.FP, a, now)
	})
	if err != nil {
		return Session{}, false, SendPlan{}, fmt.Errorf("take lease on session %d: %w", id, err)
	}
	if plan.Lost != nil {
		plan.Lost.ID, plan.Lost.SessionID = lost.ID, id
	}
	if plan.Mark {
		sess.SentFP, sess.SentAt, sess.SentBy = plan.FP, now, owner
	}
	return sess, taken, plan, nil
}

// LeaseHolder is the lease on session id as stored: its owner ("" when
// none), the holder's Process (zero fields when unknown, as for a lease taken
// by an older tokentop), and until when it runs; it may have lapsed already.
// For messages such as "held by pid 1234 on host x until 14:02:11".
// ErrNotFound when there is no such session.
func (s *Store) LeaseHolder(ctx context.Context, id int64) (owner string, p Process, until time.Time, err error) {
	owner, until, p, err = leaseHolder(ctx, s.db, id)
	if err != nil {
		return "", Process{}, time.Time{}, fmt.Errorf("lease holder of session %d: %w", id, err)
	}
	return owner, p, until, nil
}

func leaseHolder(ctx context.Context, q queryer, id int64) (string, time.Time, Process, error) {
	var (
		owner, host sql.NullString
		until, pid  sql.NullInt64
		start       sql.NullInt64
	)
	err := q.QueryRowContext(ctx, "SELECT lease_owner, lease_until, lease_host, lease_pid, lease_start FROM sessions WHERE id = ?", id).
		Scan(&owner, &until, &host, &pid, &start)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, Process{}, ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, Process{}, err
	}
	return owner.String, timeOf(until), Process{Host: host.String, PID: int(pid.Int64), Start: start.Int64}, nil
}

// ReleaseLease drops owner's lease (no-op if not held by owner).
func (s *Store) ReleaseLease(ctx context.Context, id int64, owner string) error {
	// Lazy: a release a power cut takes back leaves a lease that lapses,
	// or whose holder is seen gone.
	err := s.lazyTx(ctx, func(tx *rtx) error { return releaseLease(ctx, tx, id, owner) })
	if err != nil {
		return fmt.Errorf("release lease on session %d: %w", id, err)
	}
	return nil
}

func releaseLease(ctx context.Context, tx *rtx, id int64, owner string) error {
	_, err := tx.ExecContext(ctx, `UPDATE sessions SET lease_owner = NULL, lease_until = NULL,
		lease_host = NULL, lease_pid = NULL, lease_start = NULL WHERE id = ? AND lease_owner = ?`, id, owner)
	return err
}

// MarkSent records, durably and before the request goes out, that owner is
// about to send the refresh token with fingerprint fp for session id: after a
// crash the next holder knows the token may be spent. It fails with
// ErrLeaseLost, writing nothing, unless owner holds the lease. lost, when not
// nil, is inserted as an attempt in the same transaction (for "the previous
// refresh was sent but its answer was lost"); its ID is set.
// RecordRefresh clears the mark when it records the outcome.
func (s *Store) MarkSent(ctx context.Context, id int64, owner, fp string, lost *Attempt) error {
	now := s.nowMs()
	var attempt Attempt
	err := s.tx(ctx, func(tx *rtx) error {
		var holder sql.NullString
		err := tx.QueryRowContext(ctx, "SELECT lease_owner FROM sessions WHERE id = ?"+s.d.forUpdate, id).Scan(&holder)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if owner == "" || holder.String != owner {
			return ErrLeaseLost
		}
		var a *Attempt
		if lost != nil {
			attempt, a = *lost, &attempt
		}
		return s.markSent(ctx, tx, id, owner, fp, a, now)
	})
	if err != nil {
		return fmt.Errorf("mark refresh of session %d as sent: %w", id, err)
	}
	if lost != nil {
		lost.ID, lost.SessionID = attempt.ID, id
	}
	return nil
}

// markSent is the write of MarkSent and TakeLeaseAndMark, under the lease
// owner holds: lost (when not nil) recorded as an attempt, and the mark.
func (s *Store) markSent(ctx context.Context, tx *rtx, id int64, owner, fp string, lost *Attempt, now time.Time) error {
	if lost != nil {
		if err := s.recordAttempt(ctx, tx, id, lost, now); err != nil {
			return err
		}
	}
	_, err := tx.ExecContext(ctx, "UPDATE sessions SET sent_fp = ?, sent_at = ?, sent_by = ? WHERE id = ?",
		fp, now.UnixMilli(), owner, id)
	return err
}

// oneRow reports whether res changed exactly one row.
func oneRow(res sql.Result) (bool, error) {
	n, err := res.RowsAffected()
	return n == 1, err
}
