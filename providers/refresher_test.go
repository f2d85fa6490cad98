package providers_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

func TestRefreshPersistsRotation(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	ctx := context.Background()

	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := st.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || stored.AccessToken != "MRK-access-1-5b1d0e8c2a" ||
		stored.Version != s.Version+1 || !stored.ExpiresAt.Equal(testClock.Add(time.Hour)) || stored.LastStatus != "ok" {
		t.Errorf("stored %+v", stored)
	}
	if rep.Outcome != providers.OutcomeOK || !rep.Rotated || rep.Shared || rep.Status != 200 ||
		rep.Session.RefreshToken != stored.RefreshToken || rep.Exchange == nil || rep.Attempt.ID == 0 {
		t.Errorf("report %+v", rep)
	}

	attempts, err := st.ListAttempts(ctx, s.ID, 0)
	if err != nil || len(attempts) != 1 {
		t.Fatalf("attempts %v %v", attempts, err)
	}
	a := attempts[0]
	if a.Outcome != "ok" || a.Status != 200 || !a.Rotated || a.Trigger != vault.TriggerManual ||
		a.SentFP != vault.Fingerprint(initialRefresh) || a.ReceivedFP != vault.Fingerprint(stored.RefreshToken) ||
		!a.StartedAt.Equal(testClock) || a.Error != "" || a.ID != rep.Attempt.ID {
		t.Errorf("attempt %+v", a)
	}
	var ex providers.Exchange
	if err := json.Unmarshal(a.Exchange, &ex); err != nil || !ex.Masked || ex.Status != 200 || ex.Method != "POST" {
		t.Errorf("stored exchange %s: %v", a.Exchange, err)
	}

	// The next refresh sends the rotated token (the server accepts only it).
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerScheduled); err != nil {
		t.Fatal(err)
	}
	attempts, _ = st.ListAttempts(ctx, s.ID, 0)
	if len(attempts) != 2 || attempts[0].SentFP != attempts[1].ReceivedFP {
		t.Errorf("rotation chain broken: %+v", attempts)
	}
}

func TestRefreshWithoutRotationKeepsTheToken(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.rotate = false })
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	rep, err := newRefresher(st, "").Refresh(context.Background(), s.ID, vault.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rotated || rep.Session.RefreshToken != initialRefresh || rep.Session.AccessToken != "MRK-access-1-5b1d0e8c2a" ||
		rep.Attempt.ReceivedFP != "" || rep.Attempt.Rotated {
		t.Errorf("report %+v", rep)
	}
}

func TestRefreshSingleFlight(t *testing.T) {
	const callers = 50
	ts := newTokenServer(t)
	gate := make(chan struct{})
	ts.set(func(ts *tokenServer) { ts.gate = gate })
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	var joined atomic.Int32
	allJoined := make(chan struct{})
	providers.SetTestHooks(r, func() {
		if joined.Add(1) == callers-1 {
			close(allJoined)
		}
	}, nil)

	reports := make([]*providers.Report, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = r.Refresh(context.Background(), s.ID, vault.TriggerManual)
		}()
	}
	select {
	case <-allJoined: // every caller but the leader waits on the leader's flight
	case <-time.After(10 * time.Second):
		close(gate)
		wg.Wait()
		t.Fatalf("only %d callers joined the flight; the server saw %d requests", joined.Load(), ts.count())
	}
	close(gate)
	wg.Wait()

	if n := ts.count(); n != 1 {
		t.Errorf("server saw %d requests, want 1", n)
	}
	leaders := 0
	for i, rep := range reports {
		if errs[i] != nil || rep == nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if !rep.Shared {
			leaders++
			if rep.Attempt.ID == 0 {
				t.Error("the leader's report has no attempt")
			}
		} else if rep.Attempt.ID != 0 {
			t.Error("a follower's report carries the leader's attempt")
		}
		if rep.Session.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || rep.Outcome != providers.OutcomeOK {
			t.Errorf("caller %d got %+v", i, rep)
		}
	}
	if leaders != 1 {
		t.Errorf("%d reports not shared, want 1", leaders)
	}
	if attempts, _ := st.ListAttempts(context.Background(), s.ID, 0); len(attempts) != 1 {
		t.Errorf("%d attempts recorded, want 1", len(attempts))
	}
}

