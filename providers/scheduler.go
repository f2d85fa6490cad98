package providers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Scheduler defaults.
const (
	// DefaultSchedulerConcurrency bounds the scheduled refreshes run at once.
	DefaultSchedulerConcurrency = 8
	// DefaultScheduleReload is how often the Scheduler looks for schedules
	// changed by another process (the dashboard, `tokentop schedule`). A look
	// is two stats, of the vault file and of its write-ahead log; the
	// schedules are re-read only when either changed. Each look also catches
	// up after the machine slept (timers do not count suspended time).
	DefaultScheduleReload = 2 * time.Second
	// DefaultScheduledRefreshTimeout bounds one scheduled refresh, waiting for
	// another process's lease included, and, when stopping, the wait for
	// requests already sent to be answered and saved.
	DefaultScheduledRefreshTimeout = DefaultLeaseTTL + 15*time.Second
	// schedulePersistTimeout bounds saving a schedule after a refresh. It has
	// a context of its own: the refresh's may have run out (a long lease
	// wait) or been cancelled (stopping), and a failure's backoff must be
	// saved all the same.
	schedulePersistTimeout = 10 * time.Second
)

// ErrSchedulerRunning: Run was called while the Scheduler was already running.
var ErrSchedulerRunning = errors.New("scheduler is already running")

// SchedulerOptions configures a Scheduler. Zero values take the defaults.
type SchedulerOptions struct {
	Concurrency    int                                  // refreshes at once, default 8
	Now            func() time.Time                     // wall clock, default time.Now
	After          func(time.Duration) <-chan time.Time // timers, default time.After
	Rand           func() float64                       // jitter in [0, 1), default math/rand/v2
	Reload         time.Duration                        // look for changes this often, default 2 s
	RefreshTimeout time.Duration                        // bound of one scheduled refresh, default 45 s
	// Stat looks at the vault file and its WAL to tell whether another
	// process changed them; default os.Stat. Not used on a vault that
	// notifies (PostgreSQL: vault.Store.Changes, fed by LISTEN/NOTIFY).
	Stat func(name string) (fs.FileInfo, error)
	// OnResult is told about every scheduled refresh this process made or
	// found done by another one. Calls are serialised, from the refresh's
	// goroutine; a slow OnResult holds up the next result, not the schedule.
	OnResult func(ScheduledResult)
	// OnError is told about vault errors (reloading, saving a schedule);
	// the Scheduler keeps going with what it knows.
	OnError func(error)
}

// disabledForLoginPrefix starts the LastError the Scheduler writes when it
// turns a schedule off because the session needs a login.
const disabledForLoginPrefix = "disabled:"

// DisabledForLogin reports whether the Scheduler (not the user) turned the
// schedule off, because the provider rejected the refresh token for good.
func DisabledForLogin(sch vault.Schedule) bool {
	return !sch.Enabled && strings.HasPrefix(sch.LastError, disabledForLoginPrefix)
}

// ScheduledResult is the outcome of one scheduled refresh.
type ScheduledResult struct {
	SessionID int64
	Label     string
	// Report of the refresh; nil when no attempt was made (see Err). A
	// Shared report means another caller or process refreshed the session
	// and this one made no request.
	Report *Report
	// Err says why the refresh failed or was not made; nil when ok.
	Err error
	// Schedule as saved afterwards: Failures, BackoffUntil, LastError, and
	// Enabled false when this refresh disabled it.
	Schedule vault.Schedule
	// NextDue is Schedule.NextDue: the next refresh, zero when never.
	NextDue time.Time
	// Disabled: this refresh found the session needs a login and turned the
	// schedule off.
	Disabled bool
}

// SchedulerStats counts what a Scheduler did, to show that it idles.
type SchedulerStats struct {
	Checks    int64 // periodic looks at the vault files for changes, done (two stats each)
	Reloads   int64 // schedule re-reads: at the start, on a change, on Wake
	Wakeups   int64 // times a due-time timer fired
	Refreshes int64 // scheduled refreshes started (including ones skipped under the lease)
}

