package providers_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// TestRecoverRestoresUnderTheLease: Recover takes back the kept tokens
// without a request, records it, and waits while a refresh holds the lease.
func TestRecoverRestoresUnderTheLease(t *testing.T) {
	ts := newTokenServer(t)
	st := openStore(t, t.TempDir())
	s := addSession(t, st, ts.URL, time.Time{})
	ctx := context.Background()
	r := newRefresher(st, "me")

	if _, err := r.Recover(ctx, s.ID, vault.TriggerCLI); !errors.Is(err, providers.ErrNothingToRecover) {
		t.Fatalf("recover with nothing kept: %v", err)
	}
	// A stale entry (bought with another refresh token) does not apply.
	if _, err := st.SaveRecovery(ctx, s.ID, "MRK-refresh-other", vault.TokenUpdate{AccessToken: "MRK-access-stale", RefreshToken: "MRK-refresh-stale"}, "stale"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Recover(ctx, s.ID, vault.TriggerCLI); !errors.Is(err, providers.ErrNothingToRecover) {
		t.Fatalf("recover with a stale entry only: %v", err)
	}
	kept := vault.TokenUpdate{AccessToken: "MRK-access-kept-2", RefreshToken: "MRK-refresh-kept-2", ExpiresAt: testNow().Add(time.Hour)}
	if _, err := st.SaveRecovery(ctx, s.ID, s.RefreshToken, kept, "version conflict"); err != nil {
		t.Fatal(err)
	}

	// Another owner holds the lease: Recover waits for it.
	if ok, err := st.TakeLease(ctx, s.ID, "other", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	_, err := r.Recover(short, s.ID, vault.TriggerCLI)
	cancel()
	if !errors.Is(err, vault.ErrLeaseHeld) {
		t.Fatalf("recover under another's lease: %v", err)
	}
	if err := st.ReleaseLease(ctx, s.ID, "other"); err != nil {
		t.Fatal(err)
	}

	got, err := r.Recover(ctx, s.ID, vault.TriggerCLI)
	if err != nil {
		t.Fatal(err)
	}
	if got.Session.RefreshToken != "MRK-refresh-kept-2" || got.Session.Recovery != 1 || got.Recovery.Reason != "version conflict" {
		t.Errorf("restored %q, %d left in recovery, reason %q", got.Session.RefreshToken, got.Session.Recovery, got.Recovery.Reason)
	}
	if got.Attempt.Outcome != string(providers.OutcomeRecovered) || got.Attempt.Owner != "me" || got.Attempt.Trigger != vault.TriggerCLI {
		t.Errorf("attempt %+v", got.Attempt)
	}
	if ts.count() != 0 {
		t.Errorf("recover sent %d requests", ts.count())
	}
	if owner, _, _, _ := st.LeaseHolder(ctx, s.ID); owner != "" {
		t.Errorf("lease left held by %q", owner)
	}
	// Restored once: the session's token is new, nothing applies any more.
	if _, err := r.Recover(ctx, s.ID, vault.TriggerCLI); !errors.Is(err, providers.ErrNothingToRecover) {
		t.Fatalf("second recover: %v", err)
	}
}
