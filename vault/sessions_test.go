package vault

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

func TestSessionRoundTrip(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		iat := env.clock.Now().Add(-10 * time.Minute)
		exp := iat.Add(time.Hour)
		refreshExp := iat.Add(30 * 24 * time.Hour)
		access := signedJWT(t, jwt.MapClaims{"sub": "u1", "iat": iat.Unix(), "exp": exp.Unix()})
		refresh := signedJWT(t, jwt.MapClaims{"exp": refreshExp.Unix(), "typ": "refresh"})

		in := Session{
			Provider: ProviderPathStack, Label: "prod-eu", APIVersion: "2024-03-27",
			Sub: "8c1e7a52", AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
		}
		if err := s.CreateSession(ctxb(), &in); err != nil {
			t.Fatal(err)
		}
		if in.ID == 0 || in.Version != 1 || !in.CreatedAt.Equal(env.clock.Now()) || !in.UpdatedAt.Equal(env.clock.Now()) {
			t.Errorf("create did not set id/version/times: %+v", in)
		}
		if in.BaseURL != DefaultPathStackBaseURL {
			t.Errorf("base URL = %q, want the PathStack default", in.BaseURL)
		}
		if !in.IssuedAt.Equal(iat) || !in.ExpiresAt.Equal(exp) || !in.RefreshExpiresAt.Equal(refreshExp) {
			t.Errorf("times not filled from claims: iat %v exp %v rexp %v", in.IssuedAt, in.ExpiresAt, in.RefreshExpiresAt)
		}

		byID, err := s.GetSession(ctxb(), in.ID)
		if err != nil {
			t.Fatal(err)
		}
		byLabel, err := s.GetSessionByLabel(ctxb(), "prod-eu")
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range []Session{byID, byLabel} {
			if !sameSession(got, in) {
				t.Errorf("read back\n%+v\nwant\n%+v", got, in)
			}
		}

		list, err := s.ListSessions(ctxb())
		if err != nil || len(list) != 1 {
			t.Fatalf("list: %v %d", err, len(list))
		}
		want := in
		want.AccessToken, want.RefreshToken = "", ""
		if !sameSession(list[0], want) {
			t.Errorf("listed\n%+v\nwant\n%+v", list[0], want)
		}

		if _, err := s.GetSession(ctxb(), 999); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing id: %v", err)
		}
		if _, err := s.GetSessionByLabel(ctxb(), "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing label: %v", err)
		}
	})
}

// sameSession compares sessions with time.Time.Equal.
func sameSession(a, b Session) bool {
	times := func(s Session) []time.Time {
		return []time.Time{s.IssuedAt, s.ExpiresAt, s.RefreshExpiresAt, s.CreatedAt, s.UpdatedAt, s.LastRefreshAt}
	}
	ta, tb := times(a), times(b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	a.IssuedAt, a.ExpiresAt, a.RefreshExpiresAt, a.CreatedAt, a.UpdatedAt, a.LastRefreshAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.IssuedAt, b.ExpiresAt, b.RefreshExpiresAt, b.CreatedAt, b.UpdatedAt, b.LastRefreshAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func TestListSessionsOrderedByLabel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		for _, label := range []string{"staging", "acme", "prod"} {
			sess := pathstackSession(label)
			if err := s.CreateSession(ctxb(), &sess); err != nil {
				t.Fatal(err)
			}
		}
		list, err := s.ListSessions(ctxb())
		if err != nil {
			t.Fatal(err)
		}
		var labels []string
		for _, l := range list {
			labels = append(labels, l.Label)
			if l.AccessToken != "" || l.RefreshToken != "" {
				t.Errorf("%s: listing returned tokens", l.Label)
			}
		}
		if strings.Join(labels, ",") != "acme,prod,staging" {
			t.Errorf("order %v", labels)
		}
	})
}

func TestListSessionsDoesNotUnseal(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		// Garbage in the sealed columns: a listing that unsealed would fail.
		if _, err := s.db.Exec("UPDATE sessions SET access_token = ?, refresh_token = ?", []byte{0}, []byte{0}); err != nil {
			t.Fatal(err)
		}
		if list, err := s.ListSessions(ctxb()); err != nil || len(list) != 1 {
			t.Errorf("list: %v (%d)", err, len(list))
		}
		if _, err := s.GetSession(ctxb(), sess.ID); !errors.Is(err, ErrSealBroken) {
			t.Errorf("get with garbage: %v, want ErrSealBroken", err)
		}
	})
}