// Scheduler runs the vault's enabled schedules: it sleeps until the earliest
// due time (or a change of the vault files, or Wake), then refreshes what is
// due through the Refresher, so that single-flight, the lease and the
// re-check under the lease (RefreshIf) keep several processes running the
// same schedules from refreshing a session more than once.
type Scheduler struct {
	store *vault.Store
	r     *Refresher
	opts  SchedulerOptions
	wake  chan struct{}

	mu      sync.Mutex
	entries map[int64]*entry
	seq     uint64 // bumped by each finished refresh; see entry.seq
	randMu  sync.Mutex

	// stamp is the vault files' state as of the last reload (valid when
	// stamped): a periodic look that finds the same skips the reload.
	stamp   vaultStamp
	stamped bool
	// stopped are the refreshes that stopping cut short, settled once the
	// Refresher has finished what it had already sent.
	stopped []stoppedRefresh

	resultMu sync.Mutex // serialises OnResult

	running                             atomic.Bool
	checks, reloads, wakeups, refreshes atomic.Int64
}

// stoppedRefresh is a scheduled refresh that Run's context cut short.
type stoppedRefresh struct {
	id  int64
	rep *Report // as the Refresher returned it: nil, or with a handle on a request still out
}

// entry is one schedule as the Scheduler knows it.
type entry struct {
	sch     vault.Schedule
	sess    vault.Session // plain columns only: never tokens
	due     time.Time     // NextDue(sch, sess); zero: never
	running bool
	// seq is Scheduler.seq when a refresh last updated the entry: a reload
	// that read the vault before then must not overwrite it with older data.
	seq uint64
}

// NewScheduler builds a Scheduler on store that refreshes through r.
func NewScheduler(store *vault.Store, r *Refresher, opts SchedulerOptions) *Scheduler {
	if opts.Concurrency <= 0 {
		opts.Concurrency = DefaultSchedulerConcurrency
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.After == nil {
		opts.After = time.After
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	if opts.Reload <= 0 {
		opts.Reload = DefaultScheduleReload
	}
	if opts.RefreshTimeout <= 0 {
		opts.RefreshTimeout = DefaultScheduledRefreshTimeout
	}
	if opts.Stat == nil {
		opts.Stat = os.Stat
	}
	return &Scheduler{store: store, r: r, opts: opts, wake: make(chan struct{}, 1), entries: map[int64]*entry{}}
}

// Wake makes a running Scheduler re-read the schedules now, e.g. after the
// dashboard edited one. It never blocks.
func (s *Scheduler) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stats returns the counters so far.
func (s *Scheduler) Stats() SchedulerStats {
	return SchedulerStats{Checks: s.checks.Load(), Reloads: s.reloads.Load(), Wakeups: s.wakeups.Load(), Refreshes: s.refreshes.Load()}
}

// Run runs the schedules until ctx is done, then stops taking new work and
// returns nil once the refreshes in flight are over. Stopping cuts short
// what has not reached the provider yet (a lease wait, say); a request
// already sent is answered and saved by the Refresher, and its schedule
// settled, before Run returns (bounded by RefreshTimeout). A refresh cut
// short is not a failure: its schedule is left as it was. Run returns an
// error only when the schedules cannot be read at the start (a ctx done by
// then is a stop, not that).
func (s *Scheduler) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return ErrSchedulerRunning
	}
	defer s.running.Store(false)
	if err := s.reload(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped before it started: nothing was taken on
		}
		return fmt.Errorf("run schedules: %w", err)
	}

	var wg sync.WaitGroup
	finished := make(chan struct{}, s.opts.Concurrency) // never blocks: at most Concurrency in flight
	busy := 0
	var queue []int64 // claimed as due, waiting for a free slot
	reloadC := s.opts.After(s.opts.Reload)
	// A PostgreSQL vault tells of other processes' changes as they commit;
	// a SQLite one is looked at (two stats) at each reloadC.
	var changes <-chan struct{}
	if s.store.Notifies() {
		changes = s.store.Changes(ctx)
	}
	var (
		dueC  <-chan time.Time
		dueAt time.Time // what dueC is set for
	)
	for {
		now := s.opts.Now()
		next := time.Time{} // the earliest due time not yet claimed
		if len(queue) == 0 {
			queue, next = s.claimDue(now)
		}
		for busy < s.opts.Concurrency && len(queue) > 0 {
			id := queue[0]
			queue = queue[1:]
			busy++
			wg.Add(1)
			s.refreshes.Add(1)
			go func() {
				defer wg.Done()
				s.refresh(ctx, id)
				finished <- struct{}{}
			}()
		}
		// Sleep until the earliest due time, or until a slot frees up while
		// work is queued. The timer is kept while that time stays the same.
		if len(queue) > 0 {
			next = time.Time{}
		}
		if !next.Equal(dueAt) {
			dueAt, dueC = next, nil
			if !next.IsZero() {
				dueC = s.opts.After(max(next.Sub(now), 0))
			}
		}
		select {
		case <-ctx.Done():
			s.release(queue)
			wg.Wait()
			s.finishStopped(ctx)
			return nil
		case <-finished:
			busy--
		case <-reloadC:
			reloadC = s.opts.After(s.opts.Reload)
			if s.vaultChanged() {
				s.reloadOrReport(ctx)
			}
			s.checks.Add(1) // after the reload, so that a test seeing it sees the reload
		case _, ok := <-changes:
			if !ok {
				changes = nil // ctx ended: the case above stops the loop
				continue
			}
			s.reloadOrReport(ctx)
		case <-s.wake:
			s.reloadOrReport(ctx)
		case <-dueC:
			// No reload: the entries are as this process left them or as
			// the last look at the vault found them, and each refresh
			// re-reads its own session and schedule under the lease
			// (RefreshIf), so a change that slipped past the stats (another
			// process refreshed) costs a skipped refresh, not a wrong one.
			s.wakeups.Add(1)
			dueAt, dueC = time.Time{}, nil
		}
	}
}

