package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// DefaultLeaseTTL is how long a refresh lease lasts unless released. It must
// exceed the HTTP timeout so that a lease never lapses mid-request.
const DefaultLeaseTTL = 30 * time.Second

const (
	// leasePoll is how often a lease held by another process is retried.
	leasePoll = 100 * time.Millisecond
)

// persistTimeout bounds writing a refresh's result. Persistence runs even
// when the caller's context is cancelled: a rotated token must be kept.
// A variable for the tests only.
var persistTimeout = 10 * time.Second

// Refresher errors.
var (
	// ErrUnknownProvider: the session names a provider that is not registered.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrNotSaved: the refresh succeeded but its tokens could not be written
	// to the session; they were kept in the vault's recovery (see the message).
	ErrNotSaved = errors.New("new tokens could not be saved")
	// ErrInBackground: the caller stopped waiting (its context ended) while
	// the request was out. The request is never abandoned, since the server
	// may already have rotated the refresh token: it goes on, and its result
	// is saved as usual (see Refresher.Wait). Wrapped in an *Error with
	// OutcomeCancelled, together with the context's error.
	ErrInBackground = errors.New("the request goes on in the background and its result will be saved")
)

// Report is the outcome of one Refresher.Refresh.
type Report struct {
	Session  vault.Session // as stored afterwards (tokens unsealed); see ErrNotSaved
	Attempt  vault.Attempt // as recorded (zero ID when the refresh was shared/skipped)
	Outcome  Outcome       // OutcomeOK exactly when Err is nil
	Status   int
	Envelope *Envelope
	Exchange *Exchange // unredacted, in memory only; nil when no request was made
	Rotated  bool      // the provider sent a new refresh token (saved unless ErrNotSaved)
	Shared   bool      // another caller or process did the refresh; this one reused its result
	Relogin  bool      // the refresh token was rejected and tokentop logged in again with a remembered login
	Err      error     // the provider's error or a persistence error, nil when ok

	bg *flight // the refresh a cancelled caller left running (ErrInBackground)
	// settled: the session's schedule was settled in the transaction that
	// recorded this refresh (a Scheduler's refresh; see refreshIf).
	settled *vault.Settled
}

// AwaitBackground returns the final Report of a refresh that rep, a caller's
// Report with Outcome cancelled and ErrInBackground, left running: it waits
// until the request is answered and its result saved, or ctx ends (then rep
// itself comes back). Any other Report is returned as it is. The scheduler
// uses it to settle a schedule on what really happened.
func (rep *Report) AwaitBackground(ctx context.Context) (*Report, error) {
	if rep.bg == nil {
		return rep, rep.Err
	}
	select {
	case <-rep.bg.done:
		return rep.bg.rep, rep.bg.err
	case <-ctx.Done():
		return rep, rep.Err
	}
}

// RefresherOptions configures a Refresher.
type RefresherOptions struct {
	Owner    string           // lease owner id (default: hostname-pid-random)
	LeaseTTL time.Duration    // default 30 s (must exceed the HTTP timeout)
	Now      func() time.Time // clock
}

// Refresher runs refreshes: one per session at a time in the process
// (single-flight), a vault lease across processes, persistence in one
// transaction with compare-and-swap, and the attempt recorded.
//
// Once a request is sent it runs to its end whatever the caller's context
// does (the HTTP client's own timeout bounds it), and its result is saved:
// the server may have rotated the refresh token already. Call Wait before
// the process exits.
type Refresher struct {
	store *vault.Store
	reg   *Registry
	owner string
	ttl   time.Duration
	now   func() time.Time

	mu        sync.Mutex
	inflight  map[int64]*flight   // session id → the refresh under way
	overrides map[int64]*override // session id → tokens received but not saved
	active    int                 // flights not landed, background ones included
	idle      chan struct{}       // closed when active drops to zero

	// Test hooks, nil in production: a caller joined a refresh in flight;
	// the lease was found held by another owner.
	onJoin, onLeaseBusy func()
}

// flight is one refresh that concurrent callers wait for.
type flight struct {
	done chan struct{} // closed when rep and err are set
	rep  *Report
	err  error
}

