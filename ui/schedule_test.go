package ui

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// settle runs cmd and every command the resulting messages return, feeding
// the messages to the model, until nothing is left. Clock ticks and timers
// (which would wait a second or more) are dropped: a command that has not
// returned after a short while is taken for one.
func settle(t *testing.T, m Model, cmd tea.Cmd) Model {
	t.Helper()
	queue := []tea.Cmd{cmd}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		got := make(chan tea.Msg, 1)
		go func() { got <- c() }()
		var msg tea.Msg
		select {
		case msg = <-got:
		case <-time.After(300 * time.Millisecond):
			continue // a tick or a timer
		}
		switch msg := msg.(type) {
		case nil, TickMsg, ReloadTickMsg, toast.ExpiredMsg, spinner.TickMsg:
		case tea.BatchMsg:
			queue = append(queue, msg...)
		default:
			var next tea.Cmd
			m, next = update(t, m, msg)
			queue = append(queue, next)
		}
	}
	return m
}

// vaultModel is a 100×30 model on a real vault in a temporary folder
// holding the fixture's prod-eu session, loaded and selected. wakes
// counts the Scheduler wake-ups the model asks for.
func vaultModel(t *testing.T) (m Model, store *vault.Store, id int64, wakes *atomic.Int32) {
	t.Helper()
	dir := t.TempDir()
	store, err := vault.Open(context.Background(), vault.Options{Path: filepath.Join(dir, "vault.db"), KeyFile: filepath.Join(dir, "key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	s := fixtureSessions(t)[0]
	s.ID, s.Version, s.LastStatus, s.LastRefreshAt = 0, 0, "", time.Time{}
	if err := store.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	deps := testDeps(&bytes.Buffer{})
	deps.Store = store
	m = New(deps)
	wakes = &atomic.Int32{}
	m.wake = func() { wakes.Add(1) }
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m = settle(t, m, m.loadSessionsCmd())
	if selectedLabel(m) != "prod-eu" {
		t.Fatalf("selected %q", selectedLabel(m))
	}
	return m, store, s.ID, wakes
}

// submit presses ctrl+s in the open form and handles what it submits.
func submit(t *testing.T, m Model) Model {
	t.Helper()
	m, cmd := press(t, m, "ctrl+s")
	return settle(t, m, cmd)
}

func TestScheduleEditorValidatesInTheForm(t *testing.T) {
	open := func() Model {
		m := loadedModel(t, 100, 30)
		m, _ = press(t, m, "j", "j", "s") // prod-eu
		return m
	}
	m := open()
	if m.overlay != overlayForm || m.form.ID() != formSchedule {
		t.Fatal("s should open the schedule editor")
	}
	// The default margin of this session (1 h tokens): 6 min.
	requireScreenContains(t, m, "Schedule prod-eu", "(•) before expiry", "6m before expiry for this session",
		"Next refresh: 14:35:12 (in 35m 12s)")
	requireScreenLacks(t, m, "interval")

	cases := []struct {
		name   string
		keys   []string
		text   string
		errMsg string
	}{
		{"bad margin", nil, "soon", `margin "soon" is not a positive duration`},
		{"margin past the lifetime", nil, "2h", "not shorter than the tokens' lifetime (1h)"},
		{"missing interval", []string{"right"}, "", "an interval is required"},
		{"short interval", []string{"right"}, "2s", "interval 2s is shorter than the minimum 5s"},
		{"bad interval", []string{"right"}, "often", `interval "often" is not a duration`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, _ := press(t, open(), c.keys...)
			m, _ = press(t, m, "tab")
			m = typeText(t, m, c.text)
			m = submit(t, m)
			requireScreenContains(t, m, c.errMsg)
			if m.overlay != overlayForm {
				t.Fatal("a validation error must keep the editor open")
			}
		})
	}

	// Valid, but no vault: the form says so.
	m, _ = press(t, m, "tab")
	m = typeText(t, m, "2m")
	requireScreenContains(t, m, "Next refresh: 14:39:12 (in 39m 12s)")
	m = submit(t, m)
	requireScreenContains(t, m, "no vault is open")
}

func TestScheduleEditorSavesToTheVaultAndWakesTheScheduler(t *testing.T) {
	m, store, id, wakes := vaultModel(t)
	ctx := context.Background()
	if strings.Contains(screen(m), "⟳") {
		t.Fatal("an unscheduled session is marked")
	}

	// before-expiry 2m
	m, _ = press(t, m, "s", "tab")
	m = typeText(t, m, "2m")
	m = submit(t, m)
	if m.overlay != overlayNone {
		t.Fatalf("the editor stayed open:\n%s", screen(m))
	}
	sch, err := store.GetSchedule(ctx, id)
	if err != nil || sch.Mode != vault.ScheduleBeforeExpiry || sch.Margin != 2*time.Minute || !sch.Enabled {
		t.Fatalf("stored schedule = %+v, %v", sch, err)
	}
	if got := wakes.Load(); got != 1 {
		t.Fatalf("Wake called %d times, want 1", got)
	}
	requireScreenContains(t, m, "prod-eu: before-expiry 2m · next refresh in 39m 12s",
		"41m 12s  6d 23h ⟳", "schedule  before-expiry 2m", "next      14:39:12 (in 39m 12s)")

	// every 30m, over a schedule that had failed: it starts afresh.
	sch.Failures, sch.LastError, sch.BackoffUntil = 3, "network error", fixedNow.Add(time.Minute)
	if err := store.PutSchedule(ctx, sch); err != nil {
		t.Fatal(err)
	}
	m, _ = press(t, m, "s", "right", "tab")
	m = typeText(t, m, "30m")
	m = submit(t, m)
	sch, err = store.GetSchedule(ctx, id)
	if err != nil || sch.Mode != vault.ScheduleEvery || sch.Interval != 30*time.Minute || !sch.Enabled ||
		sch.Failures != 0 || sch.LastError != "" || !sch.BackoffUntil.IsZero() {
		t.Fatalf("stored schedule = %+v, %v", sch, err)
	}
	requireScreenContains(t, m, "schedule  every 30m")

	// off: kept, turned off, and the mark goes at once.
	m, _ = press(t, m, "s", "right")
	requireScreenContains(t, m, "Saving stops the scheduled refreshes")
	m = submit(t, m)
	sch, err = store.GetSchedule(ctx, id)
	if err != nil || sch.Enabled || sch.Mode != vault.ScheduleEvery || sch.Interval != 30*time.Minute {
		t.Fatalf("stored schedule = %+v, %v", sch, err)
	}
	if strings.Contains(screen(m), "⟳") {
		t.Fatalf("a schedule turned off is still marked:\n%s", screen(m))
	}
	requireScreenContains(t, m, "prod-eu: schedule off", "every 30m · off")
	if got := wakes.Load(); got != 3 {
		t.Fatalf("Wake called %d times, want 3", got)
	}
}

func TestScheduleSaveErrorStaysInTheForm(t *testing.T) {
	m, store, id, wakes := vaultModel(t)
	m, _ = press(t, m, "s")
	if err := store.DeleteSession(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	m = submit(t, m)
	if m.overlay != overlayForm {
		t.Fatal("a failed save must keep the editor open")
	}
	requireScreenContains(t, m, "the session is gone")
	if wakes.Load() != 0 {
		t.Fatal("Wake called after a failed save")
	}
}

// scheduledOK is a scheduled refresh of prod-eu that worked: new tokens
// valid for an hour from now, version 4, its attempt recorded.
func scheduledOK(t *testing.T) ScheduledResultMsg {
	s := fixtureSessions(t)[0]
	s.IssuedAt, s.ExpiresAt, s.Version, s.LastRefreshAt, s.LastStatus = fixedNow, fixedNow.Add(time.Hour), 4, fixedNow, "ok"
	sch := fixtureSchedules()[0]
	sch.NextDue = s.ExpiresAt.Add(-6 * time.Minute)
	return ScheduledResultMsg{Result: providers.ScheduledResult{
		SessionID: s.ID, Label: s.Label, Schedule: sch, NextDue: sch.NextDue,
		Report: &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200, Exchange: exchange200(t), Rotated: true,
			Attempt: vault.Attempt{ID: 9, SessionID: s.ID, Trigger: vault.TriggerScheduled, StartedAt: fixedNow, Outcome: "ok", Status: 200}},
	}}
}

func TestScheduledResultUpdatesListDetailAndExchange(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	requireScreenContains(t, m, "41m 12s", "No refresh recorded")

	m, _ = update(t, m, scheduledOK(t))
	requireScreenContains(t, m,
		"1h 00m  6d 23h ⟳",                // the row
		"expires 15:00:00 (in 1h 00m)",    // the detail
		"next      14:54:00 (in 54m 00s)", // the detail's countdown, from the new expiry
		"Scheduled refresh · POST https://api.pathstack.io/refresh · 200 OK",
		"prod-eu refreshed on schedule · 200 OK · 182 ms · refresh token rotated")
	if m.full[1].Version != 4 {
		t.Fatalf("the detail's record is version %d, want 4", m.full[1].Version)
	}
	if len(m.flights) != 0 {
		t.Fatal("a scheduled refresh must not count as one of the dashboard's")
	}

	// The countdown moves with the clock, without reading the vault.
	m.deps.Now = func() time.Time { return fixedNow.Add(10 * time.Second) }
	m, cmd := update(t, m, TickMsg{})
	requireScreenContains(t, m, "next      14:54:00 (in 53m 50s)")
	if msgs := collectNow(cmd); len(msgs) != 0 {
		t.Fatalf("the tick produced %v", msgs)
	}
}

// collectNow runs cmd unless it is the tick (which waits a second).
func collectNow(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	got := make(chan tea.Msg, 1)
	go func() { got <- cmd() }()
	select {
	case msg := <-got:
		if _, ok := msg.(TickMsg); ok || msg == nil {
			return nil
		}
		return []tea.Msg{msg}
	case <-time.After(200 * time.Millisecond):
		return nil
	}
}

func TestScheduledFailureShowsBackoffAndNeedsLogin(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu

	// A network error: the Scheduler backs off.
	sch := fixtureSchedules()[0]
	sch.Failures, sch.BackoffUntil, sch.LastError = 1, fixedNow.Add(5*time.Second), "network error (refused)"
	sch.NextDue = sch.BackoffUntil
	s := listed(fixtureSessions(t))[0]
	s.LastStatus = "network_error"
	rep := &providers.Report{Session: s, Outcome: providers.OutcomeNetworkError, Err: errors.New("network error (refused)"),
		Attempt: vault.Attempt{ID: 10, Trigger: vault.TriggerScheduled, StartedAt: fixedNow, Outcome: "network_error"}}
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: 1, Label: "prod-eu", Schedule: sch,
		NextDue: sch.NextDue, Report: rep, Err: rep.Err}})
	requireScreenContains(t, m, "prod-eu: scheduled refresh · retry in 5s: network error (refused)",
		"failures  1 · backing off until 14:00:05 (in 5s)", "error     network error (refused)",
		"Scheduled refresh")

	// A scheduled refresh that made no attempt keeps the exchange shown.
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: 1, Label: "prod-eu", Schedule: sch,
		Err: errors.New("read schedule: database is locked")}})
	requireScreenContains(t, m, "prod-eu: scheduled refresh not made: read schedule: database is locked", "Scheduled refresh")

	// 401: the Scheduler turned the schedule off.
	sch = fixtureSchedules()[0]
	sch.Enabled, sch.Failures = false, 2
	sch.LastError = "disabled: the session needs a login (rejected · 401 · Invalid Refresh Token); log in again, then turn the schedule back on"
	s.NeedsLogin, s.LastStatus = true, "rejected"
	rep = &providers.Report{Session: s, Outcome: providers.OutcomeRejected, Status: 401,
		Err: errors.New("rejected · 401 · Invalid Refresh Token"), Attempt: vault.Attempt{ID: 11}}
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: 1, Label: "prod-eu", Schedule: sch,
		Report: rep, Err: rep.Err, Disabled: true}})
	requireScreenContains(t, m, "before-expiry · margin 6m (default) ·", "disabled: needs login",
		"prod-eu: schedule turned off: needs a login · rejected · 401 · Invalid Refresh Token", "re-login")
	requireScreenLacks(t, m, "⟳", "next  ")
}

