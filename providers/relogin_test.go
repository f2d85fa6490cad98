package providers_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// TestReloginAfterRevokedFamily: with a remembered login, a refresh token the
// provider rejects (its family revoked) makes the Refresher log in again by
// itself, once, recorded in history with trigger relogin; the session works
// again. Without one, or with a wrong one, the session needs a login.
func TestReloginAfterRevokedFamily(t *testing.T) {
	for _, start := range []func(fake.Options) (*fake.Server, error){fake.StartPathStack, fake.StartGalileo} {
		srv, err := start(fake.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		t.Run(srv.Provider(), func(t *testing.T) {
			st := openStore(t, t.TempDir())
			r := newRefresher(st, "")
			ctx := context.Background()
			add := func(label string, remember *vault.RememberedLogin) vault.Session {
				tok, err := srv.Mint(0)
				if err != nil {
					t.Fatal(err)
				}
				s := vault.Session{Provider: srv.Provider(), Label: label, BaseURL: srv.URL, Sub: tok.Sub,
					AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
				if err := st.CreateSession(ctx, &s); err != nil {
					t.Fatal(err)
				}
				if remember != nil {
					if err := st.RememberLogin(ctx, s.ID, *remember); err != nil {
						t.Fatal(err)
					}
				}
				srv.Revoke(s.RefreshToken)
				return s
			}
			good := add("good", &vault.RememberedLogin{Method: providers.LoginPassword, Username: srv.Username(), Secret: srv.Password()})
			wrong := add("wrong", &vault.RememberedLogin{Method: providers.LoginPassword, Username: srv.Username(), Secret: "not-the-password"})
			none := add("none", nil)

			before := srv.Stats()
			rep, err := r.Refresh(ctx, good.ID, vault.TriggerManual)
			if err != nil || !rep.Relogin || rep.Outcome != providers.OutcomeOK {
				t.Fatalf("refresh with a remembered login: %v %+v", err, rep)
			}
			if got := srv.Stats().Logins - before.Logins; got != 1 {
				t.Errorf("%d logins, want 1", got)
			}
			attempts, _ := st.ListAttempts(ctx, good.ID, 0)
			if len(attempts) != 2 || attempts[0].Trigger != vault.TriggerRelogin || attempts[0].Outcome != "ok" ||
				attempts[1].Outcome != "rejected" || attempts[1].Status != 401 {
				t.Fatalf("history %+v", attempts)
			}
			if s, _ := st.GetSession(ctx, good.ID); s.NeedsLogin {
				t.Error("still needs a login after logging in again")
			}
			if _, err := r.Refresh(ctx, good.ID, vault.TriggerManual); err != nil {
				t.Errorf("refresh after the re-login: %v", err)
			}

			before = srv.Stats()
			rep, err = r.Refresh(ctx, wrong.ID, vault.TriggerManual)
			if err == nil || rep.Relogin || !strings.Contains(err.Error(), "automatic login failed") || strings.Contains(err.Error(), "not-the-password") {
				t.Fatalf("wrong remembered password: %v %+v", err, rep)
			}
			if s, _ := st.GetSession(ctx, wrong.ID); !s.NeedsLogin {
				t.Error("a failed re-login should leave the session needing a login")
			}
			if after := srv.Stats(); after.Requests-before.Requests != 2 {
				t.Errorf("%d requests for a refresh and one login attempt, want 2", after.Requests-before.Requests)
			}

			rep, err = r.Refresh(ctx, none.ID, vault.TriggerManual)
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Status != 401 || rep.Relogin {
				t.Fatalf("no remembered login: %v %+v", err, rep)
			}
		})
	}
}

// TestSlowReloginIsSaved: a login that takes longer than the time given to
// saving a result still has its tokens saved: saving gets its time from when
// the login answered, not from before it started.
func TestSlowReloginIsSaved(t *testing.T) {
	defer providers.SetPersistTimeout(300 * time.Millisecond)()
	st := openStore(t, t.TempDir())
	ctx := context.Background()
	srv, s := startFakeSession(t, st)
	if err := st.RememberLogin(ctx, s.ID, vault.RememberedLogin{Method: providers.LoginPassword, Username: srv.Username(), Secret: srv.Password()}); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(s.RefreshToken)
	srv.QueueFault(fake.Fault{})                  // the refresh: answered as usual (401, revoked)
	srv.QueueFault(fake.Fault{DelayAfterMS: 600}) // the login: served, answered after twice the save time
	rep, err := newRefresher(st, "").Refresh(ctx, s.ID, vault.TriggerManual)
	if err != nil || !rep.Relogin || rep.Outcome != providers.OutcomeOK {
		t.Fatalf("refresh with a slow re-login: %v (outcome %v, relogin %v)", err, rep.Outcome, rep.Relogin)
	}
	stored, err := st.GetSession(ctx, s.ID)
	if err != nil || stored.NeedsLogin || stored.RefreshToken == s.RefreshToken || stored.Version == s.Version {
		t.Fatalf("the login's tokens were not saved (version %d, needs login %v): %v", stored.Version, stored.NeedsLogin, err)
	}
	if n := stored.Recovery; n != 0 {
		t.Errorf("%d tokens in recovery, want none", n)
	}
}