// NewRefresher builds a Refresher.
func NewRefresher(store *vault.Store, reg *Registry, opts RefresherOptions) *Refresher {
	r := &Refresher{
		store:     store,
		reg:       reg,
		owner:     opts.Owner,
		ttl:       opts.LeaseTTL,
		now:       opts.Now,
		inflight:  map[int64]*flight{},
		overrides: map[int64]*override{},
	}
	if r.owner == "" {
		r.owner = defaultOwner()
	}
	if r.ttl <= 0 {
		r.ttl = DefaultLeaseTTL
	}
	if r.now == nil {
		r.now = time.Now
	}
	return r
}

// defaultOwner names this process for leases: hostname-pid-random, the random
// part telling two Refreshers of one process apart.
func defaultOwner() string {
	host, err := os.Hostname()
	if err != nil {
		host = "unknown"
	}
	var b [4]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Owner is the lease owner id this Refresher uses.
func (r *Refresher) Owner() string { return r.owner }

// Wait blocks until every refresh this Refresher started has finished and
// saved its result, including those whose callers stopped waiting (Outcome
// cancelled, ErrInBackground), or until ctx ends. Call it before the process
// exits: a refresh still out may carry a rotated refresh token.
func (r *Refresher) Wait(ctx context.Context) error {
	r.mu.Lock()
	if r.active == 0 {
		r.mu.Unlock()
		return nil
	}
	idle := r.idle
	r.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for refreshes in flight: %w", ctx.Err())
	}
}

// Refresh refreshes session id now. Concurrent calls for one id share one
// request: the followers get a copy of the leader's Report marked Shared
// (its outcome, session, exchange and error). If another process holds the
// lease it waits for it, then returns that process's result (Shared) instead
// of spending the refresh token again.
//
// When ctx ends after the request was sent, Refresh returns at once with
// Outcome cancelled and an error wrapping ErrInBackground and ctx.Err(); the
// request goes on and its result is saved as usual (followers, and a new
// Refresh of the session, wait for it). When ctx ends before anything was
// sent, nothing is.
//
// The error is the Report's Err (nil when the refresh succeeded and was
// saved); a nil Report means no attempt was made (unknown session, lease
// wait cancelled, vault error) and the error says why.
func (r *Refresher) Refresh(ctx context.Context, id int64, trigger string) (*Report, error) {
	return r.RefreshIf(ctx, id, trigger, nil)
}

// Need says whether a refresh of sess, as read under its lease, is still
// needed. sched reads the session's schedule as of that read: in the vault
// transaction that took the lease when need runs inside it (the common
// case: the lease was free), else, after a wait for the lease or with
// tokens to take back, through the Store. need must not write to the vault
// (a write would wait for that transaction).
type Need func(sess vault.Session, sched vault.ScheduleReader) bool

// RefreshIf is Refresh, but only if need, called with the session as read
// under the lease, says the refresh is still needed. When it is not, no
// request is made and the Report is marked Shared (Outcome ok, zero Attempt,
// nil Exchange, Session as read). A nil need always refreshes.
//
// This is what lets several processes run the same schedule: each one sees a
// session due, but only the first to take the lease finds it still due; the
// others read the refreshed session and skip. A caller joining a refresh in
// flight in this process shares it without asking need.
func (r *Refresher) RefreshIf(ctx context.Context, id int64, trigger string, need Need) (*Report, error) {
	return r.refreshIf(ctx, id, trigger, need, nil)
}

// settleFunc works out a schedule's state after a refresh whose Report (with
// the session as recorded) it is given; false leaves it as stored. It runs
// inside the vault's write transaction and must not use the Store.
type settleFunc func(rep *Report, cur vault.Schedule) (vault.Schedule, bool)

