package providers_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// holdLease makes another process hold the session's lease. The vault's
// clock is the fake one, so the lease never lapses on its own.
func holdLease(t *testing.T, st *vault.Store, id int64) {
	t.Helper()
	ok, err := st.TakeLease(context.Background(), id, "another-process", time.Hour)
	if err != nil || !ok {
		t.Fatalf("take lease: %v %v", ok, err)
	}
}

// TestSchedulerSavesTheBackoffOfARefreshThatRanOutOfTime: a refresh that
// spent all of RefreshTimeout waiting for another process's lease fails, and
// its failure and backoff are saved all the same (on a context of their own,
// not the refresh's, which has run out).
func TestSchedulerSavesTheBackoffOfARefreshThatRanOutOfTime(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	holdLease(t, st, s.ID)
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{RefreshTimeout: 300 * time.Millisecond})

	res := rs.next(t)
	now := clock.Now()
	if !errors.Is(res.Err, vault.ErrLeaseHeld) || !errors.Is(res.Err, context.DeadlineExceeded) || res.Report != nil {
		t.Fatalf("result %+v, want a lease wait that ran out", res)
	}
	if res.Schedule.Failures != 1 || !res.Schedule.BackoffUntil.Equal(now.Add(5*time.Second)) || res.Schedule.LastError == "" {
		t.Fatalf("schedule after the failure: %+v", res.Schedule)
	}
	select {
	case err := <-rs.errs:
		t.Fatalf("scheduler error: %v", err)
	default:
	}
	stored := getSchedule(t, st, s.ID)
	if stored.Failures != 1 || !stored.BackoffUntil.Equal(res.Schedule.BackoffUntil) || stored.LastError != res.Schedule.LastError {
		t.Fatalf("stored schedule %+v, want the failure and its backoff", stored)
	}
	if ts.count() != 0 {
		t.Errorf("%d requests under another process's lease", ts.count())
	}
}

// schedulerWaitingForLease runs a Scheduler whose one due session's lease
// another process holds, and returns once its refresh waits for the lease.
func schedulerWaitingForLease(t *testing.T) (*tokenServer, *fakeClock, *vault.Store, vault.Session, *running) {
	t.Helper()
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	holdLease(t, st, s.ID)
	r := refresherAt(st, "", clock.Now)
	waiting := make(chan struct{}, 1)
	providers.SetTestHooks(r, nil, func() { waiting <- struct{}{} })
	rs := runScheduler(t, st, r, clock, providers.SchedulerOptions{RefreshTimeout: time.Minute})
	select {
	case <-waiting:
	case <-time.After(10 * time.Second):
		t.Fatal("the scheduled refresh never waited for the lease")
	}
	return ts, clock, st, s, rs
}

// TestSchedulerStopsWhileWaitingForALease: stopping with nothing sent, only a
// wait for another process's lease, returns at once (not after the 60 s
// RefreshTimeout), and the refresh cut short is no failure.
func TestSchedulerStopsWhileWaitingForALease(t *testing.T) {
	ts, _, st, s, rs := schedulerWaitingForLease(t)

	stopped := make(chan error, 1)
	go func() { stopped <- rs.stop() }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still waits for another process's lease 10 s after the stop")
	}
	select {
	case res := <-rs.results:
		t.Errorf("a refresh cut short was reported: %+v", res)
	case err := <-rs.errs:
		t.Errorf("scheduler error: %v", err)
	default:
	}
	if stored := getSchedule(t, st, s.ID); stored.Failures != 0 || !stored.BackoffUntil.IsZero() || stored.LastError != "" {
		t.Errorf("stopping counted as a failure: %+v", stored)
	}
	if ts.count() != 0 {
		t.Errorf("%d requests under another process's lease", ts.count())
	}
}

// TestSchedulerJoinsARequestThatOutlivedItsTimeout: when RefreshTimeout runs
// out after the request was sent, the request goes on in the background;
// that is no failure: the next round joins it and reports its outcome.
func TestSchedulerJoinsARequestThatOutlivedItsTimeout(t *testing.T) {
	ts := newTokenServer(t)
	gate := make(chan struct{})
	var closeGate sync.Once
	release := func() { closeGate.Do(func() { close(gate) }) }
	t.Cleanup(release)
	ts.set(func(ts *tokenServer) { ts.gate = gate })
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	r := refresherAt(st, "", clock.Now)
	providers.SetTestHooks(r, release, nil) // the second round joined the request: let it be answered
	rs := runScheduler(t, st, r, clock, providers.SchedulerOptions{RefreshTimeout: 200 * time.Millisecond})

	res := rs.next(t)
	if res.Err != nil || res.Report == nil || res.Report.Outcome != providers.OutcomeOK || res.Schedule.Failures != 0 {
		t.Fatalf("result %+v, want the background request's success", res)
	}
	if ts.count() != 1 {
		t.Errorf("%d requests, want the one that outlived its timeout", ts.count())
	}
	stored := getSchedule(t, st, s.ID)
	if sess, err := st.GetSession(context.Background(), s.ID); err != nil || sess.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" ||
		stored.Failures != 0 || !stored.NextDue.Equal(sess.ExpiresAt.Add(-6*time.Minute)) {
		t.Errorf("stored %+v / %+v %v", stored, sess, err)
	}
}
