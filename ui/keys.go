package ui

import (
	"github.com/charmbracelet/bubbles/key"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/detail"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/helpview"
	"github.com/tokentop/tokentop/ui/internal/sessionlist"
)

// KeyMap holds every binding of the dashboard. The components get their
// navigation keys from it, so one place says what each key does.
type KeyMap struct {
	// Navigation
	common.ScrollKeys // Up, Down, PageUp, PageDown, Home, End
	NextPane          key.Binding
	PrevPane          key.Binding
	Open              key.Binding
	Back              key.Binding
	Filter            key.Binding
	Sort              key.Binding
	History           key.Binding
	Reveal            key.Binding
	ShowHelp          key.Binding
	Quit              key.Binding
	ForceQuit         key.Binding

	// Refresh
	Refresh    key.Binding
	RefreshAll key.Binding
	Cancel     key.Binding
	Schedule   key.Binding

	// Clipboard
	CopyAccess  key.Binding
	CopyBearer  key.Binding
	CopyRefresh key.Binding
	CopyCurl    key.Binding
	// CopyRefreshCurl copies the refresh call itself, after a warning:
	// running it spends the refresh token the vault holds.
	CopyRefreshCurl key.Binding

	// Sessions
	Add    key.Binding
	Login  key.Binding
	Edit   key.Binding
	Delete key.Binding

	// Confirmation dialogs
	Yes key.Binding
	No  key.Binding
}

// DefaultKeyMap returns tokentop's bindings.
func DefaultKeyMap() KeyMap {
	return KeyMap{
		ScrollKeys: common.DefaultScrollKeys(),
		NextPane:   key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		PrevPane:   key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Open:       key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "open")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back / cancel")),
		Filter:     key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
		Sort:       key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "sort label/expiry")),
		History:    key.NewBinding(key.WithKeys("h"), key.WithHelp("h", "history / last exchange")),
		Reveal:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "reveal secrets")),
		ShowHelp:   key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit:  key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit")),

		Refresh:    key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "refresh")),
		RefreshAll: key.NewBinding(key.WithKeys("R"), key.WithHelp("R", "refresh all shown")),
		Cancel:     key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "stop waiting")),
		Schedule:   key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "schedule refreshes")),

		CopyAccess:      key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "copy token")),
		CopyBearer:      key.NewBinding(key.WithKeys("b"), key.WithHelp("b", `copy "Bearer …"`)),
		CopyRefresh:     key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "copy refresh token")),
		CopyCurl:        key.NewBinding(key.WithKeys("u"), key.WithHelp("u", "copy curl (API call)")),
		CopyRefreshCurl: key.NewBinding(key.WithKeys("U"), key.WithHelp("U", "copy curl (refresh: spends it)")),

		Add:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "add")),
		Login:  key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "log in")),
		Edit:   key.NewBinding(key.WithKeys("e"), key.WithHelp("e", "edit")),
		Delete: key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "delete")),

		Yes: key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:  key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n/esc", "no")),
	}
}

// ShortHelp implements help.KeyMap: the line always shown at the bottom.
func (k KeyMap) ShortHelp() []key.Binding {
	return []key.Binding{
		short(k.Refresh, "refresh"), short(k.Schedule, "schedule"), short(k.CopyAccess, "copy"), short(k.CopyBearer, "bearer"),
		short(k.Reveal, "reveal"), short(k.Filter, "filter"), short(k.Add, "add"),
		short(k.ShowHelp, "help"), short(k.Quit, "quit"),
	}
}

// short is a binding with a terser description, for the one-line help.
func short(b key.Binding, desc string) key.Binding {
	b.SetHelp(b.Help().Key, desc)
	return b
}

// FullHelp implements help.KeyMap: every binding once, grouped as
// groupTitles names them. Pairs that go together share a line, so that
// the help fits 80×24.
func (k KeyMap) FullHelp() [][]key.Binding {
	return [][]key.Binding{
		{
			pair(k.Up, k.Down, "↑/k ↓/j", "up / down"),
			pair(k.PageUp, k.PageDown, "pgup pgdn", "page up / down"),
			pair(k.Home, k.End, "home/g end/G", "first / last"),
			pair(k.NextPane, k.PrevPane, "tab shift+tab", "next / previous pane"),
			k.Open,
			short(k.Back, "back · stop waiting"), // k.Cancel is the same key
			k.Filter,
			k.Sort,
		},
		{k.Refresh, k.RefreshAll, k.Schedule},
		{k.History},
		{k.CopyAccess, k.CopyBearer, k.CopyRefresh, k.CopyCurl, k.CopyRefreshCurl, k.Reveal},
		{k.Add, k.Login, k.Edit, k.Delete, k.ShowHelp, k.Quit},
	}
}

// groupTitles name FullHelp's groups, in order.
func (KeyMap) groupTitles() []string {
	return []string{"Navigate", "Refresh & schedule", "History", "Copy", "Sessions"}
}

// pair is two bindings shown as one help line.
func pair(a, b key.Binding, keys, desc string) key.Binding {
	return key.NewBinding(key.WithKeys(append(a.Keys(), b.Keys()...)...), key.WithHelp(keys, desc))
}

// filterHelp is the help line while the filter input has the keyboard:
// only the arrows move (j and k type into the filter).
func (k KeyMap) filterHelp() []key.Binding {
	lk := k.listKeys()
	return []key.Binding{
		lk.AcceptFilter, lk.ClearFilter,
		key.NewBinding(key.WithKeys("up"), key.WithHelp("↑", "up")),
		key.NewBinding(key.WithKeys("down"), key.WithHelp("↓", "down")),
	}
}

func (k KeyMap) listKeys() sessionlist.KeyMap {
	d := sessionlist.DefaultKeyMap()
	d.ScrollKeys, d.Filter = k.ScrollKeys, k.Filter
	return d
}

func (k KeyMap) detailKeys() detail.KeyMap { return detail.KeyMap{ScrollKeys: k.ScrollKeys} }

func (k KeyMap) exchangeKeys() exchange.KeyMap {
	d := exchange.DefaultKeyMap()
	d.ScrollKeys = k.ScrollKeys
	return d
}

func (k KeyMap) helpKeys() helpview.KeyMap { return k.ScrollKeys }

func (k KeyMap) formKeys() form.KeyMap { return form.DefaultKeyMap() }