func TestSessionValidation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		cases := []struct {
			name   string
			modify func(*Session)
			msg    string
		}{
			{"unknown provider", func(s *Session) { s.Provider = "okta" }, `unknown provider "okta"`},
			{"empty label", func(s *Session) { s.Label = "" }, "empty label"},
			{"label with space", func(s *Session) { s.Label = "prod eu" }, "label"},
			{"label with control", func(s *Session) { s.Label = "prod\x07" }, "label"},
			{"relative base URL", func(s *Session) { s.BaseURL = "/api" }, "base URL"},
			{"ftp base URL", func(s *Session) { s.BaseURL = "ftp://example.com" }, "base URL"},
			{"credentials in base URL", func(s *Session) { s.BaseURL = "https://u:p@example.com" }, "credentials"},
			{"pathstack without sub", func(s *Session) { s.Sub = "" }, "sub"},
			{"empty access token", func(s *Session) { s.AccessToken = "" }, "access token is empty"},
			{"access token with newline", func(s *Session) { s.AccessToken = "abc\n" }, "access token contains"},
			{"empty refresh token", func(s *Session) { s.RefreshToken = "" }, "refresh token is empty"},
			{"refresh token with tab", func(s *Session) { s.RefreshToken = "ab\tc" }, "refresh token contains"},
			{"galileo without base URL", func(s *Session) { s.Provider = ProviderGalileo; s.Sub = "" }, "no base URL"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				sess := pathstackSession("prod")
				tc.modify(&sess)
				err := s.CreateSession(ctxb(), &sess)
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v, want ErrInvalid", err)
				}
				if !strings.Contains(err.Error(), tc.msg) {
					t.Errorf("error %q does not say %q", err, tc.msg)
				}
				if strings.Contains(err.Error(), "access-prod") || strings.Contains(err.Error(), "refresh-prod") {
					t.Errorf("error %q contains a token", err)
				}
			})
		}
		list, _ := s.ListSessions(ctxb())
		if len(list) != 0 {
			t.Errorf("%d invalid sessions stored", len(list))
		}

		galileo := Session{Provider: ProviderGalileo, Label: "acme", BaseURL: "https://api.acme.rungalileo.io",
			AccessToken: "a", RefreshToken: "r"}
		if err := s.CreateSession(ctxb(), &galileo); err != nil {
			t.Errorf("valid Galileo session refused: %v", err)
		}
	})
}

func TestDuplicateLabel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		a, b := pathstackSession("prod"), pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &a); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateSession(ctxb(), &b); !errors.Is(err, ErrDuplicateLabel) {
			t.Errorf("second create: %v, want ErrDuplicateLabel", err)
		}
		if err := s.PutSession(ctxb(), &b, false); !errors.Is(err, ErrDuplicateLabel) {
			t.Errorf("put without replace: %v, want ErrDuplicateLabel", err)
		}
		c := pathstackSession("staging")
		if err := s.CreateSession(ctxb(), &c); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateSessionInfo(ctxb(), c.ID, "prod", "", ""); !errors.Is(err, ErrDuplicateLabel) {
			t.Errorf("rename onto an existing label: %v, want ErrDuplicateLabel", err)
		}
	})
}

func TestPutSessionReplaceKeepsIDAndHistory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		orig := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &orig); err != nil {
			t.Fatal(err)
		}
		if _, err := s.RecordRefresh(ctxb(), orig.ID, 1, nil, &Attempt{Trigger: TriggerManual, Outcome: "server_error"}, false); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Minute)

		repl := pathstackSession("prod")
		repl.AccessToken, repl.RefreshToken, repl.Sub = "new-access", "new-refresh", "new-sub"
		if err := s.PutSession(ctxb(), &repl, true); err != nil {
			t.Fatal(err)
		}
		if repl.ID != orig.ID || repl.Version != 2 || !repl.CreatedAt.Equal(orig.CreatedAt) || !repl.UpdatedAt.Equal(env.clock.Now()) {
			t.Errorf("replace: id %d version %d created %v updated %v", repl.ID, repl.Version, repl.CreatedAt, repl.UpdatedAt)
		}
		got, err := s.GetSession(ctxb(), orig.ID)
		if err != nil || got.AccessToken != "new-access" || got.RefreshToken != "new-refresh" || got.Sub != "new-sub" {
			t.Errorf("replaced session: %+v %v", got, err)
		}
		if attempts, _ := s.ListAttempts(ctxb(), orig.ID, 0); len(attempts) != 1 {
			t.Errorf("history lost: %d attempts", len(attempts))
		}

		fresh := pathstackSession("new")
		if err := s.PutSession(ctxb(), &fresh, true); err != nil || fresh.ID == 0 || fresh.Version != 1 {
			t.Errorf("put of a new label: %v %+v", err, fresh)
		}
	})
}

