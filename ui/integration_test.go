package ui

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// syncBuffer is a bytes.Buffer safe for the program's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testEnv is a real vault in a temporary folder, a fake PathStack on
// loopback and a real Refresher.
type testEnv struct {
	store *vault.Store
	ps    *fake.Server
	deps  Deps
	osc   *syncBuffer
}

func newTestEnv(t *testing.T) testEnv { return newTestEnvWith(t, fake.Options{}) }

// newTestEnvWith is newTestEnv with a fake PathStack configured by opts.
func newTestEnvWith(t *testing.T, opts fake.Options) testEnv {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	store, err := vault.Open(ctx, vault.Options{Path: filepath.Join(dir, "vault.db"), KeyFile: filepath.Join(dir, "key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	ps, err := fake.StartPathStack(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ps.Close() })
	hc := providers.NewHTTPClient(providers.ClientOptions{Timeout: 5 * time.Second})
	psc := pathstack.New(hc, nil)
	reg := providers.NewRegistry(psc, galileo.New(hc, nil))
	osc := &syncBuffer{}
	return testEnv{
		store: store,
		ps:    ps,
		osc:   osc,
		deps: Deps{
			Store:     store,
			Refresher: providers.NewRefresher(store, reg, providers.RefresherOptions{}),
			Login:     psc.Login,
			Clipboard: NewClipboard(osc, WithNativeClipboard(nil), WithEnv(func(string) string { return "" })),
			Location:  time.UTC,
			Title:     "tokentop test",
		},
	}
}

// addSession stores a PathStack session minted by the fake server.
func (e testEnv) addSession(t *testing.T, label, baseURL string) vault.Session {
	t.Helper()
	tok, err := e.ps.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s := vault.Session{Provider: vault.ProviderPathStack, Label: label, BaseURL: baseURL, Sub: tok.Sub,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: "Bearer"}
	if at, err := vault.DecodeToken(tok.AccessToken); err == nil {
		s.IssuedAt, s.ExpiresAt = at.IssuedAt, at.ExpiresAt
	}
	if err := e.store.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// screenWatcher reads a program's output and waits for text in it. A wait
// searches from where the previous wait started reading, so that text drawn
// in the same frame as the previous match is still found.
type screenWatcher struct {
	tm   *teatest.TestModel
	seen []byte
	mark int
}

func watch(tm *teatest.TestModel) *screenWatcher { return &screenWatcher{tm: tm} }

func (w *screenWatcher) waitFor(t *testing.T, want string) {
	t.Helper()
	start := len(w.seen)
	deadline := time.Now().Add(10 * time.Second)
	for {
		chunk, err := io.ReadAll(w.tm.Output())
		if err != nil {
			t.Fatal(err)
		}
		w.seen = append(w.seen, chunk...)
		if i := bytes.Index(w.seen[w.mark:], []byte(want)); i >= 0 {
			w.mark = start
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("screen never showed %q; last output:\n%s", want, w.seen[w.mark:])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sendKeys(tm *teatest.TestModel, keys ...string) {
	for _, k := range keys {
		tm.Send(keyMsg(k))
	}
}

func finalModel(t *testing.T, tm *teatest.TestModel) Model {
	t.Helper()
	if err := tm.Quit(); err != nil {
		t.Fatal(err)
	}
	return tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
}

func TestDashboardRefreshesAgainstAVault(t *testing.T) {
	e := newTestEnv(t)
	prod := e.addSession(t, "prod", e.ps.URL)
	e.addSession(t, "down", "http://127.0.0.1:1")

	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	// "down" sorts first and is selected; its tokens come from GetSession.
	sw.waitFor(t, "Access token · JWT HS256 · claims unverified")

	sendKeys(tm, "r")
	sw.waitFor(t, "down: network error (refused)")

	sendKeys(tm, "j", "r")
	sw.waitFor(t, "prod refreshed · 200 OK")
	sw.waitFor(t, "→ POST "+e.ps.URL+"/refresh")

	stored, err := e.store.GetSession(context.Background(), prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Version <= prod.Version || stored.RefreshToken == prod.RefreshToken {
		t.Fatalf("refresh not persisted: version %d→%d, rotated %v", prod.Version, stored.Version, stored.RefreshToken != prod.RefreshToken)
	}

	// The history lists the attempt; enter shows its stored exchange.
	sendKeys(tm, "h")
	sw.waitFor(t, "History · 1 attempt")
	sendKeys(tm, "enter")
	sw.waitFor(t, "Attempt ")

	// The provider revoked the refresh token: its 401 envelope is shown.
	e.ps.Revoke(stored.RefreshToken)
	sendKeys(tm, "h", "r")
	sw.waitFor(t, "Invalid Refresh Token")
	// The live exchange shows the body before the refresh lands: wait for
	// the outcome's own line, drawn when the flight has ended.
	sw.waitFor(t, "needs login: l logs in again")

	// c copies the access token with OSC 52.
	sendKeys(tm, "c")
	sw.waitFor(t, "Copied access token · clipboard clears in 45s")

	m := finalModel(t, tm)
	if len(m.flights) != 0 {
		t.Fatalf("%d refreshes still in flight", len(m.flights))
	}
	after, err := e.store.GetSession(context.Background(), prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains([]byte(e.osc.String()), []byte(oscSeq(after.AccessToken))) {
		t.Fatal("the OSC 52 output does not carry the stored access token")
	}
	attempts, err := e.store.ListAttempts(context.Background(), prod.ID, 0)
	if err != nil || len(attempts) != 2 || attempts[0].Status != 401 {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
}

// esc stops waiting for a refresh whose request is out; the Refresher
// completes it in the background and saves it, and the dashboard's next
// reload just shows the new tokens and the stored attempt.
func TestEscStopsWaitingAndTheRefreshStillLands(t *testing.T) {
	e := newTestEnv(t)
	s := e.addSession(t, "slow", e.ps.URL)
	e.ps.QueueFault(fake.Fault{DelayMS: 1500}) // then answered: rotates

	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	sw.waitFor(t, "Sessions (1)")
	sendKeys(tm, "r")
	sw.waitFor(t, "→ POST "+e.ps.URL+"/refresh")
	sendKeys(tm, "esc")
	sw.waitFor(t, "stopped waiting for 1 refresh · if already sent, it completes and is saved")
	sw.waitFor(t, "Last refresh · stopped waiting")
	// The background request lands; a periodic reload shows it.
	sw.waitFor(t, "· manual · POST /refresh · 200 OK") // the title gives up the URL first
	m := finalModel(t, tm)
	if len(m.flights) != 0 {
		t.Fatal("the stopped refresh is still in flight")
	}
	if err := e.deps.Refresher.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	got, err := e.store.GetSession(context.Background(), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != s.Version+1 || got.RefreshToken == s.RefreshToken {
		t.Fatalf("the stopped refresh was not saved: version %d → %d", s.Version, got.Version)
	}
	if m.full[s.ID].Version != got.Version {
		t.Fatalf("the dashboard shows version %d, the vault holds %d", m.full[s.ID].Version, got.Version)
	}
}

func TestAddLoginEditDeleteAgainstAVault(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	sw.waitFor(t, "Welcome to tokentop")

	// Add: PathStack is preselected; label, base URL, api version, sub, tokens.
	tok, err := e.ps.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	sendKeys(tm, "a", "tab")
	tm.Type("pasted")
	sendKeys(tm, "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type(e.ps.URL)
	sendKeys(tm, "tab", "tab")
	tm.Type(tok.Sub)
	sendKeys(tm, "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tok.AccessToken), Paste: true})
	sendKeys(tm, "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(tok.RefreshToken), Paste: true})
	sendKeys(tm, "enter")
	sw.waitFor(t, "Added pasted")
	added, err := e.store.GetSessionByLabel(ctx, "pasted")
	if err != nil || added.Sub != tok.Sub || added.RefreshToken != tok.RefreshToken || added.ExpiresAt.IsZero() {
		t.Fatalf("added session = %+v, %v", added, err)
	}

	// Log in to PathStack as a new session: l on "pasted" fills in its
	// label, URL, version and username (from the token), and starts at the
	// password; a new label makes a new session.
	sendKeys(tm, "l")
	sw.waitFor(t, "Logging in replaces the tokens of pasted")
	sw.waitFor(t, "username        "+e.ps.Username()) // filled in once the session's record is read
	sendKeys(tm, "shift+tab", "shift+tab", "shift+tab", "shift+tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type("via-login")
	sendKeys(tm, "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type(e.ps.URL)
	sendKeys(tm, "tab", "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type(e.ps.Username())
	sendKeys(tm, "tab")
	tm.Type(e.ps.Password())
	sendKeys(tm, "enter")
	sw.waitFor(t, "Logged in as via-login")
	logged, err := e.store.GetSessionByLabel(ctx, "via-login")
	if err != nil || logged.Sub == "" || logged.AccessToken == "" || logged.RefreshToken == "" {
		t.Fatalf("login session = %+v, %v", logged, err)
	}

	// Edit the selected session's label, then delete it.
	sendKeys(tm, "e")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type("renamed")
	sendKeys(tm, "ctrl+s")
	sw.waitFor(t, "Saved renamed")
	sendKeys(tm, "d")
	sw.waitFor(t, "Delete session renamed?")
	sendKeys(tm, "y")
	sw.waitFor(t, "Deleted renamed")
	finalModel(t, tm)

	left, err := e.store.ListSessions(ctx)
	if err != nil || len(left) != 1 || left[0].Label != "pasted" {
		t.Fatalf("sessions left = %+v, %v", left, err)
	}
}

func TestLoginFailureStaysInTheForm(t *testing.T) {
	e := newTestEnv(t)
	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(80, 24))
	sw := watch(tm)
	sw.waitFor(t, "Welcome to tokentop")
	sendKeys(tm, "l")
	tm.Type("x")
	sendKeys(tm, "tab")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlU})
	tm.Type(e.ps.URL)
	sendKeys(tm, "tab", "tab")
	tm.Type(e.ps.Username())
	sendKeys(tm, "tab")
	tm.Type("wrong password")
	sendKeys(tm, "enter")
	sw.waitFor(t, "Login failed: rejected · 400")
	m := finalModel(t, tm)
	if m.overlay != overlayForm {
		t.Fatal("a failed login must keep the form open")
	}
	if ss, err := e.store.ListSessions(context.Background()); err != nil || len(ss) != 0 {
		t.Fatalf("a failed login stored %v, %v", ss, err)
	}
}

// The hint "needs login: l logs in again" leads here: l on the session
// logs in again and replaces its tokens, keeping its id and history.
func TestLoginAgainReplacesTheSessionsTokens(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	s := e.addSession(t, "prod", e.ps.URL)
	if _, err := e.deps.Refresher.Refresh(ctx, s.ID, vault.TriggerCLI); err != nil {
		t.Fatal(err)
	}
	before, err := e.store.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	tm := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	sw := watch(tm)
	sw.waitFor(t, "Access token · JWT")
	sendKeys(tm, "l")
	sw.waitFor(t, "Logging in replaces the tokens of prod")
	// The username comes from the token's email claim: the password has
	// the keyboard.
	tm.Type(e.ps.Password())
	sendKeys(tm, "enter")
	sw.waitFor(t, "Logged in again as prod · tokens replaced")
	finalModel(t, tm)

	all, err := e.store.ListSessions(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("sessions = %+v, %v", all, err)
	}
	after, err := e.store.GetSession(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version <= before.Version || after.RefreshToken == before.RefreshToken || after.AccessToken == before.AccessToken {
		t.Fatalf("tokens not replaced: version %d → %d", before.Version, after.Version)
	}
	if after.Label != "prod" || after.BaseURL != e.ps.URL {
		t.Fatalf("session changed: %+v", after)
	}
	if as, err := e.store.ListAttempts(ctx, s.ID, 0); err != nil || len(as) != 1 {
		t.Fatalf("history = %d attempts, %v; want the one kept", len(as), err)
	}
}
