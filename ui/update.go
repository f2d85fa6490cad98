package ui

import (
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
	"github.com/tokentop/tokentop/ui/internal/toast"
)

// Update handles one message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.setSize(msg.Width, msg.Height)
		return m, nil
	case TickMsg:
		m.setNow(m.deps.Now())
		m.adaptScheduleForm() // its preview counts down too
		return m, tickCmd()
	case ReloadTickMsg:
		return m.onReloadTick()
	case VaultChangedMsg:
		return m.onVaultChanged(msg)
	case SchedulesLoadedMsg:
		return m.onSchedulesLoaded(msg)
	case ScheduledResultMsg:
		return m.onScheduledResult(msg)
	case SchedulerErrorMsg:
		return m.onSchedulerError(msg)
	case ScheduleSavedMsg:
		return m.onScheduleSaved(msg)
	case spinner.TickMsg:
		if !m.busy() {
			m.spinning = false
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		m.setSpinnerFrame()
		m.setNow(m.deps.Now()) // elapsed times move with the spinner
		return m, cmd
	case toast.ExpiredMsg:
		m.status, _ = m.status.Update(msg)
		return m, nil
	case SessionsLoadedMsg:
		return m.onSessionsLoaded(msg)
	case SessionLoadedMsg:
		return m.onSessionLoaded(msg)
	case AttemptsLoadedMsg:
		m.exch.SetAttempts(msg.SessionID, msg.Attempts, msg.Err)
		return m, nil
	case ExchangeProgressMsg:
		return m.onExchangeProgress(msg)
	case RefreshDoneMsg:
		return m.onRefreshDone(msg)
	case CopiedMsg:
		return m.onCopied(msg)
	case ClipboardClearDueMsg:
		return m.onClipboardClearDue(msg)
	case ClipboardClearedMsg:
		return m.onClipboardCleared(msg)
	case form.SubmitMsg:
		return m.onFormSubmit(msg)
	case form.CancelMsg:
		m.closeForm()
		return m, nil
	case SessionSavedMsg:
		return m.onSessionSaved(msg)
	case LoginDoneMsg:
		return m.onLoginDone(msg)
	case SessionDeletedMsg:
		return m.onSessionDeleted(msg)
	case tea.MouseMsg:
		return m.onMouse(msg)
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && msg.Alt && !msg.Paste {
			// tokentop binds no alt keys: this is esc followed quickly by a
			// key, which terminals send as one sequence.
			var first tea.Cmd
			m, first = m.onKey(tea.KeyMsg{Type: tea.KeyEsc})
			msg.Alt = false
			nm, next := m.Update(msg)
			return nm, tea.Batch(first, next)
		}
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			return m.onTypedRunes(msg)
		}
		return m.onKey(msg)
	}
	return m, nil
}

// onTypedRunes handles keys that arrived in one read ("/exp" typed fast,
// or sent at once by tmux or a test) one by one, as if typed slowly: the
// first may open the filter or a form that takes the rest.
func (m Model) onTypedRunes(msg tea.KeyMsg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	for _, r := range msg.Runes {
		var cmd tea.Cmd
		m, cmd = m.onKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}})
		cmds = append(cmds, cmd)
	}
	return m, tea.Batch(cmds...)
}

