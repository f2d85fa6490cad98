package providers

import (
	"context"
	"errors"
	"fmt"

	"github.com/tokentop/tokentop/vault"
)

// ErrNothingToRecover: no recovery entry applies to the session, i.e. none
// was bought with the refresh token it holds (see vault.Store.PendingRecovery).
var ErrNothingToRecover = errors.New("no rotated tokens in recovery apply to the session's refresh token")

// Restored is what Refresher.Recover took back into a session.
type Restored struct {
	Session  vault.Session  // as stored afterwards (tokens unsealed)
	Recovery vault.Recovery // the entry restored, now removed (tokens in memory only)
	Attempt  vault.Attempt  // recorded in history, outcome recovered
}

// Recover restores into session id, without sending anything, the rotated
// tokens kept in recovery for the refresh token it holds: what the next
// refresh would take back before sending. It runs under the session's vault
// lease, waiting while a refresh holds it (in another process, or in this
// one: it takes the lease as an owner of its own, RecoverOwner), so that it
// never races a refresh spending the same token; a refresh that waited for
// it finds the session changed and shares the result. The restore is
// recorded in the session's history (outcome recovered, trigger as given).
//
// ErrNothingToRecover (nil Restored) when no entry applies, which is also
// the case when another process took the tokens back meanwhile.
func (r *Refresher) Recover(ctx context.Context, id int64, trigger string) (*Restored, error) {
	owner := r.RecoverOwner()
	if err := r.takeLeaseAs(ctx, id, owner); err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	defer func() {
		// A lease that fails to release lapses after its TTL: nothing to report.
		_ = r.store.ReleaseLease(context.WithoutCancel(ctx), id, owner)
	}()
	sess, err := r.store.GetSession(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("recover: %w", err)
	}
	rec, err := r.store.PendingRecovery(ctx, sess)
	if err != nil {
		return nil, fmt.Errorf("recover %s: %w", sess.Label, err)
	}
	if rec == nil {
		return nil, fmt.Errorf("recover %s: %w", sess.Label, ErrNothingToRecover)
	}
	stored, a, err := r.restore(ctx, sess, *rec, trigger)
	if err != nil {
		return nil, fmt.Errorf("recover %s: the kept tokens could not be written to the session; they stay in recovery: %w", sess.Label, err)
	}
	return &Restored{Session: stored, Recovery: *rec, Attempt: a}, nil
}

// RecoverOwner is the lease owner Recover uses: this Refresher's own, marked,
// so that a refresh of this process (whose owner is Owner) waits for it
// exactly as one of another process would.
func (r *Refresher) RecoverOwner() string { return r.owner + "-recover" }