// refreshIf is RefreshIf; settle, when not nil, settles the session's
// schedule in the transaction that records the refresh this call makes (the
// Report's settled says it did). A refresh joined in flight, skipped, or
// recorded otherwise (a re-login, tokens kept for recovery) is not settled.
func (r *Refresher) refreshIf(ctx context.Context, id int64, trigger string, need Need, settle settleFunc) (*Report, error) {
	r.mu.Lock()
	if f, ok := r.inflight[id]; ok {
		r.mu.Unlock()
		if r.onJoin != nil {
			r.onJoin()
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for refresh in flight: %w", ctx.Err())
		}
		if f.rep == nil {
			return nil, f.err
		}
		shared := *f.rep
		shared.Shared = true
		shared.Attempt = vault.Attempt{} // the leader's attempt, not this caller's
		return &shared, f.err
	}
	f := &flight{done: make(chan struct{})}
	r.inflight[id] = f
	if r.active == 0 {
		r.idle = make(chan struct{})
	}
	r.active++
	r.mu.Unlock()

	c, rep, err := r.prepare(ctx, id, trigger, need)
	if c == nil {
		r.land(id, f, rep, err)
		return rep, err
	}
	c.settle = settle
	// The request and its persistence run detached from ctx: once sent, the
	// server may rotate the refresh token, and the answer must be saved.
	// The flight stays until then, so that nobody sends the spent token.
	go func() {
		rep, err := r.call(context.WithoutCancel(ctx), c, trigger)
		r.land(id, f, rep, err)
	}()
	select {
	case <-f.done:
		return f.rep, f.err
	case <-ctx.Done():
		select {
		case <-f.done: // both ready: the result is worth more
			return f.rep, f.err
		default:
		}
		e := &Error{Outcome: OutcomeCancelled, Err: fmt.Errorf("%w: %w", ErrInBackground, ctx.Err())}
		return &Report{Session: c.sess, Outcome: OutcomeCancelled, Err: e, bg: f}, e
	}
}

// land sets the flight's result, ends it and wakes its waiters.
func (r *Refresher) land(id int64, f *flight, rep *Report, err error) {
	f.rep, f.err = rep, err
	r.mu.Lock()
	delete(r.inflight, id)
	r.mu.Unlock()
	close(f.done)
	r.mu.Lock()
	r.active--
	if r.active == 0 {
		close(r.idle)
	}
	r.mu.Unlock()
}

// planned is a refresh ready to send, under the lease.
type planned struct {
	p    Provider
	sess vault.Session // what to send; its tokens may come from an override or recovery
	// storedRefresh is the refresh token the vault holds, which differs from
	// sess's when an override stands in for tokens that were not saved.
	storedRefresh string
	// lost is the attempt to record for an earlier refresh of the same
	// refresh token that was sent but whose answer was never recorded (the
	// process was killed, or the connection dropped after sending).
	lost *vault.Attempt
	// answerLost: an earlier refresh of this refresh token was sent and its
	// answer lost, so the provider may have rotated already and a 401 now
	// means exactly that.
	answerLost bool
	// settle, when not nil, settles the schedule as the refresh is recorded.
	settle settleFunc
	// marked: the sent mark was written as the lease was taken
	// (TakeLeaseAndMark), so call does not MarkSent again.
	marked bool
}