func TestScheduledResultByAnotherProcessReloadsTheSession(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: fixtureSessions(t)[0],
		Outcome: providers.OutcomeOK, Status: 200, Exchange: exchange200(t), Attempt: vault.Attempt{ID: 5, StartedAt: fixedNow}}})
	requireScreenContains(t, m, "Last refresh · POST")

	ok := scheduledOK(t)
	rep := *ok.Result.Report
	rep.Shared, rep.Exchange, rep.Attempt = true, nil, vault.Attempt{}
	ok.Result.Report = &rep
	m, _ = update(t, m, ok)
	if _, cached := m.full[1]; cached {
		t.Fatal("the session's record should be read again")
	}
	requireScreenContains(t, m, "prod-eu refreshed by another tokentop · expires in 1h 00m", "1h 00m  6d 23h ⟳")

	// Reading it again: this dashboard's attempt (5) stays; the other
	// process's newer one replaces it.
	mine := vault.Attempt{ID: 5, SessionID: 1, Trigger: vault.TriggerManual, StartedAt: fixedNow, Outcome: "ok"}
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: rep.Session, Latest: &mine})
	requireScreenContains(t, m, "Last refresh · POST")
	a := vault.Attempt{ID: 6, SessionID: 1, Trigger: vault.TriggerScheduled, StartedAt: fixedNow.Add(-2 * time.Second),
		Outcome: "ok", Status: 200, Exchange: redacted(t, exchange200(t))}
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: rep.Session, Latest: &a})
	requireScreenContains(t, m, "Last refresh 13:59:58 · scheduled · POST /refresh · 200 OK")
}

