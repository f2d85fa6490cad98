package sessionlist

import (
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// SortOrder is the order of the rows.
type SortOrder int

// The sort orders.
const (
	ByLabel  SortOrder = iota // label, A to Z
	ByExpiry                  // soonest access-token expiry first; unknown last
)

// String names the order for the panel title.
func (o SortOrder) String() string {
	if o == ByExpiry {
		return "expiry"
	}
	return "label"
}

// Activity is a refresh that is running or waiting for its turn.
type Activity struct {
	Started time.Time // zero while queued
	Queued  bool
}

// Model is the session list.
type Model struct {
	common common.Common
	styles Styles
	paint  paints
	keys   KeyMap

	width, height int
	focused       bool

	sessions  []vault.Session // as listed (no tokens)
	pos       map[int64]int   // session id -> position in sessions
	schedules map[int64]vault.Schedule
	activity  map[int64]Activity
	// notBefore holds the access token's nbf of sessions whose tokens were
	// read (the list itself never holds tokens).
	notBefore map[int64]time.Time
	// refreshExpiries: some session's refresh token has a known expiry, so
	// the refresh countdown column is worth its space (when it fits).
	refreshExpiries bool
	// lastHTTP is the HTTP status of a session's last attempt where this
	// dashboard saw it (the vault's row keeps only the outcome), with the
	// outcome it came with.
	lastHTTP map[int64]attempt
	counts   Counts

	index  []int // positions in sessions, filtered and sorted
	cursor int   // position in index
	offset int   // first visible position in index

	order     SortOrder
	filter    textinput.Model
	filtering bool // the filter input has the keyboard

	now     time.Time
	spinner string // current spinner frame, drawn for busy rows
}

// New returns an empty list.
func New(c common.Common, styles Styles, keys KeyMap) Model {
	fi := textinput.New()
	fi.Prompt = "/ "
	fi.Placeholder = "label or provider"
	fi.CharLimit = 64
	fi.PromptStyle = styles.Filter
	fi.PlaceholderStyle = styles.Placeholder
	// What is pasted is drawn like vault text (the input drops control
	// characters itself, not the bidi ones).
	fi.TextStyle = fi.TextStyle.Transform(common.Safe)
	return Model{
		common:    c,
		styles:    styles,
		paint:     newPaints(c, styles),
		keys:      keys,
		pos:       map[int64]int{},
		schedules: map[int64]vault.Schedule{},
		activity:  map[int64]Activity{},
		notBefore: map[int64]time.Time{},
		lastHTTP:  map[int64]attempt{},
		filter:    fi,
	}
}

// SetSize sets the outer size of the panel.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	m.filter.Width = max(1, width-6)
	m.ensureVisible()
}

// SetFocused marks the panel as having the keyboard.
func (m *Model) SetFocused(f bool) { m.focused = f }

// SetNow sets the time the countdowns are computed against.
func (m *Model) SetNow(now time.Time) {
	m.now = now
	m.count()
}

// SetSpinner sets the spinner frame drawn beside refreshes in flight.
func (m *Model) SetSpinner(frame string) { m.spinner = frame }

// SetSessions replaces every session and schedule, keeping the selection
// when the selected session is still there.
func (m *Model) SetSessions(sessions []vault.Session, schedules []vault.Schedule) {
	sel, hadSel := m.Selected()
	m.sessions = sessions
	m.pos = make(map[int64]int, len(sessions))
	for i, s := range sessions {
		m.pos[s.ID] = i
	}
	m.schedules = make(map[int64]vault.Schedule, len(schedules))
	for _, s := range schedules {
		m.schedules[s.SessionID] = s
	}
	m.rebuild(sel.ID, hadSel)
}

// Upsert replaces one session (after a refresh, say) or adds it.
func (m *Model) Upsert(s vault.Session) {
	s.AccessToken, s.RefreshToken = "", "" // the list never holds secrets
	sel, hadSel := m.Selected()
	if i, ok := m.pos[s.ID]; ok {
		m.sessions[i] = s
	} else {
		m.pos[s.ID] = len(m.sessions)
		m.sessions = append(m.sessions, s)
	}
	m.rebuild(sel.ID, hadSel)
}

// Remove drops a session.
func (m *Model) Remove(id int64) {
	i, ok := m.pos[id]
	if !ok {
		return
	}
	sel, hadSel := m.Selected()
	m.sessions = append(m.sessions[:i:i], m.sessions[i+1:]...)
	delete(m.pos, id)
	delete(m.activity, id)
	delete(m.notBefore, id)
	delete(m.lastHTTP, id)
	for j := i; j < len(m.sessions); j++ {
		m.pos[m.sessions[j].ID] = j
	}
	cur := m.cursor
	m.rebuild(sel.ID, hadSel && sel.ID != id)
	if hadSel && sel.ID == id {
		m.cursor = min(cur, max(0, len(m.index)-1))
		m.ensureVisible()
	}
}

// SetSchedule replaces one session's schedule (after an edit, or a
// scheduled refresh), so that its mark changes at once.
func (m *Model) SetSchedule(sch vault.Schedule) { m.schedules[sch.SessionID] = sch }

