package ui

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/providers"

	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/vault"
)

func TestAddFormValidatesInTheForm(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "a")
	if m.overlay != overlayForm || m.form.ID() != formAdd {
		t.Fatal("a should open the add form")
	}
	requireScreenContains(t, m, "Add a session", "(•) PathStack", "( ) Galileo", "api version", "sub", "refresh token")

	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a label is required", "PathStack's /refresh needs the sub",
		"an access token is required", "a refresh token is required")
	if m.overlay != overlayForm {
		t.Fatal("a validation error must keep the form open")
	}

	// The label field has the focus (first error); a taken label is refused.
	m = typeText(t, m, "prod-eu")
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a session with that label exists")

	// Secrets are masked while typing.
	m, _ = press(t, m, "tab", "tab", "tab", "tab", "tab") // to the refresh token
	m = typeText(t, m, "super-secret-refresh")
	requireScreenLacks(t, m, "super-secret-refresh")
	requireScreenContains(t, m, strings.Repeat("•", len("super-secret-refresh")))

	m, cmd = press(t, m, "esc")
	m, _ = update(t, m, collect(cmd)[0])
	if m.overlay != overlayNone {
		t.Fatal("esc should close the form")
	}
}

func TestAddFormAdaptsToGalileo(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "a", "right") // provider is the first field
	if got := m.form.Value(fProvider); got != vault.ProviderGalileo {
		t.Fatalf("provider = %q", got)
	}
	if got := m.form.Value(fBaseURL); got != "" {
		t.Fatalf("base URL = %q, want it empty for Galileo", got)
	}
	requireScreenContains(t, m, "(•) Galileo", "https://api.acme.rungalileo.io") // the placeholder
	requireScreenLacks(t, m, "api version", "uuid of the user")
	if _, ok := m.form.Values()[fSub]; ok {
		t.Fatal("hidden fields must not be submitted")
	}
	m = typeText(t, m, "")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a base URL is required")
	requireScreenLacks(t, m, "needs the sub")
	// Back to PathStack: its public URL again.
	m, _ = press(t, m, "shift+tab", "shift+tab", "right")
	if got := m.form.Value(fBaseURL); got != defaultPathStackURL {
		t.Fatalf("base URL after PathStack again = %q", got)
	}
}

func TestLoginAndEditForms(t *testing.T) {
	// An empty vault: nothing selected, a new session's login.
	m := New(testDeps(&bytes.Buffer{}))
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = update(t, m, SessionsLoadedMsg{})
	m, _ = press(t, m, "l")
	requireScreenContains(t, m, "Log in to PathStack", "https://api.pathstack.io", "2024-03-27", "username", "password")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a label is required", "a username is required", "a password is required")
	m, cmd = press(t, m, "esc")
	m, _ = update(t, m, collect(cmd)[0])

	m = loadedModel(t, 80, 24)
	m, _ = press(t, m, "e") // acme, a Galileo session
	if m.form.ID() != formEdit || m.form.Value(fLabel) != "acme" || m.form.Value(fBaseURL) != "https://api.acme.rungalileo.io" {
		t.Fatalf("edit form not prefilled: %v", m.form.Values())
	}
	requireScreenLacks(t, m, "api version")
	// Keeping its own label is fine; the form only fails for want of a vault.
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenLacks(t, m, "label exists")
	requireScreenContains(t, m, "no vault is open")
}

func TestDeleteAsksFirst(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "d")
	requireScreenContains(t, m, "Delete session acme?", "refresh history")
	m, _ = press(t, m, "esc")
	if m.overlay != overlayNone || m.list.Len() != 4 {
		t.Fatal("esc must cancel the delete")
	}
	m, _ = press(t, m, "d", "y")
	if m.overlay != overlayNone {
		t.Fatal("y must close the dialog")
	}
	m, _ = update(t, m, SessionDeletedMsg{ID: 3, Label: "acme"})
	if m.list.Len() != 3 || selectedLabel(m) != "old-key" {
		t.Fatalf("after delete: %d sessions, selected %q", m.list.Len(), selectedLabel(m))
	}
	requireScreenContains(t, m, "Deleted acme", "old-key · PathStack")
}

