package ui

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
	"github.com/tokentop/tokentop/vault"
)

func TestListNavigation(t *testing.T) {
	m := loadedModel(t, 100, 30)
	if got := selectedLabel(m); got != "acme" {
		t.Fatalf("first selection = %q, want acme (labels sort A-Z)", got)
	}
	steps := []struct {
		key, want string
	}{
		{"j", "old-key"}, {"down", "prod-eu"}, {"k", "old-key"}, {"end", "staging"},
		{"home", "acme"}, {"G", "staging"}, {"g", "acme"}, {"pgdown", "staging"}, {"up", "prod-eu"},
	}
	for _, s := range steps {
		m, _ = press(t, m, s.key)
		if got := selectedLabel(m); got != s.want {
			t.Fatalf("after %s: selected %q, want %q", s.key, got, s.want)
		}
		if sel, _ := m.list.Selected(); m.selectedID != sel.ID {
			t.Fatalf("after %s: selectedID %d, cursor on %d", s.key, m.selectedID, sel.ID)
		}
	}
	// The detail follows the selection.
	requireScreenContains(t, m, "prod-eu · PathStack", "expires 14:41:12 (in 41m 12s)")
}

func TestFilterByLabelAndProvider(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "/")
	if !m.list.Filtering() {
		t.Fatal("/ did not open the filter")
	}
	m = typeText(t, m, "stag")
	if m.list.Shown() != 1 || selectedLabel(m) != "staging" {
		t.Fatalf("filter stag: shown %d, selected %q", m.list.Shown(), selectedLabel(m))
	}
	// Typing a key that is also a command must type, not act.
	m, _ = press(t, m, "backspace", "backspace", "backspace", "backspace")
	m = typeText(t, m, "galileo")
	if m.list.Shown() != 1 || selectedLabel(m) != "acme" {
		t.Fatalf("filter galileo: shown %d, selected %q", m.list.Shown(), selectedLabel(m))
	}
	requireScreenContains(t, m, "Sessions (1/4)")
	m, _ = press(t, m, "enter")
	if m.list.Filtering() || m.list.FilterValue() != "galileo" {
		t.Fatalf("enter should keep the filter and leave the input")
	}
	m, _ = press(t, m, "esc")
	if m.list.Shown() != 4 || m.list.FilterValue() != "" {
		t.Fatalf("esc should clear the filter, shown %d", m.list.Shown())
	}
	if selectedLabel(m) != "acme" {
		t.Fatalf("clearing the filter lost the selection: %q", selectedLabel(m))
	}
}

func TestSortToggleKeepsSelection(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = press(t, m, "o")
	if m.list.Order() != sessionlist.ByExpiry {
		t.Fatal("o did not switch to expiry order")
	}
	if selectedLabel(m) != "prod-eu" {
		t.Fatalf("selection moved to %q", selectedLabel(m))
	}
	// acme expired first; staging and old-key share 14:03:02; prod-eu last.
	want := []int64{3, 4, 2, 1}
	if got := m.list.ShownIDs(); !equalIDs(got, want) {
		t.Fatalf("expiry order = %v, want %v", got, want)
	}
	requireScreenContains(t, m, "by expiry")
	m, _ = press(t, m, "o")
	if got := m.list.ShownIDs(); !equalIDs(got, []int64{3, 4, 1, 2}) {
		t.Fatalf("label order = %v", got)
	}
}

func equalIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTickMovesCountdowns(t *testing.T) {
	now := fixedNow
	deps := testDeps(&bytes.Buffer{})
	deps.Now = func() time.Time { return now }
	m := New(deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	ss := fixtureSessions(t)
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss)})
	requireScreenContains(t, m, "41m 12s", "3m 02s")

	now = now.Add(62 * time.Second)
	m, cmd := update(t, m, TickMsg{})
	if cmd == nil {
		t.Fatal("the tick must schedule the next tick")
	}
	requireScreenContains(t, m, "40m 10s", "2m 00s")
	// staging crosses into "expired" when its time is up.
	now = fixedNow.Add(3*time.Minute + 2*time.Second)
	m, _ = update(t, m, TickMsg{})
	if st := ss[1].State(now); st != vault.StateExpired {
		t.Fatalf("fixture state = %s", st)
	}
	requireScreenContains(t, m, "expired")
}