// claimDue marks every due entry running and returns their session ids,
// earliest first, and the earliest due time of the others (zero if none).
// One pass over the entries, however many are due.
func (s *Scheduler) claimDue(now time.Time) ([]int64, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var due []*entry
	var next time.Time
	for _, e := range s.entries {
		switch {
		case e.running || e.due.IsZero():
		case !e.due.After(now):
			due = append(due, e)
		case next.IsZero() || e.due.Before(next):
			next = e.due
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].due.Before(due[j].due) })
	ids := make([]int64, len(due))
	for i, e := range due {
		e.running = true
		ids[i] = e.sch.SessionID
	}
	return ids, next
}

// release unclaims entries that were queued but never started.
func (s *Scheduler) release(ids []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if e := s.entries[id]; e != nil {
			e.running = false
		}
	}
}

// unclaim hands a claimed entry back unchanged.
func (s *Scheduler) unclaim(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.entries[id]; e != nil {
		e.running = false
	}
}

// refresh runs one due schedule: the refresh (skipped under the lease if the
// session is no longer due there), then the schedule's new state, saved.
func (s *Scheduler) refresh(ctx context.Context, id int64) {
	// Run's context: stopping ends a lease wait at once. The Refresher
	// finishes and saves a request already sent whatever the context says.
	rctx, cancel := context.WithTimeout(ctx, s.opts.RefreshTimeout)
	defer cancel()
	s.mu.Lock()
	knownVersion := s.entries[id].sess.Version
	s.mu.Unlock()

	// Asked under the lease, with the vault's current schedule and session:
	// another process may have refreshed the session, backed off, or the
	// user may have changed or disabled the schedule since we looked.
	var (
		asked, stillDue, changed bool
		current                  vault.Schedule
		readErr                  error
	)
	need := func(sess vault.Session, sched vault.ScheduleReader) bool {
		asked, changed = true, sess.Version != knownVersion
		current, readErr = sched.GetSchedule(rctx, id)
		if readErr != nil {
			return false
		}
		now := s.opts.Now()
		due := NextDue(current, sess, now)
		stillDue = !due.IsZero() && !due.After(now)
		return stillDue
	}
	// The schedule is settled in the transaction that records the refresh
	// (one commit fewer); settle below finds it done.
	rep, err := s.r.refreshIf(rctx, id, vault.TriggerScheduled, need, s.settleInTx)
	if asked && readErr != nil {
		rep, err = nil, fmt.Errorf("read schedule: %w", readErr)
	}
	switch {
	case ctx.Err() != nil && cutShort(rep, err):
		s.markStopped(id, rep)
		return
	case errors.Is(err, ErrInBackground):
		// RefreshTimeout ran out after the request was sent: it goes on,
		// and is no failure yet. Unclaimed, the entry is due again at once
		// and its next refresh joins the one in flight for the outcome.
		s.unclaim(id)
		return
	}
	skipped := rep != nil && asked && !stillDue

	res := s.settle(ctx, id, rep, err, skipped)
	// A skip is news only when someone else refreshed the session; one for a
	// schedule changed or backed off meanwhile is not worth a log line.
	if !skipped || changed {
		s.publish(res)
	}
}