// prepare takes the lease and reads the session under it. It returns the
// refresh to make, or (the lease released) a Report or error when none is
// to be made: another process refreshed meanwhile, need says no, the
// provider is unknown, or ctx ended before anything was sent.
//
// Under the lease, before anything is sent, it takes back rotated tokens
// that an earlier refresh received but could not save (an override in this
// process, or the vault's recovery): sending the spent token instead would
// make the provider revoke the live one too.
func (r *Refresher) prepare(ctx context.Context, id int64, trigger string, need Need) (*planned, *Report, error) {
	// The common case in one commit: the lease is free, and the session as
	// read under it can be sent at once (nothing to take back, still
	// needed), so the lease and the sent mark are written together.
	var (
		fast     *planned
		declined bool // need, asked in the transaction, said no
	)
	sess, taken, plan, err := r.store.TakeLeaseAndMark(ctx, id, r.owner, r.ttl, func(s vault.Session, sched vault.ScheduleReader) vault.SendPlan {
		if fast, declined = r.planAtOnce(ctx, s, sched, trigger, need); fast == nil {
			return vault.SendPlan{}
		}
		return vault.SendPlan{Mark: true, FP: vault.Fingerprint(s.RefreshToken), Lost: fast.lost}
	})
	if err != nil {
		return nil, nil, fmt.Errorf("refresh: %w", err)
	}
	if taken && plan.Mark {
		fast.sess, fast.marked = sess, true
		return fast, nil, nil
	}
	release := func() {
		// A lease that fails to release lapses after its TTL: nothing to report.
		_ = r.store.ReleaseLease(context.WithoutCancel(ctx), id, r.owner)
	}
	if taken && declined {
		// No longer needed, as read in the lease's transaction (nothing to
		// take back: planAtOnce asks need only then).
		release()
		return nil, &Report{Session: sess, Outcome: OutcomeOK, Shared: true}, nil
	}
	if !taken {
		// Another owner holds the lease: wait for it, then read the session
		// under the lease (the refresh token may have rotated meanwhile).
		before, err := r.waitLease(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("refresh: %w", err)
		}
		if sess, err = r.store.GetSession(ctx, id); err != nil {
			release()
			return nil, nil, fmt.Errorf("refresh: %w", err)
		}
		if sess.Version != before.Version {
			// Another process refreshed (or someone edited the session) while we
			// waited: use that, never spend the refresh token twice.
			release()
			return nil, &Report{Session: sess, Outcome: OutcomeOK, Shared: true}, nil
		}
	}
	p, ok := r.reg.Get(sess.Provider)
	if !ok {
		release()
		return nil, nil, fmt.Errorf("refresh %s: %w %q", sess.Label, ErrUnknownProvider, sess.Provider)
	}
	c := &planned{p: p, storedRefresh: sess.RefreshToken}
	c.sess = r.applyOverride(ctx, sess)
	restored := c.sess.RefreshToken != sess.RefreshToken
	if !restored {
		if c.sess, restored, err = r.applyRecovery(ctx, sess, trigger); err != nil {
			release()
			return nil, nil, fmt.Errorf("refresh %s: %w", sess.Label, err)
		}
		if c.sess.RefreshToken == sess.RefreshToken || c.sess.Version != sess.Version {
			c.storedRefresh = c.sess.RefreshToken // saved: nothing stands in for the vault
		}
	}
	if need != nil && !need(c.sess, r.store) {
		// Restored tokens may be fresh enough: no request, nothing spent.
		release()
		return nil, &Report{Session: c.sess, Outcome: OutcomeOK, Shared: !restored}, nil
	}
	if !restored {
		// An earlier refresh sent this token (nothing was restored:
		// c.sess holds sess's) and never recorded an answer (say so in
		// history), or its answer was lost on the network.
		if c.lost = lostAttempt(sess, trigger); c.lost != nil {
			c.answerLost = true
		} else {
			c.answerLost = r.lastAnswerLost(ctx, id, c.sess)
		}
	}
	if err := ctx.Err(); err != nil {
		release()
		return nil, nil, fmt.Errorf("refresh %s: %w", sess.Label, err)
	}
	return c, nil, nil
}

// applyRecovery takes back into sess the newest tokens kept in recovery for
// it (received for sess's refresh token, which is therefore spent), under
// the lease, recording that in history. When they cannot be written they are
// used in memory for this refresh (whose result then saves them). It
// reports whether it found any; an error means recovery could not be read,
// and then nothing must be sent: the stored token may be spent.
func (r *Refresher) applyRecovery(ctx context.Context, sess vault.Session, trigger string) (vault.Session, bool, error) {
	rec, err := r.store.PendingRecovery(ctx, sess)
	if err != nil {
		return sess, false, fmt.Errorf("read recovery (nothing sent): %w", err)
	}
	if rec == nil {
		return sess, false, nil
	}
	stored, _, err := r.restore(ctx, sess, *rec, trigger)
	if err != nil {
		return applyUpdate(sess, rec.Tokens), true, nil
	}
	return stored, true, nil
}

// restore writes rec's tokens into sess (compare-and-swap on its version)
// and drops rec, recording the restore in history: the session as stored
// and the attempt recorded.
func (r *Refresher) restore(ctx context.Context, sess vault.Session, rec vault.Recovery, trigger string) (vault.Session, vault.Attempt, error) {
	a := vault.Attempt{
		Trigger: trigger, StartedAt: r.now(), Outcome: string(OutcomeRecovered), Owner: r.owner,
		Rotated: true, SentFP: sess.SentFP, ReceivedFP: vault.Fingerprint(rec.Tokens.RefreshToken),
		Error: "restored the rotated tokens kept in recovery since " + rec.CreatedAt.Format(time.RFC3339),
	}
	stored, err := r.store.ApplyRecovery(ctx, rec, sess.Version, &a)
	return stored, a, err
}

// lastAnswerLost says whether the newest attempt on the session sent its
// refresh token and got no answer: a network error after the request went out.
// The session's last status (its newest attempt's outcome) says when that
// cannot be, so a refresh after a success reads no history.
func (r *Refresher) lastAnswerLost(ctx context.Context, id int64, sess vault.Session) bool {
	if !lastMayHaveLostAnswer(sess) {
		return false
	}
	attempts, err := r.store.ListAttempts(ctx, id, 1)
	if err != nil || len(attempts) == 0 {
		return false
	}
	a := attempts[0]
	return a.SentFP == vault.Fingerprint(sess.RefreshToken) &&
		(a.Outcome == string(OutcomeInterrupted) || (a.Outcome == string(OutcomeNetworkError) && a.Status == 0 && strings.Contains(a.Error, answerLostNote)))
}

