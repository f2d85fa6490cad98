package ui

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/vault"
)

// reloginEnv is testEnv with a fake Galileo too, and both providers'
// logins in the dashboard (the Refresher's registry has both already).
type reloginEnv struct {
	testEnv
	gal *fake.Server
}

func newReloginEnv(t *testing.T) reloginEnv {
	t.Helper()
	e := newTestEnv(t)
	gal, err := fake.StartGalileo(fake.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gal.Close() })
	hc := providers.NewHTTPClient(providers.ClientOptions{Timeout: 5 * time.Second})
	e.deps.Login = nil
	e.deps.Logins = map[string]LoginFunc{
		vault.ProviderPathStack: pathstack.New(hc, nil).Login,
		vault.ProviderGalileo:   galileo.New(hc, nil).Login,
	}
	return reloginEnv{testEnv: e, gal: gal}
}

// space is the key that ticks a checkbox.
var space = tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}}

// waitForSinceStart is waitFor searching everything drawn so far, for text
// drawn once, maybe in a frame an earlier wait read past.
func (w *screenWatcher) waitForSinceStart(t *testing.T, want string) {
	t.Helper()
	w.mark = 0
	w.waitFor(t, want)
}

// requireNeverShown fails when any frame the program drew, or the final
// view, holds secret or a long piece of it.
func requireNeverShown(t *testing.T, sw *screenWatcher, final Model, secret string) {
	t.Helper()
	rest, err := io.ReadAll(sw.tm.Output()) // what was drawn after the last wait
	if err != nil {
		t.Fatal(err)
	}
	sw.seen = append(sw.seen, rest...)
	pieces := []string{secret}
	if len(secret) > 12 {
		pieces = append(pieces, secret[:8], secret[len(secret)-8:])
	}
	for _, p := range pieces {
		if strings.Contains(string(sw.seen), p) {
			t.Fatalf("a frame showed the secret (or %q of it)", p)
		}
		if strings.Contains(screen(final), p) {
			t.Fatalf("the final view shows the secret (or %q of it)", p)
		}
	}
}

// A new Galileo session logged in with an API key, remembered: when the
// provider revokes its token family, r logs in again by itself with the
// kept key, says so, shows the login's exchange and a relogin row in the
// history; no frame ever shows the key.
func TestRememberedAPIKeyLogsInAgainAfterA401(t *testing.T) {
	e := newReloginEnv(t)
	ctx := context.Background()
	apiKey := e.gal.IssueAPIKey()

	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	sw.waitFor(t, "Welcome to tokentop")

	sendKeys(tm, "l")
	sw.waitFor(t, "(•) PathStack")
	sendKeys(tm, "right") // Galileo: its login has two ways
	sw.waitFor(t, "( ) API key")
	sendKeys(tm, "tab", "right") // how: API key
	sw.waitFor(t, "(•) API key")
	sendKeys(tm, "tab")
	tm.Type("gal")
	sendKeys(tm, "tab")
	tm.Type(e.gal.URL)
	sendKeys(tm, "tab")
	tm.Type(apiKey)
	sendKeys(tm, "tab")
	sw.waitFor(t, "Keeps the API key sealed (encrypted) in the vault")
	tm.Send(space)
	sw.waitFor(t, "[x] remember this login")
	sendKeys(tm, "enter") // on the checkbox, the last field: submits
	sw.waitFor(t, "Logged in as gal · API key remembered, sealed in the vault")
	// The login's exchange stays shown (the stored refreshes are older),
	// and the detail pane says what is kept.
	sw.waitForSinceStart(t, "Login · POST")
	sw.waitForSinceStart(t, "login     remembered (API key)")

	s, err := e.store.GetSessionByLabel(ctx, "gal")
	if err != nil || s.Provider != vault.ProviderGalileo || s.BaseURL != e.gal.URL {
		t.Fatalf("session = %+v, %v", s, err)
	}
	kept, err := e.store.RememberedLogin(ctx, s.ID)
	if err != nil || kept == nil || *kept != (vault.RememberedLogin{Method: vault.LoginMethodAPIKey, Secret: apiKey}) {
		t.Fatalf("remembered login = %+v, %v", kept, err)
	}

	if n := e.gal.RevokeAll(); n != 1 {
		t.Fatalf("revoked %d families, want 1", n)
	}
	sendKeys(tm, "r")
	sw.waitFor(t, "gal: refresh token rejected — logged in again with the remembered login")
	sw.waitFor(t, "Logged in again · refresh token rejected")

	// x reveals tokens, never the key the login sent.
	sendKeys(tm, "x")
	sw.waitFor(t, "Secrets revealed on screen")
	sendKeys(tm, "h")
	sw.waitFor(t, "relogin   ✓ ok")
	sw.waitFor(t, "logged in by itself · new ")
	sendKeys(tm, "enter") // the login, stored redacted
	sw.waitFor(t, "· relogin")
	sw.waitFor(t, "/login/api_key")
	sendKeys(tm, "esc", "j", "enter") // the 401 that led to it
	sw.waitFor(t, "· manual")
	sw.waitFor(t, "401 Unauthorized")
	final := finalModel(t, tm)
	requireNeverShown(t, sw, final, apiKey)

	after, err := e.store.GetSession(ctx, s.ID)
	if err != nil || after.NeedsLogin || after.Version <= s.Version || after.RefreshToken == s.RefreshToken {
		t.Fatalf("after the relogin: %+v, %v", after, err)
	}
	as, err := e.store.ListAttempts(ctx, s.ID, 0)
	if err != nil || len(as) != 2 || as[0].Trigger != vault.TriggerRelogin || as[0].Outcome != string(providers.OutcomeOK) ||
		as[1].Trigger != vault.TriggerManual || as[1].Status != 401 {
		t.Fatalf("history = %+v, %v", as, err)
	}
}

