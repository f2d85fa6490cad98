package providers_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// statRecorder is an os.Stat that remembers what it was asked.
type statRecorder struct {
	mu    sync.Mutex
	names map[string]int
	fail  error // non-nil: every stat fails with it
}

func (r *statRecorder) stat(name string) (fs.FileInfo, error) {
	r.mu.Lock()
	if r.names == nil {
		r.names = map[string]int{}
	}
	r.names[filepath.Base(name)]++
	fail := r.fail
	r.mu.Unlock()
	if fail != nil {
		return nil, fail
	}
	return os.Stat(name)
}

func (r *statRecorder) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.names {
		out[k] = v
	}
	return out
}

// TestSchedulerIdleCostsNothing: with nothing due and nobody writing to the
// vault, the Scheduler only stats the vault file and its WAL every 2 s: no
// reload, no refresh, no timer firing, no new timers between looks.
func TestSchedulerIdleCostsNothing(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(2*time.Hour))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	stats := &statRecorder{}
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{Reload: 2 * time.Second, Stat: stats.stat})
	waitFor(t, "the scheduler to sleep", func() bool { return clock.afterCalls() == 2 }) // look + due timer
	startStats := stats.counts()

	const steps = 300 // 10 minutes in 2 s looks
	for i := range steps {
		clock.Advance(2 * time.Second)
		waitFor(t, "the look at the vault", func() bool { return rs.sched.Stats().Checks == int64(i+1) })
	}
	got := rs.sched.Stats()
	if got.Reloads != 1 || got.Refreshes != 0 || got.Wakeups != 0 {
		t.Errorf("idle scheduler worked: %+v, want the start's reload only", got)
	}
	if ts.count() != 0 {
		t.Errorf("%d requests while idle", ts.count())
	}
	if n := clock.afterCalls(); n != 2+steps {
		t.Errorf("%d timers for %d looks: the scheduler polls", n, steps)
	}
	counts := stats.counts()
	if len(counts) != 2 || counts["vault.db"]-startStats["vault.db"] != steps || counts["vault.db-wal"]-startStats["vault.db-wal"] != steps {
		t.Errorf("stats %v (at the start %v), want vault.db and vault.db-wal once per look", counts, startStats)
	}
	t.Logf("%d looks in 10 minutes: %+v, %v stats", steps, got, counts)
}

// TestSchedulerPicksUpAnotherStoresChange: a schedule written through another
// Store on the same file (another process) shows in the vault's WAL; the
// next look reloads and runs it, and looks after that reload no more.
func TestSchedulerPicksUpAnotherStoresChange(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	dir := t.TempDir()
	stA, stB := openStoreAt(t, dir, clock.Now), openStoreAt(t, dir, clock.Now)
	s := addSession(t, stA, ts.URL, clock.Now().Add(-time.Minute)) // expired
	rs := runScheduler(t, stA, refresherAt(stA, "", clock.Now), clock, providers.SchedulerOptions{Reload: 2 * time.Second})
	waitFor(t, "the first look's timer", func() bool { return clock.afterCalls() >= 1 })

	for i := range 3 {
		clock.Advance(2 * time.Second)
		waitFor(t, "a look", func() bool { return rs.sched.Stats().Checks == int64(i+1) })
	}
	if got := rs.sched.Stats(); got.Reloads != 1 {
		t.Fatalf("reloaded an unchanged vault: %+v", got)
	}

	putSchedule(t, stB, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	clock.Advance(2 * time.Second) // the look sees the WAL changed, the reload finds the schedule due
	if res := rs.next(t); res.Err != nil || ts.count() != 1 {
		t.Fatalf("after another store's change: %+v", res)
	}
	if got := rs.sched.Stats(); got.Reloads < 2 {
		t.Fatalf("refreshed without reloading: %+v", got)
	}

	// The refresh wrote to the vault: the next look reloads, later ones not.
	checks, reloads := rs.sched.Stats().Checks, rs.sched.Stats().Reloads
	clock.Advance(2 * time.Second)
	waitFor(t, "a look", func() bool { return rs.sched.Stats().Checks > checks })
	if got := rs.sched.Stats(); got.Reloads != reloads+1 {
		t.Fatalf("the refresh's own writes not reloaded: %+v", got)
	}
	reloads = rs.sched.Stats().Reloads
	for range 3 {
		checks := rs.sched.Stats().Checks
		clock.Advance(2 * time.Second)
		waitFor(t, "a look", func() bool { return rs.sched.Stats().Checks > checks })
	}
	if got := rs.sched.Stats(); got.Reloads != reloads || ts.count() != 1 {
		t.Errorf("after the refresh settled: %+v, %d requests", got, ts.count())
	}
}

// TestSchedulerReloadsWhenItCannotStat: a vault whose files cannot be stat'ed
// is re-read at every look rather than never.
func TestSchedulerReloadsWhenItCannotStat(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	stats := &statRecorder{fail: errors.New("permission denied")}
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{Reload: 2 * time.Second, Stat: stats.stat})
	waitFor(t, "the first look's timer", func() bool { return clock.afterCalls() >= 1 })

	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	clock.Advance(2 * time.Second)
	if res := rs.next(t); res.Err != nil || ts.count() != 1 {
		t.Fatalf("after a failed stat: %+v", res)
	}
	for range 3 {
		reloads := rs.sched.Stats().Reloads
		clock.Advance(2 * time.Second)
		waitFor(t, "a reload", func() bool { return rs.sched.Stats().Reloads > reloads })
	}
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	if st, err := st.GetSchedule(context.Background(), s.ID); err != nil || st.Failures != 0 {
		t.Errorf("schedule %+v, %v", st, err)
	}
}