// lastMayHaveLostAnswer says, from the session's last status alone, whether
// its newest attempt may have sent the refresh token and lost the answer (a
// network failure or an interruption): then lastAnswerLost reads history,
// and planAtOnce leaves the refresh to prepare.
func lastMayHaveLostAnswer(s vault.Session) bool {
	return s.LastStatus == string(OutcomeNetworkError) || s.LastStatus == string(OutcomeInterrupted)
}

// takeLeaseAs takes the session's lease for owner (Recover takes it as an
// owner of its own), polling while another owner holds it.
func (r *Refresher) takeLeaseAs(ctx context.Context, id int64, owner string) error {
	ok, err := r.store.TakeLease(ctx, id, owner, r.ttl)
	if err != nil || ok {
		return err
	}
	return r.pollLease(ctx, id, owner)
}

// waitLease reads the session, then polls until this Refresher takes the
// lease that another owner held a moment ago, and returns that reading, so
// that the caller can tell whether the other owner changed the session.
func (r *Refresher) waitLease(ctx context.Context, id int64) (vault.Session, error) {
	before, err := r.store.GetSession(ctx, id)
	if err != nil {
		return vault.Session{}, err
	}
	if err := r.pollLease(ctx, id, r.owner); err != nil {
		return vault.Session{}, err
	}
	return before, nil
}

// pollLease polls until owner takes the lease another owner holds, or ctx
// ends.
func (r *Refresher) pollLease(ctx context.Context, id int64, owner string) error {
	if r.onLeaseBusy != nil {
		r.onLeaseBusy()
	}
	timer := time.NewTimer(leasePoll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", vault.ErrLeaseHeld, ctx.Err())
		case <-timer.C:
		}
		ok, err := r.store.TakeLease(ctx, id, owner, r.ttl)
		if err != nil || ok {
			return err
		}
		timer.Reset(leasePoll)
	}
}

// planAtOnce is the refresh to make of s, read under a lease just taken,
// when it can be sent as it stands: nil when anything needs a closer look
// first (tokens kept in recovery or in this process for it, an earlier
// network failure whose history tells whether the answer was lost, an
// unknown provider, ctx ended), which prepare then takes step by step, or
// when need, asked once nothing else stands in the way, says the refresh
// is no longer needed (declined). It runs inside the vault's transaction
// (with need, given sched on that transaction): it may read the vault,
// never write to it (see vault.TakeLeaseAndMark).
func (r *Refresher) planAtOnce(ctx context.Context, s vault.Session, sched vault.ScheduleReader, trigger string, need Need) (c *planned, declined bool) {
	if s.Recovery > 0 || lastMayHaveLostAnswer(s) {
		return nil, false
	}
	r.mu.Lock()
	_, overridden := r.overrides[s.ID]
	r.mu.Unlock()
	if overridden {
		return nil, false
	}
	p, ok := r.reg.Get(s.Provider)
	if !ok {
		return nil, false
	}
	if need != nil && !need(s, sched) {
		return nil, true
	}
	if ctx.Err() != nil {
		return nil, false
	}
	c = &planned{p: p, sess: s, storedRefresh: s.RefreshToken}
	c.lost = lostAttempt(s, trigger)
	c.answerLost = c.lost != nil
	return c, false
}

// lostAttempt is the history entry for an earlier refresh that sent s's
// refresh token and never recorded an answer (the process died, or its vault
// write failed), as s's sent mark tells; nil when there was none.
func lostAttempt(s vault.Session, trigger string) *vault.Attempt {
	if s.SentFP == "" || s.SentFP != vault.Fingerprint(s.RefreshToken) {
		return nil
	}
	return &vault.Attempt{
		Trigger: trigger, StartedAt: s.SentAt, Outcome: string(OutcomeInterrupted),
		Error: ErrAnswerLost.Error(), SentFP: s.SentFP, Owner: s.SentBy,
	}
}

