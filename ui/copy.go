package ui

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// copyKind is what c, b, C, u and U copy.
type copyKind int

const (
	copyAccess      copyKind = iota
	copyBearer               // "Authorization: Bearer …"
	copyRefresh              // the refresh token (after a confirmation)
	copyCurl                 // a curl for an API call with the access token
	copyRefreshCurl          // a curl for the refresh call (after a confirmation)
)

// String names what is copied, for the toast.
func (k copyKind) String() string {
	switch k {
	case copyBearer:
		return `"Authorization: Bearer …"`
	case copyRefresh:
		return "refresh token"
	case copyCurl:
		return "curl command (API call)"
	case copyRefreshCurl:
		return "curl command (refresh call)"
	default:
		return "access token"
	}
}

// CopiedMsg reports a copy to the clipboard.
type CopiedMsg struct {
	What    string // "access token", ...
	Warning string // e.g. the token has expired ("" when none)
	Native  bool   // the native clipboard took it too
	Err     error
}

func copyCmd(c *Clipboard, text, what, warning string) tea.Cmd {
	return func() tea.Msg {
		native, err := c.Copy(text)
		return CopiedMsg{What: what, Warning: warning, Native: native, Err: err}
	}
}

// ClipboardClearDueMsg says the copy numbered Gen has been on the clipboard
// long enough; a later copy makes it stale.
type ClipboardClearDueMsg struct{ Gen int }

// ClipboardClearedMsg reports the clipboard cleanup.
type ClipboardClearedMsg struct {
	Cleared bool
	Err     error
}

func clearClipboardCmd(c *Clipboard) tea.Cmd {
	return func() tea.Msg {
		cleared, err := c.Clear()
		return ClipboardClearedMsg{Cleared: cleared, Err: err}
	}
}

// copySelected copies from the selected session, loading its tokens first
// when they are not cached.
func (m Model) copySelected(kind copyKind) (Model, tea.Cmd) {
	listed, ok := m.list.Selected()
	if !ok {
		return m, nil
	}
	full, ok := m.full[listed.ID]
	if !ok || full.Version != listed.Version {
		m.pendingCopy = &kind
		m.status.SetStatus("loading the session's tokens…", toast.Info)
		return m, m.loadSessionCmd(listed.ID)
	}
	text, err := copyPayload(full, kind)
	if err != nil {
		var cmd tea.Cmd
		m.status, cmd = m.status.Show(err.Error(), toast.Warn, 4*time.Second)
		return m, cmd
	}
	return m, copyCmd(m.deps.Clipboard, text, kind.String(), copyWarning(full, kind, m.now))
}

// copyPayload is the text a copy puts on the clipboard.
func copyPayload(s vault.Session, kind copyKind) (string, error) {
	switch kind {
	case copyRefresh:
		if s.RefreshToken == "" {
			return "", fmt.Errorf("%s has no refresh token", s.Label)
		}
		return s.RefreshToken, nil
	case copyRefreshCurl:
		if s.RefreshToken == "" {
			return "", fmt.Errorf("%s has no refresh token to build a curl command with", s.Label)
		}
		return refreshCurl(s)
	}
	if s.AccessToken == "" {
		return "", fmt.Errorf("%s has no access token yet: r refreshes it", s.Label)
	}
	switch kind {
	case copyBearer:
		return "Authorization: Bearer " + s.AccessToken, nil
	case copyCurl:
		return apiCurl(s)
	}
	return s.AccessToken, nil
}

// copyWarning warns when what is copied has expired.
func copyWarning(s vault.Session, kind copyKind, now time.Time) string {
	exp, what := s.ExpiresAt, "this access token"
	if kind == copyRefresh || kind == copyRefreshCurl {
		if s.NeedsLogin {
			return "the provider rejected this refresh token"
		}
		exp, what = s.RefreshExpiresAt, "the refresh token"
	}
	if !exp.IsZero() && !exp.After(now) {
		return what + " expired " + common.Ago(now.Sub(exp)) + " ago"
	}
	return ""
}

