package ui

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/exchange"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// Form ids.
const (
	formAdd   = "add"
	formLogin = "login"
	formEdit  = "edit"
)

// defaultPathStackURL is PathStack's public API.
const defaultPathStackURL = "https://api.pathstack.io"

// galileoURLExample is the shape of a Galileo base URL, shown while the
// field is empty.
const galileoURLExample = "https://api.acme.rungalileo.io"

// Form field keys.
const (
	fProvider   = "provider"
	fLabel      = "label"
	fBaseURL    = "base_url"
	fAPIVersion = "api_version"
	fSub        = "sub"
	fAccess     = "access_token"
	fRefresh    = "refresh_token"
	fUsername   = "username"
	fPassword   = "password"
)

func (m *Model) openForm(f form.Model) {
	m.form = f
	m.form.SetSize(m.layout.body.w, m.layout.body.h)
	m.overlay = overlayForm
}

func (m *Model) openAddForm() {
	m.openForm(form.New(formAdd, "Add a session", []form.Field{
		{Key: fProvider, Label: "provider", Kind: form.Choice, Value: vault.ProviderPathStack,
			Choices:      []string{vault.ProviderPathStack, vault.ProviderGalileo},
			ChoiceLabels: []string{"PathStack", "Galileo"}},
		{Key: fLabel, Label: "label", Placeholder: "e.g. prod-eu"},
		{Key: fBaseURL, Label: "base URL", Value: defaultPathStackURL},
		{Key: fAPIVersion, Label: "api version", Value: vault.DefaultPathStackAPIVersion},
		{Key: fSub, Label: "sub", Placeholder: "uuid of the user (PathStack /refresh needs it)"},
		{Key: fAccess, Label: "access token", Kind: form.Secret, Placeholder: "paste here"},
		{Key: fRefresh, Label: "refresh token", Kind: form.Secret, Placeholder: "paste here"},
	}, m.styles.Form, m.keys.formKeys()))
}

// openLoginForm opens the PathStack login. On a selected PathStack session
// it is that session's login again: label, base URL and API version are
// filled in, and saving replaces its tokens.
func (m *Model) openLoginForm() {
	label, baseURL, version, versionHint := "", defaultPathStackURL, vault.DefaultPathStackAPIVersion, ""
	sel, ok := m.list.Selected()
	again := ok && sel.Provider == vault.ProviderPathStack
	if again {
		label, baseURL, version, versionHint = sel.Label, sel.BaseURL, sel.APIVersion, vault.DefaultPathStackAPIVersion
	}
	f := form.New(formLogin, "Log in to PathStack", []form.Field{
		{Key: fLabel, Label: "label", Value: label, Placeholder: "e.g. prod-eu"},
		{Key: fBaseURL, Label: "base URL", Value: baseURL},
		{Key: fAPIVersion, Label: "api version", Value: version, Placeholder: versionHint},
		{Key: fUsername, Label: "username", Placeholder: "username or e-mail"},
		{Key: fPassword, Label: "password", Kind: form.Secret},
	}, m.styles.Form, m.keys.formKeys())
	if again {
		f.Focus(fUsername)
	}
	m.openForm(f)
	m.adaptLoginForm()
}

// adaptLoginForm says what saving does when the label is an existing
// PathStack session's: its tokens are replaced.
func (m *Model) adaptLoginForm() {
	if m.form.ID() != formLogin {
		return
	}
	note := ""
	if s, ok := m.list.ByLabel(strings.TrimSpace(m.form.Value(fLabel))); ok && s.Provider == vault.ProviderPathStack {
		note = "Logging in replaces the tokens of " + s.Label + "; its history and schedule stay."
	}
	m.form.SetNote(note)
}

func (m *Model) openEditForm(s vault.Session) {
	f := form.New(formEdit, "Edit "+s.Label, []form.Field{
		{Key: fLabel, Label: "label", Value: s.Label},
		{Key: fBaseURL, Label: "base URL", Value: s.BaseURL},
		{Key: fAPIVersion, Label: "api version", Value: s.APIVersion, Placeholder: vault.DefaultPathStackAPIVersion,
			Hidden: s.Provider != vault.ProviderPathStack},
	}, m.styles.Form, m.keys.formKeys())
	m.formSession = s.ID
	m.openForm(f)
}