// RemoveSchedule forgets one session's schedule.
func (m *Model) RemoveSchedule(id int64) { delete(m.schedules, id) }

// ScheduledIDs lists the sessions that have a schedule, in no order.
func (m Model) ScheduledIDs() []int64 {
	out := make([]int64, 0, len(m.schedules))
	for id := range m.schedules {
		out = append(out, id)
	}
	return out
}

// SetNotBefore notes when a session's access token becomes valid (its
// nbf claim; zero: no such claim), so that its row says "not yet" until
// then.
func (m *Model) SetNotBefore(id int64, nbf time.Time) {
	if nbf.IsZero() {
		delete(m.notBefore, id)
		return
	}
	m.notBefore[id] = nbf
}

type attempt struct {
	outcome string
	status  int
}

// SetLastAttempt notes the outcome and HTTP status (0: none) of a
// session's latest attempt, so that a failing row names its status
// ("⚠ 422") while the row's outcome is still that one.
func (m *Model) SetLastAttempt(id int64, outcome string, status int) {
	m.lastHTTP[id] = attempt{outcome, status}
}

// Counts sum up the sessions by what needs the reader's attention.
type Counts struct {
	Total      int
	Expiring   int // valid for less than the warning margin
	Expired    int
	Failing    int // the last refresh failed (common.Failing), nothing in recovery
	NeedsLogin int
	Recovery   int // rotated tokens wait in recovery
}

// Counts is the summary of every session (the filter aside) at the time
// of the last SetNow or change: the header shows it every frame, so it is
// not counted per frame.
func (m Model) Counts() Counts { return m.counts }

func (m *Model) count() {
	c := Counts{Total: len(m.sessions)}
	for i := range m.sessions {
		s := &m.sessions[i]
		switch s.State(m.now) {
		case vault.StateExpiring:
			c.Expiring++
		case vault.StateExpired:
			c.Expired++
		case vault.StateNeedsLogin:
			c.NeedsLogin++
		}
		// As on the row, tokens in recovery say more than a failure.
		switch {
		case s.Recovery > 0:
			c.Recovery++
		case common.Failing(*s):
			c.Failing++
		}
	}
	m.counts = c
}

// SetActivity marks a session as refreshing or queued.
func (m *Model) SetActivity(id int64, a Activity) { m.activity[id] = a }

// ClearActivity marks a session as idle.
func (m *Model) ClearActivity(id int64) { delete(m.activity, id) }

// Session returns a listed session by id.
func (m Model) Session(id int64) (vault.Session, bool) {
	i, ok := m.pos[id]
	if !ok {
		return vault.Session{}, false
	}
	return m.sessions[i], true
}

// Schedule returns a session's schedule.
func (m Model) Schedule(id int64) (vault.Schedule, bool) {
	s, ok := m.schedules[id]
	return s, ok
}

// Selected returns the session under the cursor.
func (m Model) Selected() (vault.Session, bool) {
	if m.cursor < 0 || m.cursor >= len(m.index) {
		return vault.Session{}, false
	}
	return m.sessions[m.index[m.cursor]], true
}

// Select moves the cursor to a session; false when it is not shown.
func (m *Model) Select(id int64) bool {
	p, ok := m.pos[id]
	if !ok {
		return false
	}
	for i, q := range m.index {
		if q == p {
			m.cursor = i
			m.ensureVisible()
			return true
		}
	}
	return false
}

// Len is the number of sessions; Shown the number passing the filter.
func (m Model) Len() int { return len(m.sessions) }

// Shown is the number of sessions passing the filter.
func (m Model) Shown() int { return len(m.index) }

// ShownIDs lists the sessions passing the filter, in display order.
func (m Model) ShownIDs() []int64 {
	ids := make([]int64, len(m.index))
	for i, p := range m.index {
		ids[i] = m.sessions[p].ID
	}
	return ids
}

// ByLabel returns the listed session with the label.
func (m Model) ByLabel(label string) (vault.Session, bool) {
	for _, s := range m.sessions {
		if s.Label == label {
			return s, true
		}
	}
	return vault.Session{}, false
}

// HasLabel reports whether a session other than except has the label.
func (m Model) HasLabel(label string, except int64) bool {
	for _, s := range m.sessions {
		if s.Label == label && s.ID != except {
			return true
		}
	}
	return false
}

// Filtering reports whether the filter input has the keyboard.
func (m Model) Filtering() bool { return m.filtering }

// FilterValue is the filter text ("" when none).
func (m Model) FilterValue() string { return m.filter.Value() }

// Order is the current sort order.
func (m Model) Order() SortOrder { return m.order }

// SetOrder changes the sort order, keeping the selection.
func (m *Model) SetOrder(o SortOrder) {
	sel, ok := m.Selected()
	m.order = o
	m.rebuild(sel.ID, ok)
}

// StartFilter gives the filter input the keyboard.
func (m *Model) StartFilter() tea.Cmd {
	m.filtering = true
	return m.filter.Focus()
}

