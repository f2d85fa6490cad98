package sessionlist

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Column widths of a row; the label takes what is left.
const (
	providerCol = 9
	timeCol     = 8
	refreshCol  = 7 // the refresh token's countdown, when shown
	markCol     = 2
	// fixedCols is a row without its label and refresh column: cursor,
	// symbol, spaces, provider, access countdown, schedule mark.
	fixedCols = 1 + 2 + 1 + providerCol + 1 + timeCol + markCol
	// minLabelWithRefresh is the narrowest label the refresh column may
	// leave; narrower panels (80 columns) drop the column instead.
	minLabelWithRefresh = 12
)

// View draws the panel. Only the visible rows are formatted.
func (m Model) View() string {
	if m.width < 4 || m.height < 2 {
		return ""
	}
	inner := m.width - 2
	body := make([]string, 0, m.height-2)
	if m.filterRows() == 1 {
		line := m.filter.View()
		if !m.filtering {
			line = m.styles.Filter.Render("/ "+common.Safe(m.filter.Value())) + m.styles.Muted.Render("  (/ edit · esc clear)")
		}
		body = append(body, common.Fit(line, inner))
	}
	withRefresh := m.showRefresh()
	if withRefresh {
		body = append(body, m.header(inner))
	}
	end := min(len(m.index), m.offset+m.rows())
	for i := m.offset; i < end; i++ {
		body = append(body, m.row(m.sessions[m.index[i]], i == m.cursor, inner, withRefresh))
	}
	if len(m.index) == 0 && len(m.sessions) > 0 {
		body = append(body, common.Fit(m.styles.Muted.Render(" no session matches"), inner))
	}
	// Every line is exactly inner cells wide: rows are built to measure.
	return m.styles.Panel.PanelExact(m.title(), body, m.width, m.height, m.focused)
}

func (m Model) title() string {
	var t string
	if len(m.index) != len(m.sessions) {
		t = fmt.Sprintf("Sessions (%d/%d)", len(m.index), len(m.sessions))
	} else {
		t = fmt.Sprintf("Sessions (%d)", len(m.sessions))
	}
	if m.order == ByExpiry {
		t += " · by expiry"
	}
	return t
}

// paints are the row styles reduced to escape sequences: a frame formats
// every visible row, and lipgloss.Style.Render per cell costs too much.
type paints struct {
	label, selected, provider, busy, muted paint
	failing, recovery                      paint  // the alert marks of a row
	cursor, mark, markFailing              string // pre-rendered "▸", " ⟳" and a failing " ⟳"
	notYet                                 string // pre-rendered "◌": the token is not valid yet
	state                                  map[vault.State]paint
	symbol                                 map[vault.State]string
}

type paint = common.Paint

func newPaints(c common.Common, st Styles) paints {
	p := paints{
		label:       common.NewPaint(st.Label),
		selected:    common.NewPaint(st.Selected),
		provider:    common.NewPaint(st.Provider),
		busy:        common.NewPaint(st.Busy),
		muted:       common.NewPaint(st.Muted),
		failing:     common.NewPaint(st.Failing),
		recovery:    common.NewPaint(st.Recovery),
		cursor:      st.Cursor.Render("▸"),
		mark:        " " + st.Schedule.Render("⟳"),
		markFailing: " " + st.ScheduleFailing.Render("⟳"),
		notYet:      st.State[vault.StateExpiring].Render("◌"),
		state:       map[vault.State]paint{},
		symbol:      map[vault.State]string{},
	}
	for s, style := range st.State {
		p.state[s] = common.NewPaint(style)
		p.symbol[s] = style.Render(c.Theme.Look(s).Symbol)
	}
	return p
}

// header names the columns when there are two countdowns.
func (m Model) header(width int) string {
	labelW := width - fixedCols - refreshCol - 1
	h := "   " + common.Fit("session", labelW) + " " + common.Fit("provider", providerCol) + " " +
		common.PadLeft("access", timeCol) + " " + common.PadLeft("refresh", refreshCol) + "  "
	return m.paint.muted.Wrap(common.Fit(h, width))
}

