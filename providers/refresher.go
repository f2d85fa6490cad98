package providers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
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
	// persistTimeout bounds writing a refresh's result. Persistence runs even
	// when the caller's context is cancelled: a rotated token must be kept.
	persistTimeout = 10 * time.Second
)

// Refresher errors.
var (
	// ErrUnknownProvider: the session names a provider that is not registered.
	ErrUnknownProvider = errors.New("unknown provider")
	// ErrNotSaved: the refresh succeeded but its tokens could not be written
	// to the session; they were kept in the vault's recovery (see the message).
	ErrNotSaved = errors.New("new tokens could not be saved")
)

// Report is the outcome of one Refresher.Refresh.
type Report struct {
	Session  vault.Session // as stored afterwards (tokens unsealed); see ErrNotSaved
	Attempt  vault.Attempt // as recorded (zero ID when the refresh was shared/skipped)
	Outcome  Outcome
	Status   int
	Envelope *Envelope
	Exchange *Exchange // unredacted, in memory only; nil when no request was made
	Rotated  bool
	Shared   bool  // another caller or process did the refresh; this one reused its result
	Err      error // the provider's error or a persistence error, nil when ok
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
type Refresher struct {
	store *vault.Store
	reg   *Registry
	owner string
	ttl   time.Duration
	now   func() time.Time

	mu       sync.Mutex
	inflight map[int64]*flight // session id → the refresh under way

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
		store:    store,
		reg:      reg,
		owner:    opts.Owner,
		ttl:      opts.LeaseTTL,
		now:      opts.Now,
		inflight: map[int64]*flight{},
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

// Refresh refreshes session id now. Concurrent calls for one id share one
// request: the followers get a copy of the leader's Report marked Shared
// (its outcome, session, exchange and error; cancelling the leader's context
// cancels the shared refresh). If
// another process holds the lease it waits for it, then returns that
// process's result (Shared) instead of spending the refresh token again.
//
// The error is the Report's Err (nil when the refresh succeeded and was
// saved); a nil Report means no attempt was made (unknown session, lease
// wait cancelled, vault error) and the error says why.
func (r *Refresher) Refresh(ctx context.Context, id int64, trigger string) (*Report, error) {
	return r.RefreshIf(ctx, id, trigger, nil)
}

// RefreshIf is Refresh, but only if need, called with the session as read
// under the lease, says the refresh is still needed. When it is not, no
// request is made and the Report is marked Shared (Outcome ok, zero Attempt,
// nil Exchange, Session as read). A nil need always refreshes.
//
// This is what lets several processes run the same schedule: each one sees a
// session due, but only the first to take the lease finds it still due; the
// others read the refreshed session and skip. A caller joining a refresh in
// flight in this process shares it without asking need.
func (r *Refresher) RefreshIf(ctx context.Context, id int64, trigger string, need func(vault.Session) bool) (*Report, error) {
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
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.inflight, id)
		r.mu.Unlock()
		close(f.done)
	}()
	f.rep, f.err = r.refresh(ctx, id, trigger, need)
	return f.rep, f.err
}