func TestRefreshRejectedNeedsLogin(t *testing.T) {
	ts := newTokenServer(t)
	ts.set(func(ts *tokenServer) { ts.status = 401 })
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	ctx := context.Background()

	rep, err := r.Refresh(ctx, s.ID, vault.TriggerScheduled)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeRejected || pe.Status != 401 {
		t.Fatalf("err %v", err)
	}
	if rep.Outcome != providers.OutcomeRejected || rep.Envelope == nil || rep.Envelope.Code != "401" || rep.Err != err {
		t.Errorf("report %+v", rep)
	}
	stored, _ := st.GetSession(ctx, s.ID)
	if !stored.NeedsLogin || stored.Version != s.Version || stored.RefreshToken != initialRefresh || stored.LastStatus != "rejected" {
		t.Errorf("stored %+v", stored)
	}
	a := rep.Attempt
	var env providers.Envelope
	if err := json.Unmarshal(a.Envelope, &env); err != nil || env.Shape != providers.ShapePathStack || a.Outcome != "rejected" ||
		a.Status != 401 || !strings.HasPrefix(a.Error, "rejected: 401 Invalid Refresh Token") {
		t.Errorf("attempt %+v (envelope %s)", a, a.Envelope)
	}

	// A server error neither sets nor clears the flag; a success clears it.
	ts.set(func(ts *tokenServer) { ts.status = 500 })
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err == nil {
		t.Fatal("500 did not fail")
	}
	if stored, _ = st.GetSession(ctx, s.ID); !stored.NeedsLogin {
		t.Error("a server error cleared needs_login")
	}
	ts.set(func(ts *tokenServer) { ts.status = 0 })
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err != nil {
		t.Fatal(err)
	}
	if stored, _ = st.GetSession(ctx, s.ID); stored.NeedsLogin {
		t.Error("a success left needs_login set")
	}
}

func TestRefreshGalileoForbiddenNeedsLogin(t *testing.T) {
	ts := newTokenServer(t) // only for its URL: Galileo's path is not served
	st := openStore(t, t.TempDir())
	s := vault.Session{Provider: vault.ProviderGalileo, Label: "acme", BaseURL: ts.URL, AccessToken: "MRK-gal-access-abcdef0123", RefreshToken: "MRK-gal-refresh-abcdef0123"}
	if err := st.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	ts.set(func(ts *tokenServer) { ts.status = 403 })
	_, err := newRefresher(st, "").Refresh(context.Background(), s.ID, vault.TriggerManual)
	if err == nil {
		t.Fatal("403 did not fail")
	}
	if stored, _ := st.GetSession(context.Background(), s.ID); !stored.NeedsLogin {
		t.Error("Galileo 403 did not set needs_login")
	}
}

