package exchange

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Mode is what the pane shows.
type Mode int

// The modes.
const (
	ModeExchange Mode = iota // the last or in-flight exchange
	ModeHistory              // the list of attempts
	ModeAttempt              // one attempt's stored exchange
)

// Shown is one exchange as the pane shows it.
type Shown struct {
	Caption  string              // "Last refresh", "Login", ...
	Exchange *providers.Exchange // nil when no request was made
	Envelope *providers.Envelope // parsed error body, nil when none
	Outcome  string              // ok, rejected, ... ("" while in flight)
	Err      string              // one line, never a secret
	InFlight bool
	Started  time.Time
	// AttemptID is the stored attempt this exchange was recorded as (0 when
	// unknown, or when no attempt was recorded): a newer stored attempt
	// replaces what is shown.
	AttemptID int64
	// At is when the exchange happened (zero when unknown).
	At time.Time
}

// OlderThan reports whether a stored attempt is newer than what sh shows,
// so that the pane should show the attempt instead: never while sh is in
// flight; by attempt id when sh was recorded, else by time (an attempt
// from At on is newer: a refresh this dashboard stopped waiting for sets
// At to when it started, and the attempt that completes it starts then).
func (sh *Shown) OlderThan(a vault.Attempt) bool {
	switch {
	case sh == nil:
		return true
	case sh.InFlight || a.ID == sh.AttemptID:
		return false
	case sh.AttemptID != 0:
		return a.ID > sh.AttemptID
	}
	return !a.StartedAt.Before(sh.At)
}

// Model is the exchange pane.
type Model struct {
	common common.Common
	styles Styles
	keys   KeyMap

	width, height int
	focused       bool
	reveal        bool
	now           time.Time
	spinner       string

	mode    Mode
	current *Shown // what ModeExchange shows
	opened  *Shown // what ModeAttempt shows

	sessionID   int64
	reading     bool // the session's latest stored attempt is being read
	attempts    []vault.Attempt
	attemptsErr error
	loading     bool
	cursor      int

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

// SetNow moves the clock (elapsed time, "3m ago" in the history).
func (m *Model) SetNow(now time.Time) {
	m.now = now
	if m.mode == ModeHistory {
		m.render()
	}
}

// SetSpinner sets the frame drawn while a request is in flight.
func (m *Model) SetSpinner(frame string) { m.spinner = frame }

// SetReveal shows secrets of live exchanges in full (true) or masked.
func (m *Model) SetReveal(r bool) {
	m.reveal = r
	m.render()
}

// Reveal reports whether secrets are shown.
func (m Model) Reveal() bool { return m.reveal }

// Mode returns what the pane shows.
func (m Model) Mode() Mode { return m.mode }

// SetSession switches the pane to another session: its exchange (nil:
// none yet) and no history loaded.
func (m *Model) SetSession(id int64, current *Shown) {
	if id != m.sessionID {
		m.mode = ModeExchange
		m.attempts, m.attemptsErr, m.opened, m.cursor = nil, nil, nil, 0
		m.scroll.Top()
	}
	m.sessionID = id
	m.current = current
	m.reading = false
	m.render()
}

// SetReading says the session's latest stored attempt is being read, so an
// empty pane says so instead of "No exchange yet".
func (m *Model) SetReading(r bool) {
	if m.reading != r {
		m.reading = r
		m.render()
	}
}

// SetExchange replaces what ModeExchange shows for the current session.
func (m *Model) SetExchange(current *Shown) {
	m.current = current
	if m.mode == ModeExchange {
		m.render()
	}
}

// ShowHistory switches to the attempt list; loading says it is being read.
func (m *Model) ShowHistory(loading bool) {
	m.mode = ModeHistory
	m.loading = loading
	m.scroll.Top()
	m.render()
}

// SetAttempts fills the history of session id (ignored for another one).
func (m *Model) SetAttempts(id int64, attempts []vault.Attempt, err error) {
	if id != m.sessionID {
		return
	}
	m.attempts, m.attemptsErr, m.loading = attempts, err, false
	m.cursor = min(m.cursor, max(0, len(attempts)-1))
	m.render()
}

// ShowExchange switches back to the last or in-flight exchange.
func (m *Model) ShowExchange() {
	m.mode = ModeExchange
	m.scroll.Top()
	m.render()
}

// Back leaves an opened attempt for the list, or the list for the exchange.
// False when there was nowhere to go back to.
func (m *Model) Back() bool {
	switch m.mode {
	case ModeAttempt:
		m.mode = ModeHistory
		m.render()
		m.followCursor()
		return true
	case ModeHistory:
		m.ShowExchange()
		return true
	}
	return false
}

// ScrollBy scrolls n lines (the mouse wheel uses it).
func (m *Model) ScrollBy(n int) {
	if m.mode == ModeHistory {
		m.moveCursor(n)
		return
	}
	m.scroll.LineDown(n)
}

// Update handles scrolling, and in the history moving and opening.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	if m.mode == ModeHistory {
		if d, ok := m.keys.Move(km, max(1, m.height-3), len(m.attempts)); ok {
			m.moveCursor(d)
			return m, nil
		}
		if key.Matches(km, m.keys.Open) {
			m.open()
			return m, nil
		}
	} else if m.scroll.HandleKey(km, m.keys.ScrollKeys) {
		return m, nil
	}
	if key.Matches(km, m.keys.Back) {
		m.Back()
	}
	return m, nil
}

