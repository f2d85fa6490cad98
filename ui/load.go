package ui

import (
	"fmt"

	tea "github.com/charmbracelet/bubbletea"

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
}

// loadSessionsCmd lists sessions and schedules. Nil without a store (tests
// then send SessionsLoadedMsg themselves).
func (m Model) loadSessionsCmd() tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil {
		return nil
	}
	return func() tea.Msg {
		ss, err := store.ListSessions(ctx)
		if err != nil {
			return SessionsLoadedMsg{Err: fmt.Errorf("list sessions: %w", err)}
		}
		sch, err := store.ListSchedules(ctx)
		if err != nil {
			return SessionsLoadedMsg{Err: fmt.Errorf("list schedules: %w", err)}
		}
		return SessionsLoadedMsg{Sessions: ss, Schedules: sch, VaultPath: store.Path()}
	}
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
	if msg.Err != nil {
		m.loadErr = msg.Err
		m.status.SetStatus(msg.Err.Error(), toast.Error)
		return m, nil
	}
	m.loaded, m.loadErr = true, nil
	if msg.VaultPath != "" {
		m.vaultPath = msg.VaultPath
	}
	m.list.SetSessions(msg.Sessions, msg.Schedules)
	if m.pendingSelect != 0 {
		m.list.Select(m.pendingSelect)
		m.pendingSelect = 0
	}
	m.selectedID = 0 // show the selection afresh: its record may have changed
	return m, m.syncSelection()
}

func (m Model) onSessionLoaded(msg SessionLoadedMsg) (Model, tea.Cmd) {
	delete(m.loading, msg.ID)
	if msg.Err != nil {
		if msg.ID == m.selectedID {
			m.detail.SetLoadError(msg.Err)
		}
		m.pendingCopy = nil
		return m, nil
	}
	m.full[msg.ID] = msg.Session
	if _, ok := m.shown[msg.ID]; !ok && msg.Latest != nil {
		m.shown[msg.ID] = exchange.FromAttempt(*msg.Latest, "Last refresh")
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
	if full, ok := m.full[id]; ok && full.Version == s.Version {
		// The list row may be newer in what is not versioned (last status).
		full.LastStatus, full.LastRefreshAt, full.NeedsLogin = s.LastStatus, s.LastRefreshAt, s.NeedsLogin
		m.detail.SetSession(full, true, sch)
	} else {
		m.detail.SetSession(s, false, sch)
		cmd = m.loadSessionCmd(id)
	}
	m.exch.SetSession(id, m.shown[id])
	return cmd
}