func (m Model) onKey(msg tea.KeyMsg) (Model, tea.Cmd) {
	if key.Matches(msg, m.keys.ForceQuit) && m.overlay != overlayConfirm {
		return m.quit()
	}
	switch m.overlay {
	case overlayForm:
		var cmd tea.Cmd
		m.form, cmd = m.form.Update(msg)
		m.adaptAddForm()
		m.adaptLoginForm()
		m.adaptScheduleForm()
		return m, cmd
	case overlayConfirm:
		return m.updateConfirm(msg)
	case overlayHelp:
		if key.Matches(msg, m.keys.ShowHelp, m.keys.Back, m.keys.Quit) {
			m.overlay = overlayNone
			return m, nil
		}
		var cmd tea.Cmd
		m.helpPane, cmd = m.helpPane.Update(msg)
		return m, cmd
	}
	if m.list.Filtering() {
		var cmd tea.Cmd
		m.list, cmd = m.list.Update(msg)
		return m, tea.Batch(cmd, m.syncSelection())
	}

	sel, hasSel := m.list.Selected()
	switch {
	case key.Matches(msg, m.keys.Quit):
		return m.quit()
	case key.Matches(msg, m.keys.ShowHelp):
		m.overlay = overlayHelp
		m.helpPane.Top()
		return m, nil
	case key.Matches(msg, m.keys.Cancel) && (len(m.flights) > 0 || len(m.queue) > 0):
		running, queued := m.cancelRefreshes()
		var cmd tea.Cmd
		m.status, cmd = m.status.Show(stoppedText(running, queued), toast.Warn, 5*time.Second)
		return m, cmd
	case key.Matches(msg, m.keys.Filter):
		if m.list.Len() == 0 {
			return m, nil // no list on screen: an unseen filter would swallow the keys
		}
		// From any pane: the filter is the list's.
		m.setFocus(paneList)
		return m, m.list.StartFilter()
	case key.Matches(msg, m.keys.Add):
		m.openAddForm()
		return m, nil
	case key.Matches(msg, m.keys.Login):
		m.openLoginForm()
		return m, nil
	case key.Matches(msg, m.keys.Reveal):
		m.reveal = !m.reveal
		m.detail.SetReveal(m.reveal)
		m.exch.SetReveal(m.reveal)
		text := "Secrets masked"
		if m.reveal {
			text = "Secrets revealed on screen · x masks them again"
		}
		var cmd tea.Cmd
		m.status, cmd = m.status.Show(text, toast.Info, 3*time.Second)
		return m, cmd
	case key.Matches(msg, m.keys.Sort):
		order := sessionlist.ByExpiry
		if m.list.Order() == sessionlist.ByExpiry {
			order = sessionlist.ByLabel
		}
		m.list.SetOrder(order)
		return m, m.syncSelection()
	case key.Matches(msg, m.keys.RefreshAll):
		return m, m.refreshAll()
	case key.Matches(msg, m.keys.NextPane):
		m.setFocus((m.focus + 1) % 3)
		return m, nil
	case key.Matches(msg, m.keys.PrevPane):
		m.setFocus((m.focus + 2) % 3)
		return m, nil
	}

	if hasSel {
		switch {
		case key.Matches(msg, m.keys.Refresh):
			return m, m.startRefresh(sel.ID)
		case key.Matches(msg, m.keys.CopyAccess):
			return m.copySelected(copyAccess)
		case key.Matches(msg, m.keys.CopyBearer):
			return m.copySelected(copyBearer)
		case key.Matches(msg, m.keys.CopyCurl):
			return m.copySelected(copyCurl)
		case key.Matches(msg, m.keys.CopyRefresh):
			m.askCopyRefresh(sel)
			return m, nil
		case key.Matches(msg, m.keys.CopyRefreshCurl):
			m.askCopyRefreshCurl(sel)
			return m, nil
		case key.Matches(msg, m.keys.Edit):
			m.openEditForm(sel)
			return m, nil
		case key.Matches(msg, m.keys.Schedule):
			m.openScheduleForm(sel)
			return m, nil
		case key.Matches(msg, m.keys.Delete):
			m.askDelete(sel)
			return m, nil
		case key.Matches(msg, m.keys.History):
			if m.exch.Mode() != exchange.ModeExchange {
				m.exch.ShowExchange()
				m.setFocus(paneList) // back where h was pressed from: j and k move the list
				return m, nil
			}
			m.exch.ShowHistory(m.deps.Store != nil)
			m.setFocus(paneExchange)
			return m, m.loadAttemptsCmd(sel.ID)
		}
	}

	// The rest goes to the focused pane.
	var cmd tea.Cmd
	switch m.focus {
	case paneDetail:
		if key.Matches(msg, m.keys.Back) {
			m.setFocus(paneList)
			return m, nil
		}
		m.detail, cmd = m.detail.Update(msg)
	case paneExchange:
		if key.Matches(msg, m.keys.Back) && m.exch.Mode() == exchange.ModeExchange {
			m.setFocus(paneList)
			return m, nil
		}
		inHistory := m.exch.Mode() != exchange.ModeExchange
		m.exch, cmd = m.exch.Update(msg)
		if inHistory && m.exch.Mode() == exchange.ModeExchange {
			m.setFocus(paneList) // esc left the history: j and k move the list again
		}
	default:
		if key.Matches(msg, m.keys.Open) && hasSel {
			m.setFocus(paneDetail)
			return m, nil
		}
		if key.Matches(msg, m.keys.Back) && m.list.FilterValue() != "" {
			m.list.ClearFilter()
			return m, m.syncSelection()
		}
		m.list, cmd = m.list.Update(msg)
		cmd = tea.Batch(cmd, m.syncSelection())
	}
	return m, cmd
}

// quit ends the program; a login in flight is cancelled, refreshes are not.
func (m Model) quit() (Model, tea.Cmd) {
	// Refreshes in flight are left to finish: the server may already have
	// rotated the refresh token, and only the answer carries the new one.
	// Run waits for them; queued ones never start.
	m.queue = nil
	if m.formCancel != nil {
		m.formCancel()
	}
	return m, tea.Quit
}

// onMouse scrolls the pane under the pointer; a click selects a row or
// focuses a pane.
func (m Model) onMouse(msg tea.MouseMsg) (Model, tea.Cmd) {
	if msg.Action != tea.MouseActionPress {
		return m, nil
	}
	delta := 0
	switch msg.Button {
	case tea.MouseButtonWheelUp:
		delta = -1
	case tea.MouseButtonWheelDown:
		delta = 1
	case tea.MouseButtonLeft:
	default:
		return m, nil
	}
	if m.overlay == overlayHelp {
		m.helpPane.ScrollBy(wheelLines * delta) // a click does nothing
		return m, nil
	}
	if m.overlay != overlayNone || m.layout.tooSmall || m.list.Len() == 0 {
		return m, nil
	}
	l := m.layout
	switch {
	case l.list.contains(msg.X, msg.Y):
		if delta != 0 {
			m.list.MoveBy(delta)
		} else {
			m.setFocus(paneList)
			m.list.ClickRow(msg.Y - l.list.y)
		}
		return m, m.syncSelection()
	case l.detail.contains(msg.X, msg.Y):
		if delta != 0 {
			m.detail.ScrollBy(wheelLines * delta)
		} else {
			m.setFocus(paneDetail)
		}
	case l.exch.contains(msg.X, msg.Y):
		if delta != 0 {
			m.exch.ScrollBy(wheelLines * delta)
		} else {
			m.setFocus(paneExchange)
		}
	}
	return m, nil
}

// wheelLines is how far a notch of the mouse wheel scrolls a text pane
// (the list moves one row).
const wheelLines = 3

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return itoa(n) + " " + many
}
