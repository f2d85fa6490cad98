package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// RefreshDoneMsg carries the outcome of one refresh.
type RefreshDoneMsg struct {
	SessionID int64
	Report    *providers.Report
	Err       error
}

// ExchangeProgressMsg carries the request of a refresh in flight (and its
// response once it arrived), as the Refresher's observer saw it.
type ExchangeProgressMsg struct {
	SessionID int64
	Exchange  *providers.Exchange
	Done      bool
	next      tea.Cmd // keeps listening
}

// refreshCmd runs one refresh. The observer hands copies of the exchange to
// the UI through progress without ever blocking the refresh.
func refreshCmd(ctx context.Context, r *providers.Refresher, id int64, progress chan<- ExchangeProgressMsg, done chan<- struct{}, wg *sync.WaitGroup) tea.Cmd {
	return func() tea.Msg {
		defer wg.Done()
		defer close(done)
		obs := func(ex *providers.Exchange, finished bool) {
			select {
			case progress <- ExchangeProgressMsg{SessionID: id, Exchange: snapshot(ex), Done: finished}:
			default: // the UI is behind: the final report carries the exchange anyway
			}
		}
		rep, err := r.Refresh(providers.WithObserver(ctx, obs), id, vault.TriggerManual)
		return RefreshDoneMsg{SessionID: id, Report: rep, Err: err}
	}
}

// waitProgressCmd delivers the next progress message of a refresh, or
// nothing once it ended.
func waitProgressCmd(progress <-chan ExchangeProgressMsg, done <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		select {
		case msg := <-progress:
			msg.next = waitProgressCmd(progress, done)
			return msg
		case <-done:
			return nil
		}
	}
}

// snapshot copies what the UI reads of an exchange the provider may still
// be filling in, redacted: an exchange in flight may be the automatic
// login after a rejected refresh token, whose request carries the
// remembered password or API key, which x must not reveal. The final
// report of a refresh carries its exchange for x.
func snapshot(ex *providers.Exchange) *providers.Exchange {
	if ex == nil {
		return nil
	}
	return ex.Redacted() // a deep copy
}

