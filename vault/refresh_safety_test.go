package vault

import (
	"errors"
	"strings"
	"testing"
)

// TestRecordRefreshLateRejectionKeepsHealthySession: a 401 that arrives for
// a version the session has moved on from (another refresh rotated the token
// meanwhile) is recorded, but does not flag the session "needs login"; nor
// does a late ok clear the flag of a session that needs it.
func TestRecordRefreshLateRejectionKeepsHealthySession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		// Another refresh wins: version 1 → 2.
		if _, err := s.RecordRefresh(ctxb(), sess.ID, 1, &TokenUpdate{AccessToken: "access-2", RefreshToken: "refresh-2"}, &Attempt{Outcome: OutcomeOK}, false); err != nil {
			t.Fatal(err)
		}
		// The loser's answer, made from version 1, is a 401.
		after, err := s.RecordRefresh(ctxb(), sess.ID, 1, nil, &Attempt{Outcome: "rejected", Status: 401}, true)
		if err != nil {
			t.Fatal(err)
		}
		if after.NeedsLogin || after.Version != 2 || after.RefreshToken != "refresh-2" {
			t.Errorf("late 401 flagged the session: %+v", after)
		}
		if attempts, _ := s.ListAttempts(ctxb(), sess.ID, 0); len(attempts) != 2 || attempts[0].Outcome != "rejected" {
			t.Errorf("the late attempt was not recorded: %+v", attempts)
		}
		// Made from the current version, the same 401 does flag it.
		if after, _ = s.RecordRefresh(ctxb(), sess.ID, 2, nil, &Attempt{Outcome: "rejected", Status: 401}, true); !after.NeedsLogin {
			t.Error("current 401 did not set needs_login")
		}
		// A late ok (no tokens, old version) does not clear it either.
		if after, _ = s.RecordRefresh(ctxb(), sess.ID, 1, nil, &Attempt{Outcome: OutcomeOK}, false); !after.NeedsLogin {
			t.Error("late ok cleared needs_login")
		}
	})
}

// TestCheckTokenUpdate names the refused field without its value, and
// RecordRefresh refuses the same updates before writing anything.
func TestCheckTokenUpdate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			upd  TokenUpdate
			want string // "" valid
		}{
			{TokenUpdate{AccessToken: "a-ok", RefreshToken: "r-ok"}, ""},
			{TokenUpdate{AccessToken: "a-ok"}, ""},
			{TokenUpdate{AccessToken: "SECRET with space", RefreshToken: "r-ok"}, "access token"},
			{TokenUpdate{AccessToken: ""}, "access token is empty"},
			{TokenUpdate{AccessToken: "a-ok", RefreshToken: "eyJSECRET.x.y"}, "refresh token is malformed"},
			{TokenUpdate{AccessToken: "a-ok", Sub: "a b"}, "sub or token type"},
		} {
			err := CheckTokenUpdate(&tc.upd)
			if tc.want == "" {
				if err != nil {
					t.Errorf("%+v: %v", tc.upd, err)
				}
				continue
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "SECRET") {
				t.Errorf("%+v: %v, want ErrInvalid naming %q", tc.upd, err, tc.want)
			}
			before, _ := s.GetSession(ctxb(), sess.ID)
			upd := tc.upd
			if _, err := s.RecordRefresh(ctxb(), sess.ID, before.Version, &upd, &Attempt{Outcome: OutcomeOK}, false); !errors.Is(err, ErrInvalid) {
				t.Errorf("RecordRefresh(%+v): %v, want ErrInvalid", tc.upd, err)
			}
			if after, _ := s.GetSession(ctxb(), sess.ID); after.Version != before.Version {
				t.Errorf("refused update written: version %d → %d", before.Version, after.Version)
			}
		}
	})
}

// TestCheckedTokenUpdateChangedAfterwardsIsCheckedAgain: CheckTokenUpdate
// spares RecordRefresh a second decoding of the same tokens, never a check
// of tokens put in afterwards.
func TestCheckedTokenUpdateChangedAfterwardsIsCheckedAgain(t *testing.T) {
	s := newTestEnv(t).open(t)
	sess := pathstackSession("checked")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	upd := TokenUpdate{AccessToken: "access-ok", RefreshToken: "refresh-ok"}
	if err := CheckTokenUpdate(&upd); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(u *TokenUpdate){
		"access":     func(u *TokenUpdate) { u.AccessToken = "eyJbroken.x.y" },
		"refresh":    func(u *TokenUpdate) { u.RefreshToken = "has space" },
		"sub":        func(u *TokenUpdate) { u.Sub = "a\x1bb" },
		"token type": func(u *TokenUpdate) { u.TokenType = "Bearer\u202e" },
	} {
		bad := upd
		change(&bad)
		if _, err := s.RecordRefresh(ctxb(), sess.ID, sess.Version, &bad, nil, false); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s changed after the check: %v, want ErrInvalid", name, err)
		}
	}
	if after, err := s.RecordRefresh(ctxb(), sess.ID, sess.Version, &upd, nil, false); err != nil || after.AccessToken != "access-ok" {
		t.Fatalf("the checked update: %v", err)
	}
}
