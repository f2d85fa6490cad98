package vault

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestMarkSent: the mark needs the lease, survives a reopen, records a lost
// attempt with it, and is cleared by the refresh's outcome.
func TestMarkSent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, st, id := leaseEnvOn(t, env)
		if err := st.MarkSent(ctxb(), id, "a", "fp1", nil); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("MarkSent without the lease: %v, want ErrLeaseLost", err)
		}
		if !mustTake(t, st, id, "a") {
			t.Fatal("lease not taken")
		}
		lost := &Attempt{Outcome: "interrupted", SentFP: "fp0", Owner: "killed", Error: "answer lost",
			StartedAt: env.clock.Now().Add(-time.Minute)}
		if err := st.MarkSent(ctxb(), id, "a", "fp1", lost); err != nil {
			t.Fatal(err)
		}
		if lost.ID == 0 || lost.SessionID != id {
			t.Errorf("lost attempt not given its ID: %+v", lost)
		}
		if err := st.MarkSent(ctxb(), id, "b", "fp1", &Attempt{Outcome: "x"}); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("MarkSent by another owner: %v, want ErrLeaseLost", err)
		}
		if err := st.MarkSent(ctxb(), 999, "a", "fp1", nil); !errors.Is(err, ErrNotFound) {
			t.Errorf("MarkSent on a missing session: %v", err)
		}
		st.Close()

		// Durable: another process sees it.
		st = env.open(t)
		sess, err := st.GetSession(ctxb(), id)
		if err != nil {
			t.Fatal(err)
		}
		if sess.SentFP != "fp1" || sess.SentBy != "a" || !sess.SentAt.Equal(env.clock.Now()) {
			t.Errorf("sent mark = %q %q %v", sess.SentFP, sess.SentBy, sess.SentAt)
		}
		if bl, _ := st.GetSessionByLabel(ctxb(), "prod"); bl.SentFP != "fp1" {
			t.Errorf("GetSessionByLabel sent mark = %q", bl.SentFP)
		}
		attempts, err := st.ListAttempts(ctxb(), id, 0)
		if err != nil || len(attempts) != 1 {
			t.Fatalf("attempts: %v %d, want the lost one only (the refused MarkSent wrote none)", err, len(attempts))
		}
		if a := attempts[0]; a.Outcome != "interrupted" || a.Owner != "killed" || a.SentFP != "fp0" || !a.StartedAt.Equal(lost.StartedAt) {
			t.Errorf("lost attempt read back: %+v", a)
		}
		if sess.LastStatus != "interrupted" {
			t.Errorf("last status %q", sess.LastStatus)
		}

		// The outcome clears the mark in the same transaction.
		after, err := st.RecordRefreshReleasing(ctxb(), "a", id, sess.Version, &TokenUpdate{AccessToken: "access-2", RefreshToken: "refresh-2"},
			&Attempt{Outcome: OutcomeOK, Owner: "a"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if after.SentFP != "" || after.SentBy != "" || !after.SentAt.IsZero() {
			t.Errorf("sent mark kept after the outcome: %q %q %v", after.SentFP, after.SentBy, after.SentAt)
		}
		if attempts, _ := st.ListAttempts(ctxb(), id, 1); attempts[0].Owner != "a" {
			t.Errorf("attempt owner %q, want a", attempts[0].Owner)
		}

		// An attempt alone (a failure, no tokens) clears it too.
		mustTake(t, st, id, "a")
		if err := st.MarkSent(ctxb(), id, "a", "fp2", nil); err != nil {
			t.Fatal(err)
		}
		after, err = st.RecordRefresh(ctxb(), id, after.Version, nil, &Attempt{Outcome: "network_error"}, false)
		if err != nil {
			t.Fatal(err)
		}
		if after.SentFP != "" {
			t.Errorf("sent mark kept after a failed attempt: %q", after.SentFP)
		}
	})
}

// TestMigrateFromSchema1 opens a vault made by the previous schema: its
// sessions survive and the new columns work.
func TestMigrateFromSchema1(t *testing.T) {
	env := newTestEnv(t)
	saved := sqliteMigrations
	sqliteMigrations = saved[:1]
	old, err := Open(ctxb(), env.options())
	if err != nil {
		sqliteMigrations = saved
		t.Fatal(err)
	}
	sess := pathstackSession("prod")
	err = old.CreateSession(ctxb(), &sess)
	if err == nil { // a lease as the previous build took it
		_, err = old.db.Exec("UPDATE sessions SET lease_owner = 'old', lease_until = ? WHERE id = ?",
			env.clock.Now().Add(time.Hour).UnixMilli(), sess.ID)
	}
	old.Close()
	sqliteMigrations = saved
	if err != nil {
		t.Fatal(err)
	}

	st := env.open(t)
	got, err := st.GetSession(ctxb(), sess.ID)
	if err != nil || got.RefreshToken != sess.RefreshToken {
		t.Fatalf("session after migration: %v", err)
	}
	if owner, p, _, err := st.LeaseHolder(ctxb(), sess.ID); err != nil || owner != "old" || p != (Process{}) {
		t.Errorf("old lease: %q %+v %v", owner, p, err)
	}
	if _, err := st.SaveRecovery(ctxb(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "a", RefreshToken: "r"}, "test"); err != nil {
		t.Fatal(err)
	}
	if rec, err := st.PendingRecovery(ctxb(), got); err != nil || rec == nil {
		t.Errorf("pending recovery after migration: %v %v", rec, err)
	}
}