func TestRefreshDoneUpdatesListDetailAndExchange(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	s := fixtureSessions(t)[0]
	s.ExpiresAt = fixedNow.Add(time.Hour)
	s.IssuedAt = fixedNow
	s.Version++
	s.LastStatus = "ok"
	rep := &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200, Exchange: exchange200(t), Rotated: true}
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: rep})

	if got, _ := m.list.Session(1); !got.ExpiresAt.Equal(s.ExpiresAt) || got.AccessToken != "" {
		t.Fatalf("list row not updated (or holds a token): %+v", got)
	}
	if full, ok := m.full[1]; !ok || full.Version != s.Version {
		t.Fatal("detail cache not updated with the refreshed session")
	}
	requireScreenContains(t, m,
		"prod-eu refreshed · 200 OK · 182 ms · refresh token rotated · expires in 1h 00m",
		"Last refresh · POST https://api.pathstack.io/refresh · 200 OK · 182 ms",
		`"refresh_token": "eyJh…`, // masked by default
		"expires 15:00:00 (in 1h 00m)",
	)
}

func TestRefreshFailuresShowStatusAndNeverCrash(t *testing.T) {
	m := loadedModel(t, 80, 24)
	m, _ = press(t, m, "j") // old-key (id 4)
	netErr := &providers.Error{Outcome: providers.OutcomeNetworkError, Kind: "refused",
		Err: errors.New("dial tcp 127.0.0.1:9: connect: connection refused")}
	ex := &providers.Exchange{Method: "POST", URL: "http://127.0.0.1:9/refresh", Error: netErr.Err.Error()}
	rep := &providers.Report{Session: listed(fixtureSessions(t))[3], Outcome: providers.OutcomeNetworkError, Exchange: ex, Err: netErr}
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 4, Report: rep, Err: netErr})
	requireScreenContains(t, m, "old-key: network error (refused)", "← no response", "connection refused")

	// No report at all (the session vanished, the lease wait was cancelled).
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 4, Err: errors.New("refresh session 4: no such session")})
	requireScreenContains(t, m, "old-key: refresh failed: refresh session 4: no such session")
	// A report for a session no longer listed is harmless too.
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 99, Report: &providers.Report{Outcome: providers.OutcomeCancelled}})
	requireScreenContains(t, m, "99: refresh cancelled")
}

// manySessions lists n PathStack sessions named s00000, s00001, ...
func manySessions(n int) []vault.Session {
	ss := make([]vault.Session, n)
	for i := range ss {
		ss[i] = vault.Session{
			ID: int64(i + 1), Provider: vault.ProviderPathStack, Label: "s" + pad5(i),
			BaseURL: "https://api.pathstack.io", IssuedAt: fixedNow.Add(-time.Hour),
			ExpiresAt: fixedNow.Add(time.Duration(n-i) * time.Minute), Version: 1,
		}
	}
	return ss
}

func pad5(i int) string {
	s := itoa(i)
	return strings.Repeat("0", max(0, 5-len(s))) + s
}

func TestRefreshAllIsBoundedAndCancellable(t *testing.T) {
	m := modelWithRefresher(t, manySessions(10))

	m, cmd := press(t, m, "R")
	if cmd == nil {
		t.Fatal("R returned no command")
	}
	if len(m.flights) != maxParallelRefresh || len(m.queue) != 10-maxParallelRefresh {
		t.Fatalf("R: %d in flight, %d queued; want %d and %d", len(m.flights), len(m.queue), maxParallelRefresh, 10-maxParallelRefresh)
	}
	requireScreenContains(t, m, "4 refreshing", "6 queued", "queued")

	// One finishing starts the next.
	first := m.list.ShownIDs()[0]
	m, _ = update(t, m, RefreshDoneMsg{SessionID: first, Report: &providers.Report{Outcome: providers.OutcomeOK, Session: manySessions(10)[0]}})
	if len(m.flights) != maxParallelRefresh || len(m.queue) != 5 {
		t.Fatalf("after one done: %d in flight, %d queued", len(m.flights), len(m.queue))
	}

	// esc stops waiting for what runs and drops the queue.
	var cancelled []*flight
	for _, f := range m.flights {
		cancelled = append(cancelled, f)
	}
	m, _ = press(t, m, "esc")
	if len(m.queue) != 0 {
		t.Fatalf("queue kept %d after esc", len(m.queue))
	}
	requireScreenContains(t, m, "stopped waiting for 4 refreshes · any already sent complete and are saved · 5 queued not started")
	for _, f := range cancelled {
		if f.ctx.Err() == nil {
			t.Fatal("esc did not cancel a refresh's context")
		}
	}
	if rows := ansi.Strip(m.list.View()); strings.Contains(rows, "queued") {
		t.Fatalf("rows still say queued after esc:\n%s", rows)
	}
}

