package providers_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// TestRefreshUsesRecoveryFromAnotherProcess: tokens that one process
// received but could not save are kept in the vault's recovery; a NEW
// process (no memory of them) takes them back under the lease before it
// sends anything, so it sends the live refresh token, not the spent one.
func TestRefreshUsesRecoveryFromAnotherProcess(t *testing.T) {
	ts := newTokenServer(t)
	dir := t.TempDir()
	st := openStore(t, dir)
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	reimport := s
	reimport.AccessToken = "MRK-access-reimported-5e5e"
	ts.set(func(ts *tokenServer) {
		ts.during = func() { // a version conflict: the rotation cannot be saved
			if err := st.PutSession(ctx, &reimport, true); err != nil {
				t.Error(err)
			}
		}
	})
	if _, err := newRefresher(st, "first").Refresh(ctx, s.ID, vault.TriggerManual); !errors.Is(err, providers.ErrNotSaved) {
		t.Fatalf("first refresh: %v", err)
	}
	ts.set(func(ts *tokenServer) { ts.during = nil })
	// The re-import put the spent token back; what the vault holds must
	// not be sent. (The re-import replaced the tokens: the recovery row was
	// written for the token that was spent, which is the one stored again.)
	if got, _ := st.GetSession(ctx, s.ID); got.Recovery != 1 {
		t.Fatalf("session says %d token sets wait in recovery, want 1", got.Recovery)
	}

	// Another process: a fresh Store and Refresher on the same vault.
	st2 := openStore(t, dir)
	rep, err := newRefresher(st2, "second").Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil {
		t.Fatalf("second refresh: %v (%+v)", err, rep)
	}
	if rep.Attempt.SentFP != vault.Fingerprint("MRK-refresh-1-c4e8a1f2b9") {
		t.Errorf("sent %s, want the recovered token's fingerprint", rep.Attempt.SentFP)
	}
	stored, _ := st2.GetSession(ctx, s.ID)
	if stored.RefreshToken != ts.tokens()[len(ts.tokens())-1] || stored.Recovery != 0 {
		t.Errorf("stored %q with %d in recovery, want the newest token and none", stored.RefreshToken, stored.Recovery)
	}
	attempts, _ := st2.ListAttempts(ctx, s.ID, 0)
	var outcomes []string
	for _, a := range attempts {
		outcomes = append(outcomes, a.Outcome)
	}
	if strings.Join(outcomes, ",") != "ok,recovered,not_saved" {
		t.Errorf("history %v, want ok, recovered, not_saved (newest first)", outcomes)
	}
	if attempts[0].Owner != "second" || attempts[2].Owner != "first" {
		t.Errorf("owners %q, %q", attempts[0].Owner, attempts[2].Owner)
	}
}

// TestRefreshRecoveryFreshEnoughSendsNothing: recovered tokens whose access
// token is still fresh satisfy a conditional refresh with no request.
func TestRefreshRecoveryFreshEnoughSendsNothing(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, testNow().Add(-time.Minute))
	ctx := context.Background()
	upd := vault.TokenUpdate{AccessToken: "MRK-access-kept-1", RefreshToken: "MRK-refresh-kept-1", ExpiresAt: testNow().Add(time.Hour)}
	if _, err := st.SaveRecovery(ctx, s.ID, s.RefreshToken, upd, "test"); err != nil {
		t.Fatal(err)
	}
	sess, rep, err := newRefresher(st, "").EnsureFresh(ctx, s.ID, time.Minute, vault.TriggerCLI)
	if err != nil || rep == nil {
		t.Fatalf("ensure fresh: %v %+v", err, rep)
	}
	if sess.AccessToken != "MRK-access-kept-1" || ts.count() != 0 {
		t.Errorf("access %q after %d requests, want the recovered token and none", sess.AccessToken, ts.count())
	}
}