// TestTakeLeaseAndMark: the lease, the session read under it and the plan's
// mark (with a lost attempt) in one transaction; a plan without a mark takes
// the lease alone; a lease held by another owner is not taken and the plan
// is not asked for.
func TestTakeLeaseAndMark(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, st, id := leaseEnvOn(t, env)
		var seen Session
		lost := &Attempt{Outcome: "interrupted", SentFP: "fp0", Owner: "killed", Error: "answer lost"}
		sess, taken, plan, err := st.TakeLeaseAndMark(ctxb(), id, "a", time.Hour, func(s Session, _ ScheduleReader) SendPlan {
			seen = s
			return SendPlan{Mark: true, FP: "fp1", Lost: lost}
		})
		if err != nil || !taken || !plan.Mark {
			t.Fatalf("taken %v, plan %+v, err %v", taken, plan, err)
		}
		if seen.ID != id || seen.RefreshToken == "" || sess.SentFP != "fp1" || sess.SentBy != "a" {
			t.Errorf("decided on %+v; returned sent mark %q by %q", seen, sess.SentFP, sess.SentBy)
		}
		if lost.ID == 0 || lost.SessionID != id {
			t.Errorf("lost attempt not given its ID: %+v", lost)
		}
		st.Close()

		// Durable, and the lease is held: another process sees both.
		other := env.open(t)
		stored, err := other.GetSession(ctxb(), id)
		if err != nil {
			t.Fatal(err)
		}
		if stored.SentFP != "fp1" || stored.SentBy != "a" || stored.LastStatus != "interrupted" {
			t.Errorf("stored: sent %q by %q, last status %q", stored.SentFP, stored.SentBy, stored.LastStatus)
		}
		if owner, _, _, err := other.LeaseHolder(ctxb(), id); err != nil || owner != "a" {
			t.Errorf("lease owner %q, %v", owner, err)
		}
		asked := false
		if _, taken, _, err := other.TakeLeaseAndMark(ctxb(), id, "b", time.Hour, func(Session, ScheduleReader) SendPlan {
			asked = true
			return SendPlan{Mark: true, FP: "fp2"}
		}); err != nil || taken || asked {
			t.Errorf("over a live lease: taken %v, asked %v, err %v", taken, asked, err)
		}
		if s, _ := other.GetSession(ctxb(), id); s.SentFP != "fp1" {
			t.Errorf("a refused take changed the mark to %q", s.SentFP)
		}

		// No mark: the lease alone.
		if err := other.ReleaseLease(ctxb(), id, "a"); err != nil {
			t.Fatal(err)
		}
		if _, taken, plan, err := other.TakeLeaseAndMark(ctxb(), id, "c", time.Hour, func(Session, ScheduleReader) SendPlan { return SendPlan{} }); err != nil || !taken || plan.Mark {
			t.Fatalf("plan without a mark: taken %v, plan %+v, err %v", taken, plan, err)
		}
		if s, _ := other.GetSession(ctxb(), id); s.SentFP != "fp1" {
			t.Errorf("a plan without a mark changed the mark to %q", s.SentFP)
		}
		if owner, _, _, _ := other.LeaseHolder(ctxb(), id); owner != "c" {
			t.Errorf("lease owner %q, want c", owner)
		}
		if _, _, _, err := other.TakeLeaseAndMark(ctxb(), 999, "c", time.Hour, func(Session, ScheduleReader) SendPlan { return SendPlan{} }); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing session: %v", err)
		}
	})
}

