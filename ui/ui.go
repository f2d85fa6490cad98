// Package ui is tokentop's dashboard, a Bubble Tea program: the session
// list, the selected session's detail (claims decoded, unverified), the
// last or in-flight HTTP exchange, refreshes, the clipboard and the forms
// that add, log in, edit and delete sessions.
//
// All I/O (vault, HTTP, clipboard) runs in tea.Cmds; Update and View only
// compute, against an injected clock.
package ui

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/detail"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/helpview"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// Deps is what the dashboard works with.
type Deps struct {
	Store     *vault.Store
	Refresher *providers.Refresher
	// Login logs in to PathStack (pathstack.New(hc, now).Login), when
	// Logins has no PathStack login. Nil: the login form says login is not
	// available.
	Login LoginFunc
	// Logins are the providers' logins by provider (vault.ProviderPathStack,
	// vault.ProviderGalileo); they win over Login. l offers a session's
	// provider login when it is here, and pasting new tokens always.
	Logins map[string]LoginFunc
	// LoginHint fills in the login form's username and password for a
	// provider's server (the demo: its fake server's account). Nil: none.
	LoginHint func(provider, baseURL string) (username, password string)
	Clipboard *Clipboard       // nil: NewClipboard(os.Stdout)
	Now       func() time.Time // nil: time.Now
	Title     string           // header title, e.g. "tokentop" or "tokentop demo"
	Location  *time.Location   // time zone of displayed times (nil: time.Local)
	// NoScheduler: Run does not run the vault's schedules while the
	// dashboard is open (tests; a `tokentop watch` elsewhere runs them).
	NoScheduler bool
	// NoColor draws without colours, with attributes only (Run sets it
	// when NO_COLOR is set or the terminal has no colours).
	NoColor bool
	// Changes signals that another process changed the vault, so that the
	// list is re-read then rather than every few seconds. Run sets it to
	// Store.Changes on a vault that notifies (PostgreSQL's LISTEN/NOTIFY);
	// nil: re-read every 3 s.
	Changes <-chan struct{}
}

// maxParallelRefresh bounds how many refreshes R runs at once.
const maxParallelRefresh = 4

type pane int

const (
	paneList pane = iota
	paneDetail
	paneExchange
)

type overlay int

const (
	overlayNone overlay = iota
	overlayHelp
	overlayForm
	overlayConfirm
)

// flight is a refresh in progress.
type flight struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// Model is the dashboard's root model.
type Model struct {
	deps   Deps
	ctx    context.Context
	wg     *sync.WaitGroup // refreshes and logins in flight, waited for by Run
	common common.Common
	keys   KeyMap
	styles styles
	help   help.Model

	spinner  spinner.Model
	spinning bool

	width, height int
	layout        layout
	now           time.Time

	loaded    bool
	loadErr   error
	vaultPath string

	list   sessionlist.Model
	detail detail.Model
	exch   exchange.Model
	status toast.Model
	focus  pane

	helpPane helpview.Model // the full help (?)

	overlay     overlay
	form        form.Model
	formSession int64              // the session an edit form changes
	formCancel  context.CancelFunc // a login in flight
	login       loginState         // the login form's
	confirm     confirmation

	selectedID    int64
	full          map[int64]vault.Session // sessions with tokens, by id (GetSession)
	loading       map[int64]bool          // GetSession in flight
	shown         map[int64]*exchange.Shown
	flights       map[int64]*flight
	queue         []int64
	batch         *refreshBatch // what R started and has not ended yet; nil when none
	pendingCopy   *copyKind
	pendingSelect int64
	reveal        bool
	clipGen       int

	// wake tells the Scheduler running with the dashboard to re-read the
	// schedules (after the editor saved one); nil when none runs.
	wake func()
	// loadSeq counts the session list reloads issued; dirty maps a session
	// to the count when this dashboard last changed its row or schedule,
	// so that a reload issued before the change does not undo it.
	loadSeq      int
	dirty        map[int64]int
	reloading    bool // a periodic reload is in flight
	schedLoading bool // a schedules reload is in flight
}

// New builds the dashboard.
func New(deps Deps) Model {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Clipboard == nil {
		deps.Clipboard = NewClipboard(os.Stdout)
	}
	if deps.Title == "" {
		deps.Title = "tokentop"
	}
	c := common.New(deps.Location)
	if deps.NoColor {
		c.Theme = common.MonoTheme()
	}
	keys := DefaultKeyMap()
	st := defaultStyles(c)
	h := help.New()
	h.Styles = st.Help
	h.ShortSeparator = " · "
	m := Model{
		deps:    deps,
		ctx:     context.Background(),
		wg:      &sync.WaitGroup{},
		common:  c,
		keys:    keys,
		styles:  st,
		help:    h,
		spinner: spinner.New(spinner.WithSpinner(spinner.MiniDot), spinner.WithStyle(st.Spinner)),
		now:     deps.Now(),
		list:    sessionlist.New(c, st.List, keys.listKeys()),
		detail:  detail.New(c, st.Detail, keys.detailKeys()),
		exch:    exchange.New(c, st.Exchange, keys.exchangeKeys()),
		status:  toast.New(st.Toast),
		full:    map[int64]vault.Session{},
		loading: map[int64]bool{},
		shown:   map[int64]*exchange.Shown{},
		flights: map[int64]*flight{},
		dirty:   map[int64]int{},

		helpPane: helpview.New(st.Panel, keys.helpKeys()),
	}
	m.helpPane.SetContent(m.helpContent()) // keys and styles are fixed: laid out again on resize only
	m.setNow(m.now)
	m.setFocus(paneList)
	m.setSpinnerFrame()
	return m
}

// Init loads the vault and starts the one-second clock, and the periodic
// reload that picks up what other processes change.
func (m Model) Init() tea.Cmd {
	cmds := []tea.Cmd{m.loadSessionsCmd(), tickCmd()}
	switch {
	case m.deps.Changes != nil:
		cmds = append(cmds, waitChangesCmd(m.deps.Changes))
	case m.deps.Store != nil:
		cmds = append(cmds, reloadTickCmd())
	}
	return tea.Batch(cmds...)
}

// TickMsg is the one global clock tick: it moves every countdown and never
// queries the vault.
type TickMsg struct{}

func tickCmd() tea.Cmd {
	return tea.Every(time.Second, func(time.Time) tea.Msg { return TickMsg{} })
}

func (m *Model) setNow(now time.Time) {
	m.now = now
	m.list.SetNow(now)
	m.detail.SetNow(now)
	m.exch.SetNow(now)
}

func (m *Model) setFocus(p pane) {
	m.focus = p
	m.list.SetFocused(p == paneList)
	m.detail.SetFocused(p == paneDetail)
	m.exch.SetFocused(p == paneExchange)
}

// busy reports whether something runs that the spinner should show.
func (m Model) busy() bool { return len(m.flights) > 0 || (m.overlay == overlayForm && m.form.Busy()) }

// startSpinner starts the spinner's ticks unless they run already.
func (m *Model) startSpinner() tea.Cmd {
	if m.spinning {
		return nil
	}
	m.spinning = true
	return m.spinner.Tick
}

func (m *Model) setSpinnerFrame() {
	f := m.spinner.View()
	m.list.SetSpinner(f)
	m.exch.SetSpinner(f)
	m.form.SetSpinner(f)
}
