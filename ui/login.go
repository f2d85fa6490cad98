package ui

import (
	"context"
	"errors"
	"fmt"
	"slices"
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

// LoginFunc is one provider's login (a providers.Loginer's Login, such as
// pathstack.Client.Login or galileo.Client.Login): new tokens from
// credentials (Result.RefreshToken must be set) and the exchange, shown
// after the login.
type LoginFunc = providers.LoginFunc

// The login form's ways of getting new tokens (its fMethod field).
const (
	methodLogin  = "login"   // the provider's login with username and password
	methodAPIKey = "api_key" // Galileo's login with an API key
	methodTokens = "tokens"  // paste an access and a refresh token from elsewhere
)

// Login form fields of their own.
const (
	fMethod = "method" // the first: log in, with an API key, or paste new tokens
	fAPIKey = "api_key"
)

// loginFunc is provider's login, nil when the dashboard has none.
func (d Deps) loginFunc(provider string) LoginFunc {
	if f := d.Logins[provider]; f != nil {
		return f
	}
	if provider == vault.ProviderPathStack {
		return d.Login
	}
	return nil
}

// loginProviders are the providers with a login, PathStack first.
func (d Deps) loginProviders() []string {
	var out []string
	for _, p := range []string{vault.ProviderPathStack, vault.ProviderGalileo} {
		if d.loginFunc(p) != nil {
			out = append(out, p)
		}
	}
	return out
}

// openLoginForm opens the login. On a selected session it is that
// session's login again, with its provider's login (label, base URL, API
// version filled in, and the username of its remembered login or its
// token's claims; Deps.LoginHint may fill in username and password) or,
// for any provider, new tokens pasted in; saving replaces its tokens and
// keeps its history and schedule. Without a selection it logs in to a new
// session.
func (m *Model) openLoginForm() {
	sel, again := m.list.Selected()
	provider := vault.ProviderPathStack
	label, baseURL, version, versionHint, sub := "", defaultPathStackURL, vault.DefaultPathStackAPIVersion, "", ""
	provs := m.deps.loginProviders()
	if again {
		provider = sel.Provider
		label, baseURL, version, sub = sel.Label, sel.BaseURL, sel.APIVersion, sel.Sub
		if provider == vault.ProviderPathStack {
			versionHint = vault.DefaultPathStackAPIVersion
		}
		provs = []string{provider}
	} else if len(provs) == 0 {
		provs = []string{vault.ProviderPathStack} // submitting says it is not available
	}
	methods, methodLabels := m.loginMethods(provs, again)
	method := methods[0]
	username, password := "", ""
	full, known := m.full[sel.ID]
	if again {
		username = loginUsername(full)
		if full.LoginRemembered == vault.LoginMethodAPIKey && slices.Contains(methods, methodAPIKey) {
			method = methodAPIKey // logged in with an API key before: again
		}
	}
	if m.deps.LoginHint != nil {
		if u, p := m.deps.LoginHint(provider, baseURL); u != "" {
			username, password = u, p
		}
	}
	provLabels := make([]string, len(provs))
	for i, p := range provs {
		provLabels[i] = common.ProviderName(p)
	}
	title := "Log in to " + common.ProviderName(provider)
	if len(provs) > 1 {
		title = "Log in" // the provider is a field
	}
	if again {
		title = "Log in again: " + sel.Label + " (" + common.ProviderName(provider) + ")"
	}
	f := form.New(formLogin, title, []form.Field{
		{Key: fProvider, Label: "provider", Kind: form.Choice, Value: provider, Choices: provs, ChoiceLabels: provLabels,
			Hidden: len(provs) < 2},
		{Key: fMethod, Label: "how", Kind: form.Choice, Value: method, Choices: methods, ChoiceLabels: methodLabels,
			Hidden: len(methods) < 2},
		{Key: fLabel, Label: "label", Value: label, Placeholder: "e.g. prod-eu"},
		{Key: fBaseURL, Label: "base URL", Value: baseURL},
		{Key: fAPIVersion, Label: "api version", Value: version, Placeholder: versionHint},
		{Key: fUsername, Label: "username", Value: username, Placeholder: "username or e-mail"},
		{Key: fPassword, Label: "password", Kind: form.Secret, Value: password},
		{Key: fAPIKey, Label: "API key", Kind: form.Secret},
		rememberField(again && full.LoginRemembered != ""),
		{Key: fSub, Label: "sub", Value: sub, Placeholder: "uuid of the user (PathStack /refresh needs it)"},
		{Key: fAccess, Label: "access token", Kind: form.Secret, Placeholder: "paste here"},
		{Key: fRefresh, Label: "refresh token", Kind: form.Secret, Placeholder: "paste here"},
	}, m.styles.Form, m.keys.formKeys())
	m.openForm(f)
	m.login = loginState{newSession: !again, known: !again || known}
	m.adaptLoginForm()
	if again {
		switch {
		case method == methodTokens:
			m.form.Focus(fAccess)
		case method == methodAPIKey:
			m.form.Focus(fAPIKey)
		case username == "":
			m.form.Focus(fUsername)
		case password == "":
			m.form.Focus(fPassword)
		default:
			m.form.Focus(fMethod) // all filled in: ctrl+s logs in, → pastes tokens instead
		}
	}
}

// loginMethods are the ways the login form offers for the providers provs
// (one when logging in again): the provider's login (without one, a new
// session's form still offers it and says it is not available), Galileo's
// API key, and, for an existing session, pasting new tokens. A new login
// offers the API key while Galileo is the chosen provider
// (adaptLoginForm).
func (m Model) loginMethods(provs []string, again bool) (methods, labels []string) {
	provider := provs[0]
	if !again || m.deps.loginFunc(provider) != nil {
		methods, labels = append(methods, methodLogin), append(labels, "log in")
		if slices.Contains(provs, vault.ProviderGalileo) && m.deps.loginFunc(vault.ProviderGalileo) != nil {
			methods, labels = append(methods, methodAPIKey), append(labels, "API key")
		}
	}
	if again {
		methods, labels = append(methods, methodTokens), append(labels, "paste new tokens")
	}
	return methods, labels
}

// adaptLoginForm shows the fields of the chosen way and provider, and says
// what saving does.
func (m *Model) adaptLoginForm() {
	if m.form.ID() != formLogin {
		return
	}
	provider, method := m.form.Value(fProvider), m.form.Value(fMethod)
	pathstack := provider == vault.ProviderPathStack
	if m.login.newSession {
		// The API key is Galileo's: a new PathStack login has one way.
		if pathstack && method == methodAPIKey {
			method = methodLogin
			m.form.SetValue(fMethod, method)
		}
		m.form.SetHidden(fMethod, pathstack || m.deps.loginFunc(provider) == nil)
	}
	pasting, password := method == methodTokens, method == methodLogin
	m.form.SetHidden(fBaseURL, pasting)
	m.form.SetHidden(fAPIVersion, pasting || !pathstack)
	m.form.SetHidden(fUsername, !password)
	m.form.SetHidden(fPassword, !password)
	m.form.SetHidden(fAPIKey, method != methodAPIKey)
	m.form.SetHidden(fSub, !pasting || !pathstack)
	m.form.SetHidden(fAccess, !pasting)
	m.form.SetHidden(fRefresh, !pasting)
	m.adaptRemember(provider, method)
	// A new login may switch provider: Galileo has no public default host.
	if provider != m.login.provider {
		switch u := m.form.Value(fBaseURL); {
		case !pathstack && u == defaultPathStackURL:
			m.form.SetValue(fBaseURL, "")
		case pathstack && u == "":
			m.form.SetValue(fBaseURL, defaultPathStackURL)
		}
		placeholder := ""
		if !pathstack {
			placeholder = galileoURLExample
		}
		m.form.SetPlaceholder(fBaseURL, placeholder)
		m.login.provider = provider
	}

	var note []string
	if m.deps.loginFunc(provider) == nil {
		note = append(note, common.ProviderName(provider)+" login is not built in yet: paste a new access and refresh token from a logged-in client.")
	}
	s, exists := m.list.ByLabel(strings.TrimSpace(m.form.Value(fLabel)))
	switch {
	case exists && s.Provider == provider && pasting:
		note = append(note, "The new tokens replace those of "+s.Label+"; its history and schedule stay.")
	case exists && s.Provider == provider:
		note = append(note, "Logging in replaces the tokens of "+s.Label+"; its history and schedule stay.")
	}
	if (password && m.form.Value(fUsername) != "" && m.form.Value(fPassword) != "") ||
		(method == methodAPIKey && m.form.Value(fAPIKey) != "") {
		note = append(note, "ctrl+s logs in.")
	}
	m.form.SetNote(strings.Join(note, " "))
}

// validateLogin checks the login form: errs maps field keys to messages,
// general is for the whole form.
func (m Model) validateLogin(v map[string]string) (errs map[string]string, general string) {
	errs = map[string]string{}
	provider, pasting := v[fProvider], v[fMethod] == methodTokens
	cur, exists := m.list.ByLabel(v[fLabel])
	switch {
	case v[fLabel] == "":
		errs[fLabel] = "a label is required"
	case exists && cur.Provider != provider && pasting:
		errs[fLabel] = "a " + common.ProviderName(cur.Provider) + " session has that label: these tokens cannot replace it"
	case exists && cur.Provider != provider:
		errs[fLabel] = "a " + common.ProviderName(cur.Provider) + " session has that label: logging in cannot replace it"
	case pasting && !exists:
		errs[fLabel] = "no session has that label: a adds a new session"
	default:
		if msg := labelProblem(v[fLabel]); msg != "" {
			errs[fLabel] = msg
		}
	}
	if pasting {
		if provider == vault.ProviderPathStack && v[fSub] == "" {
			errs[fSub] = "PathStack's /refresh needs the sub"
		}
		tokenErrors(v, errs)
		return errs, ""
	}
	if msg := checkBaseURL(v[fBaseURL]); msg != "" {
		errs[fBaseURL] = msg
	}
	if v[fMethod] == methodAPIKey {
		if v[fAPIKey] == "" {
			errs[fAPIKey] = "an API key is required"
		}
	} else {
		if v[fUsername] == "" {
			errs[fUsername] = "a username is required"
		}
		if v[fPassword] == "" {
			errs[fPassword] = "a password is required"
		}
	}
	if m.deps.loginFunc(provider) == nil {
		general = common.ProviderName(provider) + " login is not available here"
	}
	return errs, general
}

// submitLogin logs in, or saves the pasted tokens, once the form is valid.
func (m Model) submitLogin(v map[string]string) (Model, tea.Cmd) {
	// Choices with one option are hidden, and Values leaves hidden fields out.
	v[fMethod], v[fProvider] = m.form.Value(fMethod), m.form.Value(fProvider)
	errs, general := m.validateLogin(v)
	if len(errs) > 0 || general != "" {
		m.form.SetErrors(errs, general)
		return m, nil
	}
	store := m.deps.Store
	if store == nil {
		m.form.SetErrors(nil, "no vault is open")
		return m, nil
	}
	lctx, cancel := context.WithCancel(m.ctx)
	m.formCancel = cancel
	m.wg.Add(1)
	if v[fMethod] == methodTokens {
		m.form.SetBusy("saving the new tokens…")
		return m, replaceTokensCmd(lctx, store, v, m.wg)
	}
	m.form.SetBusy("logging in to " + v[fBaseURL] + "…")
	// Forget only the kept login the form said it would (its hint).
	kept, _ := m.keptLogin(v[fLabel], v[fProvider])
	forget := kept != "" && v[fRemember] != form.Checked
	return m, tea.Batch(loginCmd(lctx, m.deps.loginFunc(v[fProvider]), store, v, forget, m.wg), m.startSpinner())
}

// LoginDoneMsg reports a login, or pasted tokens saved (Pasted), and the
// session it created or whose tokens it replaced (Replaced).
type LoginDoneMsg struct {
	Session  vault.Session
	Exchange *providers.Exchange
	Replaced bool
	Pasted   bool
	// Remember says what the login did to the session's remembered login.
	Remember rememberOutcome
	Err      error
}

// errLabelTaken: the login's label is another provider's session.
var errLabelTaken = errors.New("a session of another provider has that label")

// loginCmd logs in and stores the session: a new one, or, when the label
// is an existing session of the same provider, that session with the new
// tokens (same id, history and schedule). Then it keeps the login when
// "remember" is ticked, or forgets the one kept before when forget is set.
func loginCmd(ctx context.Context, login LoginFunc, store *vault.Store, v map[string]string, forget bool, wg *sync.WaitGroup) tea.Cmd {
	provider := v[fProvider]
	return func() tea.Msg {
		defer wg.Done()
		// Look before logging in: a label that cannot be saved must not
		// cost a login.
		cur, replace, err := sessionToReplace(ctx, store, v[fLabel], provider)
		if err != nil {
			return LoginDoneMsg{Err: err}
		}
		target := providers.LoginTarget{BaseURL: v[fBaseURL]}
		if provider == vault.ProviderPathStack {
			target.APIVersion = v[fAPIVersion]
		}
		cred := providers.Credentials{Method: providers.LoginPassword, Username: v[fUsername], Password: v[fPassword]}
		if v[fMethod] == methodAPIKey {
			cred = providers.Credentials{Method: providers.LoginAPIKey, APIKey: v[fAPIKey]}
		}
		res, ex, err := login(ctx, target, cred)
		// The exchange leaves this command redacted: its request carries
		// the password or API key, which x must not reveal either.
		ex = ex.Redacted()
		if err != nil {
			return LoginDoneMsg{Exchange: ex, Err: err}
		}
		if res.RefreshToken == "" {
			return LoginDoneMsg{Exchange: ex, Err: errors.New("the login answered no refresh token: nothing to save")}
		}
		s := res.Session(provider, v[fLabel], v[fBaseURL], target.APIVersion) // the vault reads the refresh token's expiry
		if s.Sub == "" && replace {
			s.Sub = cur.Sub
		}
		if replace {
			err = store.PutSession(ctx, &s, true)
		} else {
			err = store.CreateSession(ctx, &s)
		}
		if err != nil {
			return LoginDoneMsg{Exchange: ex, Err: fmt.Errorf("logged in, but saving the session failed: %w", err)}
		}
		kept := applyRemember(ctx, store, s.ID, cred, v[fRemember] == form.Checked, forget && replace)
		return LoginDoneMsg{Session: s, Exchange: ex, Replaced: replace, Remember: kept}
	}
}

// replaceTokensCmd writes pasted tokens over an existing session's, as
// `tokentop add --replace` does: same id, history and schedule; it no
// longer needs login.
func replaceTokensCmd(ctx context.Context, store *vault.Store, v map[string]string, wg *sync.WaitGroup) tea.Cmd {
	return func() tea.Msg {
		defer wg.Done()
		cur, found, err := sessionToReplace(ctx, store, v[fLabel], v[fProvider])
		switch {
		case err != nil:
			return LoginDoneMsg{Pasted: true, Err: err}
		case !found:
			return LoginDoneMsg{Pasted: true, Err: fmt.Errorf("%s: %w", v[fLabel], vault.ErrNotFound)}
		}
		s := cur
		s.AccessToken, s.RefreshToken = cleanToken(v[fAccess]), cleanToken(v[fRefresh])
		if s.Provider == vault.ProviderPathStack {
			s.Sub = v[fSub]
		}
		// The times come from the new tokens (PutSession decodes them).
		s.IssuedAt, s.ExpiresAt, s.RefreshExpiresAt = time.Time{}, time.Time{}, time.Time{}
		s.NeedsLogin = false
		if err := store.PutSession(ctx, &s, true); err != nil {
			return LoginDoneMsg{Pasted: true, Err: fmt.Errorf("save the new tokens: %w", err)}
		}
		return LoginDoneMsg{Session: s, Replaced: true, Pasted: true}
	}
}

// sessionToReplace looks label up: found when it is an existing session of
// provider (a login replaces its tokens); errLabelTaken when it is another
// provider's.
func sessionToReplace(ctx context.Context, store *vault.Store, label, provider string) (vault.Session, bool, error) {
	cur, err := store.GetSessionByLabel(ctx, label)
	switch {
	case errors.Is(err, vault.ErrNotFound):
		return vault.Session{}, false, nil
	case err != nil:
		return vault.Session{}, false, fmt.Errorf("look up %s: %w", label, err)
	case cur.Provider != provider:
		return vault.Session{}, false, fmt.Errorf("%w (%s)", errLabelTaken, common.ProviderName(cur.Provider))
	}
	return cur, true, nil
}

func (m Model) onLoginDone(msg LoginDoneMsg) (Model, tea.Cmd) {
	m.formCancel = nil
	if m.overlay != overlayForm || m.form.ID() != formLogin {
		return m, nil
	}
	if errors.Is(msg.Err, errLabelTaken) || errors.Is(msg.Err, vault.ErrNotFound) {
		m.form.SetErrors(map[string]string{fLabel: msg.Err.Error()}, "")
		return m, nil
	}
	if msg.Err != nil && msg.Pasted {
		m.form.SetErrors(nil, msg.Err.Error())
		return m, nil
	}
	if msg.Err != nil {
		m.form.SetErrors(loginFieldErrors(msg.Err), "Login failed: "+describeProviderError(msg.Err))
		return m, nil
	}
	s := msg.Session
	if msg.Exchange != nil {
		// At: the session's stored attempts, all older, do not replace it.
		m.shown[s.ID] = &exchange.Shown{Caption: "Login", Exchange: msg.Exchange, Outcome: string(providers.OutcomeOK), At: m.deps.Now()}
	}
	delete(m.full, s.ID)
	m.closeForm()
	m.pendingSelect = s.ID
	text := "Logged in as " + s.Label
	switch {
	case msg.Pasted:
		text = "New tokens saved for " + s.Label
	case msg.Replaced:
		text = "Logged in again as " + s.Label + " · tokens replaced"
	}
	kind := toast.Success
	if r := msg.Remember.text(); r != "" {
		text += " · " + r
		if msg.Remember.Err != nil {
			kind = toast.Warn
		}
	}
	if !s.ExpiresAt.IsZero() {
		text += " · expires " + common.Relative(s.ExpiresAt, m.now)
	}
	if sch, ok := m.list.Schedule(s.ID); ok && providers.DisabledForLogin(sch) {
		text += " · s turns its schedule back on"
	}
	// A status, like a refresh's outcome: the next refresh replaces it at
	// once (a note would hide that outcome until the note ends).
	m.status.SetStatus(text, kind)
	return m, m.loadSessionsCmd()
}

// describeProviderError is one line for a failed call: status and the
// envelope's message when the provider answered, the error otherwise.
func describeProviderError(err error) string {
	var pe *providers.Error
	if errors.As(err, &pe) {
		parts := []string{common.OutcomeWords(string(pe.Outcome))}
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

// loginUsername is the username a login of s starts with: its remembered
// login's, else the account its access token names.
func loginUsername(s vault.Session) string {
	if s.LoginUser != "" {
		return s.LoginUser
	}
	return tokenUsername(s.AccessToken)
}

// tokenUsername is the account a JWT names (unverified), "" when none.
func tokenUsername(access string) string {
	t, err := vault.DecodeToken(access)
	if err != nil || t.Opaque {
		return ""
	}
	for _, c := range []string{"preferred_username", "username", "email"} {
		if s, ok := t.Claims[c].(string); ok && s != "" {
			return s
		}
	}
	return ""
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