// l on a PathStack session: ticking "remember" keeps the password; the
// next 401 heals by itself; l again has the box ticked, and unticking it
// forgets the password once the login succeeds.
func TestRememberedPasswordLogsInAgainAndCanBeForgotten(t *testing.T) {
	e := newReloginEnv(t)
	ctx := context.Background()
	s := e.addSession(t, "prod", e.ps.URL)
	password := e.ps.Password()

	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	sw.waitFor(t, "Access token · JWT")
	sendKeys(tm, "l")
	sw.waitFor(t, "[ ] remember this login")
	tm.Type(password) // the username comes from the token: the password has the keyboard
	sendKeys(tm, "tab")
	tm.Send(space)
	sw.waitFor(t, "[x] remember this login")
	sendKeys(tm, "enter")
	sw.waitFor(t, "Logged in again as prod · tokens replaced · password remembered, sealed in the vault")
	sw.waitFor(t, "login     remembered (password for")
	kept, err := e.store.RememberedLogin(ctx, s.ID)
	if err != nil || kept == nil || *kept != (vault.RememberedLogin{Method: vault.LoginMethodPassword, Username: e.ps.Username(), Secret: password}) {
		t.Fatalf("remembered login = %+v, %v", kept, err)
	}

	e.ps.RevokeAll()
	sendKeys(tm, "r")
	sw.waitFor(t, "prod: refresh token rejected — logged in again with the remembered login")
	sw.waitFor(t, "Logged in again · refresh token rejected")

	// l again: the box is ticked; unticking it says what happens.
	sendKeys(tm, "l")
	sw.waitFor(t, "[x] remember this login")
	sw.waitFor(t, "Replaces the login kept now")
	tm.Type(password)
	sendKeys(tm, "tab")
	tm.Send(space)
	sw.waitFor(t, "is forgotten once this login")
	sendKeys(tm, "enter")
	sw.waitFor(t, "remembered login forgotten")
	final := finalModel(t, tm)
	requireNeverShown(t, sw, final, password)
	if kept, err := e.store.RememberedLogin(ctx, s.ID); err != nil || kept != nil {
		t.Fatalf("after unticking: remembered login = %+v, %v", kept, err)
	}
	if final.form.Value(fPassword) != "" {
		t.Fatal("the closed login form still holds the password")
	}
}

