package providers_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// fakeClock is a manual clock: Now, and After timers that fire when Advance
// passes their deadline.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []clockWaiter
	afters  int // After calls so far
}

type clockWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: testClock} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afters++
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, clockWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves the clock and fires the timers it passes.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

func (c *fakeClock) afterCalls() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.afters
}

// openStoreAt opens the vault in dir on the given clock.
func openStoreAt(t testing.TB, dir string, now func() time.Time) *vault.Store {
	t.Helper()
	st, err := vault.Open(context.Background(), vault.Options{
		Path: filepath.Join(dir, "vault.db"), KeyFile: filepath.Join(dir, "key"), Now: now,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// refresherAt builds a Refresher whose clients and attempts use now.
func refresherAt(st *vault.Store, owner string, now func() time.Time) *providers.Refresher {
	hc := providers.NewHTTPClient(providers.ClientOptions{})
	reg := providers.NewRegistry(pathstack.New(hc, now), galileo.New(hc, now))
	return providers.NewRefresher(st, reg, providers.RefresherOptions{Owner: owner, Now: now})
}

// running is a Scheduler running in the background with its results.
type running struct {
	sched   *providers.Scheduler
	results chan providers.ScheduledResult
	errs    chan error
	stop    func() error // cancels Run and returns its error
}

// runScheduler starts a Scheduler on clock with jitter off (Rand 0.5).
func runScheduler(t *testing.T, st *vault.Store, r *providers.Refresher, clock *fakeClock, opts providers.SchedulerOptions) *running {
	t.Helper()
	rs := &running{results: make(chan providers.ScheduledResult, 2000), errs: make(chan error, 100)}
	opts.Now, opts.After = clock.Now, clock.After
	if opts.Rand == nil {
		opts.Rand = func() float64 { return 0.5 }
	}
	opts.OnResult = func(res providers.ScheduledResult) { rs.results <- res }
	opts.OnError = func(err error) { rs.errs <- err }
	rs.sched = providers.NewScheduler(st, r, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rs.sched.Run(ctx) }()
	var once sync.Once
	var runErr error
	rs.stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(30 * time.Second):
				runErr = errors.New("Run did not return after cancel")
			}
		})
		return runErr
	}
	t.Cleanup(func() { rs.stop() })
	return rs
}

func (rs *running) next(t *testing.T) providers.ScheduledResult {
	t.Helper()
	select {
	case res := <-rs.results:
		return res
	case err := <-rs.errs:
		t.Fatalf("scheduler error: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no scheduled refresh within 10 s")
	}
	return providers.ScheduledResult{}
}

// waitFor polls cond (real time) for up to 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func putSchedule(t *testing.T, st *vault.Store, sch vault.Schedule) {
	t.Helper()
	if err := st.PutSchedule(context.Background(), sch); err != nil {
		t.Fatal(err)
	}
}