// adaptAddForm shows the fields the chosen provider needs.
func (m *Model) adaptAddForm() {
	if m.form.ID() != formAdd {
		return
	}
	galileo := m.form.Value(fProvider) == vault.ProviderGalileo
	m.form.SetHidden(fAPIVersion, galileo)
	m.form.SetHidden(fSub, galileo)
	// Galileo has no public default: each customer has its own host.
	switch u := m.form.Value(fBaseURL); {
	case galileo && u == defaultPathStackURL:
		m.form.SetValue(fBaseURL, "")
		m.form.SetPlaceholder(fBaseURL, galileoURLExample)
	case !galileo && u == "":
		m.form.SetValue(fBaseURL, defaultPathStackURL)
		m.form.SetPlaceholder(fBaseURL, "")
	}
}

func (m *Model) closeForm() {
	if m.formCancel != nil {
		m.formCancel()
		m.formCancel = nil
	}
	m.overlay = overlayNone
	m.formSession = 0
}

// SessionSavedMsg reports a session written by the add or edit form.
type SessionSavedMsg struct {
	FormID  string
	Session vault.Session
	Err     error
}

// LoginDoneMsg reports a PathStack login and the session it created, or
// whose tokens it replaced (Replaced).
type LoginDoneMsg struct {
	Session  vault.Session
	Exchange *providers.Exchange
	Replaced bool
	Err      error
}

func (m Model) onFormSubmit(msg form.SubmitMsg) (Model, tea.Cmd) {
	v := msg.Values
	for k, val := range v {
		v[k] = strings.TrimSpace(val)
	}
	if msg.FormID == formSchedule {
		return m.onScheduleSubmit(v)
	}
	errs := m.validate(msg.FormID, v)
	if len(errs) > 0 {
		m.form.SetErrors(errs, "")
		return m, nil
	}
	store := m.deps.Store
	if store == nil {
		m.form.SetErrors(nil, "no vault is open")
		return m, nil
	}
	ctx := m.ctx
	switch msg.FormID {
	case formAdd:
		s := sessionFromAddForm(v)
		m.form.SetBusy("saving…")
		return m, func() tea.Msg {
			err := store.CreateSession(ctx, &s)
			return SessionSavedMsg{FormID: formAdd, Session: s, Err: err}
		}
	case formEdit:
		id := m.formSession
		m.form.SetBusy("saving…")
		return m, func() tea.Msg {
			err := store.UpdateSessionInfo(ctx, id, v[fLabel], v[fBaseURL], v[fAPIVersion])
			return SessionSavedMsg{FormID: formEdit, Session: vault.Session{ID: id, Label: v[fLabel]}, Err: err}
		}
	case formLogin:
		if m.deps.Login == nil {
			m.form.SetErrors(nil, "PathStack login is not available here")
			return m, nil
		}
		lctx, cancel := context.WithCancel(ctx)
		m.formCancel = cancel
		m.form.SetBusy("logging in to " + v[fBaseURL] + "…")
		m.wg.Add(1)
		return m, tea.Batch(loginCmd(lctx, m.deps.Login, store, v, m.wg), m.startSpinner())
	}
	return m, nil
}

// errLabelTaken: the login's label is another provider's session.
var errLabelTaken = errors.New("a session of another provider has that label")

