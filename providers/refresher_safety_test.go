package providers_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// The safety rule these tests hold the Refresher to (DESIGN.md, Refresh): a
// refresh token is never spent twice or dropped.

// pollUntil waits (up to 10 s) for cond, which another goroutine makes true.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// startFakeSession starts the fake PathStack and stores a session of a
// freshly minted token family.
func startFakeSession(t *testing.T, st *vault.Store) (*fake.Server, vault.Session) {
	t.Helper()
	srv, err := fake.StartPathStack(fake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	tok, err := srv.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s := vault.Session{Provider: vault.ProviderPathStack, Label: "fake", BaseURL: srv.URL, Sub: tok.Sub,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
	if err := st.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return srv, s
}

// realClockRefresher uses time.Now, to match the fake server's tokens.
func realClockRefresher(st *vault.Store) *providers.Refresher {
	hc := providers.NewHTTPClient(providers.ClientOptions{})
	reg := providers.NewRegistry(pathstack.New(hc, nil), galileo.New(hc, nil))
	return providers.NewRefresher(st, reg, providers.RefresherOptions{})
}

// answering is a server answering every request with status 200, body and
// the given Set-Cookie headers.
func answering(t *testing.T, body string, setCookie ...string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, c := range setCookie {
			w.Header().Add("Set-Cookie", c)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestRefreshDeadlineAfterRotationIsSaved: EnsureFresh's deadline ends while
// the fake server holds back the answer to a refresh it has already rotated
// (delay_after_ms). The caller gets Outcome cancelled at once; the request
// goes on, its answer is saved, and the next refresh sends the new token
// (the fake would revoke the family on reuse).
func TestRefreshDeadlineAfterRotationIsSaved(t *testing.T) {
	st := openStore(t, t.TempDir())
	srv, s := startFakeSession(t, st)
	r := realClockRefresher(st)
	srv.QueueFault(fake.Fault{DelayAfterMS: 1500})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		pollUntil(t, "the rotation", func() bool { return srv.Stats().Rotations == 1 })
		cancel() // the deadline, once the server has committed the rotation
	}()
	got, rep, err := r.EnsureFresh(ctx, s.ID, 24*time.Hour, vault.TriggerCLI)
	if !errors.Is(err, providers.ErrInBackground) || !errors.Is(err, context.Canceled) || rep == nil ||
		rep.Outcome != providers.OutcomeCancelled || got.RefreshToken != s.RefreshToken {
		t.Fatalf("EnsureFresh: %+v, %v", rep, err)
	}
	if !strings.Contains(err.Error(), "goes on in the background") {
		t.Errorf("message %q does not say the request goes on", err)
	}
	final, ferr := rep.AwaitBackground(context.Background())
	if ferr != nil || final.Outcome != providers.OutcomeOK || !final.Rotated || final.Attempt.ID == 0 {
		t.Fatalf("final report %+v, %v", final, ferr)
	}
	stored, _ := st.GetSession(context.Background(), s.ID)
	if stored.RefreshToken == s.RefreshToken || stored.RefreshToken != final.Session.RefreshToken || stored.Version != s.Version+1 {
		t.Errorf("rotation not saved: stored version %d", stored.Version)
	}
	if _, err := r.Refresh(context.Background(), s.ID, vault.TriggerManual); err != nil {
		t.Fatalf("next refresh: %v", err)
	}
	if st := srv.Stats(); st.ReuseDetections != 0 || st.Rotations != 2 {
		t.Errorf("fake stats %+v: a spent token was sent", st)
	}
}

// TestRefreshJoinsRequestLeftInBackground: while a cancelled caller's
// request is still out, a new refresh of the session in this process waits
// for it instead of sending the spent token again, and Wait returns only
// once the result is saved.
func TestRefreshJoinsRequestLeftInBackground(t *testing.T) {
	ts := newTokenServer(t)
	gate := make(chan struct{})
	ts.set(func(ts *tokenServer) { ts.gate = gate })
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	joined := make(chan struct{}, 1)
	providers.SetTestHooks(r, func() { joined <- struct{}{} }, nil)

	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		pollUntil(t, "the request", func() bool { return ts.count() == 1 })
		cancel()
	}()
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if !errors.Is(err, providers.ErrInBackground) || rep.Outcome != providers.OutcomeCancelled || rep.Attempt.ID != 0 {
		t.Fatalf("cancelled caller: %+v, %v", rep, err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancelShort()
	if err := r.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Wait returned %v with the request still out", err)
	}

	second := make(chan *providers.Report, 1)
	go func() {
		rep, err := r.Refresh(context.Background(), s.ID, vault.TriggerManual)
		if err != nil {
			t.Error(err)
		}
		second <- rep
	}()
	select {
	case <-joined: // the second caller waits on the first one's flight
	case <-time.After(10 * time.Second):
		close(gate)
		t.Fatalf("the second caller did not join the request in flight; the server saw %d requests", ts.count())
	}
	close(gate)
	if err := r.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if rep := <-second; rep == nil || !rep.Shared || rep.Session.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Errorf("second caller: %+v", rep)
	}
	if ts.count() != 1 {
		t.Errorf("server saw %d requests, want 1", ts.count())
	}
	if stored, _ := st.GetSession(context.Background(), s.ID); stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Error("rotation not saved")
	}
}

// TestRefreshDropAfterRotationIsUnknowable documents the limit: the fake
// rotates, then drops the connection (drop_after). The client sees EOF and
// cannot know the token rotated, so the attempt is a network error and the
// session keeps the token it sent; the next refresh presents it again, the
// provider detects reuse, and the session needs a login. Nothing else can
// be done without the answer.
func TestRefreshDropAfterRotationIsUnknowable(t *testing.T) {
	st := openStore(t, t.TempDir())
	srv, s := startFakeSession(t, st)
	r := realClockRefresher(st)
	srv.QueueFault(fake.Fault{DropAfter: true})
	rep, err := r.Refresh(context.Background(), s.ID, vault.TriggerManual)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeNetworkError || rep.Outcome != providers.OutcomeNetworkError || rep.Rotated {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	stored, _ := st.GetSession(context.Background(), s.ID)
	attempts, _ := st.ListAttempts(context.Background(), s.ID, 0)
	if stored.RefreshToken != s.RefreshToken || stored.Version != s.Version || len(attempts) != 1 ||
		attempts[0].Outcome != "network_error" || srv.Stats().Rotations != 1 {
		t.Fatalf("after the drop: version %d, attempts %+v, fake %+v", stored.Version, attempts, srv.Stats())
	}
	rep, err = r.Refresh(context.Background(), s.ID, vault.TriggerManual)
	if err == nil || rep.Outcome != providers.OutcomeRejected || !rep.Session.NeedsLogin || srv.Stats().ReuseDetections != 1 {
		t.Errorf("after reuse: %+v, %v, fake %+v", rep, err, srv.Stats())
	}
}

// TestRefreshSchemaErrorSavesRotatedToken: a 200 that breaks the schema but
// carries a new refresh token (PathStack data.refresh_token, Galileo
// Set-Cookie) is a server error, and the new refresh token is saved in the
// same transaction as the attempt, the access token and expiry kept.
func TestRefreshSchemaErrorSavesRotatedToken(t *testing.T) {
	const rotated = "MRK-refresh-schema-9d8c7b"
	for _, tc := range []struct {
		name string
		sess func(base string) vault.Session
		base string
	}{
		{"pathstack missing expires_in", func(base string) vault.Session {
			return vault.Session{Provider: vault.ProviderPathStack, Label: "p", BaseURL: base, Sub: "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11",
				AccessToken: "MRK-access-0-initial-1a2b3c", RefreshToken: initialRefresh, ExpiresAt: testClock.Add(time.Minute)}
		}, answering(t, `{"data": {"access_token": "MRK-access-schema-1", "refresh_token": "`+rotated+`"}}`)},
		{"galileo missing access_token", func(base string) vault.Session {
			return vault.Session{Provider: vault.ProviderGalileo, Label: "g", BaseURL: base,
				AccessToken: "MRK-access-0-initial-1a2b3c", RefreshToken: initialRefresh, ExpiresAt: testClock.Add(time.Minute)}
		}, answering(t, `{"token_type": "bearer"}`, "refresh_token="+rotated+"; Path=/; HttpOnly; Secure")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t, t.TempDir())
			s := tc.sess(tc.base)
			if err := st.CreateSession(context.Background(), &s); err != nil {
				t.Fatal(err)
			}
			rep, err := newRefresher(st, "").Refresh(context.Background(), s.ID, vault.TriggerManual)
			if !errors.Is(err, providers.ErrSchema) || rep.Outcome != providers.OutcomeServerError || !rep.Rotated || rep.Err != err {
				t.Fatalf("report %+v, err %v", rep, err)
			}
			stored, _ := st.GetSession(context.Background(), s.ID)
			if stored.RefreshToken != rotated || stored.AccessToken != s.AccessToken || !stored.ExpiresAt.Equal(s.ExpiresAt) ||
				stored.Version != s.Version+1 || stored.NeedsLogin || stored.LastStatus != "server_error" || rep.Session.RefreshToken != rotated {
				t.Errorf("stored %+v", stored)
			}
			a := rep.Attempt
			if a.ID == 0 || a.Outcome != "server_error" || !a.Rotated || a.ReceivedFP != vault.Fingerprint(rotated) ||
				a.SentFP != vault.Fingerprint(initialRefresh) {
				t.Errorf("attempt %+v", a)
			}
			for _, text := range []string{string(a.Exchange), a.Error, err.Error()} {
				if strings.Contains(text, rotated) {
					t.Errorf("rotated token leaked: %.300s", text)
				}
			}
			if recs, _ := st.ListRecovery(context.Background()); len(recs) != 0 {
				t.Errorf("%d recovery rows, want none (the token was saved)", len(recs))
			}
		})
	}
}