func TestUpdateSessionInfoAndDelete(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		sess := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Second)
		if err := s.UpdateSessionInfo(ctxb(), sess.ID, "prod-eu", "http://127.0.0.1:8080", "2025-01-01"); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctxb(), sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Label != "prod-eu" || got.BaseURL != "http://127.0.0.1:8080" || got.APIVersion != "2025-01-01" ||
			got.Version != 1 || got.AccessToken != sess.AccessToken || !got.UpdatedAt.Equal(env.clock.Now()) {
			t.Errorf("after update: %+v", got)
		}
		if err := s.UpdateSessionInfo(ctxb(), sess.ID, "bad label", "", ""); !errors.Is(err, ErrInvalid) {
			t.Errorf("bad label: %v", err)
		}
		if err := s.UpdateSessionInfo(ctxb(), 999, "x", "", ""); !errors.Is(err, ErrNotFound) {
			t.Errorf("missing: %v", err)
		}

		if _, err := s.RecordRefresh(ctxb(), sess.ID, 1, nil, &Attempt{Outcome: "ok"}, false); err != nil {
			t.Fatal(err)
		}
		if err := s.PutSchedule(ctxb(), Schedule{SessionID: sess.ID, Mode: ScheduleBeforeExpiry, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSession(ctxb(), sess.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctxb(), sess.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("deleted session still there: %v", err)
		}
		var n int
		s.db.QueryRow("SELECT (SELECT count(*) FROM attempts) + (SELECT count(*) FROM schedules)").Scan(&n)
		if n != 0 {
			t.Errorf("%d attempts/schedules left after delete", n)
		}
		if err := s.DeleteSession(ctxb(), sess.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("second delete: %v", err)
		}
	})
}

func TestImportAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		existing := pathstackSession("prod")
		if err := s.CreateSession(ctxb(), &existing); err != nil {
			t.Fatal(err)
		}
		labels := func() []string {
			list, err := s.ListSessions(ctxb())
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, l := range list {
				out = append(out, l.Label)
			}
			return out
		}

		bad := pathstackSession("c")
		bad.Provider = "okta"
		err := s.ImportSessions(ctxb(), []Session{pathstackSession("a"), pathstackSession("b"), bad}, false)
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "import session 3") {
			t.Errorf("bad record: %v", err)
		}
		if got := labels(); len(got) != 1 {
			t.Errorf("after failed import: %v", got)
		}

		// Valid records, one clashing with a stored label: the write fails and rolls back.
		clash := pathstackSession("prod")
		clash.AccessToken = "other"
		err = s.ImportSessions(ctxb(), []Session{pathstackSession("a"), clash}, false)
		if !errors.Is(err, ErrDuplicateLabel) {
			t.Errorf("clash: %v, want ErrDuplicateLabel", err)
		}
		if got := labels(); len(got) != 1 {
			t.Errorf("after clash: %v", got)
		}

		// Duplicates inside the batch are refused before writing.
		err = s.ImportSessions(ctxb(), []Session{pathstackSession("z"), pathstackSession("z")}, true)
		if !errors.Is(err, ErrDuplicateLabel) {
			t.Errorf("duplicate in batch: %v", err)
		}

		// With replace: all written, the clash overwrites in place.
		imported := []Session{pathstackSession("a"), clash}
		imported[0].CreatedAt = time.UnixMilli(1_600_000_000_000)
		if err := s.ImportSessions(ctxb(), imported, true); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(labels(), ","); got != "a,prod" {
			t.Errorf("labels %s", got)
		}
		prod, err := s.GetSessionByLabel(ctxb(), "prod")
		if err != nil || prod.ID != existing.ID || prod.AccessToken != "other" || prod.Version != 2 {
			t.Errorf("replaced: %+v %v", prod, err)
		}
		a, _ := s.GetSessionByLabel(ctxb(), "a")
		if !a.CreatedAt.Equal(imported[0].CreatedAt) {
			t.Errorf("import lost CreatedAt: %v", a.CreatedAt)
		}
		if imported[1].ID != 0 {
			t.Error("import modified the caller's slice")
		}
	})
}

