package ui

import (
	"bytes"
	"fmt"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
)

// BenchmarkDashboardView measures one full frame at 100×30. The list keeps
// a precomputed index and formats only its visible rows, so ten thousand
// sessions cost what ten do.
func BenchmarkDashboardView(b *testing.B) {
	for _, n := range []int{10, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			m := New(testDeps(&bytes.Buffer{}))
			m, _ = update(b, m, tea.WindowSizeMsg{Width: 100, Height: 30})
			ss := manySessions(n)
			m, _ = update(b, m, SessionsLoadedMsg{Sessions: ss, Schedules: fixtureSchedules()})
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