// publish hands a result to OnResult, one at a time.
func (s *Scheduler) publish(res *ScheduledResult) {
	if res == nil || s.opts.OnResult == nil {
		return
	}
	s.resultMu.Lock()
	defer s.resultMu.Unlock()
	s.opts.OnResult(*res)
}

// settle works out the schedule's new state after a refresh, saves it when
// it changed, and updates the entry. Nil when the schedule is gone. The vault
// is read and written on a context of its own, detached from ctx: the
// refresh may have used up its time, and its outcome must be saved.
func (s *Scheduler) settle(ctx context.Context, id int64, rep *Report, err error, skipped bool) *ScheduledResult {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), schedulePersistTimeout)
	defer cancel()
	s.mu.Lock()
	e := s.entries[id]
	var known vault.Schedule
	var sess vault.Session
	if e != nil {
		known, sess = e.sch, e.sess
	}
	s.mu.Unlock()
	if e == nil {
		return nil // cannot happen: reloads keep running entries
	}
	res := &ScheduledResult{SessionID: id, Report: rep, Err: err, Disabled: disablesSchedule(rep, err, skipped)}

	if rep != nil && rep.settled != nil {
		// Settled as the refresh was recorded, on the vault's schedule.
		if !rep.settled.Found {
			s.forget(id)
			return nil
		}
		sess = withoutTokens(rep.Session)
		return s.settled(e, res, rep.settled.Schedule, sess)
	}

	// Start from the vault's schedule, not ours: the user may have edited it
	// while the refresh ran, and that edit must survive.
	cur, gerr := s.store.GetSchedule(ctx, id)
	switch {
	case errors.Is(gerr, vault.ErrNotFound):
		s.forget(id)
		return nil
	case gerr != nil:
		s.reportError(fmt.Errorf("read schedule of %s: %w", sess.Label, gerr))
		cur = known
	}
	if rep != nil {
		sess = withoutTokens(rep.Session)
	}

	next := s.nextSchedule(cur, sess, rep, err, skipped, s.opts.Now())
	if scheduleChanged(cur, next) {
		if perr := s.store.PutSchedule(ctx, next); perr != nil {
			s.reportError(fmt.Errorf("save schedule of %s: %w", sess.Label, perr))
		}
	}
	return s.settled(e, res, next, sess)
}