func getSchedule(t *testing.T, st *vault.Store, id int64) vault.Schedule {
	t.Helper()
	sch, err := st.GetSchedule(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// TestSchedulerBeforeExpiry follows one session through a scheduled refresh,
// failures backing off, recovery, and the 401 that disables the schedule.
func TestSchedulerBeforeExpiry(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(30*time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Margin: 10 * time.Minute, Enabled: true})
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{})

	waitFor(t, "the scheduler to sleep", func() bool { return clock.afterCalls() >= 2 }) // reload + due timer
	clock.Advance(19 * time.Minute)
	if ts.count() != 0 {
		t.Fatal("refreshed before the due time")
	}
	clock.Advance(time.Minute) // 10 minutes before expiry
	res := rs.next(t)
	now := clock.Now()
	if res.Err != nil || res.Report == nil || res.Report.Shared || res.Report.Attempt.Trigger != vault.TriggerScheduled ||
		res.Label != "prod" || ts.count() != 1 {
		t.Fatalf("first refresh: %+v", res)
	}
	if want := now.Add(50 * time.Minute); !res.NextDue.Equal(want) || res.Schedule.Failures != 0 {
		t.Fatalf("next due %v, want %v (1h token, 10 min margin)", res.NextDue, want)
	}
	if stored := getSchedule(t, st, s.ID); !stored.NextDue.Equal(res.NextDue) || !stored.Enabled || stored.Margin != 10*time.Minute {
		t.Fatalf("stored schedule %+v", stored)
	}

	// Server errors back off 5 s, 10 s, ... (no jitter here), then heal.
	ts.set(func(ts *tokenServer) { ts.status = 500 })
	clock.Advance(50 * time.Minute)
	for i, wait := range []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second} {
		res = rs.next(t)
		now = clock.Now()
		if res.Err == nil || res.Schedule.Failures != i+1 || !res.NextDue.Equal(now.Add(wait)) ||
			!res.Schedule.BackoffUntil.Equal(now.Add(wait)) || !strings.Contains(res.Schedule.LastError, "500") {
			t.Fatalf("failure %d: %+v", i+1, res.Schedule)
		}
		if stored := getSchedule(t, st, s.ID); stored.Failures != i+1 || stored.LastError != res.Schedule.LastError {
			t.Fatalf("failure %d stored as %+v", i+1, stored)
		}
		clock.Advance(wait - time.Second)
		if i < 2 && ts.count() != 2+i {
			t.Fatal("retried before the backoff ended")
		}
		if i == 2 {
			ts.set(func(ts *tokenServer) { ts.status = 0 })
		}
		clock.Advance(time.Second)
	}
	res = rs.next(t)
	if res.Err != nil || res.Schedule.Failures != 0 || res.Schedule.LastError != "" || !res.Schedule.BackoffUntil.IsZero() {
		t.Fatalf("recovery: %+v", res.Schedule)
	}

	// 401: retrying cannot help; the schedule turns itself off and says why.
	ts.set(func(ts *tokenServer) { ts.status = 401 })
	clock.Advance(50 * time.Minute)
	res = rs.next(t)
	if !res.Disabled || res.Schedule.Enabled || !res.NextDue.IsZero() || !strings.Contains(res.Schedule.LastError, "log in again") ||
		!strings.Contains(res.Schedule.LastError, "401") || strings.Contains(res.Schedule.LastError, "MRK-refresh") {
		t.Fatalf("401: %+v", res)
	}
	if stored := getSchedule(t, st, s.ID); stored.Enabled || stored.LastError != res.Schedule.LastError {
		t.Fatalf("401 stored as %+v", stored)
	}
	requests := ts.count()
	checks := rs.sched.Stats().Checks
	clock.Advance(24 * time.Hour)
	waitFor(t, "a look at the vault", func() bool { return rs.sched.Stats().Checks > checks })
	if ts.count() != requests {
		t.Error("a disabled schedule refreshed")
	}
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
}

func TestSchedulerEvery(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(time.Hour))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleEvery, Interval: 10 * time.Minute, Enabled: true})
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{})

	res := rs.next(t) // never refreshed: due at once
	start := clock.Now()
	if res.Err != nil || !res.NextDue.Equal(start.Add(10*time.Minute)) {
		t.Fatalf("first: %+v", res)
	}
	for i := range 3 {
		clock.Advance(10 * time.Minute)
		if res = rs.next(t); res.Err != nil || !res.NextDue.Equal(start.Add(time.Duration(i+2)*10*time.Minute)) {
			t.Fatalf("refresh %d: %+v", i+2, res)
		}
	}
	if ts.count() != 4 {
		t.Errorf("%d requests, want 4", ts.count())
	}
}

// TestSchedulerStoppedBeforeItStartsIsNoError: a Run whose ctx is done
// before it has read the schedules (Ctrl-C as tokentop watch starts)
// returns nil, as any stop does, and sends nothing; a Run that cannot read
// them on a live ctx says so.
func TestSchedulerStoppedBeforeItStartsIsNoError(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Margin: 5 * time.Minute, Enabled: true})
	sched := providers.NewScheduler(st, refresherAt(st, "", clock.Now), providers.SchedulerOptions{Now: clock.Now, After: clock.After})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := sched.Run(ctx); err != nil {
		t.Errorf("Run on a done ctx: %v, want nil", err)
	}
	if ts.count() != 0 {
		t.Errorf("%d requests after a stop before the start", ts.count())
	}
	st.Close()
	if err := sched.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "run schedules") {
		t.Errorf("Run on a closed vault: %v, want the schedules' read error", err)
	}
}

