package providers

import (
	"context"
	"errors"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Stopping the Scheduler: refreshes cut short by Run's context, and the
// ones whose requests the Refresher completes in the background.

// cutShort: the refresh ended on its context (Run's was cancelled), not on
// an answer from the provider.
func cutShort(rep *Report, err error) bool {
	if rep != nil && rep.Outcome == OutcomeCancelled {
		return true
	}
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// markStopped unclaims a refresh that stopping cut short, keeping its
// schedule as it was, and remembers it for finishStopped.
func (s *Scheduler) markStopped(id int64, started time.Time) {
	s.unclaim(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = append(s.stopped, stoppedRefresh{id: id, started: started})
}

// finishStopped runs when Run stops, after its refreshes returned: it waits
// for the requests the Refresher completes in the background (sent before
// the stop), then settles the schedule of each refresh cut short whose
// request was answered. One that never reached the provider leaves its
// schedule alone.
func (s *Scheduler) finishStopped(ctx context.Context) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.RefreshTimeout)
	defer cancel()
	if err := s.r.Wait(wctx); err != nil {
		s.reportError(err)
	}
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = nil
	s.mu.Unlock()
	for _, st := range stopped {
		if res := s.settleStopped(ctx, st); res != nil {
			s.publish(res)
		}
	}
}

// settleStopped settles a refresh cut short by stopping from the attempt the
// Refresher recorded for it, if any: a scheduled one, not cancelled, started
// since the refresh began. Nil when there is none.
func (s *Scheduler) settleStopped(ctx context.Context, st stoppedRefresh) *ScheduledResult {
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), schedulePersistTimeout)
	defer cancel()
	attempts, err := s.store.ListAttempts(pctx, st.id, 1)
	if err != nil || len(attempts) == 0 {
		return nil // nothing to settle: the schedule stays as it was
	}
	a := attempts[0]
	if a.Trigger != vault.TriggerScheduled || a.Outcome == string(OutcomeCancelled) ||
		a.StartedAt.Before(st.started.Truncate(time.Millisecond)) {
		return nil
	}
	sess, err := s.store.GetSession(pctx, st.id)
	if err != nil {
		return nil
	}
	rep := &Report{Session: withoutTokens(sess), Attempt: a, Outcome: Outcome(a.Outcome), Status: a.Status, Rotated: a.Rotated}
	if rep.Outcome != OutcomeOK {
		rep.Err = errors.New(describeFailure(rep, nil))
	}
	return s.settle(ctx, st.id, rep, rep.Err, false)
}
