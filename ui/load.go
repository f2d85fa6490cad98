package ui

import (
	"fmt"
	"slices"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/detail"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// historyLimit is how many attempts the history shows.
const historyLimit = 200

// SessionsLoadedMsg carries every session (without tokens) and schedule.
type SessionsLoadedMsg struct {
	Sessions  []vault.Session
	Schedules []vault.Schedule
	VaultPath string
	Err       error
	seq       int // Model.loadSeq when the load was issued
}

// loadSessionsCmd lists sessions and schedules. Nil without a store (tests
// then send SessionsLoadedMsg themselves).
func (m *Model) loadSessionsCmd() tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil {
		return nil
	}
	m.loadSeq++
	seq := m.loadSeq
	return func() tea.Msg {
		ss, err := store.ListSessions(ctx)
		if err != nil {
			return SessionsLoadedMsg{Err: fmt.Errorf("list sessions: %w", err), seq: seq}
		}
		sch, err := store.ListSchedules(ctx)
		if err != nil {
			return SessionsLoadedMsg{Err: fmt.Errorf("list schedules: %w", err), seq: seq}
		}
		return SessionsLoadedMsg{Sessions: ss, Schedules: sch, VaultPath: store.Path(), seq: seq}
	}
}

// SchedulesLoadedMsg carries every schedule, re-read after a scheduled
// refresh.
type SchedulesLoadedMsg struct {
	Schedules []vault.Schedule
	Err       error
	seq       int
}

// loadSchedulesCmd re-reads the schedules (cheap: no session is read),
// unless a re-read is already under way.
func (m *Model) loadSchedulesCmd() tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil || m.schedLoading {
		return nil
	}
	m.schedLoading = true
	m.loadSeq++
	seq := m.loadSeq
	return func() tea.Msg {
		sch, err := store.ListSchedules(ctx)
		if err != nil {
			err = fmt.Errorf("list schedules: %w", err)
		}
		return SchedulesLoadedMsg{Schedules: sch, Err: err, seq: seq}
	}
}

// markDirty notes that this dashboard changed a session's row or schedule
// (a refresh, an edit): reloads issued before now keep what it has.
func (m *Model) markDirty(id int64) { m.dirty[id] = m.loadSeq }

// ReloadTickMsg asks for the periodic reload of sessions and schedules.
type ReloadTickMsg struct{}

// reloadInterval is how often the dashboard re-reads the session list and
// the schedules, which other processes (`tokentop watch`, `tokentop
// schedule`, another dashboard) may change. Listing never unseals, so this
// is cheap; the one-second tick still never touches the vault.
const reloadInterval = 3 * time.Second

func reloadTickCmd() tea.Cmd {
	return tea.Tick(reloadInterval, func(time.Time) tea.Msg { return ReloadTickMsg{} })
}

func (m Model) onReloadTick() (Model, tea.Cmd) {
	m, load := m.reload()
	return m, tea.Batch(load, reloadTickCmd())
}

// reload re-reads the session list and schedules unless a reload is under way.
func (m Model) reload() (Model, tea.Cmd) {
	var load tea.Cmd
	if !m.reloading {
		if load = m.loadSessionsCmd(); load != nil {
			m.reloading = true
		}
	}
	return m, load
}

// VaultChangedMsg says another process changed the vault (Deps.Changes):
// on PostgreSQL, a NOTIFY from its commit. Closed: the signal is gone, and
// the dashboard falls back to reloading every few seconds.
type VaultChangedMsg struct{ Closed bool }

// waitChangesCmd waits for the next change signal.
func waitChangesCmd(ch <-chan struct{}) tea.Cmd {
	return func() tea.Msg {
		_, ok := <-ch
		return VaultChangedMsg{Closed: !ok}
	}
}

func (m Model) onVaultChanged(msg VaultChangedMsg) (Model, tea.Cmd) {
	if msg.Closed {
		return m, reloadTickCmd()
	}
	m, load := m.reload()
	return m, tea.Batch(load, waitChangesCmd(m.deps.Changes))
}

