package ui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// BenchmarkDashboardView measures one full frame at 100×30. The list keeps
// a precomputed index and formats only its visible rows, so ten thousand
// sessions cost what ten do. Every session has a schedule (some failing)
// and a refresh token with a known expiry: both countdowns, the marks and
// the detail's schedule lines are drawn.
func BenchmarkDashboardView(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			m := New(testDeps(&bytes.Buffer{}))
			m, _ = update(b, m, tea.WindowSizeMsg{Width: 100, Height: 30})
			ss := manySessions(n)
			schedules := make([]vault.Schedule, n)
			for i := range ss {
				ss[i].RefreshExpiresAt = fixedNow.Add(time.Duration(i) * time.Hour)
				schedules[i] = vault.Schedule{SessionID: ss[i].ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true, Failures: i % 3,
					BackoffUntil: fixedNow.Add(time.Minute), LastError: "network error"}
			}
			m, _ = update(b, m, SessionsLoadedMsg{Sessions: ss, Schedules: schedules})
			// The selected session shows real tokens and an exchange.
			full := fixtureSessions(b)[0]
			full.ID, full.Label, full.Version = ss[0].ID, ss[0].Label, ss[0].Version
			m, _ = update(b, m, SessionLoadedMsg{ID: full.ID, Session: full})
			m, _ = update(b, m, RefreshDoneMsg{SessionID: full.ID, Report: &providers.Report{
				Session: full, Outcome: providers.OutcomeOK, Status: 200, Exchange: exchange200(b)}})
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_ = m.View()
			}
		})
	}
}

// BenchmarkPeriodicReload measures what the periodic reload (every
// reloadInterval) costs the event loop: merging a re-read list of 10,000
// sessions and schedules, and re-showing the selection.
func BenchmarkPeriodicReload(b *testing.B) {
	const n = 10000
	m := New(testDeps(&bytes.Buffer{}))
	m, _ = update(b, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	ss := manySessions(n)
	schedules := make([]vault.Schedule, n)
	for i := range ss {
		schedules[i] = vault.Schedule{SessionID: ss[i].ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true}
	}
	m, _ = update(b, m, SessionsLoadedMsg{Sessions: ss, Schedules: schedules})
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		m, _ = update(b, m, SessionsLoadedMsg{Sessions: ss, Schedules: schedules, seq: m.loadSeq + 1})
	}
}
