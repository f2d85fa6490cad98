package ui

import (
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// confirmAction is what a yes does.
type confirmAction int

const (
	confirmDelete confirmAction = iota
	confirmCopy                 // copy a secret: copyRefresh or copyRefreshCurl
)

// confirmation is a pending y/n question about one session.
type confirmation struct {
	action    confirmAction
	copy      copyKind // confirmCopy: what is copied
	sessionID int64
	label     string
	prompt    []string
}

func (m *Model) ask(c confirmation) {
	m.confirm = c
	m.overlay = overlayConfirm
}

func (m *Model) askDelete(s vault.Session) {
	m.ask(confirmation{action: confirmDelete, sessionID: s.ID, label: s.Label, prompt: []string{
		fmt.Sprintf("Delete session %s?", s.Label),
		"Its tokens, schedule and refresh history are removed from the vault.",
		"The provider is not told: its refresh token stays valid until it expires.",
	}})
}

func (m *Model) askCopyRefresh(s vault.Session) {
	m.ask(confirmation{action: confirmCopy, copy: copyRefresh, sessionID: s.ID, label: s.Label, prompt: []string{
		fmt.Sprintf("Copy the refresh token of %s?", s.Label),
		"Whoever holds it can mint new access tokens until it expires or rotates.",
	}})
}

// askCopyRefreshCurl warns before U copies the refresh call: running it
// rotates the token outside tokentop, and the session is dead until it
// logs in again.
func (m *Model) askCopyRefreshCurl(s vault.Session) {
	m.ask(confirmation{action: confirmCopy, copy: copyRefreshCurl, sessionID: s.ID, label: s.Label, prompt: []string{
		fmt.Sprintf("Copy a curl for the refresh call of %s?", s.Label),
		"Running it spends the refresh token: the provider rotates it, and tokentop",
		"then holds a spent one. The next refresh gets 401 until you log in again (l).",
		"For an API call with the access token, u copies a curl that spends nothing.",
	}})
}

// SessionDeletedMsg reports a deleted session.
type SessionDeletedMsg struct {
	ID    int64
	Label string
	Err   error
}

func (m Model) deleteCmd(id int64, label string) tea.Cmd {
	store, ctx := m.deps.Store, m.ctx
	if store == nil {
		return nil
	}
	return func() tea.Msg {
		err := store.DeleteSession(ctx, id)
		if err != nil {
			err = fmt.Errorf("delete %s: %w", label, err)
		}
		return SessionDeletedMsg{ID: id, Label: label, Err: err}
	}
}

func (m Model) updateConfirm(msg tea.KeyMsg) (Model, tea.Cmd) {
	switch {
	case key.Matches(msg, m.keys.Yes):
		c := m.confirm
		m.overlay = overlayNone
		switch c.action {
		case confirmDelete:
			if f, ok := m.flights[c.sessionID]; ok {
				f.cancel()
			}
			return m, m.deleteCmd(c.sessionID, c.label)
		case confirmCopy:
			if s, ok := m.list.Selected(); ok && s.ID == c.sessionID {
				return m.copySelected(c.copy)
			}
		}
	case key.Matches(msg, m.keys.No), key.Matches(msg, m.keys.ForceQuit):
		m.overlay = overlayNone
	}
	return m, nil
}

func (m Model) onSessionDeleted(msg SessionDeletedMsg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	if msg.Err != nil {
		m.status, cmd = m.status.Show(msg.Err.Error(), toast.Error, 6*time.Second)
		return m, cmd
	}
	m.list.Remove(msg.ID)
	delete(m.full, msg.ID)
	delete(m.shown, msg.ID)
	m.status, cmd = m.status.Show("Deleted "+msg.Label, toast.Success, 4*time.Second)
	return m, tea.Batch(cmd, m.syncSelection())
}
