package ui

import (
	"errors"
	"net/url"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

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
	m.form = form.Model{} // what it held (a password, an API key) goes with it
}

// SessionSavedMsg reports a session written by the add or edit form.
type SessionSavedMsg struct {
	FormID  string
	Session vault.Session
	Err     error
}

func (m Model) onFormSubmit(msg form.SubmitMsg) (Model, tea.Cmd) {
	v := msg.Values
	for k, val := range v {
		v[k] = strings.TrimSpace(val)
	}
	if msg.FormID == formSchedule {
		return m.onScheduleSubmit(v)
	}
	if msg.FormID == formLogin {
		return m.submitLogin(v)
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
	}
	return m, nil
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

// validate checks the add and edit forms' values; the result maps field
// keys to messages.
func (m Model) validate(formID string, v map[string]string) map[string]string {
	errs := map[string]string{}
	if msg := labelProblem(v[fLabel]); msg != "" {
		errs[fLabel] = msg
	} else if s, ok := m.list.ByLabel(v[fLabel]); ok && s.ID != m.formSession {
		errs[fLabel] = "a session with that label exists"
	}
	if err := checkBaseURL(v[fBaseURL]); err != "" {
		errs[fBaseURL] = err
	}
	if formID == formAdd {
		if v[fProvider] == vault.ProviderPathStack && v[fSub] == "" {
			errs[fSub] = "PathStack's /refresh needs the sub"
		}
		tokenErrors(v, errs)
	}
	return errs
}

// labelProblem says what is wrong with a label, "" when nothing.
func labelProblem(label string) string {
	switch {
	case label == "":
		return "a label is required"
	case strings.ContainsAny(label, " \t"):
		return "no spaces, please: the label is used on the command line"
	}
	return ""
}

// tokenErrors checks the pasted access and refresh tokens into errs.
func tokenErrors(v map[string]string, errs map[string]string) {
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
