package ui

import (
	"context"
	"errors"
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/toast"
)

// ScheduledResultMsg carries one scheduled refresh that the Scheduler
// running with the dashboard made, or found made by another process.
type ScheduledResultMsg struct {
	Result providers.ScheduledResult
}

// SchedulerErrorMsg carries a vault error the Scheduler met (reading or
// saving schedules); it keeps going with what it knows.
type SchedulerErrorMsg struct {
	Err error
}

// startScheduler runs the vault's schedules until ctx is done, handing
// results and errors to send (tea.Program.Send, which returns at once once
// the program ended). It returns the Scheduler's Wake, for the schedule
// editor, and a channel closed when the Scheduler stopped (its refreshes in
// flight finished). Without a store or refresher, or with NoScheduler, no
// Scheduler runs: wake is nil and done is closed.
func startScheduler(ctx context.Context, deps Deps, send func(tea.Msg)) (wake func(), done <-chan struct{}) {
	stopped := make(chan struct{})
	if deps.NoScheduler || deps.Store == nil || deps.Refresher == nil {
		close(stopped)
		return nil, stopped
	}
	sch := providers.NewScheduler(deps.Store, deps.Refresher, providers.SchedulerOptions{
		Now:      deps.Now,
		OnResult: func(r providers.ScheduledResult) { send(ScheduledResultMsg{Result: r}) },
		OnError:  func(err error) { send(SchedulerErrorMsg{Err: err}) },
	})
	go func() {
		defer close(stopped)
		if err := sch.Run(ctx); err != nil && ctx.Err() == nil {
			send(SchedulerErrorMsg{Err: err})
		}
	}()
	return sch.Wake, stopped
}

// onScheduledResult shows a scheduled refresh like a manual one: the row,
// the detail and the exchange pane (captioned "Scheduled refresh") update,
// the status line says what happened. One made by another process
// (Shared) reloads the session and its latest stored attempt.
func (m Model) onScheduledResult(msg ScheduledResultMsg) (Model, tea.Cmd) {
	r := msg.Result
	id := r.SessionID
	s, listed := m.list.Session(id)
	if !listed {
		return m, m.loadSchedulesCmd() // deleted meanwhile, or not listed yet
	}
	label := s.Label
	cmds := []tea.Cmd{m.loadSchedulesCmd()}
	if r.Schedule.SessionID == id {
		m.list.SetSchedule(r.Schedule) // the mark and detail change now
		m.markDirty(id)
	}
	_, manual := m.flights[id] // a manual refresh shows its own exchange
	rep := r.Report
	switch {
	case rep == nil:
		text := label + ": scheduled refresh not made"
		if r.Err != nil {
			text += ": " + r.Err.Error()
		}
		m.status.SetStatus(text+m.retryNote(r), toast.Error)
	case rep.Shared && rep.Exchange == nil && s.Version >= rep.Session.Version:
		// Skipped: the session was refreshed by something this dashboard
		// already knows of (its own manual refresh, or a reload).
	case rep.Shared && rep.Exchange == nil:
		if rep.Session.ID != 0 {
			m.list.Upsert(rep.Session)
			m.markDirty(id)
		}
		if !manual {
			// Read the session and its latest stored attempt again when
			// shown (now, if it is selected): the pane then shows the other
			// process's attempt if it is newer than what it shows.
			delete(m.full, id)
		}
		text := label + " refreshed by another tokentop"
		if !rep.Session.ExpiresAt.IsZero() {
			text += " · expires " + common.Relative(rep.Session.ExpiresAt, m.now)
		}
		m.status.SetStatus(text, toast.Info)
	case r.Disabled:
		cmds = append(cmds, m.applyReport(id, rep, "Scheduled refresh", !manual))
		text := label + ": schedule turned off: needs a login"
		if rep.Err != nil {
			text += " · " + rep.Err.Error()
		}
		m.status.SetStatus(text, toast.Error)
	default:
		cmds = append(cmds, m.applyReport(id, rep, "Scheduled refresh", !manual))
		text, kind := m.reportStatus(label, rep, true, m.retryNote(r))
		m.status.SetStatus(text, kind)
	}
	if rep == nil || rep.Outcome != providers.OutcomeOK {
		m.status.Dismiss() // a failure must not wait behind an older note
	}
	if id == m.selectedID {
		cmds = append(cmds, m.showSelected())
		if m.exch.Mode() == exchange.ModeHistory {
			cmds = append(cmds, m.loadAttemptsCmd(id))
		}
	}
	cmds = append(cmds, m.syncSelection()) // sorting by expiry may move rows
	return m, tea.Batch(cmds...)
}

// retryNote says when the Scheduler retries after a failure.
func (m Model) retryNote(r providers.ScheduledResult) string {
	if r.Schedule.Failures > 0 && !r.NextDue.IsZero() {
		return " · retry " + common.Relative(r.NextDue, m.now)
	}
	return ""
}

func (m Model) onSchedulerError(msg SchedulerErrorMsg) (Model, tea.Cmd) {
	if errors.Is(msg.Err, context.Canceled) {
		return m, nil // shutting down
	}
	m.status.SetStatus(fmt.Sprintf("schedules: %v", msg.Err), toast.Error)
	return m, nil
}