// TestSealedValueBoundToRow: a sealed token copied to another row (or
// column) does not open there.
func TestSealedValueBoundToRow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		a, b := pathstackSession("a"), pathstackSession("b")
		for _, sess := range []*Session{&a, &b} {
			if err := s.CreateSession(ctxb(), sess); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.db.Exec(`UPDATE sessions SET access_token = CASE id
		WHEN ? THEN (SELECT access_token FROM sessions WHERE id = ?)
		ELSE (SELECT access_token FROM sessions WHERE id = ?) END WHERE id IN (?, ?)`, a.ID, b.ID, a.ID, a.ID, b.ID)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.GetSession(ctxb(), a.ID)
		if !errors.Is(err, ErrSealBroken) {
			t.Fatalf("swapped blob: %v, want ErrSealBroken", err)
		}
		if want := "sessions/1/access_token"; !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}

		// Across columns of the same row, too.
		if _, err := s.db.Exec("UPDATE sessions SET refresh_token = access_token WHERE id = ?", b.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetSession(ctxb(), b.ID); !errors.Is(err, ErrSealBroken) {
			t.Errorf("column swap: %v, want ErrSealBroken", err)
		}
	})
}

// TestNoPlaintextTokensOnDisk greps the raw vault file and its WAL for the
// tokens, while the store is open (the WAL holds the writes) and after close.
func TestNoPlaintextTokensOnDisk(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)
	jwtAccess := signedJWT(t, jwt.MapClaims{"sub": "MARKER-JWT-SUB", "exp": env.clock.Now().Add(time.Hour).Unix()})
	markers := []string{jwtAccess, "MARKERaccessTOKEN0123456789", "MARKERrefreshTOKEN0123456789", "MARKERrotatedREFRESH42", "MARKERrecoveredACCESS"}
	sess := pathstackSession("MARKER-label")
	sess.AccessToken, sess.RefreshToken = jwtAccess, markers[2]
	other := pathstackSession("other")
	other.AccessToken = markers[1]
	for _, x := range []*Session{&sess, &other} {
		if err := s.CreateSession(ctxb(), x); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RecordRefresh(ctxb(), sess.ID, sess.Version, &TokenUpdate{AccessToken: jwtAccess, RefreshToken: markers[3]},
		&Attempt{Outcome: "ok"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveRecovery(ctxb(), sess.ID, markers[3], TokenUpdate{AccessToken: markers[4], RefreshToken: markers[3]}, "test"); err != nil {
		t.Fatal(err)
	}

	grep := func(when string) {
		t.Helper()
		for _, f := range env.onDisk(t) {
			for _, m := range markers {
				if bytes.Contains(f.data, []byte(m)) {
					t.Errorf("%s: %s contains a token in plaintext", when, f.path)
				}
			}
			// The JWT's payload is what a partial leak would show.
			if bytes.Contains(f.data, []byte(strings.Split(jwtAccess, ".")[1])) {
				t.Errorf("%s: %s contains the JWT payload", when, f.path)
			}
		}
	}
	if fi, err := os.Stat(env.path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("expected a non-empty WAL while open (%v)", err)
	}
	grep("open")
	if wal := readFile(t, env.path+"-wal"); !bytes.Contains(wal, []byte("MARKER-label")) {
		t.Error("label not found in the WAL: the grep reads the wrong bytes")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	grep("closed")
	// The plaintext label is there: the grep reads the right bytes.
	if !bytes.Contains(readFile(t, env.path), []byte("MARKER-label")) {
		t.Error("label not found in the vault file: the grep reads the wrong bytes")
	}
}