func TestRefreshWithoutRefresherSaysSo(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "r")
	if len(m.flights) != 0 {
		t.Fatal("a refresh started without a Refresher")
	}
	requireScreenContains(t, m, "refresh is not available here")
}

func TestInFlightExchangeShowsTheRequest(t *testing.T) {
	deps := testDeps(&bytes.Buffer{})
	deps.Refresher = providers.NewRefresher(nil, providers.NewRegistry(), providers.RefresherOptions{})
	m := New(deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	ss := fixtureSessions(t)
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss)})
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = press(t, m, "r")
	if _, ok := m.flights[1]; !ok {
		t.Fatal("r did not start a refresh of the selected session")
	}
	requireScreenContains(t, m, "Refreshing", "preparing request…", "esc stop waiting")

	ex := exchange200(t)
	ex.Status, ex.StatusText, ex.ResponseHeader, ex.ResponseBody, ex.Timings = 0, "", nil, "", providers.Timings{}
	m, next := update(t, m, ExchangeProgressMsg{SessionID: 1, Exchange: ex, next: func() tea.Msg { return nil }})
	if next == nil {
		t.Fatal("progress must keep listening")
	}
	requireScreenContains(t, m, "→ POST https://api.pathstack.io/refresh", "waiting for the response…", "X-Api-Version: 2024-03-27")
}

func TestRevealTogglesSecretsOnScreen(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	s := fixtureSessions(t)[0]
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: s, Outcome: providers.OutcomeOK, Exchange: exchange200(t)}})
	// The detail shows the access token, the exchange the refresh token sent.
	requireScreenContains(t, m, providers.Mask(s.AccessToken), `"refresh_token": "`+providers.Mask(s.RefreshToken)+`"`, "masked")
	requireScreenLacks(t, m, s.AccessToken[:30], s.RefreshToken[:20])

	m, _ = press(t, m, "x")
	requireScreenContains(t, m, "secrets revealed", "REVEALED", s.AccessToken[:30], s.RefreshToken[:20])
	m, _ = press(t, m, "x")
	requireScreenLacks(t, m, s.AccessToken[:30], s.RefreshToken[:20], "REVEALED")
}

func TestHistoryListAndAttempt(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j") // old-key
	m, _ = press(t, m, "h")
	if m.exch.Mode() != exchange.ModeHistory || m.focus != paneExchange {
		t.Fatal("h should open the history and focus it")
	}
	body := `{"error":{"code":401,"message":"Invalid Refresh Token"}}`
	red := exchangeError(401, "401 Unauthorized", body).Redacted()
	raw, err := red.MarshalRedacted()
	if err != nil {
		t.Fatal(err)
	}
	attempts := []vault.Attempt{
		{ID: 2, SessionID: 4, Trigger: vault.TriggerManual, StartedAt: fixedNow.Add(-3 * time.Minute), Duration: 12 * time.Millisecond,
			Outcome: "rejected", Status: 401, Exchange: raw, Error: "rejected: 401 Invalid Refresh Token",
			Envelope: []byte(`{"status":401,"code":"401","message":"Invalid Refresh Token","fields":null,"shape":"pathstack"}`)},
		{ID: 1, SessionID: 4, Trigger: vault.TriggerScheduled, StartedAt: fixedNow.Add(-time.Hour), Duration: 90 * time.Millisecond,
			Outcome: "ok", Status: 200, Rotated: true, SentFP: "ab12cd34", ReceivedFP: "ef56ab78"},
	}
	m, _ = update(t, m, AttemptsLoadedMsg{SessionID: 4, Attempts: attempts})
	requireScreenContains(t, m, "History · 2 attempts", "13:57:00", "rejected", "401", "rotated ab12cd34→ef56ab78")
	m, _ = press(t, m, "enter")
	if m.exch.Mode() != exchange.ModeAttempt {
		t.Fatal("enter should open the attempt")
	}
	requireScreenContains(t, m, "Attempt 13:57:00 · manual", "✕ 401 · Invalid Refresh Token", `"refresh_token": "revo…(32)…789"`)
	m, _ = press(t, m, "esc")
	if m.exch.Mode() != exchange.ModeHistory {
		t.Fatal("esc should go back to the list")
	}
	m, _ = press(t, m, "j", "enter")
	requireScreenContains(t, m, "Attempt 13:00:00 · scheduled", "✓ ok")
	m, _ = press(t, m, "h")
	if m.exch.Mode() != exchange.ModeExchange {
		t.Fatal("h again should show the exchange")
	}
}

