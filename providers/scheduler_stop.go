package providers

import (
	"context"
	"errors"
	"fmt"
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
// schedule as it was, and remembers it for finishStopped with the Report the
// Refresher gave back: its handle on a request still out, if any.
func (s *Scheduler) markStopped(id int64, rep *Report) {
	s.unclaim(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopped = append(s.stopped, stoppedRefresh{id: id, rep: rep})
}

// finishStopped runs when Run stops, after its refreshes returned. For each
// refresh cut short whose request was already sent, it waits through the
// Refresher's handle on that request (Report.AwaitBackground) until it is
// answered and saved, then settles the schedule on that outcome. One that
// never reached the provider leaves its schedule alone. Only this process's
// own refreshes are settled: nothing is read back from the vault, where
// another process's attempts are too.
func (s *Scheduler) finishStopped(ctx context.Context) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.RefreshTimeout)
	defer cancel()
	s.mu.Lock()
	stopped := s.stopped
	s.stopped = nil
	s.mu.Unlock()
	for _, st := range stopped {
		if st.rep == nil || st.rep.bg == nil {
			continue // nothing was sent
		}
		final, err := st.rep.AwaitBackground(wctx)
		if final == st.rep {
			s.reportError(fmt.Errorf("stop: the refresh of session %d sent before the stop was not answered in time; it is saved if the answer comes before exit", st.id))
			continue
		}
		if res := s.settle(ctx, st.id, final, err, false); res != nil {
			s.publish(res)
		}
	}
}