// TestSchedulerPicksUpChanges: a schedule written by another process is run
// after the next reload; Wake runs one at once; a schedule deleted stops.
func TestSchedulerPicksUpChanges(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute)) // expired
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{Reload: 2 * time.Second})
	waitFor(t, "the first reload", func() bool { return clock.afterCalls() >= 1 })

	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	clock.Advance(2 * time.Second) // the reload finds it, due at once
	if res := rs.next(t); res.Err != nil || ts.count() != 1 {
		t.Fatalf("after reload: %+v", res)
	}

	// Changed meanwhile to `every 5s`, told through Wake: no clock needed
	// beyond the new due time.
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleEvery, Interval: 5 * time.Second, Enabled: true})
	rs.sched.Wake()
	clock.Advance(5 * time.Second)
	if res := rs.next(t); res.Err != nil || ts.count() != 2 {
		t.Fatalf("after wake: %+v", res)
	}
	if err := st.DeleteSchedule(context.Background(), s.ID); err != nil {
		t.Fatal(err)
	}
	reloads := rs.sched.Stats().Reloads
	rs.sched.Wake()
	waitFor(t, "the wake's reload", func() bool { return rs.sched.Stats().Reloads > reloads })
	checks := rs.sched.Stats().Checks
	clock.Advance(time.Hour)
	waitFor(t, "a look at the vault", func() bool { return rs.sched.Stats().Checks > checks })
	if ts.count() != 2 {
		t.Errorf("a deleted schedule refreshed: %d requests", ts.count())
	}
}

// TestSchedulerTwoProcessesRefreshOnce: two Schedulers (two vault handles,
// two lease owners) on one vault file refresh each due session once.
func TestSchedulerTwoProcessesRefreshOnce(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	dir := t.TempDir()
	stA, stB := openStoreAt(t, dir, clock.Now), openStoreAt(t, dir, clock.Now)
	s := addSession(t, stA, ts.URL, clock.Now().Add(30*time.Minute))
	putSchedule(t, stA, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Margin: 10 * time.Minute, Enabled: true})
	a := runScheduler(t, stA, refresherAt(stA, "process-a", clock.Now), clock, providers.SchedulerOptions{})
	b := runScheduler(t, stB, refresherAt(stB, "process-b", clock.Now), clock, providers.SchedulerOptions{})
	waitFor(t, "both schedulers to sleep", func() bool { return clock.afterCalls() >= 4 })

	for round := 1; round <= 5; round++ {
		if round == 1 {
			clock.Advance(20 * time.Minute)
		} else {
			clock.Advance(50 * time.Minute)
		}
		ra, rb := a.next(t), b.next(t)
		if ra.Err != nil || rb.Err != nil {
			t.Fatalf("round %d: %v / %v", round, ra.Err, rb.Err)
		}
		if ra.Report.Shared == rb.Report.Shared {
			t.Fatalf("round %d: shared %v and %v, want exactly one refresh", round, ra.Report.Shared, rb.Report.Shared)
		}
		if !ra.NextDue.Equal(rb.NextDue) {
			t.Fatalf("round %d: the schedulers disagree: %v / %v", round, ra.NextDue, rb.NextDue)
		}
		if ts.count() != round {
			t.Fatalf("round %d: %d requests", round, ts.count())
		}
	}
	attempts, err := stA.ListAttempts(context.Background(), s.ID, 0)
	if err != nil || len(attempts) != 5 {
		t.Fatalf("%d attempts, %v", len(attempts), err)
	}
	for _, at := range attempts {
		if at.Outcome != "ok" {
			t.Errorf("attempt %+v", at) // a spent token would have been refused with 401
		}
	}
}

// TestSchedulerKeepsAnEditMadeDuringTheRefresh: the schedule saved after a
// refresh starts from the vault's row, so a concurrent edit survives.
func TestSchedulerKeepsAnEditMadeDuringTheRefresh(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	edited := vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleEvery, Interval: time.Hour, Enabled: true}
	ts.set(func(ts *tokenServer) {
		ts.during = func() {
			if err := st.PutSchedule(context.Background(), edited); err != nil {
				t.Error(err)
			}
		}
	})
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{})
	res := rs.next(t)
	stored := getSchedule(t, st, s.ID)
	if res.Err != nil || stored.Mode != vault.ScheduleEvery || stored.Interval != time.Hour ||
		!stored.NextDue.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("stored %+v after %+v", stored, res)
	}
}

// TestSchedulerStopLetsRefreshesFinish: cancelling Run does not cancel a
// request in flight; its result is saved before Run returns.
func TestSchedulerStopLetsRefreshesFinish(t *testing.T) {
	ts := newTokenServer(t)
	gate := make(chan struct{})
	var closeGate sync.Once
	t.Cleanup(func() { closeGate.Do(func() { close(gate) }) }) // never leave the server's handler waiting
	ts.set(func(ts *tokenServer) { ts.gate = gate })
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	s := addSession(t, st, ts.URL, clock.Now().Add(-time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true})
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{})
	waitFor(t, "the request", func() bool { return ts.count() == 1 })

	stopped := make(chan error, 1)
	go func() { stopped <- rs.stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) with a refresh in flight", err)
	case <-time.After(50 * time.Millisecond):
	}
	closeGate.Do(func() { close(gate) })
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetSession(context.Background(), s.ID)
	if err != nil || stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || stored.LastStatus != "ok" {
		t.Fatalf("after stop: %+v %v", stored, err)
	}
	if sch := getSchedule(t, st, s.ID); sch.NextDue.IsZero() || sch.Failures != 0 {
		t.Errorf("schedule not saved: %+v", sch)
	}
	select {
	case res := <-rs.results: // the stop came after the request went out: it counts
		if res.Err != nil || res.Report == nil || res.Report.Outcome != providers.OutcomeOK || res.Report.Shared ||
			res.Report.Attempt.Trigger != vault.TriggerScheduled || !res.NextDue.Equal(stored.ExpiresAt.Add(-6*time.Minute)) {
			t.Errorf("result after stop: %+v", res)
		}
	default:
		t.Error("the refresh that finished after the stop was not reported")
	}
}

