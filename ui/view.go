package ui

import (
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/vault"
)

// Smallest usable terminal.
const (
	minWidth  = 60
	minHeight = 16
)

// wideListWidth is the list's width from 100 columns on: enough for a
// readable label beside both countdowns (access and refresh token).
const wideListWidth = 48

// wideHelpWidth is the width from which the short help names s (schedule).
const wideHelpWidth = 92

type rect struct{ x, y, w, h int }

func (r rect) contains(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

// layout is where each part goes, computed on resize.
type layout struct {
	body               rect // everything between header and status line
	list, detail, exch rect
	tooSmall           bool
}

func (m *Model) setSize(w, h int) {
	m.width, m.height = w, h
	l := layout{tooSmall: w < minWidth || h < minHeight}
	l.body = rect{0, 1, w, max(0, h-3)}
	bh := l.body.h
	top := max(8, bh*11/20)
	if bh-top < 6 {
		top = max(4, bh-6)
	}
	lw := min(max(w*2/5, 40), 56)
	if w >= 100 {
		lw = max(lw, wideListWidth) // room for the refresh token's countdown
	}
	if w-lw < 30 {
		lw = max(20, w-30)
	}
	l.list = rect{0, 1, lw, top}
	l.detail = rect{lw, 1, w - lw, top}
	l.exch = rect{0, 1 + top, w, bh - top}
	m.layout = l
	m.list.SetSize(l.list.w, l.list.h)
	m.detail.SetSize(l.detail.w, l.detail.h)
	m.exch.SetSize(l.exch.w, l.exch.h)
	m.form.SetSize(l.body.w, l.body.h)
	m.help.Width = w - 1
	m.helpPane.SetSize(l.body.w, l.body.h)
}

// View draws the frame: header, body (panes, or an overlay in their place),
// status line and the short help.
func (m Model) View() string {
	if m.width == 0 {
		return ""
	}
	if m.layout.tooSmall {
		return lipgloss.Place(m.width, m.height, lipgloss.Center, lipgloss.Center,
			m.styles.Warn.Render("tokentop needs at least "+itoa(minWidth)+"×"+itoa(minHeight))+"\n"+
				m.styles.Muted.Render("this terminal is "+itoa(m.width)+"×"+itoa(m.height)))
	}
	var b strings.Builder
	b.Grow(m.width * m.height * 3)
	b.WriteString(m.headerView())
	b.WriteByte('\n')
	b.WriteString(m.bodyView())
	b.WriteByte('\n')
	b.WriteString(m.status.View(m.width))
	b.WriteByte('\n')
	b.WriteString(m.shortHelpView())
	return b.String()
}

// headerView is the title, the sessions' summary, what runs, and the
// clock. When they do not fit, the clock goes first, then the summary is
// said in the state symbols the help explains ("◐1 ✕1 ⚠2 !1").
func (m Model) headerView() string {
	right := m.styles.HeaderInfo.Render(common.Clock(m.now, m.now, m.common.Location) + " ")
	rightW := ansi.StringWidth(right)
	long := m.headerLeft(false)
	longW := ansi.StringWidth(long)
	switch {
	case m.width-longW-rightW >= 1:
		return long + strings.Repeat(" ", m.width-longW-rightW) + right
	case longW <= m.width || !m.loaded:
		return common.Fit(long, m.width)
	}
	short := m.headerLeft(true)
	if gap := m.width - ansi.StringWidth(short) - rightW; gap >= 1 {
		return short + strings.Repeat(" ", gap) + right
	}
	return common.Fit(short, m.width)
}

// headerLeft is the header without the clock.
func (m Model) headerLeft(compact bool) string {
	left := " " + m.styles.HeaderTitle.Render(m.deps.Title)
	info := []string{}
	if m.loaded {
		info = append(info, m.summaryView(compact))
	}
	if n := len(m.flights); n > 0 {
		info = append(info, m.styles.HeaderBusy.Render(m.spinner.View()+" "+itoa(n)+" refreshing"))
	}
	if n := len(m.queue); n > 0 {
		info = append(info, m.styles.HeaderBusy.Render(itoa(n)+" queued"))
	}
	if m.reveal {
		info = append(info, m.styles.Warn.Render("secrets revealed"))
	}
	if len(info) > 0 {
		sep := m.styles.HeaderInfo.Render("  ·  ")
		if compact {
			sep = m.styles.HeaderInfo.Render(" · ")
		}
		left += sep + strings.Join(info, sep)
	}
	return left
}

// summaryView counts the sessions by what needs attention: "6 sessions ·
// 1 expiring · 2 failing · 1 needs login" (the parts that are not zero),
// or compact: "6 sessions ◐1 ⚠2 !1".
func (m Model) summaryView(compact bool) string {
	c := m.list.Counts()
	needLogin := "need login"
	if c.NeedsLogin == 1 {
		needLogin = "needs login"
	}
	parts := []string{m.styles.HeaderInfo.Render(plural(c.Total, "session", "sessions"))}
	for _, p := range []struct {
		n            int
		what, symbol string
	}{
		{c.Expiring, "expiring", "◐"}, {c.Expired, "expired", "✕"}, {c.Failing, "failing", "⚠"},
		{c.NeedsLogin, needLogin, "!"}, {c.Recovery, "in recovery", "⤺"},
	} {
		switch {
		case p.n == 0:
		case compact:
			parts = append(parts, m.styles.Warn.Render(p.symbol+itoa(p.n)))
		default:
			parts = append(parts, m.styles.Warn.Render(itoa(p.n)+" "+p.what))
		}
	}
	if compact {
		return strings.Join(parts, " ")
	}
	return strings.Join(parts, m.styles.HeaderInfo.Render(" · "))
}

func (m Model) bodyView() string {
	l := m.layout
	switch {
	case m.overlay == overlayHelp:
		return m.helpView()
	case m.overlay == overlayForm:
		return m.form.View()
	case m.overlay == overlayConfirm:
		return m.confirmView()
	case !m.loaded:
		text := m.styles.Muted.Render("Opening the vault…")
		if m.loadErr != nil {
			text = m.styles.Warn.Render("Could not read the vault") + "\n\n" + common.Safe(m.loadErr.Error())
		}
		return lipgloss.Place(l.body.w, l.body.h, lipgloss.Center, lipgloss.Center, text)
	case m.list.Len() == 0:
		return m.welcomeView()
	}
	top := joinColumns(m.list.View(), m.detail.View())
	return top + "\n" + m.exch.View()
}

// joinColumns puts two blocks of equal height side by side.
func joinColumns(left, right string) string {
	ls, rs := strings.Split(left, "\n"), strings.Split(right, "\n")
	var b strings.Builder
	for i := range ls {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(ls[i])
		if i < len(rs) {
			b.WriteString(rs[i])
		}
	}
	return b.String()
}

func (m Model) welcomeView() string {
	k, t, mu := m.styles.Key, m.styles.Text, m.styles.Muted
	where := "Your vault is empty."
	if m.vaultPath != "" {
		where = "Your vault is empty: " + common.Safe(m.vaultPath)
	}
	lines := []string{
		m.styles.Accent.Render("Welcome to tokentop"),
		"",
		mu.Render(where),
		"",
		k.Render("  a  ") + t.Render("add a session: paste an access token and a refresh token"),
		k.Render("  l  ") + t.Render("log in to PathStack with a username and password"),
		k.Render("  ?  ") + t.Render("every key"),
		"",
		mu.Render("Just looking? Quit and run ") + k.Render("tokentop demo") + mu.Render(":"),
		mu.Render("it fills a throwaway vault from fake servers on this machine."),
	}
	box := m.styles.Panel.Panel("", lines, min(72, m.layout.body.w), min(len(lines)+2, m.layout.body.h), false)
	return lipgloss.Place(m.layout.body.w, m.layout.body.h, lipgloss.Center, lipgloss.Center, box)
}

func (m Model) confirmView() string {
	var lines []string
	for i, p := range m.confirm.prompt {
		p = common.Safe(p) // names the session: vault text
		if i == 0 {
			lines = append(lines, m.styles.Warn.Render(p), "")
			continue
		}
		lines = append(lines, m.styles.Text.Render(p))
	}
	lines = append(lines, "", m.styles.Key.Render("y")+m.styles.Muted.Render(" yes   ")+m.styles.Key.Render("n")+m.styles.Muted.Render(" no"))
	w := 0
	for _, l := range lines {
		w = max(w, ansi.StringWidth(l))
	}
	box := m.styles.Panel.Panel("Confirm", lines, min(w+4, m.layout.body.w), len(lines)+2, true)
	return lipgloss.Place(m.layout.body.w, m.layout.body.h, lipgloss.Center, lipgloss.Center, box)
}

// helpView is the full help, scrolled where the reader left it.
func (m Model) helpView() string { return m.helpPane.View() }

// helpNotes are said under the keys and the legend.
var helpNotes = []string{
	"Claims are decoded, not verified. Secrets stay masked until x.",
	"Mouse: the wheel scrolls the pane under the pointer; a click selects.",
}

// helpContent is what the help shows: each group of FullHelp (its title,
// then a line per binding with the keys aligned), the legend of the marks
// a row may carry, and the notes.
func (m Model) helpContent() (sections [][]string, notes []string) {
	groups := m.keys.FullHelp()
	titles := m.keys.groupTitles()
	sections = make([][]string, 0, len(groups)+1)
	for i, g := range groups {
		sec := []string{m.styles.GroupTitle.Render(titles[i])}
		kw := 0
		for _, b := range g {
			kw = max(kw, ansi.StringWidth(b.Help().Key))
		}
		for _, b := range g {
			sec = append(sec, m.styles.Key.Render(common.Fit(b.Help().Key, kw))+"  "+m.styles.Text.Render(b.Help().Desc))
		}
		sections = append(sections, sec)
	}
	sections = append(sections, m.legendSection())
	notes = make([]string, len(helpNotes))
	for i, n := range helpNotes {
		notes[i] = m.styles.Muted.Render(n)
	}
	return sections, notes
}

// legendSection explains the marks of a row, each drawn as the list draws
// it: without colour, the symbol is all there is.
func (m Model) legendSection() []string {
	t := m.common.Theme
	look := func(s vault.State, desc string) [2]string {
		l := t.Look(s)
		return [2]string{m.styles.List.State[s].Render(l.Symbol), desc}
	}
	marks := [][2]string{
		look(vault.StateValid, "valid"),
		look(vault.StateExpiring, "expiring soon"),
		look(vault.StateExpired, "expired"),
		look(vault.StateNeedsLogin, "needs login"),
		look(vault.StateUnknown, "expiry unknown"),
		{m.styles.List.State[vault.StateExpiring].Render("◌"), "not valid yet"},
		{m.styles.List.Failing.Render("⚠"), "last refresh failed"},
		{m.styles.List.Recovery.Render("⤺"), "tokens in recovery"},
		{m.styles.List.Schedule.Render("⟳"), "scheduled"},
	}
	sec := []string{m.styles.GroupTitle.Render("Marks")}
	for _, mk := range marks {
		sec = append(sec, mk[0]+"  "+m.styles.Text.Render(mk[1]))
	}
	return sec
}

// shortHelpView is the help line for what has the keyboard now.
func (m Model) shortHelpView() string {
	var bindings []key.Binding
	switch {
	case m.overlay == overlayForm:
		bindings = m.form.ShortHelp()
	case m.overlay == overlayConfirm:
		bindings = []key.Binding{m.keys.Yes, m.keys.No}
	case m.overlay == overlayHelp:
		bindings = []key.Binding{key.NewBinding(key.WithKeys("esc", "q", "?"), key.WithHelp("esc/q/?", "close help"))}
		if m.helpPane.Scrollable() {
			bindings = append(bindings, pair(m.keys.Up, m.keys.Down, "↑/k ↓/j", "scroll"),
				pair(m.keys.PageUp, m.keys.PageDown, "pgup pgdn", "page"))
		}
	case m.list.Filtering():
		bindings = m.keys.filterHelp()
	case m.loaded && m.list.Len() == 0:
		bindings = []key.Binding{m.keys.Add, m.keys.Login, m.keys.ShowHelp, m.keys.Quit}
	case m.focus == paneExchange && m.exch.Mode() != exchange.ModeExchange:
		ek := m.keys.exchangeKeys()
		bindings = []key.Binding{m.keys.Up, m.keys.Down, ek.Open, ek.Back, short(m.keys.History, "last exchange"), m.keys.ShowHelp}
	case len(m.flights) > 0:
		bindings = append([]key.Binding{m.keys.Cancel}, m.keys.ShortHelp()...)
	default:
		bindings = m.keys.ShortHelp()
	}
	if m.width < wideHelpWidth {
		// Keep "? help" and "q quit" on a narrow line: s is in the full help.
		kept := bindings[:0:0]
		for _, b := range bindings {
			if b.Help().Key != m.keys.Schedule.Help().Key {
				kept = append(kept, b)
			}
		}
		bindings = kept
	}
	return " " + m.help.ShortHelpView(m.fitShortHelp(bindings))
}

// fitShortHelp drops bindings, the last first, until the line fits the
// width; "? help", "q quit" and "esc" (what stops a refresh, or leaves)
// stay: the line must never lose the way out.
func (m Model) fitShortHelp(bindings []key.Binding) []key.Binding {
	// Measured as help.ShortHelpView draws it ("key desc", separated),
	// without drawing it: this runs every frame.
	width := func(bs []key.Binding) int {
		w := 0
		for i, b := range bs {
			if i > 0 {
				w += ansi.StringWidth(m.help.ShortSeparator)
			}
			w += ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
		}
		return w
	}
	for len(bindings) > 1 && width(bindings) > m.help.Width {
		drop := -1
		for i := len(bindings) - 1; i >= 0; i-- {
			switch bindings[i].Help().Key {
			case m.keys.ShowHelp.Help().Key, m.keys.Quit.Help().Key, m.keys.Cancel.Help().Key:
				continue
			}
			drop = i
			break
		}
		if drop < 0 {
			break
		}
		bindings = append(bindings[:drop:drop], bindings[drop+1:]...)
	}
	return bindings
}

func itoa(n int) string { return strconv.Itoa(n) }