func TestCleanToken(t *testing.T) {
	for in, want := range map[string]string{
		"  eyJa.b.c \n":       "eyJa.b.c",
		"Bearer eyJa.b.c":     "eyJa.b.c",
		"eyJa.\nb.\nc":        "eyJa.b.c",
		"opaque-token-123456": "opaque-token-123456",
	} {
		if got := cleanToken(in); got != want {
			t.Errorf("cleanToken(%q) = %q, want %q", in, got, want)
		}
	}
}

// failingLogin stands for a provider's login in tests that never submit.
func failingLogin(context.Context, providers.LoginTarget, providers.Credentials) (providers.Result, *providers.Exchange, error) {
	return providers.Result{}, nil, errors.New("no login in this test")
}

// l on a selected PathStack session is its login again: label, base URL
// and API version are filled in and the username has the keyboard.
func TestLoginFormFillsInTheSelectedSession(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin}
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = press(t, m, "l")
	v := m.form.Values()
	if v[fLabel] != "prod-eu" || v[fBaseURL] != "https://api.pathstack.io" || v[fAPIVersion] != "2024-03-27" {
		t.Fatalf("login form = %v", v)
	}
	requireScreenContains(t, m, "Log in again: prod-eu (PathStack)", "(•) log in", "( ) paste new tokens",
		"Logging in replaces the tokens of prod-eu; its history and schedule stay.")
	m = typeText(t, m, "dev")
	if got := m.form.Value(fUsername); got != "dev" {
		t.Fatalf("typing went to the username? username %q, values %v", got, m.form.Values())
	}
	m, _ = press(t, m, "tab")
	m = typeText(t, m, "pw")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenLacks(t, m, "label exists")
	requireScreenContains(t, m, "no vault is open") // valid: only the vault is missing

	// staging keeps the API version unset: the default is a placeholder.
	m, _ = press(t, m, "esc")
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	m, _ = press(t, m, "j", "l")
	if v := m.form.Values(); v[fLabel] != "staging" || v[fAPIVersion] != "" {
		t.Fatalf("login form for staging = %v", v)
	}
}

// The username comes from the access token's claims when they name one,
// and a LoginHint (the demo's) fills in username and password.
func TestLoginFormFillsInTheUsername(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin}
	s := fixtureSessions(t)[0]
	s.AccessToken = makeJWT(t, jwt.MapClaims{"sub": testSub, "email": "ada@example.test", "exp": fixedNow.Add(time.Hour).Unix()})
	m, _ = update(t, m, SessionLoadedMsg{ID: s.ID, Session: s})
	m, _ = press(t, m, "j", "j", "l") // prod-eu
	if got := m.form.Value(fUsername); got != "ada@example.test" {
		t.Fatalf("username = %q, want the token's email", got)
	}
	m = typeText(t, m, "pw") // the password has the keyboard
	if got := m.form.Value(fPassword); got != "pw" {
		t.Fatalf("password = %q", got)
	}

	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	m.deps.LoginHint = func(provider, baseURL string) (string, string) {
		if provider == vault.ProviderPathStack && baseURL == "https://api.pathstack.io" {
			return "demo@fake.test", "demo-password"
		}
		return "", ""
	}
	m, _ = press(t, m, "l")
	if u, p := m.form.Value(fUsername), m.form.Value(fPassword); u != "demo@fake.test" || p != "demo-password" {
		t.Fatalf("hinted credentials = %q, %q", u, p)
	}
	requireScreenLacks(t, m, "demo-password") // masked
	requireScreenContains(t, m, "ctrl+s logs in.")
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	m, _ = press(t, m, "j", "l") // staging: another host, no hint
	if u, p := m.form.Value(fUsername), m.form.Value(fPassword); u != "" || p != "" {
		t.Fatalf("credentials for staging = %q, %q", u, p)
	}
}

// On a Galileo session, l offers Galileo's own login when there is one,
// never a PathStack form; until then it offers pasting new tokens.
func TestLoginOnAGalileoSession(t *testing.T) {
	m := loadedModel(t, 100, 30) // acme, a Galileo session, is selected
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin}
	m, _ = press(t, m, "l")
	requireScreenContains(t, m, "Log in again: acme (Galileo)", "Galileo login is not built in yet",
		"The new tokens replace those of acme", "access token", "refresh token")
	requireScreenLacks(t, m, "PathStack", "username", "password", "api version", "sub ")
	if got := m.form.Value(fMethod); got != methodTokens {
		t.Fatalf("method = %q, want tokens", got)
	}
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "an access token is required", "a refresh token is required")
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})

	// With a Galileo login: its fields, Galileo's (no API version).
	m.deps.Logins[vault.ProviderGalileo] = failingLogin
	m, _ = press(t, m, "l")
	requireScreenContains(t, m, "(•) log in", "( ) API key", "( ) paste new tokens", "username", "password", "https://api.acme.rungalileo.io")
	requireScreenLacks(t, m, "api version", "not built in")
	m.form.Focus(fMethod)
	m, _ = press(t, m, "right", "right")
	requireScreenContains(t, m, "(•) paste new tokens", "access token")
	requireScreenLacks(t, m, "username")
}