// TestSchedulerBoundsConcurrency: 40 sessions due at once never have more
// than Concurrency requests in flight, and all are refreshed once.
func TestSchedulerBoundsConcurrency(t *testing.T) {
	const sessions, limit = 40, 3
	srv := startFakePathStack(t, fake.Options{})
	var inFlight, peak atomic.Int32
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond) // let the others pile up if they could
		srv.Handler().ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	clock := newFakeClock()
	st := openStoreAt(t, t.TempDir(), clock.Now)
	addDueSessions(t, st, srv, front.URL, sessions, clock.Now())
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{Concurrency: limit})
	for range sessions {
		if res := rs.next(t); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if p := peak.Load(); p > limit || p < 2 {
		t.Errorf("peak %d requests in flight, want 2..%d", p, limit)
	}
	if got := srv.Stats(); got.Refreshes != sessions || got.ReuseDetections != 0 {
		t.Errorf("server stats %+v", got)
	}
}

// TestSchedulerRereadsTheScheduleUnderTheLease: a schedule another process
// changed after this Scheduler read it (no reload between) is read again
// under the lease: at the old due time nothing is sent, and the refresh is
// made at the new one (the Scheduler learns it from that read). That the
// read is made in the lease's transaction is the vault's tests' to show
// (TestTakeLeaseAndMarkReadsSchedule...).
func TestSchedulerRereadsTheScheduleUnderTheLease(t *testing.T) {
	ts := newTokenServer(t)
	clock := newFakeClock()
	dir := t.TempDir()
	st, other := openStoreAt(t, dir, clock.Now), openStoreAt(t, dir, clock.Now)
	start := clock.Now()
	s := addSession(t, st, ts.URL, start.Add(30*time.Minute))
	putSchedule(t, st, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Margin: 10 * time.Minute, Enabled: true})
	// The vault's files as they were at the start, whatever is written:
	// this Scheduler does not see the change coming.
	var (
		mu   sync.Mutex
		seen = map[string]fs.FileInfo{}
	)
	stale := func(name string) (fs.FileInfo, error) {
		mu.Lock()
		defer mu.Unlock()
		if fi, ok := seen[name]; ok {
			return fi, nil
		}
		fi, err := os.Stat(name)
		if err == nil {
			seen[name] = fi
		}
		return fi, err
	}
	rs := runScheduler(t, st, refresherAt(st, "", clock.Now), clock, providers.SchedulerOptions{Reload: time.Hour, Stat: stale})
	waitFor(t, "the scheduler to sleep", func() bool { return clock.afterCalls() >= 2 }) // look + due timer

	putSchedule(t, other, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Margin: 2 * time.Minute, Enabled: true})
	clock.Advance(20 * time.Minute) // due as this Scheduler knew it; not as stored
	// It sets a timer again once the refresh it started has ended.
	waitFor(t, "the refresh at the old due time to end", func() bool { return clock.afterCalls() >= 3 })
	if n := rs.sched.Stats().Refreshes; n != 1 || ts.count() != 0 {
		t.Fatalf("at the old due time: %d refreshes started, %d requests; want 1 started, none sent", n, ts.count())
	}
	clock.Advance(8 * time.Minute) // the new due time
	res := rs.next(t)
	if res.Err != nil || res.Report == nil || res.Report.Shared || ts.count() != 1 {
		t.Fatalf("result %+v, %d requests; want one refresh", res, ts.count())
	}
	attempts, err := st.ListAttempts(context.Background(), s.ID, 0)
	if err != nil || len(attempts) != 1 {
		t.Fatalf("%d attempts, %v", len(attempts), err)
	}
	if at := attempts[0].StartedAt.Sub(start); at != 28*time.Minute {
		t.Errorf("refreshed %v after the start, want 28m (the schedule as stored)", at)
	}
}
