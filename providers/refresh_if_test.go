package providers_test

import (
	"context"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// TestRefreshIfSkipsWhenNoLongerNeeded: need sees the session as read under
// the lease, so the second of two processes that found a session due reads
// the first one's refresh and makes no request.
func TestRefreshIfSkipsWhenNoLongerNeeded(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	// Two processes looked at the session at version 1 and both found it due.
	a, b := newRefresher(st, "process-a"), newRefresher(st, "process-b")
	dueAtVersion := func(v int64) providers.Need {
		return func(sess vault.Session, _ vault.ScheduleReader) bool { return sess.Version == v }
	}
	repA, err := a.RefreshIf(ctx, s.ID, vault.TriggerScheduled, dueAtVersion(s.Version))
	if err != nil || repA.Shared || ts.count() != 1 {
		t.Fatalf("first: %+v %v", repA, err)
	}
	// The second one, under the lease, reads the refreshed session: no request.
	var seen vault.Session
	repB, err := b.RefreshIf(ctx, s.ID, vault.TriggerScheduled, func(sess vault.Session, sched vault.ScheduleReader) bool {
		seen = sess
		return dueAtVersion(s.Version)(sess, sched)
	})
	if err != nil || !repB.Shared || repB.Exchange != nil || repB.Attempt.ID != 0 || repB.Outcome != providers.OutcomeOK || ts.count() != 1 {
		t.Fatalf("second: %+v %v, %d requests", repB, err, ts.count())
	}
	if seen.Version != repA.Session.Version || seen.RefreshToken != repA.Session.RefreshToken || repB.Session.Version != seen.Version {
		t.Errorf("need saw version %d, want the refreshed %d", seen.Version, repA.Session.Version)
	}
	if attempts, _ := st.ListAttempts(ctx, s.ID, 0); len(attempts) != 1 {
		t.Errorf("%d attempts, want 1", len(attempts))
	}
	// need true: a normal refresh. nil need: always.
	if rep, err := b.RefreshIf(ctx, s.ID, vault.TriggerScheduled, dueAtVersion(repA.Session.Version)); err != nil || rep.Shared || ts.count() != 2 {
		t.Fatalf("needed: %+v %v", rep, err)
	}
	if rep, err := b.RefreshIf(ctx, s.ID, vault.TriggerManual, nil); err != nil || rep.Shared || ts.count() != 3 {
		t.Fatalf("nil need: %+v %v", rep, err)
	}
}