// refresh is one refresh under the lease, skipped when need says no.
func (r *Refresher) refresh(ctx context.Context, id int64, trigger string, need func(vault.Session) bool) (*Report, error) {
	before, err := r.acquireLease(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	released := false // the attempt's transaction dropped the lease
	defer func() {
		if !released {
			// A lease that fails to release lapses after its TTL: nothing to report.
			_ = r.store.ReleaseLease(context.WithoutCancel(ctx), id, r.owner)
		}
	}()

	// Read under the lease: the refresh token may have rotated meanwhile.
	sess, err := r.store.GetSession(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	if before != nil && sess.Version != before.Version {
		// Another process refreshed (or someone edited the session) while we
		// waited: use that, never spend the refresh token twice.
		return &Report{Session: sess, Outcome: OutcomeOK, Shared: true}, nil
	}
	if need != nil && !need(sess) {
		return &Report{Session: sess, Outcome: OutcomeOK, Shared: true}, nil
	}
	p, ok := r.reg.Get(sess.Provider)
	if !ok {
		return nil, fmt.Errorf("refresh %s: %w %q", sess.Label, ErrUnknownProvider, sess.Provider)
	}
	return r.call(ctx, p, sess, trigger, &released)
}

// acquireLease takes the session's lease. When another owner holds it, it
// reads the session as it was before polling until the lease is free, and
// returns that reading so that the caller can tell whether the other owner
// changed it.
func (r *Refresher) acquireLease(ctx context.Context, id int64) (*vault.Session, error) {
	ok, err := r.store.TakeLease(ctx, id, r.owner, r.ttl)
	if err != nil {
		return nil, err
	}
	if ok {
		return nil, nil
	}
	before, err := r.store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if r.onLeaseBusy != nil {
		r.onLeaseBusy()
	}
	timer := time.NewTimer(leasePoll)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %w", vault.ErrLeaseHeld, ctx.Err())
		case <-timer.C:
		}
		ok, err := r.store.TakeLease(ctx, id, r.owner, r.ttl)
		if err != nil {
			return nil, err
		}
		if ok {
			return &before, nil
		}
		timer.Reset(leasePoll)
	}
}

// call asks the provider and records the result.
// released is set when the lease was dropped with the attempt.
func (r *Refresher) call(ctx context.Context, p Provider, sess vault.Session, trigger string, released *bool) (*Report, error) {
	started := r.now()
	began := time.Now() // monotonic, whatever r.now says
	res, ex, err := p.Refresh(ctx, sess)
	a := vault.Attempt{
		Trigger:   trigger,
		StartedAt: started,
		Duration:  time.Since(began),
		Outcome:   string(OutcomeOK),
		SentFP:    vault.Fingerprint(sess.RefreshToken),
	}
	rep := &Report{Session: sess, Outcome: OutcomeOK, Exchange: ex}
	if ex != nil {
		a.Status = ex.Status
		if raw, merr := ex.MarshalRedacted(); merr == nil {
			a.Exchange = raw
		}
	}

	var upd *vault.TokenUpdate
	needsLogin := false // the vault clears the flag on success and keeps it otherwise
	if err != nil {
		pe := asProviderError(err)
		rep.Outcome, rep.Envelope, rep.Err = pe.Outcome, pe.Envelope, pe
		a.Outcome, a.Status, a.Error = string(pe.Outcome), pe.Status, pe.Error()
		if pe.Envelope != nil {
			a.Envelope, _ = json.Marshal(pe.Envelope) // plain data: cannot fail
		}
		needsLogin = loginRequired(sess.Provider, pe)
	} else {
		upd = tokenUpdate(sess, res)
		rep.Rotated = upd.RefreshToken != ""
		if rep.Rotated {
			a.Rotated = true
			a.ReceivedFP = vault.Fingerprint(upd.RefreshToken)
		}
	}
	rep.Status = a.Status

	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), persistTimeout)
	defer cancel()
	stored, serr := r.store.RecordRefreshReleasing(pctx, r.owner, sess.ID, sess.Version, upd, &a, needsLogin)
	rep.Attempt = a
	if serr == nil {
		*released = true
		rep.Session = stored
		return rep, rep.Err
	}
	if upd == nil {
		rep.Err = fmt.Errorf("%w (and recording the attempt failed: %w)", rep.Err, serr)
		return rep, rep.Err
	}

	// The refresh worked but its tokens did not reach the session. The old
	// refresh token may already be spent: keep the new one for recovery, and
	// hand the caller the new tokens in memory.
	lost := &unsavedError{rotated: rep.Rotated, cause: serr}
	lost.where, lost.recoveryErr = r.store.SaveRecovery(pctx, sess.ID, *upd, serr.Error())
	rep.Session = applyUpdate(sess, *upd)
	rep.Err = lost
	if errors.Is(serr, vault.ErrVersionConflict) {
		// The row is still there: record the attempt without tokens, so the
		// history shows what happened.
		a.Error = lost.Error()
		if _, err := r.store.RecordRefresh(pctx, sess.ID, 0, nil, &a, false); err == nil {
			rep.Attempt = a
		}
	}
	return rep, rep.Err
}

