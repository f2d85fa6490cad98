package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/vault"
)

// A remembered login: the login form's "remember this login" keeps the
// password or API key sealed in the vault (vault.Store.RememberLogin), so
// that when the provider rejects the refresh token (401) the Refresher logs
// in again by itself, once (providers.Report.Relogin). The secret goes from
// the form to the vault inside the login's tea.Cmd and is never read back
// into the dashboard: what it shows of a remembered login is its method and
// username (vault.Session.LoginRemembered, LoginUser).
//
// The box is ticked when the session has one. Unticking it and logging in
// forgets the kept login: the box says what the session keeps after the
// login, and its hint says so before anything is sent. There is no key to
// forget without logging in: `tokentop forget LABEL` does that.

// fRemember is the login form's checkbox.
const fRemember = "remember"

// rememberTimeout bounds keeping or forgetting a login after the login.
const rememberTimeout = 10 * time.Second

// loginState is what adapting the login form needs to remember between keys.
type loginState struct {
	provider   string // the provider the form was last adapted to
	newSession bool   // opened without a selection: the provider is a field
	// known: the box was set from the session's record (GetSession); false
	// while that record is still being read.
	known bool
}

// rememberField is the login form's "remember this login" checkbox.
func rememberField(checked bool) form.Field {
	v := form.Unchecked
	if checked {
		v = form.Checked
	}
	return form.Field{Key: fRemember, Label: "remember", Kind: form.Check, Value: v, Text: "remember this login"}
}

// keptLogin is the login remembered for the session labelled label of
// provider, as this dashboard read it: method "" when none is kept (or the
// session's record is not read yet).
func (m Model) keptLogin(label, provider string) (method, user string) {
	s, ok := m.list.ByLabel(label)
	if !ok || s.Provider != provider {
		return "", ""
	}
	full := m.full[s.ID]
	return full.LoginRemembered, full.LoginUser
}

// secretWord names the secret of a login method.
func secretWord(method string) string {
	if method == methodAPIKey {
		return "API key"
	}
	return "password"
}

// adaptRemember shows the checkbox for logins (not for pasted tokens) and
// says, under it, what ticking it does, or what unticking it does to the
// login the session keeps.
func (m *Model) adaptRemember(provider, method string) {
	m.form.SetHidden(fRemember, method == methodTokens)
	if method == methodTokens {
		return
	}
	word := secretWord(method)
	label := strings.TrimSpace(m.form.Value(fLabel))
	keptMethod, keptUser := m.keptLogin(label, provider)
	hint := "Keeps the " + word + " sealed (encrypted) in the vault, so that tokentop logs in again by itself " +
		"when the provider rejects the refresh token."
	switch {
	case keptMethod != "" && m.form.Value(fRemember) == form.Checked:
		hint += " Replaces the login kept now (" + common.DescribeLogin(keptMethod, keptUser) + ")."
	case keptMethod != "":
		hint = "Unticked: the login kept for " + common.Safe(label) + " (" + common.DescribeLogin(keptMethod, keptUser) +
			") is forgotten once this login succeeds."
	}
	m.form.SetHint(fRemember, hint)
}

// prefillRemember ticks the box of a login form opened before the
// session's record was read, once it is: that record says whether a login
// is kept.
func (m *Model) prefillRemember(s vault.Session) {
	if m.overlay != overlayForm || m.form.ID() != formLogin || m.login.known ||
		m.login.newSession || strings.TrimSpace(m.form.Value(fLabel)) != s.Label {
		return
	}
	m.login.known = true
	if s.LoginRemembered != "" {
		m.form.SetValue(fRemember, form.Checked)
	}
	// The username the form would have been opened with, if nobody has
	// typed one meanwhile: then on to the password, as when it was known.
	if m.form.Value(fUsername) == "" && m.form.Focused() == fUsername {
		if user := loginUsername(s); user != "" {
			m.form.SetValue(fUsername, user)
			m.form.Focus(fPassword)
		}
	}
	m.adaptLoginForm()
}

// rememberOutcome is what a login did to the session's remembered login.
type rememberOutcome struct {
	Remembered string // the method kept now ("" when none was kept by this login)
	Forgot     bool   // the login kept before was dropped (the box was unticked)
	Err        error  // keeping or forgetting failed: the login itself succeeded
}

// applyRemember keeps the login's credentials for session id when remember
// is set, or else forgets the login kept before when forget is set. It
// runs in the login's tea.Cmd after the session is saved, and is not cut
// short by closing the form: the session is saved already.
func applyRemember(ctx context.Context, store *vault.Store, id int64, cred providers.Credentials, remember, forget bool) rememberOutcome {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rememberTimeout)
	defer cancel()
	switch {
	case remember:
		l := vault.RememberedLogin{Method: cred.Method, Username: cred.Username, Secret: cred.Secret()}
		if err := store.RememberLogin(ctx, id, l); err != nil {
			return rememberOutcome{Err: fmt.Errorf("remembering the login failed: %w", err)}
		}
		return rememberOutcome{Remembered: cred.Method}
	case forget:
		if err := store.ForgetLogin(ctx, id); err != nil {
			return rememberOutcome{Err: fmt.Errorf("forgetting the remembered login failed: %w", err)}
		}
		return rememberOutcome{Forgot: true}
	}
	return rememberOutcome{}
}

// text is the part of the login's status line about its remembered login.
func (r rememberOutcome) text() string {
	switch {
	case r.Err != nil:
		return r.Err.Error()
	case r.Remembered != "":
		return secretWord(r.Remembered) + " remembered, sealed in the vault"
	case r.Forgot:
		return "remembered login forgotten"
	}
	return ""
}