func (m *Model) moveCursor(n int) {
	m.cursor = min(max(0, m.cursor+n), max(0, len(m.attempts)-1))
	m.render()
	m.followCursor()
}

// followCursor keeps the history cursor inside the window.
func (m *Model) followCursor() {
	if m.mode != ModeHistory {
		return
	}
	h := max(1, m.height-2)
	if m.cursor < m.scroll.Offset() {
		m.scroll.LineDown(m.cursor - m.scroll.Offset())
	} else if m.cursor >= m.scroll.Offset()+h {
		m.scroll.LineDown(m.cursor - m.scroll.Offset() - h + 1)
	}
}

// open shows the attempt under the cursor with its stored, redacted exchange.
func (m *Model) open() {
	if m.cursor >= len(m.attempts) {
		return
	}
	a := m.attempts[m.cursor]
	caption := fmt.Sprintf("Attempt %s · %s", common.ShortClock(a.StartedAt, m.now, m.common.Location), a.Trigger)
	m.opened = FromAttempt(a, caption)
	m.mode = ModeAttempt
	m.scroll.Top()
	m.render()
}

// LatestCaption labels a session's latest stored attempt, shown before any
// refresh in this dashboard: "Last refresh 13:41:12 · scheduled".
func LatestCaption(a vault.Attempt, now time.Time, loc *time.Location) string {
	if a.Trigger == vault.TriggerRelogin {
		return "Logged in again " + common.ShortClock(a.StartedAt, now, loc) + " · relogin"
	}
	return "Last refresh " + common.ShortClock(a.StartedAt, now, loc) + " · " + a.Trigger
}

// FromAttempt turns a stored attempt into what the pane shows: its
// exchange (stored redacted) and envelope are unmarshalled from JSON.
func FromAttempt(a vault.Attempt, caption string) *Shown {
	sh := &Shown{Caption: caption, Outcome: a.Outcome, Err: a.Error, AttemptID: a.ID, At: a.StartedAt}
	if len(a.Exchange) > 0 {
		var ex providers.Exchange
		if err := json.Unmarshal(a.Exchange, &ex); err != nil {
			sh.Err = "stored exchange unreadable: " + err.Error()
		} else {
			ex.Masked = true // stored exchanges are always redacted
			sh.Exchange = &ex
		}
	}
	if len(a.Envelope) > 0 {
		var env providers.Envelope
		if json.Unmarshal(a.Envelope, &env) == nil {
			sh.Envelope = &env
		}
	}
	return sh
}

// View draws the panel.
func (m Model) View() string {
	ind := m.scroll.Indicator()
	title := m.title(common.TitleRoom(m.width, ind))
	if ind != "" {
		title = common.WithIndicator(title, ind, m.width)
	}
	return m.styles.Panel.Panel(title, m.scroll.Visible(), m.width, m.height, m.focused)
}

func (m *Model) render() {
	inner := max(1, m.width-2)
	switch m.mode {
	case ModeHistory:
		m.scroll.SetLines(m.historyLines())
	case ModeAttempt:
		m.scroll.SetLines(m.exchangeLines(m.opened, inner))
	default:
		m.scroll.SetLines(m.exchangeLines(m.current, inner))
	}
}
