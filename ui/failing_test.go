package ui

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// rowOf is the list row of label on the screen.
func rowOf(t *testing.T, m Model, label string) string {
	t.Helper()
	for _, l := range strings.Split(screen(m), "\n") {
		rest, ok := strings.CutPrefix(l, "┃")
		if !ok {
			rest, ok = strings.CutPrefix(l, "│")
		}
		if end := strings.IndexAny(rest, "┃│"); ok && end > 0 && strings.Contains(rest[:end], " "+label+" ") {
			return rest[:end] // the list's part of the line
		}
	}
	t.Fatalf("no row for %s:\n%s", label, screen(m))
	return ""
}

// A session whose last refresh failed says so on its row, with the
// status or class of the failure, and the header counts it; its token may
// well be valid still.
func TestFailingSessionsAreMarkedAndCounted(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		m := loadedModel(t, size[0], size[1])
		requireScreenContains(t, m, "4 sessions · 1 expiring · 1 expired · 1 needs login")
		requireScreenLacks(t, m, "failing", "⚠")

		ss := fixtureSessions(t)
		prod := ss[0]
		prod.LastStatus = string(providers.OutcomeRejected)
		m, _ = update(t, m, RefreshDoneMsg{SessionID: prod.ID, Report: &providers.Report{Session: prod,
			Outcome: providers.OutcomeRejected, Status: 422, Exchange: exchangeError(422, "422 Unprocessable Entity", `{}`),
			Err: errors.New("rejected: 422 Field required")}})
		if row := rowOf(t, m, "prod-eu"); !strings.Contains(row, "⚠ 422") || !strings.Contains(row, "41m 12s") {
			t.Errorf("%dx%d: a failing row keeps its countdown and says ⚠ 422: %q", size[0], size[1], row)
		}

		staging := ss[1]
		staging.LastStatus = string(providers.OutcomeNetworkError)
		m, _ = update(t, m, RefreshDoneMsg{SessionID: staging.ID, Report: &providers.Report{Session: staging,
			Outcome: providers.OutcomeNetworkError, Exchange: &providers.Exchange{Method: "POST", URL: "http://127.0.0.1:1/refresh",
				Error: "connection refused"}, Err: errors.New("network error: connection refused")}})
		if row := rowOf(t, m, "staging"); !strings.Contains(row, "⚠ net") {
			t.Errorf("%dx%d: a network failure says ⚠ net: %q", size[0], size[1], row)
		}
		requireScreenContains(t, m, "4 sessions · 1 expiring · 1 expired · 2 failing · 1 needs login")

		// Known from the vault alone (another process failed): the class.
		listedNow := listed(ss)
		listedNow[0].LastStatus, listedNow[1].LastStatus = "ok", string(providers.OutcomeServerError)
		m, _ = update(t, m, SessionsLoadedMsg{Sessions: listedNow, Schedules: fixtureSchedules(), seq: m.loadSeq + 1})
		if row := rowOf(t, m, "staging"); !strings.Contains(row, "⚠ 5xx") {
			t.Errorf("%dx%d: a server error read from the vault says ⚠ 5xx: %q", size[0], size[1], row)
		}
		if row := rowOf(t, m, "prod-eu"); strings.Contains(row, "⚠") {
			t.Errorf("%dx%d: a session refreshed since is no longer failing: %q", size[0], size[1], row)
		}
		// A session that needs a login is counted as that, not as failing.
		if row := rowOf(t, m, "old-key"); strings.Contains(row, "⚠") {
			t.Errorf("%dx%d: needs login is its own state: %q", size[0], size[1], row)
		}
	}
}

// A scheduled refresh that fails on a session nobody is looking at shows
// in the status line at once, over a note.
func TestScheduledFailureOfAnotherSessionShowsANote(t *testing.T) {
	m := loadedModel(t, 100, 30)
	if selectedLabel(m) == "staging" {
		t.Fatal("staging should not be selected")
	}
	m, _ = press(t, m, "x") // a note on the line
	staging := fixtureSessions(t)[1]
	staging.LastStatus = string(providers.OutcomeServerError)
	sch := vault.Schedule{SessionID: staging.ID, Mode: vault.ScheduleEvery, Interval: 15 * time.Minute, Enabled: true,
		Failures: 1, BackoffUntil: fixedNow.Add(20 * time.Second)}
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: staging.ID, Schedule: sch,
		NextDue: fixedNow.Add(20 * time.Second), Report: &providers.Report{Session: staging, Outcome: providers.OutcomeServerError,
			Status: 502, Exchange: exchangeError(502, "502 Bad Gateway", "<html>bad gateway</html>"),
			Err: errors.New("server error: 502 Bad Gateway")}}})
	requireScreenContains(t, m, "staging: scheduled refresh · retry in 20s: server error: 502 Bad Gateway", "⚠ 502", "1 failing")
}

// Rotated tokens waiting in recovery are marked on the row, counted in
// the header, and the detail says how to take them back.
func TestRecoveryIsMarkedAndExplained(t *testing.T) {
	for _, size := range [][2]int{{160, 40}, {100, 30}, {80, 24}} {
		m := loadedModel(t, size[0], size[1])
		ss := listed(fixtureSessions(t))
		ss[0].Recovery = 1 // prod-eu
		ss[0].LastStatus = "not_saved"
		m, _ = update(t, m, SessionsLoadedMsg{Sessions: ss, Schedules: fixtureSchedules(), seq: m.loadSeq + 1})
		for selectedLabel(m) != "prod-eu" {
			m, _ = press(t, m, "j")
		}
		mark := "⤺ rec"
		if size[0] >= 160 {
			mark = "⤺ recovery"
		}
		if row := rowOf(t, m, "prod-eu"); !strings.Contains(row, mark) || strings.Contains(row, "⚠") {
			t.Errorf("%dx%d: the row says %s (before any failure mark): %q", size[0], size[1], mark, row)
		}
		if size[0] >= 100 {
			requireScreenContains(t, m, "4 sessions · 1 expiring · 1 expired · 1 needs login · 1 in recovery")
		} else {
			requireScreenContains(t, m, "4 sessions ◐1 ✕1 !1 ⤺1")
		}
		if size[0] < 100 {
			continue // the detail's line wraps among the list's rows
		}
		m, _ = press(t, m, "enter")
		for range 20 {
			if strings.Contains(strings.Join(strings.Fields(screen(m)), " "), "tokentop recover") {
				break
			}
			m, _ = press(t, m, "j")
		}
		words := strings.Join(strings.Fields(strings.NewReplacer("│", " ", "┃", " ").Replace(screen(m))), " ")
		if !strings.Contains(words, "a rotated token is waiting in recovery: run tokentop recover prod-eu") {
			t.Errorf("%dx%d: the detail does not say how to recover:\n%s", size[0], size[1], screen(m))
		}
	}
}
