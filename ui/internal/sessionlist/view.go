package sessionlist

import (
	"fmt"
	"strings"
	"time"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// Column widths of a row; the label takes what is left.
const (
	providerCol = 9
	timeCol     = 8
	markCol     = 2
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
			line = m.styles.Filter.Render("/ "+m.filter.Value()) + m.styles.Muted.Render("  (/ edit · esc clear)")
		}
		body = append(body, common.Fit(line, inner))
	}
	end := min(len(m.index), m.offset+m.rows())
	for i := m.offset; i < end; i++ {
		body = append(body, m.row(m.sessions[m.index[i]], i == m.cursor, inner))
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
	cursor, mark                           string // pre-rendered "▸" and " ⟳"
	state                                  map[vault.State]paint
	symbol                                 map[vault.State]string
}

type paint = common.Paint

func newPaints(c common.Common, st Styles) paints {
	p := paints{
		label:    common.NewPaint(st.Label),
		selected: common.NewPaint(st.Selected),
		provider: common.NewPaint(st.Provider),
		busy:     common.NewPaint(st.Busy),
		muted:    common.NewPaint(st.Muted),
		cursor:   st.Cursor.Render("▸"),
		mark:     " " + st.Schedule.Render("⟳"),
		state:    map[vault.State]paint{},
		symbol:   map[vault.State]string{},
	}
	for s, style := range st.State {
		p.state[s] = common.NewPaint(style)
		p.symbol[s] = style.Render(c.Theme.Look(s).Symbol)
	}
	return p
}

// row formats one session: cursor, state symbol, label, provider, time
// left (or what is happening instead) and the schedule mark.
func (m Model) row(s vault.Session, selected bool, width int) string {
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
	default:
		when = p.state[state].Wrap(common.PadLeft(timeLeft(s, state, m.now), timeCol))
	}
	mark := "  "
	if sch, ok := m.schedules[s.ID]; ok && sch.Enabled {
		mark = p.mark
	}

	labelW := width - 1 - 2 - 1 - providerCol - 1 - timeCol - markCol
	showProvider := labelW >= 8
	if !showProvider {
		labelW += providerCol + 1
	}
	var b strings.Builder
	b.Grow(width + 64)
	b.WriteString(cursor)
	b.WriteString(symbol)
	b.WriteByte(' ')
	b.WriteString(label.Wrap(common.Fit(s.Label, max(1, labelW))))
	b.WriteByte(' ')
	if showProvider {
		b.WriteString(p.provider.Wrap(common.Fit(common.ProviderName(s.Provider), providerCol)))
		b.WriteByte(' ')
	}
	b.WriteString(when)
	b.WriteString(mark)
	return b.String()
}

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