// TestRefreshMalformedAccessTokenSavesRotatedToken: an access token the vault
// refuses (whitespace) does not keep a rotated refresh token from being
// saved; the attempt is a server error, never "ok" with an error. Without a
// rotation nothing is written.
func TestRefreshMalformedAccessTokenSavesRotatedToken(t *testing.T) {
	st := openStore(t, t.TempDir())
	s := addSession(t, st, answering(t, `{"data": {"expires_in": 3600, "access_token": "MRK bad access", "refresh_token": "MRK-refresh-new-77aa"}}`), time.Time{})
	rep, err := newRefresher(st, "").Refresh(context.Background(), s.ID, vault.TriggerManual)
	if err == nil || !errors.Is(err, vault.ErrInvalid) || rep.Outcome != providers.OutcomeServerError || !strings.Contains(err.Error(), "access token") {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	stored, _ := st.GetSession(context.Background(), s.ID)
	if stored.RefreshToken != "MRK-refresh-new-77aa" || stored.AccessToken != s.AccessToken || rep.Attempt.Outcome != "server_error" || !rep.Attempt.Rotated {
		t.Errorf("stored refresh %q access %q, attempt %+v", stored.RefreshToken, stored.AccessToken, rep.Attempt)
	}
	if recs, _ := st.ListRecovery(context.Background()); len(recs) != 0 {
		t.Errorf("%d recovery rows, want none", len(recs))
	}

	st2 := openStore(t, t.TempDir())
	s2 := addSession(t, st2, answering(t, `{"data": {"expires_in": 3600, "access_token": "MRK bad access"}}`), time.Time{})
	rep, err = newRefresher(st2, "").Refresh(context.Background(), s2.ID, vault.TriggerManual)
	stored, _ = st2.GetSession(context.Background(), s2.ID)
	if err == nil || rep.Outcome != providers.OutcomeServerError || stored.Version != s2.Version || stored.LastStatus != "server_error" {
		t.Errorf("no rotation: %+v, %v, stored version %d", rep, err, stored.Version)
	}
}

// TestRefreshUnsavedRotationIsUsedNext: the session is re-imported from an
// old export (same, now spent, refresh token) while a refresh is out, so its
// tokens cannot be saved. They go to recovery, the outcome is not ok, the
// attempt is recorded, and the next refresh in this process saves them and
// sends the live token instead of burning the family with the spent one.
func TestRefreshUnsavedRotationIsUsedNext(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	reimport := s
	reimport.AccessToken = "MRK-access-reimported-5e5e"
	ts.set(func(ts *tokenServer) {
		ts.during = func() {
			if err := st.PutSession(ctx, &reimport, true); err != nil {
				t.Error(err)
			}
		}
	})
	r := newRefresher(st, "")
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if !errors.Is(err, providers.ErrNotSaved) || rep.Outcome != providers.OutcomeNotSaved || rep.Attempt.ID == 0 ||
		rep.Attempt.Outcome != "not_saved" || rep.Attempt.Error != err.Error() {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	if recs, _ := st.ListRecovery(ctx); len(recs) != 1 || recs[0].Tokens.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Fatalf("recovery %+v", recs)
	}
	// The next refresh first saves the kept tokens, even though it fails.
	ts.set(func(ts *tokenServer) { ts.during, ts.status = nil, 500 })
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err == nil {
		t.Fatal("500 did not fail")
	}
	stored, _ := st.GetSession(ctx, s.ID)
	if stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" || stored.AccessToken != "MRK-access-1-5b1d0e8c2a" {
		t.Errorf("kept tokens not saved: %+v", stored)
	}
	// And the refresh after that sends the live token (the server accepts only it).
	ts.set(func(ts *tokenServer) { ts.status = 0 })
	rep, err = r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil || rep.Attempt.SentFP != vault.Fingerprint("MRK-refresh-1-c4e8a1f2b9") {
		t.Fatalf("next refresh: %+v, %v", rep, err)
	}
}