// row formats one session: cursor, state symbol, label, provider, time
// left (or what is happening instead), the refresh token's time left when
// withRefresh, and the schedule mark (coloured as a warning while the
// schedule's refreshes fail).
func (m Model) row(s vault.Session, selected bool, width int, withRefresh bool) string {
	p := &m.paint
	state := s.State(m.now)

	cursor, label := " ", p.label
	if selected {
		cursor, label = p.cursor, p.selected
	}
	symbol := p.symbol[state]
	var when string
	act, busy := m.activity[s.ID]
	switch {
	case busy && act.Queued:
		symbol = p.busy.Wrap("…")
		when = p.busy.Wrap(common.PadLeft("queued", timeCol))
	case busy:
		frame := m.spinner
		if frame == "" {
			frame = "·" // before the spinner's first tick
		}
		symbol = p.busy.Wrap(frame)
		when = p.busy.Wrap(common.PadLeft(common.Elapsed(m.now.Sub(act.Started)), timeCol))
	case m.notYetValid(s.ID, state):
		symbol = p.notYet
		when = p.state[vault.StateExpiring].Wrap(common.PadLeft("not yet", timeCol))
	default:
		when = p.state[state].Wrap(common.PadLeft(timeLeft(s, state, m.now), timeCol))
	}
	mark := "  "
	if sch, ok := m.schedules[s.ID]; ok && sch.Enabled {
		mark = p.mark
		if sch.Failures > 0 {
			mark = p.markFailing
		}
	}

	labelW := width - fixedCols
	if withRefresh {
		labelW -= refreshCol + 1
	}
	showProvider := labelW >= 8
	if !showProvider {
		labelW += providerCol + 1
	}
	alert, alertW := m.alert(s, labelW)
	labelW -= alertW
	var b strings.Builder
	b.Grow(width + 64)
	b.WriteString(cursor)
	b.WriteString(symbol)
	b.WriteByte(' ')
	b.WriteString(label.Wrap(common.Fit(common.Safe(s.Label), max(1, labelW))))
	b.WriteString(alert)
	b.WriteByte(' ')
	if showProvider {
		b.WriteString(p.provider.Wrap(common.Fit(common.ProviderName(s.Provider), providerCol)))
		b.WriteByte(' ')
	}
	b.WriteString(when)
	if withRefresh {
		b.WriteByte(' ')
		b.WriteString(m.refreshLeft(s))
	}
	b.WriteString(mark)
	return b.String()
}

// alert is the mark set at the end of a row's label, and its width:
// " ⤺ recovery" when rotated tokens wait in recovery; " ⚠ 422" when the
// last refresh failed (its HTTP status when this dashboard saw it, else
// its class: " ⚠ net"), so that the row no longer looks as healthy as its
// token. "" when there is nothing to say or no room to say it.
// Rotated tokens waiting in recovery come first: they need the reader to
// run `tokentop recover`, and are what a failed save leaves.
func (m Model) alert(s vault.Session, labelW int) (mark string, width int) {
	var p paint
	var texts []string
	switch {
	case s.Recovery > 0:
		p, texts = m.paint.recovery, []string{" ⤺ recovery", " ⤺ rec"}
	case common.Failing(s):
		status := 0
		if a, ok := m.lastHTTP[s.ID]; ok && a.outcome == s.LastStatus {
			status = a.status
		}
		p, texts = m.paint.failing, []string{" ⚠ " + common.FailureClass(s.LastStatus, status)}
	default:
		return "", 0
	}
	for i, text := range texts {
		width = ansi.StringWidth(text)
		room := minLabelWithAlert
		if i < len(texts)-1 {
			room = minLabelBesideLongAlert
		}
		if labelW-width >= room {
			return p.Wrap(text), width
		}
	}
	return "", 0
}

// The narrowest label a row's alert mark may leave; a long mark gives way
// to its short form sooner.
const (
	minLabelWithAlert       = 4
	minLabelBesideLongAlert = 8
)

// notYetValid: the session's access token is one the row would call valid
// (or expiring) while its nbf is still ahead.
func (m Model) notYetValid(id int64, state vault.State) bool {
	if state != vault.StateValid && state != vault.StateExpiring {
		return false
	}
	nbf, ok := m.notBefore[id]
	return ok && nbf.After(m.now)
}

// refreshLeft is the refresh token's countdown column: blank when its
// expiry is unknown, a dash when the provider rejected it, coloured like
// the access token's states (expiring within a day, expired).
func (m Model) refreshLeft(s vault.Session) string {
	p := &m.paint
	switch {
	case s.RefreshExpiresAt.IsZero():
		return common.PadLeft("", refreshCol)
	case s.NeedsLogin:
		return p.muted.Wrap(common.PadLeft("—", refreshCol))
	}
	left := s.RefreshExpiresAt.Sub(m.now)
	switch {
	case left <= 0:
		return p.state[vault.StateExpired].Wrap(common.PadLeft("expired", refreshCol))
	case left < refreshWarning:
		return p.state[vault.StateExpiring].Wrap(common.PadLeft(common.Countdown(left), refreshCol))
	}
	return p.muted.Wrap(common.PadLeft(common.Countdown(left), refreshCol))
}

// refreshWarning: a refresh token with less than this left is shown as
// expiring (a login is due soon).
const refreshWarning = 24 * time.Hour

// timeLeft is the countdown column: time left, or why there is none.
func timeLeft(s vault.Session, state vault.State, now time.Time) string {
	switch state {
	case vault.StateNeedsLogin:
		return "re-login"
	case vault.StateExpired:
		return "expired"
	case vault.StateUnknown:
		return "—"
	default:
		return common.Countdown(s.ExpiresAt.Sub(now))
	}
}