// ClearFilter removes the filter.
func (m *Model) ClearFilter() {
	sel, ok := m.Selected()
	m.filtering = false
	m.filter.Blur()
	m.filter.SetValue("")
	m.rebuild(sel.ID, ok)
}

// MoveBy moves the cursor by n rows (the mouse wheel uses it).
func (m *Model) MoveBy(n int) {
	m.cursor = min(max(0, m.cursor+n), max(0, len(m.index)-1))
	m.ensureVisible()
}

// ClickRow selects the row at y lines below the panel's top border; false
// when there is no row there.
func (m *Model) ClickRow(y int) bool {
	top := m.filterRows() + m.headerRows()
	i := m.offset + y - 1 - top
	if y < 1+top || i >= len(m.index) || i >= m.offset+m.rows() {
		return false
	}
	m.cursor = i
	return true
}

// Update handles navigation and filter keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		if m.filtering {
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			return m, cmd
		}
		return m, nil
	}
	if m.filtering {
		switch {
		case key.Matches(km, m.keys.ClearFilter):
			m.ClearFilter()
			return m, nil
		case key.Matches(km, m.keys.AcceptFilter):
			m.filtering = false
			m.filter.Blur()
			if m.filter.Value() == "" {
				m.ClearFilter()
			}
			return m, nil
		case km.Type == tea.KeyUp || km.Type == tea.KeyDown:
			// Arrows still move through the matches while typing.
		default:
			sel, hadSel := m.Selected()
			before := m.filter.Value()
			var cmd tea.Cmd
			m.filter, cmd = m.filter.Update(msg)
			if m.filter.Value() != before {
				m.rebuild(sel.ID, hadSel)
			}
			return m, cmd
		}
	}
	if d, ok := m.keys.Move(km, max(1, m.rows()-1), len(m.index)); ok {
		m.MoveBy(d)
	} else if key.Matches(km, m.keys.Filter) {
		return m, m.StartFilter()
	}
	return m, nil
}

// rebuild recomputes the filtered, sorted index: O(n log n), run when the
// sessions, the filter or the order change, never per frame.
func (m *Model) rebuild(keepID int64, keep bool) {
	q := strings.ToLower(strings.TrimSpace(m.filter.Value()))
	idx := m.index[:0]
	if cap(idx) < len(m.sessions) {
		idx = make([]int, 0, len(m.sessions))
	}
	for i, s := range m.sessions {
		if q == "" || matches(s, q) {
			idx = append(idx, i)
		}
	}
	ss := m.sessions
	m.refreshExpiries = false
	for i := range ss {
		if !ss[i].RefreshExpiresAt.IsZero() {
			m.refreshExpiries = true
			break
		}
	}
	if m.order == ByExpiry {
		sort.SliceStable(idx, func(a, b int) bool {
			x, y := ss[idx[a]], ss[idx[b]]
			if x.ExpiresAt.IsZero() != y.ExpiresAt.IsZero() {
				return y.ExpiresAt.IsZero()
			}
			if !x.ExpiresAt.Equal(y.ExpiresAt) {
				return x.ExpiresAt.Before(y.ExpiresAt)
			}
			return x.Label < y.Label
		})
	} else {
		sort.SliceStable(idx, func(a, b int) bool { return ss[idx[a]].Label < ss[idx[b]].Label })
	}
	m.index = idx
	m.count()
	if keep {
		if p, ok := m.pos[keepID]; ok {
			for i, v := range idx {
				if v == p {
					m.cursor = i
					m.ensureVisible()
					return
				}
			}
		}
	}
	m.cursor = min(m.cursor, max(0, len(idx)-1))
	m.ensureVisible()
}

func matches(s vault.Session, q string) bool {
	return strings.Contains(strings.ToLower(s.Label), q) ||
		strings.Contains(strings.ToLower(s.Provider), q) ||
		strings.Contains(strings.ToLower(common.ProviderName(s.Provider)), q)
}

// filterRows is 1 when the filter line is shown.
func (m Model) filterRows() int {
	if m.filtering || m.filter.Value() != "" {
		return 1
	}
	return 0
}

// headerRows is 1 when the column header is shown: with two countdowns in
// a row, the reader needs to be told which is which.
func (m Model) headerRows() int {
	if m.showRefresh() {
		return 1
	}
	return 0
}

// showRefresh: the refresh token's countdown has a column. Only when some
// refresh token has a known expiry and the label keeps room to be read.
func (m Model) showRefresh() bool {
	return m.refreshExpiries && m.width-2-fixedCols-refreshCol-1 >= minLabelWithRefresh
}

// rows is the number of session rows that fit.
func (m Model) rows() int { return max(0, m.height-2-m.filterRows()-m.headerRows()) }

func (m *Model) ensureVisible() {
	rows := m.rows()
	if rows <= 0 {
		m.offset = 0
		return
	}
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+rows {
		m.offset = m.cursor - rows + 1
	}
	m.offset = max(0, min(m.offset, len(m.index)-rows))
}
