package detail

import (
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Model is the detail pane.
type Model struct {
	common common.Common
	styles Styles
	keys   KeyMap

	width, height int
	focused       bool

	session  vault.Session
	has      bool  // a session is selected
	full     bool  // session holds its tokens (loaded with GetSession)
	loadErr  error // loading the full record failed
	schedule *vault.Schedule

	// latest is the session's latest attempt as the exchange pane has it
	// (zero until it is read).
	latest LastAttempt

	access, refresh       *vault.Token
	accessErr, refreshErr error

	reveal bool
	now    time.Time
	scroll common.Scroll
}

// New returns an empty pane.
func New(c common.Common, styles Styles, keys KeyMap) Model {
	return Model{common: c, styles: styles, keys: keys}
}

// SetSize sets the outer size of the panel.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.scroll.SetHeight(height - 2)
	m.render()
}

// SetFocused marks the panel as having the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// SetNow moves the clock the relative times are computed against.
func (m *Model) SetNow(now time.Time) {
	m.now = now
	m.render()
}

// SetReveal shows tokens in full (true) or masked.
func (m *Model) SetReveal(r bool) {
	m.reveal = r
	m.render()
}

// SetSession shows a session. full says whether it carries its tokens;
// tokens are decoded here, once, not per frame. Showing another session
// scrolls back to the top.
func (m *Model) SetSession(s vault.Session, full bool, schedule *vault.Schedule) {
	if !m.has || m.session.ID != s.ID {
		m.scroll.Top()
		m.latest = LastAttempt{}
	}
	m.session, m.has, m.full, m.loadErr, m.schedule = s, true, full, nil, schedule
	m.access, m.accessErr, m.refresh, m.refreshErr = nil, nil, nil, nil
	if full {
		if s.AccessToken != "" {
			m.access, m.accessErr = vault.DecodeToken(s.AccessToken)
		}
		if s.RefreshToken != "" {
			m.refresh, m.refreshErr = vault.DecodeToken(s.RefreshToken)
		}
	}
	m.render()
}

// LastAttempt is a refresh attempt's outcome and when it started.
type LastAttempt struct {
	Outcome string    // ok, rejected, server_error, network_error, cancelled
	At      time.Time // zero when unknown
}

// SetLastAttempt gives the session's latest attempt, which the "last" line
// shows with its own time; the zero value when it is not read yet.
func (m *Model) SetLastAttempt(a LastAttempt) {
	if a == m.latest {
		return
	}
	m.latest = a
	m.render()
}

// SetLoadError says the full record could not be loaded.
func (m *Model) SetLoadError(err error) {
	m.loadErr = err
	m.render()
}

// Clear shows nothing.
func (m *Model) Clear() {
	m.has = false
	m.session = vault.Session{}
	m.access, m.refresh = nil, nil
	m.render()
}

// Session returns the session shown and whether its tokens are loaded.
func (m Model) Session() (vault.Session, bool) { return m.session, m.has && m.full }

// ScrollBy scrolls n lines (the mouse wheel uses it).
func (m *Model) ScrollBy(n int) { m.scroll.LineDown(n) }

// Update handles scrolling keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if km, ok := msg.(tea.KeyMsg); ok {
		m.scroll.HandleKey(km, m.keys.ScrollKeys)
	}
	return m, nil
}

// View draws the panel from the lines rendered on the last change.
func (m Model) View() string {
	title := "Detail"
	if m.has {
		title = m.session.Label + " · " + common.ProviderName(m.session.Provider)
	}
	if ind := m.scroll.Indicator(); ind != "" {
		title = common.WithIndicator(title, ind, m.width)
	}
	return m.styles.Panel.Panel(title, m.scroll.Visible(), m.width, m.height, m.focused)
}

func (m *Model) render() {
	m.scroll.SetLines(m.lines())
}