// l before the session's record is read: the box is ticked once it is,
// and a kept API key preselects the API key way.
func TestRememberBoxFollowsTheSessionsRecord(t *testing.T) {
	ss := fixtureSessions(t)
	m := New(testDeps(nil))
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin, vault.ProviderGalileo: failingLogin}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss)})
	m, _ = press(t, m, "j", "j") // prod-eu, not read yet
	m, _ = press(t, m, "l")
	if got := m.form.Value(fRemember); got != form.Unchecked {
		t.Fatalf("box before the record = %q", got)
	}
	prod := ss[0]
	if prod.Label != "prod-eu" {
		t.Fatalf("fixture order changed: %s", prod.Label)
	}
	prod.LoginRemembered, prod.LoginUser = vault.LoginMethodPassword, "ada@example.test"
	m, _ = update(t, m, SessionLoadedMsg{ID: prod.ID, Session: prod})
	if got := m.form.Value(fRemember); got != form.Checked {
		t.Fatalf("box after the record = %q", got)
	}
	requireScreenContains(t, m, "[x] remember this login", "password for ada@example.test")
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	requireScreenContains(t, m, "login     remembered (password for", "ada@example.test)")

	// acme (Galileo) kept an API key: l opens on it.
	acme := ss[2]
	acme.LoginRemembered = vault.LoginMethodAPIKey
	m, _ = update(t, m, SessionLoadedMsg{ID: acme.ID, Session: acme})
	m, _ = press(t, m, "k", "k", "l")
	if got := m.form.Value(fMethod); got != methodAPIKey {
		t.Fatalf("method = %q, want the API key", got)
	}
	requireScreenContains(t, m, "[x] remember this login", "(•) API key")
}

// A new login offers Galileo's API key only while Galileo is chosen.
func TestNewLoginOffersTheAPIKeyForGalileo(t *testing.T) {
	m := New(testDeps(nil))
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin, vault.ProviderGalileo: failingLogin}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{})
	m, _ = press(t, m, "l")
	requireScreenLacks(t, m, "API key", "how ")
	m, _ = press(t, m, "right", "tab", "right")
	if m.form.Value(fMethod) != methodAPIKey {
		t.Fatalf("method = %q", m.form.Value(fMethod))
	}
	requireScreenContains(t, m, "(•) API key", "base URL", "Keeps the API key sealed")
	requireScreenLacks(t, m, "username", "password")
	// Back to PathStack: its login again, no API key.
	m.form.Focus(fProvider)
	m, _ = press(t, m, "right")
	if m.form.Value(fMethod) != methodLogin {
		t.Fatalf("method after PathStack = %q", m.form.Value(fMethod))
	}
	requireScreenContains(t, m, "username", "password")
	requireScreenLacks(t, m, "API key")
}

// A scheduled refresh that logged in again says so too, and its login's
// exchange is shown masked even with x: its body holds the password.
func TestScheduledReloginSaysSoAndMasksTheLogin(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	s := fixtureSessions(t)[0]
	ex := exchange200(t)
	ex.URL = "https://api.pathstack.io/token"
	ex.RequestBody = `{"username":"ada@example.test","password":"hunter2-not-shown"}`
	rep := &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200, Exchange: ex, Rotated: true, Relogin: true,
		Attempt: vault.Attempt{ID: 9, Trigger: vault.TriggerRelogin, StartedAt: fixedNow, Outcome: string(providers.OutcomeOK)}}
	m, _ = press(t, m, "x") // reveal
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: s.ID, Report: rep}})
	requireScreenContains(t, m, "Logged in again · refresh token rejected", `"password": "…"`)
	m.status.Dismiss() // x's note
	requireScreenContains(t, m, "prod-eu: scheduled refresh: refresh token rejected — logged in again with the remembered")
	requireScreenLacks(t, m, "hunter2", "refresh token rotated")
}