// TestRefreshUnsavedRotationUsedWhileTheVaultRefuses: when the kept tokens
// still cannot be saved, the next refresh sends them from memory (never the
// spent token), and writes its own result, refresh token included.
func TestRefreshUnsavedRotationUsedWhileTheVaultRefuses(t *testing.T) {
	const refused = "MRK-refresh-1 with space" // the vault refuses whitespace
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	ctx := context.Background()
	s := addSession(t, st, answering(t, `{"data": {"expires_in": 3600, "access_token": "MRK-access-x-1", "refresh_token": "`+refused+`"}}`), time.Time{})
	r := newRefresher(st, "")
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if !errors.Is(err, providers.ErrNotSaved) || rep.Outcome != providers.OutcomeServerError || rep.Attempt.ID == 0 {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	// The session moves to the token server, which accepts only the refused token.
	ts.set(func(ts *tokenServer) { ts.current = refused })
	if err := st.UpdateSessionInfo(ctx, s.ID, s.Label, ts.URL, ""); err != nil {
		t.Fatal(err)
	}
	rep, err = r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil || rep.Attempt.SentFP != vault.Fingerprint(refused) {
		t.Fatalf("next refresh: %+v, %v", rep, err)
	}
	if stored, _ := st.GetSession(ctx, s.ID); stored.RefreshToken != "MRK-refresh-1-c4e8a1f2b9" {
		t.Errorf("stored refresh token %q, want the server's current one", stored.RefreshToken)
	}
}

// TestRefreshOverrideYieldsToNewTokens: kept tokens are not used once the
// session has got other tokens (a login, an import of a newer export).
func TestRefreshOverrideYieldsToNewTokens(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	reimport := s
	ts.set(func(ts *tokenServer) {
		ts.during = func() {
			if err := st.PutSession(ctx, &reimport, true); err != nil {
				t.Error(err)
			}
		}
	})
	r := newRefresher(st, "")
	if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); !errors.Is(err, providers.ErrNotSaved) {
		t.Fatalf("err %v", err)
	}
	// A new login; the server now accepts its token.
	login := s
	login.RefreshToken = "MRK-refresh-login-3c3c"
	if err := st.PutSession(ctx, &login, true); err != nil {
		t.Fatal(err)
	}
	ts.set(func(ts *tokenServer) { ts.during, ts.current = nil, "MRK-refresh-login-3c3c" })
	rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil || rep.Attempt.SentFP != vault.Fingerprint("MRK-refresh-login-3c3c") {
		t.Errorf("refresh after login: %+v, %v", rep, err)
	}
}