// TestTakeLeaseAndMarkFailsWhenRecoveryCannotBeListed: a refresh token is
// sent on what the read under the lease says about recovery, so a recovery
// folder that cannot be listed fails it (nothing marked, no lease) rather
// than counting no files; an ordinary read still counts what it can.
func TestTakeLeaseAndMarkFailsWhenRecoveryCannotBeListed(t *testing.T) {
	env, st, id := leaseEnv(t)
	notADir := filepath.Join(env.dir, "a-file")
	if err := os.WriteFile(notADir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st.recoveryPath = filepath.Join(notADir, "vault.db") // its folder is a file: listing fails
	_, taken, plan, err := st.TakeLeaseAndMark(ctxb(), id, "a", time.Hour, func(Session, ScheduleReader) SendPlan {
		return SendPlan{Mark: true, FP: "fp1"}
	})
	if err == nil || taken || plan.Mark {
		t.Fatalf("taken %v, plan %+v, err %v; want an error", taken, plan, err)
	}
	sess, err := st.GetSession(ctxb(), id)
	if err != nil {
		t.Fatalf("an ordinary read: %v", err)
	}
	if sess.SentFP != "" {
		t.Errorf("marked %q although the take failed", sess.SentFP)
	}
	if owner, _, _, _ := st.LeaseHolder(ctxb(), id); owner != "" {
		t.Errorf("lease held by %q although the take failed", owner)
	}
	if _, err := st.PendingRecovery(ctxb(), sess); err == nil {
		t.Error("PendingRecovery counted no files in a folder it could not list")
	}
}

// TestTakeLeaseAndMarkReadsScheduleInItsTransaction: the decision is given
// a reader of the session's schedule in the transaction that took the
// lease: ErrNotFound when there is none, else the schedule as stored, even
// when the pool has no other connection to give (a read through the Store
// would wait for the very transaction it is in). The pool is capped only
// once the first read has prepared the statements: they are prepared
// through the pool (see rdb.stmt), which takes a connection of its own.
func TestTakeLeaseAndMarkReadsScheduleInItsTransaction(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		_, st, id := leaseEnvOn(t, env)
		read := func(owner string) (Schedule, error) {
			t.Helper()
			ctx, cancel := context.WithTimeout(ctxb(), 5*time.Second)
			defer cancel()
			var (
				got  Schedule
				gerr error
			)
			_, taken, _, err := st.TakeLeaseAndMark(ctx, id, owner, time.Hour, func(_ Session, sched ScheduleReader) SendPlan {
				got, gerr = sched.GetSchedule(ctx, id)
				return SendPlan{}
			})
			if err != nil || !taken {
				t.Fatalf("taken %v, err %v", taken, err)
			}
			if err := st.ReleaseLease(ctxb(), id, owner); err != nil {
				t.Fatal(err)
			}
			return got, gerr
		}
		if _, err := read("a"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("no schedule: %v, want ErrNotFound", err)
		}
		want := Schedule{SessionID: id, Mode: ScheduleEvery, Interval: 90 * time.Second, Enabled: true}
		if err := st.PutSchedule(ctxb(), want); err != nil {
			t.Fatal(err)
		}
		st.db.SetMaxOpenConns(1)
		got, err := read("b")
		if err != nil {
			t.Fatalf("read in the transaction: %v", err)
		}
		if got.SessionID != id || got.Mode != want.Mode || got.Interval != want.Interval || !got.Enabled {
			t.Errorf("read %+v, want %+v", got, want)
		}
	})
}

// TestTakeLeaseAndMarkReadsScheduleWrittenEarlierInItsBatch: on SQLite,
// where concurrent writes share one transaction (see group), the decision
// reads the schedule as the batch's earlier writes left it, committed or
// not: as if they had run one by one.
func TestTakeLeaseAndMarkReadsScheduleWrittenEarlierInItsBatch(t *testing.T) {
	_, st, id := leaseEnv(t)
	release, first := holdLead(t, st)
	put := make(chan error, 1)
	go func() {
		put <- st.PutSchedule(ctxb(), Schedule{SessionID: id, Mode: ScheduleEvery, Interval: 90 * time.Second, Enabled: true})
	}()
	queued(t, st, 1)
	type result struct {
		sch   Schedule
		taken bool
		err   error
	}
	got := make(chan result, 1)
	go func() {
		var r result
		_, taken, _, err := st.TakeLeaseAndMark(ctxb(), id, "a", time.Hour, func(_ Session, sched ScheduleReader) SendPlan {
			r.sch, r.err = sched.GetSchedule(ctxb(), id)
			return SendPlan{}
		})
		if err != nil {
			r.err = err
		}
		r.taken = taken
		got <- r
	}()
	queued(t, st, 2)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if err := await(t, put, "the schedule's write"); err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil || !r.taken {
		t.Fatalf("taken %v, read %v", r.taken, r.err)
	}
	if r.sch.Mode != ScheduleEvery || r.sch.Interval != 90*time.Second {
		t.Errorf("read %+v, want the schedule written before it in the batch", r.sch)
	}
}