func TestScheduledSkipAfterOwnRefreshIsNotNews(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	ok := scheduledOK(t)
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: ok.Result.Report})
	requireScreenContains(t, m, "prod-eu refreshed · 200 OK")
	// The Scheduler, which still knew the old version, found the session
	// no longer due under the lease and skipped it.
	rep := *ok.Result.Report
	rep.Shared, rep.Exchange, rep.Attempt = true, nil, vault.Attempt{}
	ok.Result.Report = &rep
	m, _ = update(t, m, ok)
	requireScreenContains(t, m, "prod-eu refreshed · 200 OK", "Last refresh · POST")
	requireScreenLacks(t, m, "another tokentop")
	if _, cached := m.full[1]; !cached {
		t.Fatal("the record was dropped for nothing new")
	}
}

func TestScheduledResultDoesNotHideAManualRefreshInFlight(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	m.deps.Refresher = &providers.Refresher{}
	m.startRefresh(1) // the command is not run: the refresh stays in flight
	m, _ = update(t, m, scheduledOK(t))
	if sh := m.shown[1]; sh == nil || !sh.InFlight {
		t.Fatalf("the manual refresh's pane was replaced by %+v", sh)
	}
	requireScreenContains(t, m, "1h 00m") // the row still updates
}

// redacted is an exchange as the vault stores it.
func redacted(t *testing.T, ex *providers.Exchange) []byte {
	raw, err := ex.MarshalRedacted()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestLatestStoredAttemptIsShownUntilANewerRefresh(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	s := fixtureSessions(t)[0]
	older := vault.Attempt{ID: 3, SessionID: 1, Trigger: vault.TriggerManual, StartedAt: fixedNow.Add(-18 * time.Minute),
		Outcome: "ok", Status: 200, Exchange: redacted(t, exchange200(t))}
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: s, Latest: &older})
	requireScreenContains(t, m, "Last refresh 13:42:00 · manual · POST", "✓ ok")
	requireScreenLacks(t, m, "No refresh recorded")

	// A refresh made here replaces it; reading the same attempt again, or
	// an older one, does not bring the older one back.
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: s, Outcome: providers.OutcomeOK,
		Status: 200, Exchange: exchange200(t), Attempt: vault.Attempt{ID: 4, StartedAt: fixedNow}}})
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: s, Latest: &older})
	requireScreenContains(t, m, "Last refresh · POST")
	newer := older
	newer.ID, newer.Trigger, newer.StartedAt = 7, vault.TriggerCLI, fixedNow.Add(time.Second)
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: s, Latest: &newer})
	requireScreenContains(t, m, "Last refresh 14:00:01 · cli · POST")
}