// SessionLoadedMsg carries one session with its tokens, and its latest
// attempt (nil when none).
type SessionLoadedMsg struct {
	ID      int64
	Session vault.Session
	Latest  *vault.Attempt
	Err     error
}

// loadSessionCmd reads the selected session's full record.
func (m *Model) loadSessionCmd(id int64) tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil || m.loading[id] {
		return nil
	}
	m.loading[id] = true
	return func() tea.Msg {
		s, err := store.GetSession(ctx, id)
		if err != nil {
			return SessionLoadedMsg{ID: id, Err: fmt.Errorf("load session: %w", err)}
		}
		msg := SessionLoadedMsg{ID: id, Session: s}
		if as, err := store.ListAttempts(ctx, id, 1); err == nil && len(as) > 0 {
			msg.Latest = &as[0]
		}
		return msg
	}
}

// AttemptsLoadedMsg carries a session's history, newest first.
type AttemptsLoadedMsg struct {
	SessionID int64
	Attempts  []vault.Attempt
	Err       error
}

func (m Model) loadAttemptsCmd(id int64) tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil {
		return nil
	}
	return func() tea.Msg {
		as, err := store.ListAttempts(ctx, id, historyLimit)
		if err != nil {
			err = fmt.Errorf("list attempts: %w", err)
		}
		return AttemptsLoadedMsg{SessionID: id, Attempts: as, Err: err}
	}
}

func (m Model) onSessionsLoaded(msg SessionsLoadedMsg) (Model, tea.Cmd) {
	m.reloading = false
	if msg.Err != nil {
		m.loadErr = msg.Err
		m.status.SetStatus(msg.Err.Error(), toast.Error)
		return m, nil
	}
	m.loaded, m.loadErr = true, nil
	if msg.VaultPath != "" {
		m.vaultPath = msg.VaultPath
	}
	sessions, schedules := m.keepLocal(msg.seq, msg.Sessions, msg.Schedules)
	m.list.SetSessions(sessions, schedules)
	if m.pendingSelect != 0 {
		m.list.Select(m.pendingSelect)
		m.pendingSelect = 0
	}
	if s, ok := m.list.Selected(); ok && s.ID == m.selectedID {
		// Same selection: show its record afresh (it may have changed),
		// keeping a copy that waits for its tokens.
		return m, m.showSelected()
	}
	return m, m.syncSelection()
}

func (m Model) onSchedulesLoaded(msg SchedulesLoadedMsg) (Model, tea.Cmd) {
	m.schedLoading = false
	if msg.Err != nil {
		m.status.SetStatus(msg.Err.Error(), toast.Error)
		return m, nil
	}
	_, schedules := m.keepLocal(msg.seq, nil, msg.Schedules)
	for _, id := range m.list.ScheduledIDs() {
		m.list.RemoveSchedule(id)
	}
	for _, sch := range schedules {
		m.list.SetSchedule(sch)
	}
	if m.selectedID != 0 {
		return m, m.showSelected()
	}
	return m, nil
}

// keepLocal merges what a reload issued as number seq read with what this
// dashboard changed since it was issued: those sessions keep their row
// (when sessions is not nil) and their schedule as the dashboard has them.
// Changes older than the reload are in what it read and are forgotten.
func (m *Model) keepLocal(seq int, sessions []vault.Session, schedules []vault.Schedule) ([]vault.Session, []vault.Schedule) {
	keep := map[int64]bool{}
	for id, at := range m.dirty {
		if at >= seq {
			keep[id] = true
		} else {
			delete(m.dirty, id)
		}
	}
	if len(keep) == 0 {
		return sessions, schedules
	}
	sessions = slices.Clone(sessions)
	for i, s := range sessions {
		if cur, ok := m.list.Session(s.ID); ok && keep[s.ID] {
			sessions[i] = cur
		}
	}
	out := make([]vault.Schedule, 0, len(schedules)+len(keep))
	for _, sch := range schedules {
		if !keep[sch.SessionID] {
			out = append(out, sch)
		}
	}
	for id := range keep {
		if sch, ok := m.list.Schedule(id); ok {
			out = append(out, sch)
		}
	}
	return sessions, out
}

