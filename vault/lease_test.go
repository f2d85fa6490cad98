package vault

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// TestLeaseAcrossStores opens the vault twice, as two processes would.
func TestLeaseAcrossStores(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		dashboard := env.open(t)
		watch := env.open(t)
		sess := pathstackSession("prod")
		if err := dashboard.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		// Leases run by the test clock on SQLite, by the database's on
		// PostgreSQL: there the expiry is waited for.
		ttl := 30 * time.Second
		if env.backend == BackendPostgres {
			ttl = 2 * time.Second
		}
		take := func(s *Store, owner string) bool {
			t.Helper()
			ok, err := s.TakeLease(ctxb(), sess.ID, owner, ttl)
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}

		if !take(dashboard, "dashboard") {
			t.Fatal("free lease not taken")
		}
		if take(watch, "watch") {
			t.Fatal("held lease taken by another owner")
		}
		if !take(dashboard, "dashboard") {
			t.Error("owner could not renew its own lease")
		}
		// Releasing someone else's lease does nothing.
		if err := watch.ReleaseLease(ctxb(), sess.ID, "watch"); err != nil {
			t.Fatal(err)
		}
		if take(watch, "watch") {
			t.Fatal("lease released by a non-owner")
		}
		if err := dashboard.ReleaseLease(ctxb(), sess.ID, "dashboard"); err != nil {
			t.Fatal(err)
		}
		if !take(watch, "watch") {
			t.Fatal("released lease not taken")
		}
		if take(dashboard, "dashboard") {
			t.Fatal("lease taken while watch holds it")
		}
		// watch dies without releasing: the lease expires.
		if env.backend == BackendSQLite {
			env.clock.Advance(29 * time.Second)
		}
		if take(dashboard, "dashboard") {
			t.Fatal("lease taken before it expired")
		}
		if env.backend == BackendSQLite {
			env.clock.Advance(2 * time.Second)
		} else {
			time.Sleep(ttl + 100*time.Millisecond)
		}
		if !take(dashboard, "dashboard") {
			t.Fatal("expired lease not taken")
		}

		if _, err := dashboard.TakeLease(ctxb(), 999, "dashboard", time.Second); !errors.Is(err, ErrNotFound) {
			t.Errorf("lease on a missing session: %v", err)
		}
	})
}

// TestConcurrentWritersAcrossStores: contenders in two stores race for one
// lease and one compare-and-swap; exactly one wins each, and nobody sees
// SQLITE_BUSY (writes are BEGIN IMMEDIATE with a busy timeout).
func TestConcurrentWritersAcrossStores(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		stores := []*Store{env.open(t), env.open(t)}
		sess := pathstackSession("prod")
		if err := stores[0].CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		const workers = 8
		var (
			wg            sync.WaitGroup
			mu            sync.Mutex
			leases, swaps int
			conflicts     int
			unexpected    []error
		)
		for i := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := stores[i%2]
				ok, err := s.TakeLease(ctxb(), sess.ID, fmt.Sprintf("worker-%d", i), time.Minute)
				_, casErr := s.RecordRefresh(ctxb(), sess.ID, 1,
					&TokenUpdate{AccessToken: fmt.Sprintf("a-%d", i), RefreshToken: fmt.Sprintf("r-%d", i)},
					&Attempt{Outcome: OutcomeOK}, false)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					unexpected = append(unexpected, err)
				} else if ok {
					leases++
				}
				switch {
				case casErr == nil:
					swaps++
				case errors.Is(casErr, ErrVersionConflict):
					conflicts++
				default:
					unexpected = append(unexpected, casErr)
				}
			}()
		}
		wg.Wait()
		if len(unexpected) > 0 {
			t.Fatalf("unexpected errors: %v", unexpected)
		}
		if leases != 1 || swaps != 1 || conflicts != workers-1 {
			t.Errorf("leases %d swaps %d conflicts %d; want 1, 1, %d", leases, swaps, conflicts, workers-1)
		}
		got, _ := stores[1].GetSession(ctxb(), sess.ID)
		if got.Version != 2 {
			t.Errorf("version %d, want 2", got.Version)
		}
		if attempts, _ := stores[0].ListAttempts(ctxb(), sess.ID, 0); len(attempts) != 1 {
			t.Errorf("%d attempts recorded, want 1", len(attempts))
		}
	})
}

// TestRecordRefreshReleasingDropsLease: the attempt's transaction also frees
// the lease, so another owner can take it at once; a failed write keeps it.
func TestRecordRefreshReleasingDropsLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		st := env.open(t)
		sess := pathstackSession("lease-release")
		ctx := ctxb()
		if err := st.CreateSession(ctx, &sess); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.TakeLease(ctx, sess.ID, "a", time.Minute); err != nil || !ok {
			t.Fatalf("take: %v %v", ok, err)
		}
		// A stale version: nothing written, the lease stays with a.
		if _, err := st.RecordRefreshReleasing(ctx, "a", sess.ID, sess.Version+7, &TokenUpdate{AccessToken: "opaque-new"}, &Attempt{Outcome: "ok"}, false); !errors.Is(err, ErrVersionConflict) {
			t.Fatalf("stale version: %v", err)
		}
		if ok, _ := st.TakeLease(ctx, sess.ID, "b", time.Minute); ok {
			t.Fatal("a failed record released the lease")
		}
		if _, err := st.RecordRefreshReleasing(ctx, "a", sess.ID, sess.Version, &TokenUpdate{AccessToken: "opaque-new"}, &Attempt{Outcome: "ok"}, false); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.TakeLease(ctx, sess.ID, "b", time.Minute); err != nil || !ok {
			t.Fatalf("lease not released with the record: %v %v", ok, err)
		}
	})
}
