package providers_test

import (
	"context"
	"testing"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// TestRefreshAgainstFake refreshes a PathStack and a Galileo session twice
// against the fake servers, which refuse a spent refresh token: the second
// refresh only works if the rotated token was stored. A revoked token then
// marks the session as needing a login.
func TestRefreshAgainstFake(t *testing.T) {
	st := openStore(t, t.TempDir())
	r := newRefresher(st, "")
	ctx := context.Background()
	for _, start := range []func(fake.Options) (*fake.Server, error){fake.StartPathStack, fake.StartGalileo} {
		srv, err := start(fake.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		tok, err := srv.Mint(0)
		if err != nil {
			t.Fatal(err)
		}
		s := vault.Session{Provider: srv.Provider(), Label: srv.Provider(), BaseURL: srv.URL, Sub: tok.Sub,
			AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
		if err := st.CreateSession(ctx, &s); err != nil {
			t.Fatal(err)
		}
		for range 2 {
			rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
			if err != nil {
				t.Fatalf("%s: %v", srv.Provider(), err)
			}
			if !rep.Rotated || rep.Session.ExpiresAt.IsZero() {
				t.Errorf("%s: report %+v", srv.Provider(), rep)
			}
		}
		stored, _ := st.GetSession(ctx, s.ID)
		srv.Revoke(stored.RefreshToken)
		rep, err := r.Refresh(ctx, s.ID, vault.TriggerManual)
		if err == nil || rep.Outcome != providers.OutcomeRejected {
			t.Fatalf("%s after revoke: %v", srv.Provider(), err)
		}
		if stored, _ = st.GetSession(ctx, s.ID); !stored.NeedsLogin {
			t.Errorf("%s: revoked session not marked needs_login (%v)", srv.Provider(), err)
		}
		if st := srv.Stats(); st.Refreshes != 2 || st.Rotations != 2 || st.ReuseDetections != 0 {
			t.Errorf("%s: server stats %+v", srv.Provider(), st)
		}
	}
}