func (m Model) onSessionLoaded(msg SessionLoadedMsg) (Model, tea.Cmd) {
	delete(m.loading, msg.ID)
	if msg.Err != nil {
		if msg.ID == m.selectedID {
			m.detail.SetLoadError(msg.Err)
			m.exch.SetReading(false)
		}
		m.pendingCopy = nil
		return m, nil
	}
	m.cacheFull(msg.ID, msg.Session)
	m.prefillRemember(msg.Session)
	if a := msg.Latest; a != nil {
		m.list.SetLastAttempt(msg.ID, a.Outcome, a.Status)
		// The latest stored attempt is shown unless the pane shows it
		// already, or something newer (a refresh in flight, say).
		if m.shown[msg.ID].OlderThan(*a) {
			m.shown[msg.ID] = exchange.FromAttempt(*a, exchange.LatestCaption(*a, m.now, m.common.Location))
		}
	}
	if msg.ID != m.selectedID {
		return m, nil
	}
	m.showSelected()
	if m.pendingCopy != nil {
		kind := *m.pendingCopy
		m.pendingCopy = nil
		return m.copySelected(kind)
	}
	return m, nil
}

// cacheFull keeps a session read with its tokens, and tells the list when
// its access token becomes valid (decoded here once, not per frame).
func (m *Model) cacheFull(id int64, s vault.Session) {
	m.full[id] = s
	var nbf time.Time
	if t, err := vault.DecodeToken(s.AccessToken); err == nil && !t.Opaque {
		nbf = t.NotBefore
	}
	m.list.SetNotBefore(id, nbf)
}

// syncSelection shows the session under the cursor when it changed.
func (m *Model) syncSelection() tea.Cmd {
	s, ok := m.list.Selected()
	if !ok {
		if m.selectedID != 0 || m.loaded {
			m.selectedID = 0
			m.detail.Clear()
			m.exch.SetSession(0, nil)
		}
		return nil
	}
	if s.ID == m.selectedID {
		return nil
	}
	m.selectedID = s.ID
	m.pendingCopy = nil
	if cmd := m.showSelected(); cmd != nil {
		return cmd
	}
	return nil
}

// showSelected fills detail and exchange for the selected session, from
// the cache when it holds the current version, loading it otherwise.
func (m *Model) showSelected() tea.Cmd {
	id := m.selectedID
	s, ok := m.list.Session(id)
	if !ok {
		return nil
	}
	var sch *vault.Schedule
	if x, ok := m.list.Schedule(id); ok {
		sch = &x
	}
	var cmd tea.Cmd
	// A newer UpdatedAt with the same version: an attempt was recorded
	// (another process's, or one this dashboard stopped waiting for), and
	// reading the session again brings its latest attempt.
	if full, ok := m.full[id]; ok && full.Version >= s.Version && !s.UpdatedAt.After(full.UpdatedAt) {
		// The list row may be newer in what is not versioned (last status).
		full.LastStatus, full.LastRefreshAt, full.NeedsLogin, full.Recovery = s.LastStatus, s.LastRefreshAt, s.NeedsLogin, s.Recovery
		m.detail.SetSession(full, true, sch)
	} else {
		m.detail.SetSession(s, false, sch)
		cmd = m.loadSessionCmd(id)
	}
	m.detail.SetLastAttempt(lastAttempt(m.shown[id]))
	m.exch.SetSession(id, m.shown[id])
	m.exch.SetReading(m.shown[id] == nil && m.loading[id])
	return cmd
}

// lastAttempt is the attempt the exchange pane shows, for the detail's
// "last" line: zero unless it is a stored attempt (not a login, not a
// refresh in flight or one nobody waited for).
func lastAttempt(sh *exchange.Shown) detail.LastAttempt {
	if sh == nil || sh.InFlight || sh.AttemptID == 0 || sh.Outcome == "" || sh.At.IsZero() {
		return detail.LastAttempt{}
	}
	return detail.LastAttempt{Outcome: sh.Outcome, At: sh.At}
}