func TestHelpEmptyVaultAndTooSmall(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "?")
	requireScreenContains(t, m, "Help", "Navigate", "Refresh", "Copy", "Sessions", "copy refresh token", "l  log in")
	m, _ = press(t, m, "q") // closes the help, does not quit
	if m.overlay != overlayNone {
		t.Fatal("q in the help should close it")
	}

	empty := New(testDeps(&bytes.Buffer{}))
	empty, _ = update(t, empty, tea.WindowSizeMsg{Width: 80, Height: 24})
	requireScreenContains(t, empty, "Opening the vault…")
	empty, _ = update(t, empty, SessionsLoadedMsg{VaultPath: "/tmp/v.db"})
	requireScreenContains(t, empty, "Welcome to tokentop", "/tmp/v.db", "a  add a session", "l  log in to PathStack", "tokentop demo")

	small, _ := update(t, m, tea.WindowSizeMsg{Width: 50, Height: 12})
	requireScreenContains(t, small, "tokentop needs at least 60×16", "50×12")
}

func TestQuitKeys(t *testing.T) {
	for _, k := range []string{"q", "ctrl+c"} {
		m := loadedModel(t, 100, 30)
		_, cmd := press(t, m, k)
		if cmd == nil {
			t.Fatalf("%s returned no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%s does not quit", k)
		}
	}
}

func TestMouseWheelScrollsThePaneUnderThePointer(t *testing.T) {
	m := loadedModel(t, 100, 30)
	wheel := func(x, y int, b tea.MouseButton) tea.MouseMsg {
		return tea.MouseMsg{X: x, Y: y, Button: b, Action: tea.MouseActionPress}
	}
	m, _ = update(t, m, wheel(5, 3, tea.MouseButtonWheelDown))
	if selectedLabel(m) != "old-key" {
		t.Fatalf("wheel over the list: selected %q", selectedLabel(m))
	}
	m, _ = press(t, m, "j") // prod-eu, long detail
	before := screen(m)
	m, _ = update(t, m, wheel(60, 5, tea.MouseButtonWheelDown))
	if screen(m) == before || selectedLabel(m) != "prod-eu" {
		t.Fatal("wheel over the detail should scroll it and keep the selection")
	}
	requireScreenContains(t, m, "prod-eu · PathStack · 4-15/")
	// Row 1 of the screen is the list's top border, row 2 its column header
	// (two countdowns at 100 columns); the 4th session is on row 6.
	m, _ = update(t, m, tea.MouseMsg{X: 5, Y: 2, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if selectedLabel(m) != "prod-eu" {
		t.Fatalf("a click on the header selected %q", selectedLabel(m))
	}
	m, _ = update(t, m, tea.MouseMsg{X: 5, Y: 6, Button: tea.MouseButtonLeft, Action: tea.MouseActionPress})
	if selectedLabel(m) != "staging" {
		t.Fatalf("click on the 4th row selected %q", selectedLabel(m))
	}
}

func TestKeysReadTogetherActOneByOne(t *testing.T) {
	m := loadedModel(t, 100, 30)
	// "/stag" in one read: the slash opens the filter, the rest types into it.
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/stag")})
	if !m.list.Filtering() || m.list.FilterValue() != "stag" || selectedLabel(m) != "staging" {
		t.Fatalf("filtering %v, filter %q, selected %q", m.list.Filtering(), m.list.FilterValue(), selectedLabel(m))
	}
}

func TestEscFollowedQuicklyByAKey(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/stag")})
	m, _ = press(t, m, "enter")
	// esc then "/g" arrive as alt+"/g": the filter is cleared, then reopened.
	m, _ = update(t, m, tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("/g"), Alt: true})
	if !m.list.Filtering() || m.list.FilterValue() != "g" {
		t.Fatalf("filtering %v, filter %q", m.list.Filtering(), m.list.FilterValue())
	}
}