func TestRefreshVersionConflictKeepsTokensForRecovery(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	// While the request is out, the session is replaced (an import, an edit).
	replacement := vault.Session{Provider: vault.ProviderPathStack, Label: "prod", BaseURL: ts.URL, Sub: s.Sub,
		AccessToken: "MRK-access-replaced-99aa88", RefreshToken: "MRK-refresh-replaced-99aa88"}
	ts.set(func(ts *tokenServer) {
		ts.during = func() {
			if err := st.PutSession(ctx, &replacement, true); err != nil {
				t.Error(err)
			}
		}
	})

	rep, err := newRefresher(st, "").Refresh(ctx, s.ID, vault.TriggerManual)
	if !errors.Is(err, providers.ErrNotSaved) || !errors.Is(err, vault.ErrVersionConflict) {
		t.Fatalf("err %v", err)
	}
	if !strings.HasPrefix(err.Error(), "new refresh token could not be saved; kept in recovery at recovery row") {
		t.Errorf("message %q", err)
	}
	// The caller still gets the new tokens in memory, and an outcome that is
	// not ok; the vault keeps the replacement.
	if rep.Session.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || rep.Outcome != providers.OutcomeNotSaved || rep.Err != err {
		t.Errorf("report %+v", rep)
	}
	stored, _ := st.GetSession(ctx, s.ID)
	if stored.RefreshToken != replacement.RefreshToken {
		t.Errorf("stored refresh token overwritten")
	}
	recs, lerr := st.ListRecovery(ctx)
	if lerr != nil || len(recs) != 1 || recs[0].Tokens.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || recs[0].SessionID != s.ID {
		t.Fatalf("recovery %+v %v", recs, lerr)
	}
	attempts, _ := st.ListAttempts(ctx, s.ID, 0)
	if len(attempts) != 1 || attempts[0].Error != err.Error() {
		t.Errorf("attempts %+v", attempts)
	}
}

func TestRefreshRecoveryWhenTheStoreFails(t *testing.T) {
	for _, tc := range []struct {
		name   string
		during func(st *vault.Store, id int64) error
		where  string
	}{
		{"session deleted", func(st *vault.Store, id int64) error { return st.DeleteSession(context.Background(), id) }, "recovery row"},
		{"store closed", func(st *vault.Store, id int64) error { return st.Close() }, ".recovery-"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ts := newTokenServer(t)
			st := openStore(t, dir)
			s := addSession(t, st, ts.URL, time.Time{})
			ts.set(func(ts *tokenServer) {
				ts.during = func() {
					if err := tc.during(st, s.ID); err != nil {
						t.Error(err)
					}
				}
			})
			rep, err := newRefresher(st, "").Refresh(context.Background(), s.ID, vault.TriggerManual)
			if !errors.Is(err, providers.ErrNotSaved) || !strings.Contains(err.Error(), "kept in recovery at "+dir) && !strings.Contains(err.Error(), "kept in recovery at recovery row") {
				t.Fatalf("err %v", err)
			}
			if !strings.Contains(err.Error(), tc.where) || rep.Session.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
				t.Errorf("err %v, report session %+v", err, rep.Session)
			}
			// The rotated token can be read back from where it went.
			st2 := openStore(t, dir)
			var got string
			if tc.where == "recovery row" {
				recs, _ := st2.ListRecovery(context.Background())
				if len(recs) == 1 {
					got = recs[0].Tokens.RefreshToken
				}
			} else {
				files, _ := filepath.Glob(filepath.Join(dir, "vault.db.recovery-*.json"))
				if len(files) == 1 {
					rec, err := st2.ReadRecoveryFile(files[0])
					if err != nil {
						t.Fatal(err)
					}
					got = rec.Tokens.RefreshToken
				}
			}
			if got != "MRK-refresh-1-c4e8a1f2b9" {
				t.Errorf("recovered refresh token %q", got)
			}
		})
	}
}

func TestRefreshWaitsForAnotherProcessLease(t *testing.T) {
	ts := newTokenServer(t)
	dir := t.TempDir()
	stA, stB := openStore(t, dir), openStore(t, dir) // two processes on one vault
	s := addSession(t, stA, ts.URL, time.Time{})
	ctx := context.Background()
	a, b := newRefresher(stA, "process-a"), newRefresher(stB, "process-b")

	// Process B is refreshing: it holds the lease.
	if ok, err := stB.TakeLease(ctx, s.ID, "process-b", time.Minute); !ok || err != nil {
		t.Fatalf("lease %v %v", ok, err)
	}
	busy := make(chan struct{})
	var once sync.Once
	providers.SetTestHooks(a, nil, func() { once.Do(func() { close(busy) }) })
	done := make(chan *providers.Report)
	go func() {
		rep, err := a.Refresh(ctx, s.ID, vault.TriggerScheduled)
		if err != nil {
			t.Error(err)
		}
		done <- rep
	}()
	<-busy // A found the lease held and polls

	if _, err := b.Refresh(ctx, s.ID, vault.TriggerManual); err != nil { // takes its own lease again, then releases it
		t.Fatal(err)
	}
	rep := <-done
	if ts.count() != 1 {
		t.Errorf("server saw %d requests, want 1 (the refresh token was spent twice)", ts.count())
	}
	if rep == nil || !rep.Shared || rep.Outcome != providers.OutcomeOK || rep.Exchange != nil || rep.Attempt.ID != 0 ||
		rep.Session.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Errorf("report %+v", rep)
	}
}

