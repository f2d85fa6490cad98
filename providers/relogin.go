package providers

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Automatic re-login: when the provider rejects the refresh token for good
// (401) and the session has a remembered login (vault.RememberLogin), the
// Refresher logs in again by itself, once, under the same lease, and records
// that in history with trigger relogin.

// relogin tries the remembered login after the refresh failed with a
// rejection that needs a login. It is called under the lease with the
// failed attempt a not yet recorded. It reports whether it handled the
// refresh: then rep is final, the attempts recorded and the lease released
// (or left to lapse when the vault cannot be written). false leaves
// everything to the caller: no remembered login, the provider has none, or
// the vault refused the failed attempt.
func (r *Refresher) relogin(ctx context.Context, c *planned, rep *Report, a vault.Attempt) bool {
	sess := c.sess
	l, ok := c.p.(Loginer)
	if !ok {
		return false
	}
	pctx, cancel := context.WithTimeout(ctx, persistTimeout)
	defer cancel()
	kept, err := r.store.RememberedLogin(pctx, sess.ID)
	if err != nil || kept == nil {
		return false
	}
	// The failed refresh first, so that history shows why.
	stored, err := r.store.RecordRefresh(pctx, sess.ID, sess.Version, nil, &a, true)
	if err != nil {
		return false // the caller records it (or says why it cannot)
	}
	rep.Attempt = a

	creds := Credentials{Method: kept.Method, Username: kept.Username}
	if kept.Method == LoginAPIKey {
		creds.APIKey = kept.Secret
	} else {
		creds.Password = kept.Secret
	}
	started := r.now()
	began := time.Now()
	cctx, ccancel := context.WithTimeout(ctx, r.callTimeout())
	res, ex, lerr := l.Login(cctx, LoginTarget{BaseURL: sess.BaseURL, APIVersion: sess.APIVersion}, creds)
	ccancel()
	// Saving what the login answered gets its own persistTimeout from now:
	// the login may have used up the first one (it may take callTimeout),
	// and new tokens must not be dropped for want of time to write them.
	sctx, scancel := context.WithTimeout(ctx, persistTimeout)
	defer scancel()
	b := r.newAttempt(vault.TriggerRelogin, started, time.Since(began), ex)
	var upd *vault.TokenUpdate
	if lerr == nil {
		upd = tokenUpdate(res, res.RefreshToken)
		if res.RefreshToken == "" {
			lerr = &Error{Outcome: OutcomeServerError, Status: b.Status, Err: fmt.Errorf("%w: the login answered no refresh token", ErrSchema)}
		} else if cerr := vault.CheckTokenUpdate(upd); cerr != nil {
			lerr = &Error{Outcome: OutcomeServerError, Status: b.Status, Err: fmt.Errorf("%w: %w", ErrSchema, cerr)}
		}
	}
	if lerr != nil {
		pe := asProviderError(lerr)
		b.Outcome, b.Error = string(pe.Outcome), "automatic login failed: "+pe.Error()
		if pe.Envelope != nil {
			b.Envelope, _ = json.Marshal(pe.Envelope) // plain data: cannot fail
		}
		rep.Err = fmt.Errorf("%w; %s", rep.Err, b.Error)
		rep.Session = stored
		if _, err := r.store.RecordRefreshReleasing(sctx, r.owner, sess.ID, stored.Version, nil, &b, true); err != nil {
			rep.Err = fmt.Errorf("%w (and recording it failed: %w)", rep.Err, err)
			_ = r.store.ReleaseLease(sctx, sess.ID, r.owner)
		}
		return true
	}
	b.Rotated, b.ReceivedFP = true, vault.Fingerprint(res.RefreshToken)
	saved, err := r.store.RecordRefreshReleasing(sctx, r.owner, sess.ID, stored.Version, upd, &b, false)
	if err != nil {
		// New tokens from a login that cannot be saved: keep them like any.
		c.sess.Version = stored.Version
		rep.Outcome, rep.Err, rep.Exchange, rep.Status, rep.Relogin = OutcomeOK, nil, ex, b.Status, true
		if !r.keepUnsaved(sctx, c, rep, b, *upd, err) {
			_ = r.store.ReleaseLease(sctx, sess.ID, r.owner)
		}
		return true
	}
	*rep = Report{Session: saved, Attempt: b, Outcome: OutcomeOK, Status: b.Status, Exchange: ex, Rotated: true, Relogin: true}
	return true
}