// Pasted tokens replace an existing session's, with its id and history;
// pasted over a label no session has, they are refused (a adds).
func TestPasteNewTokensReplacesTheSession(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	old := e.addSession(t, "prod", e.ps.URL)
	fresh, err := e.ps.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	m := New(e.deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	for _, msg := range collect(m.loadSessionsCmd()) {
		m, _ = update(t, m, msg)
	}
	m, _ = press(t, m, "l")
	m.form.SetValue(fMethod, methodTokens) // as ← → on "how" do
	m.adaptLoginForm()
	if m.form.Value(fMethod) != methodTokens || m.form.Value(fSub) != old.Sub {
		t.Fatalf("form = %v", m.form.Values())
	}
	m.form.SetValue(fSub, fresh.Sub)
	m.form.SetValue(fAccess, "Bearer "+fresh.AccessToken)
	m.form.SetValue(fRefresh, fresh.RefreshToken+"\n")
	m, cmd := press(t, m, "ctrl+s")
	m, cmd = update(t, m, collect(cmd)[0])
	for _, msg := range collect(cmd) {
		if _, ok := msg.(LoginDoneMsg); ok {
			m, _ = update(t, m, msg)
		}
	}
	requireScreenContains(t, m, "New tokens saved for prod")
	got, err := e.store.GetSession(ctx, old.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != fresh.AccessToken || got.RefreshToken != fresh.RefreshToken || got.Sub != fresh.Sub ||
		got.Version != old.Version+1 || got.ExpiresAt.IsZero() || got.NeedsLogin {
		t.Fatalf("after paste: %+v", got)
	}
	if rep, err := e.deps.Refresher.Refresh(ctx, old.ID, vault.TriggerCLI); err != nil || rep.Outcome != providers.OutcomeOK {
		t.Fatalf("refresh with the pasted tokens: %v %v", rep, err)
	}

	// A label no session has: refused before anything is written.
	m, _ = press(t, m, "l")
	m.form.SetValue(fMethod, methodTokens)
	m.adaptLoginForm()
	m.form.SetValue(fLabel, "nobody")
	m.form.SetValue(fAccess, fresh.AccessToken)
	m.form.SetValue(fRefresh, fresh.RefreshToken)
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "no session has that label: a adds a new session")
}

// A provider's login plugs in through Deps.Logins: l on its session calls
// it with the form's values and saves the result over the session.
func TestLoginUsesTheSessionsProviderLogin(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	s := vault.Session{Provider: vault.ProviderGalileo, Label: "acme", BaseURL: "https://api.acme.rungalileo.io",
		AccessToken: "old-access", RefreshToken: "old-refresh", TokenType: "bearer"}
	if err := e.store.CreateSession(ctx, &s); err != nil {
		t.Fatal(err)
	}
	access := makeJWT(t, jwt.MapClaims{"sub": "u1", "exp": time.Now().Add(time.Hour).Unix()})
	var gotTarget providers.LoginTarget
	var got providers.Credentials
	deps := e.deps
	deps.Logins = map[string]LoginFunc{vault.ProviderGalileo: func(_ context.Context, target providers.LoginTarget, c providers.Credentials) (providers.Result, *providers.Exchange, error) {
		gotTarget, got = target, c
		return providers.Result{AccessToken: access, RefreshToken: "new-refresh", TokenType: "bearer"}, &providers.Exchange{Method: "POST", URL: target.BaseURL + "/login"}, nil
	}}
	m := New(deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	for _, msg := range collect(m.loadSessionsCmd()) {
		m, _ = update(t, m, msg)
	}
	m, _ = press(t, m, "l")
	m.form.SetValue(fUsername, "ada")
	m.form.SetValue(fPassword, "secret")
	m, cmd := press(t, m, "ctrl+s")
	m, cmd = update(t, m, collect(cmd)[0])
	for _, msg := range collect(cmd) {
		if _, ok := msg.(LoginDoneMsg); ok {
			m, _ = update(t, m, msg)
		}
	}
	if gotTarget != (providers.LoginTarget{BaseURL: "https://api.acme.rungalileo.io"}) ||
		got != (providers.Credentials{Method: providers.LoginPassword, Username: "ada", Password: "secret"}) {
		t.Fatalf("login = %+v, %+v", gotTarget, got)
	}
	requireScreenContains(t, m, "Logged in again as acme · tokens replaced")
	after, err := e.store.GetSession(ctx, s.ID)
	if err != nil || after.Provider != vault.ProviderGalileo || after.AccessToken != access || after.RefreshToken != "new-refresh" {
		t.Fatalf("after login: %+v, %v", after, err)
	}

	// Galileo's other login: an API key, masked.
	m, _ = press(t, m, "l")
	m.form.SetValue(fMethod, methodAPIKey) // as → on "how" does
	m.adaptLoginForm()
	requireScreenContains(t, m, "(•) API key", "API key")
	requireScreenLacks(t, m, "username", "password")
	m.form.Focus(fAPIKey)
	m = typeText(t, m, "gal-key-123")
	requireScreenLacks(t, m, "gal-key-123")
	m, cmd = press(t, m, "ctrl+s")
	m, cmd = update(t, m, collect(cmd)[0])
	for _, msg := range collect(cmd) {
		if _, ok := msg.(LoginDoneMsg); ok {
			m, _ = update(t, m, msg)
		}
	}
	if got != (providers.Credentials{Method: providers.LoginAPIKey, APIKey: "gal-key-123"}) {
		t.Fatalf("API key login = %+v", got)
	}
	requireScreenContains(t, m, "Logged in again as acme")
}

// Without a selection, l logs in to a new session; with several logins the
// provider is a field, and Galileo's needs its tenant's URL (no default).
func TestNewLoginChoosesTheProvider(t *testing.T) {
	m := New(testDeps(&bytes.Buffer{}))
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin, vault.ProviderGalileo: failingLogin}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{})
	m, _ = press(t, m, "l")
	requireScreenContains(t, m, "Log in", "(•) PathStack", "( ) Galileo", "api version", defaultPathStackURL)
	requireScreenLacks(t, m, "paste new tokens") // nothing to replace
	m, _ = press(t, m, "right")
	if got := m.form.Value(fProvider); got != vault.ProviderGalileo {
		t.Fatalf("provider = %q", got)
	}
	requireScreenContains(t, m, "(•) Galileo", galileoURLExample)
	requireScreenLacks(t, m, "api version")
	if got := m.form.Value(fBaseURL); got != "" {
		t.Fatalf("Galileo base URL = %q, want it empty", got)
	}
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a base URL is required")
	// Clearing the URL does not bring the default back; switching provider does.
	m.form.Focus(fProvider)
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyLeft})
	if got := m.form.Value(fBaseURL); got != defaultPathStackURL {
		t.Fatalf("PathStack base URL = %q", got)
	}
}

// A login form opened before the session's record was read gets the
// username once it is, and the keyboard moves on to the password, unless
// someone typed a username meanwhile.
func TestLoginFormFillsInTheUsernameWhenTheRecordArrives(t *testing.T) {
	ss := fixtureSessions(t)
	m := New(testDeps(&bytes.Buffer{}))
	m.deps.Logins = map[string]LoginFunc{vault.ProviderPathStack: failingLogin}
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss), Schedules: fixtureSchedules(), VaultPath: "/v/vault.db"})
	m, _ = press(t, m, "j", "j", "l") // prod-eu, its record not read yet
	if got := m.form.Value(fUsername); got != "" || m.form.Focused() != fUsername {
		t.Fatalf("before the record: username %q, focus %q", got, m.form.Focused())
	}
	s := ss[0]
	s.AccessToken = makeJWT(t, jwt.MapClaims{"sub": testSub, "email": "ada@example.test", "exp": fixedNow.Add(time.Hour).Unix()})
	m, _ = update(t, m, SessionLoadedMsg{ID: s.ID, Session: s})
	if got := m.form.Value(fUsername); got != "ada@example.test" || m.form.Focused() != fPassword {
		t.Fatalf("after the record: username %q, focus %q", got, m.form.Focused())
	}
}