func TestRefreshLeaseWaitCancelled(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	if ok, _ := st.TakeLease(context.Background(), s.ID, "someone-else", time.Minute); !ok {
		t.Fatal("no lease")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	rep, err := newRefresher(st, "").Refresh(ctx, s.ID, vault.TriggerManual)
	if rep != nil || !errors.Is(err, vault.ErrLeaseHeld) || !errors.Is(err, context.DeadlineExceeded) || ts.count() != 0 {
		t.Errorf("report %v, err %v, requests %d", rep, err, ts.count())
	}
}

// TestRefreshCancelledIsRecorded: a caller cancelled while its request is
// out gets Outcome cancelled at once; the request goes on, and its answer
// (here a rotation the server has committed) is recorded and saved.
func TestRefreshCancelledIsRecorded(t *testing.T) {
	ts := newTokenServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	ts.set(func(ts *tokenServer) { ts.during = cancel })
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if !errors.Is(err, context.Canceled) || !errors.Is(err, providers.ErrInBackground) || rep.Outcome != providers.OutcomeCancelled {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	attempts, _ := st.ListAttempts(context.Background(), s.ID, 0)
	if len(attempts) != 1 || attempts[0].Outcome != "ok" || !attempts[0].Rotated {
		t.Errorf("attempts %+v", attempts)
	}
	if stored, _ := st.GetSession(context.Background(), s.ID); stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Errorf("stored refresh token %q, want the rotated one", stored.RefreshToken)
	}
	// The lease was released once the result was saved.
	if ok, _ := st.TakeLease(context.Background(), s.ID, "next", time.Second); !ok {
		t.Error("lease not released")
	}
}

func TestRefreshUnknownSessionAndProvider(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := providers.NewRefresher(st, providers.NewRegistry(), providers.RefresherOptions{})
	if _, err := r.Refresh(context.Background(), 42, vault.TriggerManual); !errors.Is(err, vault.ErrNotFound) {
		t.Errorf("missing session: %v", err)
	}
	s := addSession(t, st, "http://127.0.0.1:1", time.Time{})
	if _, err := r.Refresh(context.Background(), s.ID, vault.TriggerManual); !errors.Is(err, providers.ErrUnknownProvider) {
		t.Errorf("unregistered provider: %v", err)
	}
}

func TestEnsureFresh(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	ctx := context.Background()
	r := newRefresher(st, "")

	s := addSession(t, st, ts.URL, testClock.Add(time.Hour))
	got, rep, err := r.EnsureFresh(ctx, s.ID, 5*time.Minute, vault.TriggerCLI)
	if err != nil || rep != nil || got.AccessToken != s.AccessToken || ts.count() != 0 {
		t.Fatalf("fresh session: %+v %v %v, %d requests", got, rep, err, ts.count())
	}
	// Less than minValid left: refreshed.
	got, rep, err = r.EnsureFresh(ctx, s.ID, 2*time.Hour, vault.TriggerCLI)
	if err != nil || rep == nil || got.AccessToken != "MRK-access-1-5b1d0e8c2a" || ts.count() != 1 {
		t.Fatalf("expiring session: %+v %v %v", got, rep, err)
	}
	// A failed refresh returns the error.
	ts.set(func(ts *tokenServer) { ts.status = 401 })
	if _, _, err = r.EnsureFresh(ctx, s.ID, 2*time.Hour, vault.TriggerCLI); err == nil {
		t.Fatal("rejected refresh returned no error")
	}
	// Needs login: refreshed (and rejected again) even though the expiry is far.
	ts.set(func(ts *tokenServer) { ts.status = 0 })
	if _, rep, err = r.EnsureFresh(ctx, s.ID, time.Minute, vault.TriggerCLI); err != nil || rep == nil || ts.count() != 3 {
		t.Errorf("needs-login session: %v %v, %d requests", rep, err, ts.count())
	}
}

func TestNoSecretLeaks(t *testing.T) {
	ts := newTokenServer(t)
	dir := t.TempDir()
	st := openStore(t, dir)
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	ctx := context.Background()
	var texts []string
	refresh := func() {
		rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
		if err != nil {
			texts = append(texts, err.Error())
		}
		if rep != nil {
			var buf strings.Builder
			rep.Exchange.Format(&buf, false)
			texts = append(texts, buf.String())
		}
	}
	refresh()
	refresh()
	ts.set(func(ts *tokenServer) { ts.status = 401 }) // echoes the refresh token in its message
	refresh()
	ts.set(func(ts *tokenServer) { ts.status = 0; ts.current = "something-else" })
	refresh()
	ts.Close()
	refresh() // refused

	attempts, err := st.ListAttempts(ctx, s.ID, 0)
	if err != nil || len(attempts) != 5 {
		t.Fatalf("attempts %d %v", len(attempts), err)
	}
	for _, a := range attempts {
		texts = append(texts, string(a.Exchange), string(a.Envelope), a.Error)
	}
	st.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "vault.db*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, string(raw))
	}
	secrets := append(ts.tokens(), "MRK-access-0-initial-1a2b3c")
	if len(secrets) < 5 {
		t.Fatalf("only %d tokens issued", len(secrets))
	}
	for _, text := range texts {
		for _, secret := range secrets {
			if strings.Contains(text, secret) {
				t.Errorf("token %q found in %.200q", secret, text)
			}
		}
	}
}