// startRefresh starts refreshing session id unless it is already running.
func (m *Model) startRefresh(id int64) tea.Cmd {
	if _, running := m.flights[id]; running {
		return nil
	}
	if m.deps.Refresher == nil {
		m.status.SetStatus("refresh is not available here", toast.Error)
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	started := m.deps.Now()
	m.flights[id] = &flight{ctx: ctx, cancel: cancel}
	m.list.SetActivity(id, sessionlist.Activity{Started: started})
	m.shown[id] = &exchange.Shown{Caption: "Refreshing", InFlight: true, Started: started}
	if id == m.selectedID {
		m.exch.SetExchange(m.shown[id])
	}
	progress := make(chan ExchangeProgressMsg, 4)
	done := make(chan struct{})
	m.wg.Add(1)
	return tea.Batch(
		refreshCmd(ctx, m.deps.Refresher, id, progress, done, m.wg),
		waitProgressCmd(progress, done),
		m.startSpinner(),
	)
}

// refreshAll queues every shown session and starts the first few.
func (m *Model) refreshAll() tea.Cmd {
	if m.deps.Refresher == nil {
		m.status.SetStatus("refresh is not available here", toast.Error)
		return nil
	}
	queued := make(map[int64]bool, len(m.queue))
	for _, id := range m.queue {
		queued[id] = true
	}
	if m.batch == nil {
		m.batch = &refreshBatch{pending: map[int64]bool{}}
	}
	n := 0
	for _, id := range m.list.ShownIDs() {
		if _, running := m.flights[id]; running || queued[id] {
			continue
		}
		m.queue = append(m.queue, id)
		m.batch.pending[id] = true
		m.list.SetActivity(id, sessionlist.Activity{Queued: true})
		n++
	}
	if len(m.batch.pending) == 0 {
		m.batch = nil
	}
	if n == 0 {
		// No RefreshDoneMsg will come to end a status: say it in a note.
		text := "R: nothing to refresh"
		switch {
		case m.list.Shown() == 0 && m.list.Len() > 0:
			text += ": no session matches the filter"
		case m.list.Shown() > 0:
			text += ": every session shown is refreshing or queued already"
		}
		var cmd tea.Cmd
		m.status, cmd = m.status.Show(text, toast.Info, 4*time.Second)
		return cmd
	}
	m.status.SetStatus(fmt.Sprintf("refreshing %s, %d at a time · esc stops waiting", plural(n, "session", "sessions"), maxParallelRefresh), toast.Info)
	return m.startQueued()
}

// refreshBatch tallies the refreshes one or more R started, so that the
// last to end leaves a summary rather than its own outcome.
type refreshBatch struct {
	pending               map[int64]bool // queued or in flight
	refreshed, failed     int
	cancelled, notStarted int
	failedLabels          []string // the first few, for the summary
}

// maxSummaryLabels is how many failed sessions the summary names.
const maxSummaryLabels = 3

// count notes how one refresh of the batch ended; done says whether that
// was the last.
func (b *refreshBatch) count(id int64, label string, rep *providers.Report, err error) (done bool) {
	if !b.pending[id] {
		return false
	}
	delete(b.pending, id)
	switch {
	case rep != nil && rep.Outcome == providers.OutcomeOK:
		b.refreshed++
	case (rep != nil && rep.Outcome == providers.OutcomeCancelled) || (rep == nil && errors.Is(err, context.Canceled)):
		b.cancelled++
	default:
		b.failed++
		if len(b.failedLabels) < maxSummaryLabels {
			b.failedLabels = append(b.failedLabels, label)
		}
	}
	return len(b.pending) == 0
}

// summary is the status line when the batch is over: "R: 4 refreshed ·
// 2 failed (old-key, down)".
func (b *refreshBatch) summary() (string, toast.Kind) {
	parts := []string{fmt.Sprintf("%d refreshed", b.refreshed)}
	kind := toast.Success
	if b.failed > 0 {
		f := fmt.Sprintf("%d failed (%s", b.failed, strings.Join(b.failedLabels, ", "))
		if b.failed > len(b.failedLabels) {
			f += ", …"
		}
		parts = append(parts, f+")")
		kind = toast.Error
	}
	if b.cancelled > 0 {
		parts = append(parts, fmt.Sprintf("%d stopped", b.cancelled))
	}
	if b.notStarted > 0 {
		parts = append(parts, fmt.Sprintf("%d not started", b.notStarted))
	}
	if kind == toast.Success && b.cancelled+b.notStarted > 0 {
		kind = toast.Warn
	}
	return "R: " + strings.Join(parts, " · "), kind
}

// startQueued starts queued refreshes while fewer than the bound run.
func (m *Model) startQueued() tea.Cmd {
	var cmds []tea.Cmd
	for len(m.flights) < maxParallelRefresh && len(m.queue) > 0 {
		id := m.queue[0]
		m.queue = m.queue[1:]
		m.list.ClearActivity(id)
		cmds = append(cmds, m.startRefresh(id))
	}
	return tea.Batch(cmds...)
}

// cancelRefreshes stops waiting for the refreshes in flight and drops the
// queue. A refresh whose request is already sent is completed and saved by
// the Refresher in the background (a rotated refresh token must not be
// lost); each flight ends with its own RefreshDoneMsg (outcome cancelled).
func (m *Model) cancelRefreshes() (running, queued int) {
	for _, id := range m.queue {
		m.list.ClearActivity(id)
		if m.batch != nil && m.batch.pending[id] {
			delete(m.batch.pending, id)
			m.batch.notStarted++
		}
	}
	running, queued = len(m.flights), len(m.queue)
	m.queue = nil
	for _, f := range m.flights {
		f.cancel()
	}
	return running, queued
}

// stoppedText is the note esc leaves: what it stopped, and that a request
// already sent still lands in the vault. The first two parts fit 80
// columns.
func stoppedText(running, queued int) string {
	var parts []string
	switch running {
	case 0:
	case 1:
		parts = append(parts, "stopped waiting for 1 refresh", "if already sent, it completes and is saved")
	default:
		parts = append(parts, "stopped waiting for "+plural(running, "refresh", "refreshes"), "any already sent complete and are saved")
	}
	if queued > 0 {
		parts = append(parts, itoa(queued)+" queued not started")
	}
	return strings.Join(parts, " · ")
}

func (m Model) onExchangeProgress(msg ExchangeProgressMsg) (Model, tea.Cmd) {
	if _, running := m.flights[msg.SessionID]; running && msg.Exchange != nil {
		if sh := m.shown[msg.SessionID]; sh != nil && sh.InFlight {
			cp := *sh
			cp.Exchange = msg.Exchange
			m.shown[msg.SessionID] = &cp
			if msg.SessionID == m.selectedID {
				m.exch.SetExchange(&cp)
			}
		}
	}
	return m, msg.next
}

func (m Model) onRefreshDone(msg RefreshDoneMsg) (Model, tea.Cmd) {
	id := msg.SessionID
	started := m.shown[id] // the in-flight exchange, when this dashboard started the refresh
	if started != nil && !started.InFlight {
		started = nil
	}
	if f, ok := m.flights[id]; ok {
		f.cancel()
		delete(m.flights, id)
	}
	m.list.ClearActivity(id)
	var cmds []tea.Cmd
	label := fmt.Sprint(id)
	if s, ok := m.list.Session(id); ok {
		label = s.Label
	}
	rep := msg.Report
	switch {
	case rep != nil && errors.Is(rep.Err, providers.ErrInBackground):
		// esc stopped the wait after the request was sent: the Refresher
		// completes it and saves the result, which a reload then shows.
		// Nothing changed yet, and the esc note said what happens: the row
		// and the status line stay.
		m.shown[id] = stoppedShown(started, m.now)
	case rep != nil:
		cmds = append(cmds, m.applyReport(id, rep, "Last refresh", true))
		text, kind := m.reportStatus(label, rep, false, "")
		m.status.SetStatus(text, kind)
	case errors.Is(msg.Err, context.Canceled):
		m.status.SetStatus(label+": refresh cancelled before it started", toast.Warn)
	case msg.Err != nil:
		m.shown[id] = &exchange.Shown{Caption: "Last refresh", Outcome: "failed", Err: msg.Err.Error(), At: m.now}
		m.status.SetStatus(label+": refresh failed: "+msg.Err.Error(), toast.Error)
	}
	if m.batch != nil && m.batch.count(id, label, rep, msg.Err) {
		m.status.SetStatus(m.batch.summary())
		m.batch = nil
	}
	cmds = append(cmds, m.startQueued())
	if id == m.selectedID {
		cmds = append(cmds, m.showSelected())
	}
	cmds = append(cmds, m.syncSelection()) // sorting by expiry may move rows
	return m, tea.Batch(cmds...)
}

// applyReport shows what a refresh of this process (manual, or scheduled)
// reported: the session's row and record, and its exchange under caption
// unless show is false (a manual refresh of the session is in flight and
// will show its own). A refresh made elsewhere (Shared, no exchange) is
// shown by reading the session and its latest stored attempt again.
func (m *Model) applyReport(id int64, rep *providers.Report, caption string, show bool) tea.Cmd {
	var cmds []tea.Cmd
	elsewhere := rep.Shared && rep.Exchange == nil
	switch {
	case !show:
	case elsewhere:
		delete(m.shown, id)
	default:
		m.shown[id] = shownFromReport(rep, caption, m.now)
	}
	if !elsewhere && rep.Outcome != "" {
		status := rep.Status
		if rep.Exchange != nil && rep.Exchange.Status != 0 {
			status = rep.Exchange.Status
		}
		m.list.SetLastAttempt(id, string(rep.Outcome), status)
	}
	if rep.Session.ID != 0 {
		m.list.Upsert(rep.Session)
		m.markDirty(id)
		if rep.Session.AccessToken != "" {
			m.cacheFull(id, rep.Session)
		}
	} else {
		delete(m.full, id)
	}
	if rep.Session.ID == 0 || (elsewhere && show) {
		cmds = append(cmds, m.loadSessionCmd(id))
	}
	return tea.Batch(cmds...)
}

// stoppedShown is what the exchange pane shows of a refresh esc stopped
// waiting for while its request was out: the request as sent. The stored
// attempt that completes it started after the refresh did (the vault keeps
// milliseconds): it replaces this once a reload reads it.
func stoppedShown(started *exchange.Shown, now time.Time) *exchange.Shown {
	sh := &exchange.Shown{
		Caption: "Last refresh · stopped waiting",
		Outcome: string(providers.OutcomeCancelled),
		Err:     "stopped waiting: the request goes on, and its result will be saved and shown here",
		At:      now,
	}
	if started != nil {
		sh.Exchange, sh.At = started.Exchange, started.Started.Truncate(time.Millisecond)
	}
	return sh
}

func shownFromReport(rep *providers.Report, caption string, now time.Time) *exchange.Shown {
	ex := rep.Exchange
	if rep.Relogin {
		// The exchange is the login's: shown redacted, secret and all.
		caption, ex = "Logged in again · refresh token rejected", ex.Redacted()
	}
	sh := &exchange.Shown{
		Caption:   caption,
		Exchange:  ex,
		Envelope:  rep.Envelope,
		Outcome:   string(rep.Outcome),
		AttemptID: rep.Attempt.ID,
		At:        rep.Attempt.StartedAt,
	}
	if sh.At.IsZero() {
		sh.At = now
	}
	if rep.Err != nil {
		sh.Err = rep.Err.Error()
	}
	if rep.Shared {
		if rep.Exchange != nil {
			sh.Caption += " · joined one in flight"
		} else {
			sh.Caption = "Refreshed by another tokentop"
		}
	}
	return sh
}

// reportStatus is the one line the status bar shows for a refresh.
// scheduled: the Scheduler made it, and retry says when it tries again
// after a failure (" · retry in 20s", or "").
func (m Model) reportStatus(label string, rep *providers.Report, scheduled bool, retry string) (string, toast.Kind) {
	if rep.Outcome != providers.OutcomeOK && rep.Outcome != providers.OutcomeCancelled {
		if scheduled {
			return m.failureStatus(label+": scheduled refresh"+retry, rep)
		}
		return m.failureStatus(label, rep)
	}
	status := ""
	if ex := rep.Exchange; ex != nil && ex.Status != 0 {
		status = ex.StatusText
		if status == "" {
			status = fmt.Sprint(ex.Status)
		}
		if ex.Timings.Total > 0 {
			status += " · " + common.Millis(ex.Timings.Total)
		}
	} else if rep.Status != 0 {
		status = fmt.Sprint(rep.Status)
	}
	if rep.Outcome == providers.OutcomeOK {
		text := label + " refreshed"
		if scheduled {
			text += " on schedule"
		}
		kind := toast.Success
		if rep.Relogin {
			// Worth a look: the provider revoked the token family (a
			// password change, "log out everywhere", a reused token).
			text, kind = label+": ", toast.Warn
			if scheduled {
				text += "scheduled refresh: "
			}
			text += "refresh token rejected — logged in again with the remembered login"
		}
		if status != "" {
			text += " · " + status
		}
		if rep.Rotated && !rep.Relogin {
			text += " · refresh token rotated"
		}
		switch {
		case rep.Shared && rep.Exchange != nil:
			text += " · joined a refresh in flight"
		case rep.Shared:
			text += " · by another tokentop"
		}
		if !rep.Session.ExpiresAt.IsZero() {
			text += " · expires " + common.Relative(rep.Session.ExpiresAt, m.now)
		}
		if rep.Err != nil { // refreshed, but the write failed: the error says where the tokens went
			return text + " · " + rep.Err.Error(), toast.Error
		}
		return text, kind
	}
	return label + ": refresh cancelled", toast.Warn
}

// failureStatus is the status line of a refresh that did not succeed.
func (m Model) failureStatus(label string, rep *providers.Report) (string, toast.Kind) {
	text := label + ": " + common.OutcomeWords(string(rep.Outcome))
	if rep.Err != nil {
		text = label + ": " + rep.Err.Error() // names the outcome, status and envelope message
	}
	if ex := rep.Exchange; ex != nil && ex.Timings.Total > 0 {
		text += " · " + common.Millis(ex.Timings.Total)
	}
	if rep.Session.NeedsLogin {
		text += " · needs login: l logs in again"
	}
	return text, toast.Error
}