// callTimeout bounds the provider call within the lease: the request and
// then saving its answer (persistTimeout at most) must end before the lease
// can lapse, whatever HTTP client the provider was built with.
func (r *Refresher) callTimeout() time.Duration {
	return max(r.ttl-persistTimeout, r.ttl/2)
}

// call asks the provider and records the result, then drops the lease. ctx
// is not the caller's: nothing cancels a request once it is on its way, but
// the request has a deadline of its own inside the lease (callTimeout).
//
// Before sending it records durably that the refresh token is about to be
// sent (MarkSent): a process killed before the answer is saved leaves that
// mark, and the next refresh knows the provider may have rotated already.
func (r *Refresher) call(ctx context.Context, c *planned, trigger string) (*Report, error) {
	sess := c.sess
	released := false // the attempt's transaction dropped the lease
	defer func() {
		if !released {
			// A lease that fails to release lapses after its TTL: nothing to report.
			_ = r.store.ReleaseLease(ctx, sess.ID, r.owner)
		}
	}()
	sentFP := vault.Fingerprint(sess.RefreshToken)
	if c.marked {
		// Written with the lease (TakeLeaseAndMark).
	} else if err := r.store.MarkSent(ctx, sess.ID, r.owner, sentFP, c.lost); err != nil {
		// No attempt: nothing was sent, nothing spent (a nil Report says so).
		return nil, fmt.Errorf("refresh %s: nothing was sent: recording the refresh before sending it failed: %w", sess.Label, err)
	}
	started := r.now()
	began := time.Now() // monotonic, whatever r.now says
	cctx, cancel := context.WithTimeout(ctx, r.callTimeout())
	res, ex, err := c.p.Refresh(cctx, sess)
	cancel()
	a := r.newAttempt(trigger, started, time.Since(began), ex)
	a.SentFP = sentFP
	rep := &Report{Session: sess, Outcome: OutcomeOK, Exchange: ex}

	// rotated is a new refresh token the provider sent, even next to an
	// error: a 200 that broke the schema (or whose body broke off) has still
	// spent the one we sent.
	rotated := ""
	if res.RefreshToken != sess.RefreshToken {
		rotated = res.RefreshToken
	}
	var upd *vault.TokenUpdate
	needsLogin := false // the vault clears the flag on success and keeps it otherwise
	if err != nil {
		pe := explainFailure(asProviderError(err), c.answerLost)
		fail(rep, &a, pe)
		needsLogin = loginRequired(sess.Provider, pe)
	} else {
		upd = tokenUpdate(res, rotated)
		if cerr := vault.CheckTokenUpdate(upd); cerr != nil {
			// The vault would refuse what the provider sent (a malformed
			// access token, say): the provider's fault, but a rotated
			// refresh token must be kept all the same (below).
			fail(rep, &a, &Error{Outcome: OutcomeServerError, Status: a.Status, Err: fmt.Errorf("%w: %w", ErrSchema, cerr)})
			upd = nil
		}
	}
	if upd == nil && rotated != "" {
		upd = refreshOnly(sess, rotated)
		needsLogin = false
	}
	if upd != nil && upd.RefreshToken == "" && sess.RefreshToken != c.storedRefresh {
		// Not rotated, but the vault still holds the spent token an
		// override stood in for: write the live one.
		upd.RefreshToken = sess.RefreshToken
	}
	if rotated != "" {
		rep.Rotated, a.Rotated = true, true
		a.ReceivedFP = vault.Fingerprint(rotated)
	}
	rep.Status = a.Status
	rep.Attempt = a // so far: what was sent and how long it took, even if recording fails

	if upd == nil && needsLogin && r.relogin(ctx, c, rep, a) {
		released = true // or left to lapse: relogin says why in rep.Err
		return rep, rep.Err
	}

	pctx, cancel := context.WithTimeout(ctx, persistTimeout)
	defer cancel()
	var (
		stored  vault.Session
		settled vault.Settled
		serr    error
	)
	if c.settle == nil {
		stored, serr = r.store.RecordRefreshReleasing(pctx, r.owner, sess.ID, sess.Version, upd, &a, needsLogin)
	} else {
		stored, settled, serr = r.store.RecordRefreshSettling(pctx, r.owner, sess.ID, sess.Version, upd, &a, needsLogin,
			func(cur vault.Schedule, after vault.Session) (vault.Schedule, bool) {
				final := *rep
				final.Attempt, final.Session = a, after
				return c.settle(&final, cur)
			})
		if serr == nil {
			rep.settled = &settled
		}
	}
	if serr == nil {
		released = true
		rep.Attempt, rep.Session = a, stored
		if upd != nil {
			r.dropOverride(sess.ID, nil) // the vault holds a live refresh token again
		}
		return rep, rep.Err
	}
	if upd == nil {
		if rep.Err == nil {
			rep.Outcome, rep.Err = OutcomeNotSaved, fmt.Errorf("recording the refresh failed: %w", serr)
		} else {
			rep.Err = fmt.Errorf("%w (and recording the attempt failed: %w)", rep.Err, serr)
		}
		return rep, rep.Err
	}
	released = r.keepUnsaved(pctx, c, rep, a, *upd, serr)
	return rep, rep.Err
}

