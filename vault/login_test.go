package vault

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestRememberLogin(t *testing.T) {
	s := newTestEnv(t).open(t)
	sess := pathstackSession("prod")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if l, err := s.RememberedLogin(ctxb(), sess.ID); l != nil || err != nil {
		t.Fatalf("none kept: %+v, %v", l, err)
	}
	want := RememberedLogin{Method: LoginMethodPassword, Username: "ana@acme.test", Secret: "pw-0123456789"}
	if err := s.RememberLogin(ctxb(), sess.ID, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.RememberedLogin(ctxb(), sess.ID)
	if err != nil || got == nil || *got != want {
		t.Fatalf("RememberedLogin = %+v, %v; want %+v", got, err, want)
	}
	read, err := s.GetSession(ctxb(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if read.LoginRemembered != LoginMethodPassword || read.LoginUser != "ana@acme.test" || read.Version != sess.Version {
		t.Errorf("session: method %q user %q version %d (was %d)", read.LoginRemembered, read.LoginUser, read.Version, sess.Version)
	}
	if byLabel, _ := s.GetSessionByLabel(ctxb(), "prod"); byLabel.LoginRemembered != LoginMethodPassword {
		t.Errorf("by label: method %q", byLabel.LoginRemembered)
	}

	// An API key replaces the password; its username is not kept.
	key := RememberedLogin{Method: LoginMethodAPIKey, Username: "ignored", Secret: "key-0123456789"}
	if err := s.RememberLogin(ctxb(), sess.ID, key); err != nil {
		t.Fatal(err)
	}
	got, err = s.RememberedLogin(ctxb(), sess.ID)
	if err != nil || got == nil || *got != (RememberedLogin{Method: LoginMethodAPIKey, Secret: "key-0123456789"}) {
		t.Fatalf("after an API key: %+v, %v", got, err)
	}

	// A new login's tokens (PutSession replace) keep the remembered login.
	again := pathstackSession("prod")
	again.AccessToken = "access-2"
	if err := s.PutSession(ctxb(), &again, true); err != nil {
		t.Fatal(err)
	}
	if again.LoginRemembered != LoginMethodAPIKey {
		t.Errorf("after PutSession: method %q", again.LoginRemembered)
	}

	if err := s.ForgetLogin(ctxb(), sess.ID); err != nil {
		t.Fatal(err)
	}
	if l, err := s.RememberedLogin(ctxb(), sess.ID); l != nil || err != nil {
		t.Fatalf("after forget: %+v, %v", l, err)
	}
	if read, _ := s.GetSession(ctxb(), sess.ID); read.LoginRemembered != "" || read.LoginUser != "" {
		t.Errorf("after forget: %q %q", read.LoginRemembered, read.LoginUser)
	}
	var sealed []byte
	if err := s.db.QueryRow("SELECT login_secret FROM sessions WHERE id = ?", sess.ID).Scan(&sealed); err != nil || sealed != nil {
		t.Errorf("after forget the sealed secret is still there: %x, %v", sealed, err)
	}
	if err := s.ForgetLogin(ctxb(), sess.ID); err != nil {
		t.Errorf("forget twice: %v", err)
	}
}

func TestRememberLoginErrors(t *testing.T) {
	s := newTestEnv(t).open(t)
	sess := pathstackSession("prod")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	ok := RememberedLogin{Method: LoginMethodPassword, Username: "u", Secret: "MARKER-secret"}
	if err := s.RememberLogin(ctxb(), 999, ok); !errors.Is(err, ErrNotFound) {
		t.Errorf("remember on no session: %v", err)
	}
	if _, err := s.RememberedLogin(ctxb(), 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("read on no session: %v", err)
	}
	if err := s.ForgetLogin(ctxb(), 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("forget on no session: %v", err)
	}
	for name, l := range map[string]RememberedLogin{
		"unknown method":      {Method: "sso", Username: "u", Secret: "MARKER-secret"},
		"password, no user":   {Method: LoginMethodPassword, Secret: "MARKER-secret"},
		"empty secret":        {Method: LoginMethodAPIKey},
		"secret too long":     {Method: LoginMethodAPIKey, Secret: "MARKER-secret" + strings.Repeat("x", MaxTokenLen)},
		"control in username": {Method: LoginMethodPassword, Username: "u\n", Secret: "MARKER-secret"},
	} {
		err := s.RememberLogin(ctxb(), sess.ID, l)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		} else if strings.Contains(err.Error(), "MARKER-secret") {
			t.Errorf("%s: the error shows the secret: %v", name, err)
		}
	}
	if l, err := s.RememberedLogin(ctxb(), sess.ID); l != nil || err != nil {
		t.Errorf("a refused login was kept: %+v, %v", l, err)
	}
}

// TestRememberedLoginSealed greps the raw vault file and its WAL for the
// secret, and checks that a deleted session takes its login with it.
func TestRememberedLoginSealed(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)
	const secret = "MARKERloginSECRET0123456789"
	sess := pathstackSession("MARKER-label")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := s.RememberLogin(ctxb(), sess.ID, RememberedLogin{Method: LoginMethodPassword, Username: "MARKER-user", Secret: secret}); err != nil {
		t.Fatal(err)
	}
	grep := func(when string) {
		t.Helper()
		var all []byte
		for _, f := range env.onDisk(t) {
			all = append(all, f.data...)
		}
		if bytes.Contains(all, []byte(secret)) {
			t.Errorf("%s: the vault holds the login secret in plaintext", when)
		}
		// The plain label is there: the grep reads the right bytes.
		if !bytes.Contains(all, []byte("MARKER-label")) {
			t.Errorf("%s: label not found: the grep reads the wrong bytes", when)
		}
	}
	grep("open")
	if err := s.DeleteSession(ctxb(), sess.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RememberedLogin(ctxb(), sess.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v", err)
	}
	// A new session never inherits a deleted one's login, even under the
	// same label.
	again := pathstackSession("MARKER-label")
	if err := s.CreateSession(ctxb(), &again); err != nil {
		t.Fatal(err)
	}
	if l, err := s.RememberedLogin(ctxb(), again.ID); l != nil || err != nil || again.LoginRemembered != "" {
		t.Errorf("a new session has a login: %+v, %v, %q", l, err, again.LoginRemembered)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	grep("closed")
}

// TestRememberedLoginBoundToRow: a sealed secret copied to another session's
// row does not open there.
func TestRememberedLoginBoundToRow(t *testing.T) {
	s := newTestEnv(t).open(t)
	a, b := pathstackSession("a"), pathstackSession("b")
	for _, x := range []*Session{&a, &b} {
		if err := s.CreateSession(ctxb(), x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.RememberLogin(ctxb(), a.ID, RememberedLogin{Method: LoginMethodAPIKey, Secret: "key-of-a-0123456789"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.db.Exec(`UPDATE sessions SET (login_method, login_user, login_secret) =
		(SELECT login_method, login_user, login_secret FROM sessions WHERE id = ?) WHERE id = ?`, a.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	if l, err := s.RememberedLogin(ctxb(), b.ID); !errors.Is(err, ErrSealBroken) || l != nil {
		t.Errorf("moved secret: %+v, %v; want ErrSealBroken", l, err)
	}
	// Nor does a token column's sealed value pass for the secret.
	if _, err := s.db.Exec("UPDATE sessions SET login_secret = refresh_token WHERE id = ?", a.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RememberedLogin(ctxb(), a.ID); !errors.Is(err, ErrSealBroken) {
		t.Errorf("column swap: %v; want ErrSealBroken", err)
	}
	// The sessions themselves still open: the login is apart from the tokens.
	if _, err := s.GetSession(ctxb(), b.ID); err != nil {
		t.Errorf("GetSession with a broken login secret: %v", err)
	}
}