// loginCmd logs in and stores the session: a new one, or, when the label
// is an existing PathStack session's, that session with the new tokens
// (same id, history and schedule).
func loginCmd(ctx context.Context, login func(ctx context.Context, baseURL, apiVersion, username, password string) (providers.Result, *providers.Exchange, error), store *vault.Store, v map[string]string, wg *sync.WaitGroup) tea.Cmd {
	return func() tea.Msg {
		defer wg.Done()
		// Look before logging in: a label that cannot be saved must not
		// cost a login.
		replace, err := pathStackLabel(ctx, store, v[fLabel])
		if err != nil {
			return LoginDoneMsg{Err: err}
		}
		res, ex, err := login(ctx, v[fBaseURL], v[fAPIVersion], v[fUsername], v[fPassword])
		if err != nil {
			return LoginDoneMsg{Exchange: ex, Err: err}
		}
		s := vault.Session{
			Provider:     vault.ProviderPathStack,
			Label:        v[fLabel],
			BaseURL:      v[fBaseURL],
			APIVersion:   v[fAPIVersion],
			Sub:          res.Sub,
			AccessToken:  res.AccessToken,
			RefreshToken: res.RefreshToken,
			TokenType:    res.TokenType,
			IssuedAt:     res.IssuedAt,
			ExpiresAt:    res.ExpiresAt,
		}
		if t, err := vault.DecodeToken(res.RefreshToken); err == nil && !t.Opaque {
			s.RefreshExpiresAt = t.ExpiresAt
		}
		if replace {
			err = store.PutSession(ctx, &s, true)
		} else {
			err = store.CreateSession(ctx, &s)
		}
		if err != nil {
			return LoginDoneMsg{Exchange: ex, Err: fmt.Errorf("logged in, but saving the session failed: %w", err)}
		}
		return LoginDoneMsg{Session: s, Exchange: ex, Replaced: replace}
	}
}

// pathStackLabel reports whether label is an existing PathStack session's
// (a login replaces its tokens); errLabelTaken when it is another
// provider's.
func pathStackLabel(ctx context.Context, store *vault.Store, label string) (bool, error) {
	cur, err := store.GetSessionByLabel(ctx, label)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("look up %s: %w", label, err)
	case cur.Provider != vault.ProviderPathStack:
		return false, fmt.Errorf("%w (%s)", errLabelTaken, common.ProviderName(cur.Provider))
	}
	return true, nil
}

func sessionFromAddForm(v map[string]string) vault.Session {
	s := vault.Session{
		Provider:     v[fProvider],
		Label:        v[fLabel],
		BaseURL:      v[fBaseURL],
		APIVersion:   v[fAPIVersion],
		Sub:          v[fSub],
		AccessToken:  cleanToken(v[fAccess]),
		RefreshToken: cleanToken(v[fRefresh]),
		TokenType:    "Bearer",
	}
	if t, err := vault.DecodeToken(s.AccessToken); err == nil && !t.Opaque {
		s.IssuedAt, s.ExpiresAt = t.IssuedAt, t.ExpiresAt
	}
	if t, err := vault.DecodeToken(s.RefreshToken); err == nil && !t.Opaque {
		s.RefreshExpiresAt = t.ExpiresAt
	}
	return s
}

// cleanToken drops what pasting tends to bring along: spaces, line breaks,
// a "Bearer " prefix.
func cleanToken(t string) string {
	t = strings.Join(strings.Fields(t), "")
	if len(t) > 6 && strings.EqualFold(t[:6], "bearer") {
		t = t[6:]
	}
	return t
}

// validate checks a form's values; the result maps field keys to messages.
func (m Model) validate(formID string, v map[string]string) map[string]string {
	errs := map[string]string{}
	if v[fLabel] == "" {
		errs[fLabel] = "a label is required"
	} else if strings.ContainsAny(v[fLabel], " \t") {
		errs[fLabel] = "no spaces, please: the label is used on the command line"
	} else if s, ok := m.list.ByLabel(v[fLabel]); ok && s.ID != m.formSession {
		switch {
		case formID != formLogin:
			errs[fLabel] = "a session with that label exists"
		case s.Provider != vault.ProviderPathStack:
			errs[fLabel] = "a " + common.ProviderName(s.Provider) + " session has that label: logging in cannot replace it"
		}
	}
	if err := checkBaseURL(v[fBaseURL]); err != "" {
		errs[fBaseURL] = err
	}
	switch formID {
	case formAdd:
		if v[fProvider] == vault.ProviderPathStack && v[fSub] == "" {
			errs[fSub] = "PathStack's /refresh needs the sub"
		}
		if cleanToken(v[fAccess]) == "" {
			errs[fAccess] = "an access token is required"
		}
		if cleanToken(v[fRefresh]) == "" {
			errs[fRefresh] = "a refresh token is required"
		}
		for _, k := range []string{fAccess, fRefresh} {
			if t := cleanToken(v[k]); t != "" {
				if _, err := vault.DecodeToken(t); err != nil {
					errs[k] = "looks like a JWT but does not decode: " + err.Error()
				}
			}
		}
	case formLogin:
		if v[fUsername] == "" {
			errs[fUsername] = "a username is required"
		}
		if v[fPassword] == "" {
			errs[fPassword] = "a password is required"
		}
	}
	return errs
}

func checkBaseURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case raw == "":
		return "a base URL is required"
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must start with https:// (or http://)"
	case u.Host == "" || strings.HasSuffix(u.Host, "."):
		return "needs a host"
	}
	return ""
}

func (m Model) onSessionSaved(msg SessionSavedMsg) (Model, tea.Cmd) {
	if m.overlay != overlayForm || m.form.ID() != msg.FormID {
		return m, nil
	}
	if msg.Err != nil {
		field := map[string]string{}
		if errors.Is(msg.Err, vault.ErrDuplicateLabel) {
			field[fLabel] = "a session with that label exists"
		}
		m.form.SetErrors(field, msg.Err.Error())
		return m, nil
	}
	id := msg.Session.ID
	delete(m.full, id)
	m.closeForm()
	m.pendingSelect = id
	verb := "Added"
	if msg.FormID == formEdit {
		verb = "Saved"
	}
	var cmd tea.Cmd
	m.status, cmd = m.status.Show(verb+" "+msg.Session.Label, toast.Success, 4*time.Second)
	return m, tea.Batch(cmd, m.loadSessionsCmd())
}

func (m Model) onLoginDone(msg LoginDoneMsg) (Model, tea.Cmd) {
	m.formCancel = nil
	if m.overlay != overlayForm || m.form.ID() != formLogin {
		return m, nil
	}
	if errors.Is(msg.Err, errLabelTaken) {
		m.form.SetErrors(map[string]string{fLabel: msg.Err.Error()}, "")
		return m, nil
	}
	if msg.Err != nil {
		m.form.SetErrors(loginFieldErrors(msg.Err), "Login failed: "+describeProviderError(msg.Err))
		return m, nil
	}
	s := msg.Session
	m.shown[s.ID] = &exchange.Shown{Caption: "Login", Exchange: msg.Exchange, Outcome: string(providers.OutcomeOK)}
	delete(m.full, s.ID)
	m.closeForm()
	m.pendingSelect = s.ID
	text := "Logged in as " + s.Label
	if msg.Replaced {
		text = "Logged in again as " + s.Label + " · tokens replaced"
	}
	text += " · expires " + common.Relative(s.ExpiresAt, m.now)
	if sch, ok := m.list.Schedule(s.ID); ok && providers.DisabledForLogin(sch) {
		text += " · s turns its schedule back on"
	}
	var cmd tea.Cmd
	m.status, cmd = m.status.Show(text, toast.Success, 5*time.Second)
	return m, tea.Batch(cmd, m.loadSessionsCmd())
}

// loginFieldErrors maps a 422 envelope's field errors onto the form.
func loginFieldErrors(err error) map[string]string {
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Envelope == nil {
		return nil
	}
	out := map[string]string{}
	for _, f := range pe.Envelope.Fields {
		if len(f.Loc) == 0 {
			continue
		}
		switch fmt.Sprint(f.Loc[len(f.Loc)-1]) {
		case "username":
			out[fUsername] = f.Msg
		case "password":
			out[fPassword] = f.Msg
		}
	}
	return out
}

// describeProviderError is one line for a failed call: status and the
// envelope's message when the provider answered, the error otherwise.
func describeProviderError(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		parts := []string{strings.ReplaceAll(string(pe.Outcome), "_", " ")}
		if pe.Status != 0 {
			parts = append(parts, fmt.Sprint(pe.Status))
		}
		if pe.Envelope != nil && pe.Envelope.Message != "" {
			parts = append(parts, pe.Envelope.Message)
		} else if pe.Err != nil {
			parts = append(parts, pe.Err.Error())
		}
		return strings.Join(parts, " · ")
	}
	return err.Error()
}