func TestReloadKeepsWhatChangedSinceItWasIssued(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = update(t, m, scheduledOK(t)) // prod-eu: 1h left, version 4
	stale := listed(fixtureSessions(t))
	// Issued before the refresh (seq 0): it read the old row and the old
	// schedule, which must not come back.
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: stale, Schedules: nil, seq: m.loadSeq})
	if s, _ := m.list.Session(1); s.Version != 4 {
		t.Fatalf("a stale reload put back version %d", s.Version)
	}
	if _, ok := m.list.Schedule(1); !ok {
		t.Fatal("a stale reload dropped the schedule")
	}
	// Issued after: it wins.
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: stale, Schedules: nil, seq: m.loadSeq + 1})
	if s, _ := m.list.Session(1); s.Version != 3 {
		t.Fatalf("a later reload was ignored: version %d", s.Version)
	}
	if _, ok := m.list.Schedule(1); ok {
		t.Fatal("a later reload's schedules were ignored")
	}
}

func TestSchedulesReloadReplacesTheMarks(t *testing.T) {
	m := loadedModel(t, 100, 30)
	requireScreenContains(t, m, "⟳")
	m, _ = update(t, m, SchedulesLoadedMsg{Schedules: []vault.Schedule{
		{SessionID: 2, Mode: vault.ScheduleEvery, Interval: time.Hour, Enabled: true}}, seq: 1})
	if _, ok := m.list.Schedule(1); ok {
		t.Fatal("prod-eu's schedule, gone from the vault, is still listed")
	}
	if _, ok := m.list.Schedule(2); !ok {
		t.Fatal("staging's new schedule is not listed")
	}
	for _, line := range strings.Split(screen(m), "\n") {
		if strings.Contains(line, "staging") != strings.Contains(line, "⟳") {
			t.Fatalf("only staging should be marked:\n%s", screen(m))
		}
	}
}

func TestExchangePaneSaysItReadsTheLastRefresh(t *testing.T) {
	m, _, _, _ := vaultModel(t)
	m.full, m.shown = map[int64]vault.Session{}, map[int64]*exchange.Shown{} // as if just started
	msg := collectNow(m.loadSessionsCmd())
	if len(msg) != 1 {
		t.Fatalf("load gave %v", msg)
	}
	m, cmd := update(t, m, msg[0])
	requireScreenContains(t, m, "Reading the last refresh…")
	m = settle(t, m, cmd)
	requireScreenContains(t, m, "No refresh recorded for this session yet")
}