// TestRefreshAfterAKilledRefreshExplainsThe401: a process marked the refresh
// as sent and died before recording its answer (the server had rotated). The
// next refresh records that in history and explains the 401 it gets.
func TestRefreshAfterAKilledRefreshExplainsThe401(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	// The killed process: lease, intent, request answered by the server...
	if ok, err := st.TakeLease(ctx, s.ID, "killed", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := st.MarkSent(ctx, s.ID, "killed", vault.Fingerprint(s.RefreshToken), nil); err != nil {
		t.Fatal(err)
	}
	ts.set(func(ts *tokenServer) { ts.current = "MRK-refresh-rotated-and-lost" })
	// ...and its lease goes (it lapsed, or was taken over).
	if err := st.ReleaseLease(ctx, s.ID, "killed"); err != nil {
		t.Fatal(err)
	}

	rep, err := newRefresher(st, "next").Refresh(ctx, s.ID, vault.TriggerManual)
	if err == nil || rep.Status != 401 || !errors.Is(err, providers.ErrAnswerLost) {
		t.Fatalf("refresh: %v %+v", err, rep)
	}
	attempts, _ := st.ListAttempts(ctx, s.ID, 0)
	byOutcome := map[string]vault.Attempt{}
	for _, a := range attempts {
		byOutcome[a.Outcome] = a
	}
	lost, rejected := byOutcome["interrupted"], byOutcome["rejected"]
	if len(attempts) != 2 || lost.Owner != "killed" || lost.Error != providers.ErrAnswerLost.Error() ||
		rejected.Status != 401 || !strings.Contains(rejected.Error, "answer was lost") {
		t.Fatalf("history %+v", attempts)
	}
	if stored, _ := st.GetSession(ctx, s.ID); stored.SentFP != "" || !stored.NeedsLogin {
		t.Errorf("after the 401: %+v", stored)
	}
}

// TestRefreshDroppedAfterSendingIsNotAPlainRevocation: the connection drops
// after the request went out (the server rotated); the attempt says the
// answer was lost, and the 401 that follows is explained as its consequence.
func TestRefreshDroppedAfterSendingIsNotAPlainRevocation(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) {
		ts.during = func() { panic(http.ErrAbortHandler) } // the server rotates, then the connection drops
	})
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	r := newRefresher(st, "")
	// The tokenServer rotates only when it answers: do it by hand here.
	ts.set(func(ts *tokenServer) { ts.current = "MRK-refresh-rotated-unseen" })
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err == nil || rep.Outcome != providers.OutcomeNetworkError || !strings.Contains(err.Error(), "answer was lost") {
		t.Fatalf("dropped: %v %+v", err, rep)
	}
	ts.set(func(ts *tokenServer) { ts.during = nil })
	rep, err = r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err == nil || rep.Status != 401 || !errors.Is(err, providers.ErrAnswerLost) {
		t.Fatalf("after the drop: %v %+v", err, rep)
	}
}

// TestRefreshDeadlineWithinTheLease: a provider built with an HTTP client
// that has no timeout still cannot hold a request beyond the lease: the
// Refresher gives the call a deadline of its own, and the lease is free after.
func TestRefreshDeadlineWithinTheLease(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // read the request, never answer
				defer c.Close()
				go io.Copy(io.Discard, c)
				<-stop
			}()
		}
	}()
	st := openStore(t, t.TempDir())
	s := addSession(t, st, "http://"+ln.Addr().String(), time.Time{})
	hc := &http.Client{} // no timeout at all
	reg := providers.NewRegistry(pathstack.New(hc, testNow), galileo.New(hc, testNow))
	r := providers.NewRefresher(st, reg, providers.RefresherOptions{Owner: "me", LeaseTTL: time.Second})
	done := make(chan error, 1)
	go func() {
		_, err := r.Refresh(context.Background(), s.ID, vault.TriggerManual)
		done <- err
	}()
	select {
	case err := <-done:
		var pe *providers.Error
		if !errors.As(err, &pe) || pe.Kind != providers.KindTimeout {
			t.Fatalf("err %v, want a timeout", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the request outlived its lease by far")
	}
	if ok, err := st.TakeLease(context.Background(), s.ID, "other", time.Minute); err != nil || !ok {
		t.Errorf("lease not free after the refresh: %v %v", ok, err)
	}
}

// TestSchedulerStopDoesNotClaimAnotherProcessesAttempt: a scheduled refresh
// cut short by stopping, before anything was sent, settles nothing, even
// when another process recorded a failed scheduled attempt meanwhile (it
// used to be taken for this one's, doubling the backoff).
func TestSchedulerStopDoesNotClaimAnotherProcessesAttempt(t *testing.T) {
	_, clock, st, s, rs := schedulerWaitingForLease(t)
	// The other process fails its own scheduled refresh (and settles its own
	// schedule, which is not this test's business).
	clock.Advance(time.Second)
	a := vault.Attempt{Trigger: vault.TriggerScheduled, StartedAt: clock.Now(), Outcome: "server_error", Status: 500, Error: "server error: 500", Owner: "another-process"}
	if _, err := st.RecordRefresh(context.Background(), s.ID, 0, nil, &a, false); err != nil {
		t.Fatal(err)
	}
	if err := rs.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case res := <-rs.results:
		t.Errorf("another process's attempt was settled as this one's: %+v", res)
	default:
	}
	if stored := getSchedule(t, st, s.ID); stored.Failures != 0 || !stored.BackoffUntil.IsZero() {
		t.Errorf("schedule took another process's failure: %+v", stored)
	}
}
