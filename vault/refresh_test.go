package vault

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestRecordRefreshRotates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Minute)
		started := env.clock.Now()
		exp := started.Add(time.Hour)
		newAccess := signedJWT(t, jwt.MapClaims{"iat": started.Unix(), "exp": exp.Unix()})
		a := &Attempt{
			Trigger: TriggerManual, StartedAt: started, Duration: 182 * time.Millisecond, Outcome: OutcomeOK,
			Status: 200, Rotated: true, Exchange: json.RawMessage(`{"request":{"method":"POST"}}`),
			SentFP: Fingerprint(sess.RefreshToken), ReceivedFP: Fingerprint("refresh-2"),
		}
		after, err := s.RecordRefresh(ctxb(), sess.ID, 1, &TokenUpdate{AccessToken: newAccess, RefreshToken: "refresh-2", TokenType: "Bearer"}, a, false)
		if err != nil {
			t.Fatal(err)
		}
		if after.Version != 2 || after.AccessToken != newAccess || after.RefreshToken != "refresh-2" {
			t.Errorf("after rotate: version %d tokens %q %q", after.Version, after.AccessToken, after.RefreshToken)
		}
		if !after.ExpiresAt.Equal(exp) || !after.IssuedAt.Equal(started) {
			t.Errorf("times from the new token: iat %v exp %v", after.IssuedAt, after.ExpiresAt)
		}
		if after.LastStatus != OutcomeOK || !after.LastRefreshAt.Equal(started) || after.Sub != sess.Sub {
			t.Errorf("status %q last refresh %v sub %q", after.LastStatus, after.LastRefreshAt, after.Sub)
		}
		if a.ID == 0 || a.SessionID != sess.ID {
			t.Errorf("attempt ids not set: %+v", a)
		}
		attempts, err := s.ListAttempts(ctxb(), sess.ID, 0)
		if err != nil || len(attempts) != 1 {
			t.Fatalf("attempts: %v %d", err, len(attempts))
		}
		got := attempts[0]
		if got.ID != a.ID || got.Trigger != TriggerManual || !got.StartedAt.Equal(started) || got.Duration != a.Duration ||
			got.Status != 200 || !got.Rotated || string(got.Exchange) != string(a.Exchange) || got.Envelope != nil ||
			got.SentFP != a.SentFP || got.ReceivedFP != a.ReceivedFP {
			t.Errorf("attempt read back %+v, want %+v", got, *a)
		}

		// No new refresh token: the old one (and its expiry) stays.
		after2, err := s.RecordRefresh(ctxb(), sess.ID, 2, &TokenUpdate{AccessToken: "access-3"}, &Attempt{Outcome: OutcomeOK}, false)
		if err != nil {
			t.Fatal(err)
		}
		if after2.RefreshToken != "refresh-2" || after2.AccessToken != "access-3" || after2.Version != 3 || after2.TokenType != "Bearer" {
			t.Errorf("kept refresh token: %+v", after2)
		}
		if !after2.IssuedAt.Equal(env.clock.Now()) || !after2.ExpiresAt.IsZero() {
			t.Errorf("opaque token: issued %v (want receipt time) expires %v (want unknown)", after2.IssuedAt, after2.ExpiresAt)
		}
	})
}

func TestRecordRefreshVersionConflictWritesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefresh(ctxb(), sess.ID, 1, &TokenUpdate{AccessToken: "a2", RefreshToken: "r2"}, &Attempt{Outcome: OutcomeOK}, false); err != nil {
			t.Fatal(err)
		}
		before, _ := s.GetSession(ctxb(), sess.ID)

		// A second refresher still holding version 1 loses.
		_, err := s.RecordRefresh(ctxb(), sess.ID, 1, &TokenUpdate{AccessToken: "a3", RefreshToken: "r3"},
			&Attempt{Outcome: OutcomeOK, Error: "stale"}, true)
		if !errors.Is(err, ErrVersionConflict) {
			t.Fatalf("stale version: %v, want ErrVersionConflict", err)
		}
		after, _ := s.GetSession(ctxb(), sess.ID)
		if !sameSession(before, after) {
			t.Errorf("session changed by a rejected write:\n%+v\n%+v", before, after)
		}
		if attempts, _ := s.ListAttempts(ctxb(), sess.ID, 0); len(attempts) != 1 {
			t.Errorf("%d attempts, want 1 (the conflicting one must not be recorded)", len(attempts))
		}

		if _, err := s.RecordRefresh(ctxb(), 999, 1, nil, &Attempt{Outcome: OutcomeOK}, false); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing session: %v", err)
		}
	})
}

func TestRecordRefreshNeedsLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		rejected := &Attempt{Outcome: "rejected", Status: 401, Envelope: json.RawMessage(`{"code":401}`), StartedAt: time.UnixMilli(1000)}
		after, err := s.RecordRefresh(ctxb(), sess.ID, 0, nil, rejected, true)
		if err != nil {
			t.Fatal(err)
		}
		if !after.NeedsLogin || after.LastStatus != "rejected" || !after.LastRefreshAt.IsZero() || after.Version != 1 {
			t.Errorf("after rejection: %+v", after)
		}
		if after.State(time.Now()) != StateNeedsLogin {
			t.Errorf("state %s", after.State(time.Now()))
		}
		// A failure that is not a rejection leaves the flag alone.
		after, _ = s.RecordRefresh(ctxb(), sess.ID, 0, nil, &Attempt{Outcome: "network_error"}, false)
		if !after.NeedsLogin || after.LastStatus != "network_error" {
			t.Errorf("after network error: %+v", after)
		}
		after, _ = s.RecordRefresh(ctxb(), sess.ID, 1, &TokenUpdate{AccessToken: "a", RefreshToken: "r"}, &Attempt{Outcome: OutcomeOK}, false)
		if after.NeedsLogin {
			t.Error("ok refresh did not clear needs_login")
		}
		attempts, _ := s.ListAttempts(ctxb(), sess.ID, 0)
		if len(attempts) != 3 || string(attempts[2].Envelope) != `{"code":401}` {
			t.Errorf("attempts %+v", attempts)
		}
	})
}

func TestAttemptsPrunedToMax(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		opts := env.options()
		opts.MaxAttempts = 5
		s := env.openWith(t, opts)
		a, b := pathstackSession("a"), pathstackSession("b")
		for _, x := range []*Session{&a, &b} {
			if err := s.CreateSession(ctxb(), x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.RecordRefresh(ctxb(), b.ID, 0, nil, &Attempt{Outcome: "ok"}, false); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for i := range 8 {
			if i%2 == 0 { // pairs with one start time: ties are broken by id
				env.clock.Advance(time.Second)
			}
			at := &Attempt{Trigger: TriggerScheduled, Outcome: "server_error", Status: 500 + i}
			if _, err := s.RecordRefresh(ctxb(), a.ID, 0, nil, at, false); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, at.ID)
		}
		got, err := s.ListAttempts(ctxb(), a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5 {
			t.Fatalf("%d attempts kept, want 5", len(got))
		}
		for i, at := range got { // newest first: ids[7], ids[6], ...
			if at.ID != ids[7-i] {
				t.Errorf("attempt %d: id %d, want %d", i, at.ID, ids[7-i])
			}
		}
		if top, _ := s.ListAttempts(ctxb(), a.ID, 2); len(top) != 2 || top[0].ID != ids[7] {
			t.Errorf("limit 2: %+v", top)
		}
		if other, _ := s.ListAttempts(ctxb(), b.ID, 0); len(other) != 1 {
			t.Errorf("pruning touched another session: %d", len(other))
		}
	})
}

func TestSaveRecovery(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		upd := TokenUpdate{AccessToken: "rescued-access", RefreshToken: "rescued-refresh", TokenType: "Bearer",
			ExpiresAt: env.clock.Now().Add(time.Hour)}
		where, err := s.SaveRecovery(ctxb(), 7, "spent-refresh", upd, "write failed: disk full")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(where, "recovery row 1") {
			t.Errorf("where = %q", where)
		}
		recs, err := s.ListRecovery(ctxb())
		if err != nil || len(recs) != 1 {
			t.Fatalf("list recovery: %v %d", err, len(recs))
		}
		r := recs[0]
		if r.SessionID != 7 || r.Reason != "write failed: disk full" || r.Tokens.AccessToken != "rescued-access" ||
			r.Tokens.RefreshToken != "rescued-refresh" || !r.Tokens.ExpiresAt.Equal(upd.ExpiresAt) {
			t.Errorf("recovery read back: %+v", r)
		}

		// When the database write fails too, the tokens go to a sealed file.
		cancelled, cancel := context.WithCancel(ctxb())
		cancel()
		where, err = s.SaveRecovery(cancelled, 7, "spent-refresh", upd, "database unavailable")
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(where)
		if err != nil {
			t.Fatalf("recovery file %q: %v", where, err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("recovery file mode %o", fi.Mode().Perm())
		}
		if raw := readFile(t, where); strings.Contains(string(raw), "rescued") {
			t.Error("recovery file holds a token in plaintext")
		}
		fromFile, err := s.ReadRecoveryFile(where)
		if err != nil {
			t.Fatal(err)
		}
		if fromFile.Tokens.RefreshToken != "rescued-refresh" || fromFile.Reason != "database unavailable" || fromFile.SessionID != 7 {
			t.Errorf("recovery file read back: %+v", fromFile)
		}
	})
}