// TestRefreshCommitsTwice: a refresh that can go ahead at once costs the
// vault two synced commits, the lease with the sent mark and the answer
// with the lease's release; one whose session needs a closer look first
// (a network failure last time) takes the lease in a commit of its own
// before marking (synced too: whether a mark comes with it is known only
// under the lease).
// The mark is on disk before the request goes out in both.
func TestRefreshCommitsTwice(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	ctx := context.Background()

	var markedBeforeSending bool
	ts.set(func(ts *tokenServer) {
		ts.during = func() {
			cur, err := st.GetSession(ctx, s.ID)
			markedBeforeSending = err == nil && cur.SentFP != ""
		}
	})
	before := vault.Stats()
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err != nil {
		t.Fatal(err)
	}
	after := vault.Stats()
	if c, sy := after.Commits-before.Commits, after.Synced-before.Synced; c != 2 || sy != 2 {
		t.Errorf("a refresh took %d commits (%d synced), want 2 (2)", c, sy)
	}
	if !markedBeforeSending {
		t.Error("the request went out before the sent mark was stored")
	}

	// After a network failure the Refresher reads history first: the lease,
	// then the mark, then the answer.
	if _, err := st.RecordRefresh(ctx, s.ID, 0, nil, &vault.Attempt{Outcome: string(providers.OutcomeNetworkError)}, false); err != nil {
		t.Fatal(err)
	}
	markedBeforeSending = false
	before = vault.Stats()
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err != nil {
		t.Fatal(err)
	}
	after = vault.Stats()
	if c, sy := after.Commits-before.Commits, after.Synced-before.Synced; c != 3 || sy != 3 {
		t.Errorf("the careful path took %d commits (%d synced), want 3 (3)", c, sy)
	}
	if !markedBeforeSending {
		t.Error("the request went out before the sent mark was stored (careful path)")
	}
}