// apiCurl is a call to the session's API with its access token, ready to
// paste in a shell: the URL comes last, to append the endpoint's path to.
// It spends nothing (the refresh token is not in it).
func apiCurl(s vault.Session) (string, error) {
	base, err := curlSafe(s)
	if err != nil {
		return "", err
	}
	cmd := "curl -sS -g -H " + common.ShellQuote("Authorization: Bearer "+s.AccessToken)
	if s.Provider == vault.ProviderPathStack {
		cmd += " -H " + common.ShellQuote("x-api-version: "+apiVersion(s))
	}
	return cmd + " --url " + common.ShellQuote(base+"/"), nil
}

// refreshCurl is the provider's refresh call, ready to paste in a shell.
// Running it spends the refresh token: the provider rotates it, and the
// vault keeps the spent one.
func refreshCurl(s vault.Session) (string, error) {
	base, err := curlSafe(s)
	if err != nil {
		return "", err
	}
	if s.Provider == vault.ProviderGalileo {
		return "curl -sS -g -X POST -H " + common.ShellQuote("Cookie: refresh_token="+s.RefreshToken) +
			" --url " + common.ShellQuote(base+"/v1/refresh_token"), nil
	}
	body, _ := json.Marshal(struct {
		Sub          string `json:"sub"`
		RefreshToken string `json:"refresh_token"`
	}{s.Sub, s.RefreshToken})
	return "curl -sS -g -X POST \\\n" +
		"  -H 'Content-Type: application/json' \\\n" +
		"  -H " + common.ShellQuote("x-api-version: "+apiVersion(s)) + " \\\n" +
		"  --data " + common.ShellQuote(string(body)) + " \\\n" +
		"  --url " + common.ShellQuote(base+"/refresh"), nil
}

func apiVersion(s vault.Session) string {
	if s.APIVersion == "" {
		return vault.DefaultPathStackAPIVersion
	}
	return s.APIVersion
}

// curlSafe checks what goes into a curl command and returns the base URL
// without its trailing slash. Quoting keeps every byte inside its argument;
// this also refuses what would surprise once pasted: control characters
// (a terminal may act on an escape sequence, a newline ends a paste's
// line), a URL that is not http(s).
func curlSafe(s vault.Session) (string, error) {
	base := strings.TrimRight(s.BaseURL, "/")
	if checkBaseURL(base) != "" || !plainWord(base) {
		return "", fmt.Errorf("%s's base URL cannot go in a curl command safely", s.Label)
	}
	for _, v := range []string{s.AccessToken, s.RefreshToken, s.Sub, s.APIVersion} {
		if !plainWord(v) {
			return "", fmt.Errorf("%s has a token or field with spaces or control characters: no curl command", s.Label)
		}
	}
	return base, nil
}

// plainWord reports that s has no space and no ASCII or Unicode control
// character (tab, ESC, newline, DEL, C1...).
func plainWord(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r == ' ' || unicode.IsControl(r) }) < 0
}

func (m Model) onCopied(msg CopiedMsg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	if msg.Err != nil {
		m.status, cmd = m.status.Show("copy failed: "+msg.Err.Error(), toast.Error, 6*time.Second)
		return m, cmd
	}
	m.clipGen++
	after := m.deps.Clipboard.ClearAfter()
	text := fmt.Sprintf("Copied %s · clipboard clears in %s", msg.What, common.Countdown(after))
	kind := toast.Success
	if msg.Warning != "" {
		text += " · " + msg.Warning // the Warn kind draws the one ⚠
		kind = toast.Warn
	}
	m.status, cmd = m.status.Show(text, kind, 5*time.Second)
	gen := m.clipGen
	clear := tea.Tick(after, func(time.Time) tea.Msg { return ClipboardClearDueMsg{Gen: gen} })
	return m, tea.Batch(cmd, clear)
}

func (m Model) onClipboardClearDue(msg ClipboardClearDueMsg) (Model, tea.Cmd) {
	if msg.Gen != m.clipGen {
		return m, nil // a later copy restarted the timer
	}
	return m, clearClipboardCmd(m.deps.Clipboard)
}

func (m Model) onClipboardCleared(msg ClipboardClearedMsg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	switch {
	case msg.Err != nil:
		m.status, cmd = m.status.Show(msg.Err.Error(), toast.Error, 4*time.Second)
	case msg.Cleared:
		m.status, cmd = m.status.Show("Clipboard cleared", toast.Info, 3*time.Second)
	}
	return m, cmd
}