// newAttempt is the history entry of one call this process made: outcome
// ok until a failure says otherwise, the exchange's status and its redacted
// copy when there was one.
func (r *Refresher) newAttempt(trigger string, started time.Time, took time.Duration, ex *Exchange) vault.Attempt {
	a := vault.Attempt{Trigger: trigger, StartedAt: started, Duration: took, Outcome: string(OutcomeOK), Owner: r.owner}
	if ex != nil {
		a.Status = ex.Status
		if raw, err := ex.MarshalRedacted(); err == nil {
			a.Exchange = raw
		}
	}
	return a
}

// answerLostNote ends the error of a network failure after the request may
// have gone out: the provider may have rotated the refresh token.
const answerLostNote = "the request was sent but its answer was lost: the provider may have rotated the token"

// ErrAnswerLost is the history's note for a refresh sent whose answer was
// never recorded (the process was killed, or the connection dropped).
var ErrAnswerLost = errors.New("the previous refresh was sent but its answer was lost: the provider may have rotated the token")

// explainFailure adds what the history knows to a provider's failure: a
// network failure once the request may have been sent can have rotated the
// token; a 401 after such a loss is most likely the provider seeing the
// spent token reused, not a plain revocation.
func explainFailure(pe *Error, answerLost bool) *Error {
	switch {
	case pe.Outcome == OutcomeNetworkError && pe.Status == 0 && maybeSent(pe.Kind):
		e := *pe
		e.Err = fmt.Errorf("%w; %s", pe.Err, answerLostNote)
		return &e
	case answerLost && pe.Outcome == OutcomeRejected && pe.Status == 401:
		e := *pe
		e.Err = fmt.Errorf("%w; most likely it was rotated then, and the old one is now seen reused: log in again", ErrAnswerLost)
		return &e
	}
	return pe
}

// maybeSent: a network failure of this kind may have come after the request
// reached the provider (not a DNS, refused connection or TLS failure).
func maybeSent(kind string) bool {
	switch kind {
	case KindDNS, KindRefused, KindTLS:
		return false
	}
	return true
}

// Stale says whether s's access token has minValid or less left at now. An
// unknown expiry (an opaque token, no expires_in) is not stale: nothing says
// so, and refreshing on every call would spend a refresh token each time.
func Stale(s vault.Session, now time.Time, minValid time.Duration) bool {
	return !s.ExpiresAt.IsZero() && s.ExpiresAt.Sub(now) <= minValid
}

// EnsureFresh returns the session, refreshing it first when it needs a
// login or its access token expires within minValid. An unknown expiry (an
// opaque token and no expires_in) counts as fresh: refreshing on every call
// would spend a refresh token per `tokentop token`, and the provider will
// say when the token stops working. After a refresh it returns the
// refreshed session and the Report, or the error. The check is made again
// under the lease, so that when several processes want a fresh token at
// once, only the first one refreshes (the others get a Shared Report).
func (r *Refresher) EnsureFresh(ctx context.Context, id int64, minValid time.Duration, trigger string) (vault.Session, *Report, error) {
	sess, err := r.store.GetSession(ctx, id)
	if err != nil {
		return vault.Session{}, nil, fmt.Errorf("ensure fresh: %w", err)
	}
	stale := func(s vault.Session, _ vault.ScheduleReader) bool { return s.NeedsLogin || Stale(s, r.now(), minValid) }
	if !stale(sess, nil) {
		return sess, nil, nil
	}
	rep, err := r.RefreshIf(ctx, id, trigger, stale)
	if rep == nil {
		return vault.Session{}, nil, err
	}
	return rep.Session, rep, err
}
