package providers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// fail makes rep and a say what went wrong.
func fail(rep *Report, a *vault.Attempt, pe *Error) {
	rep.Outcome, rep.Envelope, rep.Err = pe.Outcome, pe.Envelope, pe
	a.Outcome, a.Status, a.Error = string(pe.Outcome), pe.Status, pe.Error()
	if pe.Envelope != nil {
		a.Envelope, _ = json.Marshal(pe.Envelope) // plain data: cannot fail
	}
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

// override is tokens a refresh received but could not save: the vault still
// holds spent, the refresh token the provider has already retired. Until
// they are saved, refreshes in this process send upd's refresh token instead
// of spending the family on a reused token.
type override struct {
	spent string
	upd   vault.TokenUpdate // with the live RefreshToken
}

// applyOverride returns the session to refresh from: sess, or sess with the
// tokens of an override (which it first tries to save again). An override
// whose spent token is no longer the stored one is dropped: the session got
// other tokens since (a login, an import), and those win; recovery keeps ours.
func (r *Refresher) applyOverride(ctx context.Context, sess vault.Session) vault.Session {
	r.mu.Lock()
	ov := r.overrides[sess.ID]
	r.mu.Unlock()
	if ov == nil {
		return sess
	}
	if sess.RefreshToken != ov.spent {
		r.dropOverride(sess.ID, ov)
		return sess
	}
	upd := ov.upd
	if stored, err := r.store.RecordRefresh(ctx, sess.ID, sess.Version, &upd, nil, false); err == nil {
		r.dropOverride(sess.ID, ov)
		return stored
	}
	return applyUpdate(sess, ov.upd)
}

// dropOverride forgets session id's override: ov only, or any when ov is nil.
func (r *Refresher) dropOverride(id int64, ov *override) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ov == nil || r.overrides[id] == ov {
		delete(r.overrides, id)
	}
}

// keepUnsaved handles tokens that did not reach the session (serr says why).
// The refresh token sent may be spent: the new tokens go to recovery and,
// when they carry a refresh token, into an override for this process's next
// refresh. The Report gets the tokens in memory and an error (never Outcome
// ok); the attempt is recorded when the row still exists. It reports whether
// that dropped the lease.
func (r *Refresher) keepUnsaved(ctx context.Context, c *planned, rep *Report, a vault.Attempt, upd vault.TokenUpdate, serr error) bool {
	sess := c.sess
	lost := &unsavedError{rotated: upd.RefreshToken != "", cause: serr}
	lost.where, lost.recoveryErr = r.store.SaveRecovery(ctx, sess.ID, c.storedRefresh, upd, serr.Error())
	if upd.RefreshToken != "" {
		r.mu.Lock()
		r.overrides[sess.ID] = &override{spent: c.storedRefresh, upd: upd}
		r.mu.Unlock()
	}
	rep.Session = applyUpdate(sess, upd)
	if rep.Err == nil {
		rep.Outcome, rep.Err = OutcomeNotSaved, lost
	} else {
		rep.Err = fmt.Errorf("%w; %w", rep.Err, lost)
	}
	a.Outcome, a.Error = string(rep.Outcome), rep.Err.Error()
	if _, err := r.store.RecordRefreshReleasing(ctx, r.owner, sess.ID, sess.Version, nil, &a, false); err != nil {
		return false // the row is gone, or the vault is: the error already says so
	}
	rep.Attempt = a
	return true
}

// tokenUpdate turns a provider's Result into the vault's update, with
// rotated as the refresh token (empty: not rotated, keep the stored one);
// times left zero are filled by the vault from the tokens' claims (iat, the
// refresh token's exp).
func tokenUpdate(res Result, rotated string) *vault.TokenUpdate {
	return &vault.TokenUpdate{
		AccessToken:  res.AccessToken,
		RefreshToken: rotated,
		TokenType:    res.TokenType,
		Sub:          res.Sub,
		IssuedAt:     res.IssuedAt,
		ExpiresAt:    res.ExpiresAt,
	}
}

// refreshOnly is the update that saves a rotated refresh token alone, when
// the rest of the answer is unusable: the access token and its times stay.
func refreshOnly(sess vault.Session, refresh string) *vault.TokenUpdate {
	return &vault.TokenUpdate{
		AccessToken:  sess.AccessToken,
		RefreshToken: refresh,
		IssuedAt:     sess.IssuedAt,
		ExpiresAt:    sess.ExpiresAt,
	}
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