// settled completes res with the session's label and the schedule as saved,
// and updates the entry.
func (s *Scheduler) settled(e *entry, res *ScheduledResult, next vault.Schedule, sess vault.Session) *ScheduledResult {
	res.Label, res.Schedule, res.NextDue = sess.Label, next, next.NextDue
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	e.sch, e.sess, e.due, e.running, e.seq = next, sess, next.NextDue, false, s.seq
	return res
}

// settleInTx is the Refresher's settleFunc for a scheduled refresh: the
// schedule's state after it, computed inside the transaction that records
// it, from the schedule as stored then.
func (s *Scheduler) settleInTx(rep *Report, cur vault.Schedule) (vault.Schedule, bool) {
	next := s.nextSchedule(cur, withoutTokens(rep.Session), rep, rep.Err, false, s.opts.Now())
	return next, scheduleChanged(cur, next)
}

// nextSchedule is cur after a refresh (rep and err; skipped: nothing happened
// here) of sess; disablesSchedule says whether the refresh turned it off.
func (s *Scheduler) nextSchedule(cur vault.Schedule, sess vault.Session, rep *Report, err error, skipped bool, now time.Time) vault.Schedule {
	next := cur
	switch {
	case skipped:
		// Nothing happened here; whoever did something saved it.
	case succeeded(rep, err):
		next.Failures, next.BackoffUntil, next.LastError = 0, time.Time{}, ""
	case disablesSchedule(rep, err, skipped):
		next.Enabled, next.BackoffUntil = false, time.Time{}
		next.Failures++
		next.LastError = disabledForLoginPrefix + " the session needs a login (" + describeFailure(rep, err) +
			"); log in again, then turn the schedule back on"
	default:
		next.Failures++
		s.randMu.Lock()
		rnd := s.opts.Rand()
		s.randMu.Unlock()
		next.BackoffUntil = now.Add(Backoff(next.Failures, rnd))
		next.LastError = describeFailure(rep, err)
	}
	next.NextDue = NextDue(next, sess, now)
	return next
}

// succeeded says whether a refresh succeeded.
func succeeded(rep *Report, err error) bool {
	return rep != nil && err == nil && rep.Outcome == OutcomeOK
}

// disablesSchedule says whether a refresh turns its schedule off: it
// happened here (not skipped), failed, and the session needs a login.
func disablesSchedule(rep *Report, err error, skipped bool) bool {
	return !skipped && !succeeded(rep, err) && needsLogin(rep)
}

// forget drops a schedule that no longer exists.
func (s *Scheduler) forget(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.entries, id)
}

func (s *Scheduler) reportError(err error) {
	if s.opts.OnError != nil {
		s.opts.OnError(err)
	}
}

// needsLogin: retrying cannot heal this failure (the Refresher flagged the
// session, or the provider answered 401).
func needsLogin(rep *Report) bool {
	if rep == nil || rep.Outcome == OutcomeOK {
		return false
	}
	return rep.Session.NeedsLogin || (rep.Outcome == OutcomeRejected && rep.Status == 401)
}

// describeFailure is a one-line reason without secrets: the one recorded in
// the attempt when there is one.
func describeFailure(rep *Report, err error) string {
	switch {
	case rep != nil && rep.Attempt.Error != "":
		return rep.Attempt.Error
	case err != nil:
		return oneLine(err.Error())
	case rep != nil:
		return string(rep.Outcome)
	}
	return "failed"
}

// scheduleChanged says whether the state a refresh updates differs (at the
// vault's millisecond precision).
func scheduleChanged(a, b vault.Schedule) bool {
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return 0
		}
		return t.UnixMilli()
	}
	return a.Enabled != b.Enabled || a.Failures != b.Failures || a.LastError != b.LastError ||
		ms(a.NextDue) != ms(b.NextDue) || ms(a.BackoffUntil) != ms(b.BackoffUntil)
}

// withoutTokens keeps a session's plain columns only: the Scheduler holds
// sessions for as long as it runs and needs no secret.
func withoutTokens(s vault.Session) vault.Session {
	s.AccessToken, s.RefreshToken = "", ""
	return s
}