// asProviderError makes any provider failure an *Error. A provider error
// that is not one (nothing was sent) counts as a network error.
func asProviderError(err error) *Error {
	var pe *Error
	if errors.As(err, &pe) {
		return pe
	}
	return &Error{Outcome: OutcomeNetworkError, Kind: KindNetwork, Err: err}
}

// loginRequired says whether a failure cannot heal by retrying: the provider
// rejected the refresh token itself (PathStack 401 "Invalid Refresh Token",
// Galileo 401 or 403).
func loginRequired(provider string, e *Error) bool {
	if e.Outcome != OutcomeRejected {
		return false
	}
	switch e.Status {
	case 401:
		return true
	case 403:
		return provider == vault.ProviderGalileo
	}
	return false
}

// tokenUpdate turns a provider's Result into the vault's update. RefreshToken
// is set only when the token rotated; times left zero are filled by the vault
// from the tokens' claims (iat, the refresh token's exp).
func tokenUpdate(sess vault.Session, res Result) *vault.TokenUpdate {
	upd := &vault.TokenUpdate{
		AccessToken: res.AccessToken,
		TokenType:   res.TokenType,
		Sub:         res.Sub,
		IssuedAt:    res.IssuedAt,
		ExpiresAt:   res.ExpiresAt,
	}
	if res.RefreshToken != sess.RefreshToken {
		upd.RefreshToken = res.RefreshToken
	}
	return upd
}

// applyUpdate is sess with upd's tokens, as RecordRefresh would have stored it.
func applyUpdate(sess vault.Session, upd vault.TokenUpdate) vault.Session {
	sess.AccessToken = upd.AccessToken
	if upd.RefreshToken != "" {
		sess.RefreshToken = upd.RefreshToken
	}
	if upd.Sub != "" {
		sess.Sub = upd.Sub
	}
	if upd.TokenType != "" {
		sess.TokenType = upd.TokenType
	}
	sess.IssuedAt = upd.IssuedAt
	sess.ExpiresAt = upd.ExpiresAt
	if upd.RefreshToken != "" {
		sess.RefreshExpiresAt = time.Time{}
	}
	sess.NeedsLogin = false
	return sess
}

// unsavedError reports tokens that reached recovery instead of their session.
type unsavedError struct {
	rotated     bool
	where       string // where SaveRecovery put them
	recoveryErr error  // SaveRecovery failed too
	cause       error  // why RecordRefresh failed
}

func (e *unsavedError) Error() string {
	what := "new access token"
	if e.rotated {
		what = "new refresh token"
	}
	if e.recoveryErr != nil {
		return fmt.Sprintf("%s could not be saved, nor kept in recovery (%v): %v", what, e.recoveryErr, e.cause)
	}
	return fmt.Sprintf("%s could not be saved; kept in recovery at %s: %v", what, e.where, e.cause)
}

func (e *unsavedError) Is(target error) bool { return target == ErrNotSaved }
func (e *unsavedError) Unwrap() error        { return e.cause }

// EnsureFresh returns the session, refreshing it first unless its expiry is
// known, more than minValid away, and it does not need a login. After a
// refresh it returns the refreshed session and the Report, or the error.
// The check is made again under the lease, so that when several processes
// want a fresh token at once, only the first one refreshes (the others get
// a Shared Report).
func (r *Refresher) EnsureFresh(ctx context.Context, id int64, minValid time.Duration, trigger string) (vault.Session, *Report, error) {
	sess, err := r.store.GetSession(ctx, id)
	if err != nil {
		return vault.Session{}, nil, fmt.Errorf("ensure fresh: %w", err)
	}
	stale := func(s vault.Session) bool {
		return s.NeedsLogin || s.ExpiresAt.IsZero() || s.ExpiresAt.Sub(r.now()) <= minValid
	}
	if !stale(sess) {
		return sess, nil, nil
	}
	rep, err := r.RefreshIf(ctx, id, trigger, stale)
	if rep == nil {
		return vault.Session{}, nil, err
	}
	return rep.Session, rep, err
}