// TestRefreshLateRejectionKeepsHealthySession: a 401 that answers a refresh
// token replaced while the request was out (another process refreshed)
// does not flag the session "needs login".
func TestRefreshLateRejectionKeepsHealthySession(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	ts.set(func(ts *tokenServer) {
		ts.status = 401
		ts.during = func() {
			if _, err := st.RecordRefresh(ctx, s.ID, s.Version, &vault.TokenUpdate{AccessToken: "MRK-other-access", RefreshToken: "MRK-other-refresh"}, nil, false); err != nil {
				t.Error(err)
			}
		}
	})
	rep, err := newRefresher(st, "").Refresh(ctx, s.ID, vault.TriggerManual)
	if err == nil || rep.Outcome != providers.OutcomeRejected {
		t.Fatalf("report %+v, err %v", rep, err)
	}
	stored, _ := st.GetSession(ctx, s.ID)
	if stored.NeedsLogin || stored.RefreshToken != "MRK-other-refresh" {
		t.Errorf("late 401 flagged the healthy session: needs login %v", stored.NeedsLogin)
	}
	if attempts, _ := st.ListAttempts(ctx, s.ID, 0); len(attempts) != 1 || attempts[0].Outcome != "rejected" {
		t.Errorf("attempts %+v", attempts)
	}
}

// TestEnsureFreshUnknownExpiryIsFresh: an opaque access token without
// expires_in is not refreshed on every call (each would spend a refresh
// token); only a session that needs a login is.
func TestEnsureFreshUnknownExpiryIsFresh(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	r := newRefresher(st, "")
	ctx := context.Background()
	for range 3 {
		got, rep, err := r.EnsureFresh(ctx, s.ID, time.Hour, vault.TriggerCLI)
		if err != nil || rep != nil || got.AccessToken != s.AccessToken {
			t.Fatalf("unknown expiry: %+v %v", rep, err)
		}
	}
	if ts.count() != 0 {
		t.Errorf("%d requests for a session of unknown expiry", ts.count())
	}
	if _, err := st.RecordRefresh(ctx, s.ID, s.Version, nil, &vault.Attempt{Outcome: "rejected"}, true); err != nil {
		t.Fatal(err)
	}
	if _, rep, err := r.EnsureFresh(ctx, s.ID, time.Hour, vault.TriggerCLI); err != nil || rep == nil || ts.count() != 1 {
		t.Errorf("needs login: %+v %v, %d requests", rep, err, ts.count())
	}
}
