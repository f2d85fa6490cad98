package ui

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// modelWithRefresher is a 100×30 model listing sessions whose refreshes
// start (their commands are not run: the tests send the outcomes).
func modelWithRefresher(t *testing.T, sessions []vault.Session) Model {
	t.Helper()
	deps := testDeps(&bytes.Buffer{})
	deps.Refresher = providers.NewRefresher(nil, providers.NewRegistry(), providers.RefresherOptions{})
	m := New(deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: sessions})
	return m
}

// When the last refresh R started ends, the status line sums up the batch
// instead of showing whichever refresh happened to end last.
func TestRefreshAllEndsWithASummary(t *testing.T) {
	ss := manySessions(6)
	m := modelWithRefresher(t, ss)
	m, _ = press(t, m, "R")
	failed := map[int64]bool{2: true, 5: true}
	for done := 0; done < len(ss); done++ {
		var id int64
		for fid := range m.flights {
			if id == 0 || fid < id {
				id = fid
			}
		}
		if id == 0 {
			t.Fatalf("after %d done nothing is in flight", done)
		}
		rep := &providers.Report{Session: ss[id-1], Outcome: providers.OutcomeOK, Status: 200}
		var err error
		if failed[id] {
			err = &providers.Error{Outcome: providers.OutcomeServerError, Status: 502}
			rep.Outcome, rep.Status, rep.Err = providers.OutcomeServerError, 502, err
		}
		m, _ = update(t, m, RefreshDoneMsg{SessionID: id, Report: rep, Err: err})
		if done < len(ss)-1 && strings.Contains(m.status.Text(), "R:") {
			t.Fatalf("summary before the batch ended: %q", m.status.Text())
		}
	}
	if got, want := m.status.Text(), "✕ R: 4 refreshed · 2 failed (s00001, s00004)"; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
	// A refresh of one session afterwards reports itself again.
	m, _ = press(t, m, "r")
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: ss[0], Outcome: providers.OutcomeOK}})
	if got := m.status.Text(); got != "✓ s00000 refreshed · expires in 6m 00s" {
		t.Fatalf("after the batch: %q", got)
	}
}

// esc during R: the summary counts what was stopped and what never started.
func TestRefreshAllSummaryAfterEsc(t *testing.T) {
	ss := manySessions(6)
	m := modelWithRefresher(t, ss)
	m, _ = press(t, m, "R")
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: ss[0], Outcome: providers.OutcomeOK}})
	m, _ = press(t, m, "esc")
	requireScreenContains(t, m, "stopped waiting for 4 refreshes · any already sent complete and are saved · 1 queued not started")
	for id := range m.flights {
		m, _ = update(t, m, RefreshDoneMsg{SessionID: id, Report: &providers.Report{Session: ss[id-1], Outcome: providers.OutcomeCancelled,
			Err: &providers.Error{Outcome: providers.OutcomeCancelled}}})
	}
	m.status.Dismiss() // the esc note ends
	if got, want := m.status.Text(), "⚠ R: 1 refreshed · 4 stopped · 1 not started"; got != want {
		t.Fatalf("status = %q, want %q", got, want)
	}
}

// A copy note replaces the refresh's outcome; when the note ends, the old
// outcome must not come back as if it were news.
func TestCopyNoteDoesNotBringBackAnOldRefreshStatus(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	s := fixtureSessions(t)[0]
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200}})
	requireScreenContains(t, m, "prod-eu refreshed")
	m, cmd := press(t, m, "c")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "Copied access token")
	m, _ = update(t, m, toast.ExpiredMsg{ID: 1}) // the copy was the first note
	requireScreenLacks(t, m, "Copied access token", "prod-eu refreshed")

	// An outcome that arrives while the note shows is news: it shows after.
	m, cmd = press(t, m, "c")
	m, _ = update(t, m, collect(cmd)[0])
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200}})
	m, _ = update(t, m, toast.ExpiredMsg{ID: 2})
	requireScreenContains(t, m, "prod-eu refreshed")
}

// esc stops waiting for a refresh; the Refresher completes a request
// already sent in the background. When a reload shows the session changed,
// the row, the detail and the exchange pane just update to the stored
// attempt.
func TestStoppedRefreshUpdatesWhenItsAttemptIsStored(t *testing.T) {
	ss := fixtureSessions(t)
	m := modelWithRefresher(t, listed(ss))
	for _, s := range ss {
		m, _ = update(t, m, SessionLoadedMsg{ID: s.ID, Session: s})
	}
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = press(t, m, "r")
	m, _ = press(t, m, "esc")
	requireScreenContains(t, m, "stopped waiting for 1 refresh · if already sent, it completes and is saved")
	sent := exchange200(t)
	sent.Status, sent.StatusText, sent.ResponseHeader, sent.ResponseBody, sent.Timings = 0, "", nil, "", providers.Timings{}
	m, _ = update(t, m, ExchangeProgressMsg{SessionID: 1, Exchange: sent})
	// What the Refresher returns at once when the request is out.
	goesOn := &providers.Error{Outcome: providers.OutcomeCancelled, Err: fmt.Errorf("%w: %w", providers.ErrInBackground, context.Canceled)}
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Err: goesOn, Report: &providers.Report{
		Session: ss[0], Outcome: providers.OutcomeCancelled, Err: goesOn}})
	if len(m.flights) != 0 {
		t.Fatal("the stopped refresh is still in flight")
	}
	// The request as sent, not called a failure; the row is unchanged.
	requireScreenContains(t, m, "Last refresh · stopped waiting", "⚠ stopped waiting: the request goes on",
		"→ POST https://api.pathstack.io/refresh", "← not waited for", "41m 12s")
	requireScreenLacks(t, m, "✕ stopped", "no response", "refresh cancelled", "last      cancelled")

	// A reload: the background request was saved (version 4, new expiry).
	after := ss[0]
	after.Version, after.ExpiresAt, after.IssuedAt, after.LastRefreshAt = 4, fixedNow.Add(time.Hour), fixedNow, fixedNow
	after.UpdatedAt = fixedNow.Add(time.Second)
	rows := listed(ss)
	rows[0] = listed([]vault.Session{after})[0]
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: rows, seq: m.loadSeq + 1})
	requireScreenContains(t, m, "1h 00m", "loading tokens…")
	stored := vault.Attempt{ID: 9, SessionID: 1, Trigger: vault.TriggerManual, StartedAt: fixedNow, Outcome: "ok", Status: 200,
		Exchange: redacted(t, exchange200(t))}
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: after, Latest: &stored})
	requireScreenContains(t, m, "Last refresh 14:00:00 · manual · POST /refresh · 200 OK",
		"→ POST https://api.pathstack.io/refresh", "expires 15:00:00 (in 1h 00m)")
}

// An attempt recorded without a new version (a failure elsewhere, or of a
// request this dashboard stopped waiting for) reads the session again, so
// that the exchange pane and the detail's last line show it.
func TestNewerUpdatedAtReadsTheSessionAgain(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	requireScreenLacks(t, m, "loading tokens…")
	rows := listed(fixtureSessions(t))
	rows[0].UpdatedAt, rows[0].LastStatus = fixedNow, "network_error"
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: rows, seq: m.loadSeq + 1})
	requireScreenContains(t, m, "loading tokens…")
}
