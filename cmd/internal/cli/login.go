package cli

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// loginInput is what `tokentop login PROVIDER` needs; the password or API
// key is prompted for or read from stdin, never a flag.
type loginInput struct {
	provider   string
	label      string // default: the base URL's host
	baseURL    string
	apiVersion string // PathStack's x-api-version
	username   string // a password login's
	apiKey     bool   // an API-key login (Galileo): --api-key-stdin
	remember   bool   // keep the password or API key, sealed, for automatic re-login
}

// loginCommand is `tokentop login`, one subcommand per provider (their flags
// and environment fallbacks differ); both log in through a.login.
func (a *app) loginCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login pathstack|galileo",
		Short: "Log in with a password or an API key and store the session",
		Long: `Log in to a provider and create the session, or replace the tokens of the
session with that label (same provider). The password or API key is prompted
for without echo on a terminal, or read as one line from stdin: never a flag.
--remember keeps it sealed in the vault, so that tokentop logs in again by
itself when the provider rejects the refresh token; tokentop forget drops it.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return usagef("login needs a provider: tokentop login pathstack|galileo (see tokentop login --help)")
		},
	}
	cmd.AddCommand(a.loginPathStackCommand(), a.loginGalileoCommand())
	return cmd
}

func (a *app) loginPathStackCommand() *cobra.Command {
	in := loginInput{provider: vault.ProviderPathStack}
	cmd := &cobra.Command{
		Use:   "pathstack --username U [--label L] [--base-url URL] [--remember]",
		Short: "Log in to PathStack with username and password (POST /token)",
		Example: `  tokentop login pathstack --label prod --username me@example.com
  printf '%s\n' "$PW" | tokentop login pathstack --label local --username dev --base-url http://127.0.0.1:8080`,
		Args: noLoginArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.login(cmd, in) },
	}
	f := loginFlags(cmd, &in)
	f.StringVar(&in.baseURL, "base-url", defaultPathStackURL, "PathStack API base URL")
	f.StringVar(&in.apiVersion, "api-version", vault.DefaultPathStackAPIVersion, "x-api-version header")
	bindEnv(f, "username", "TOKENTOP_USERNAME")
	bindEnv(f, "base-url", "TOKENTOP_PATHSTACK_URL")
	bindEnv(f, "api-version", envAPIVersion)
	return cmd
}

func (a *app) loginGalileoCommand() *cobra.Command {
	in := loginInput{provider: vault.ProviderGalileo}
	cmd := &cobra.Command{
		Use:   "galileo --base-url URL (--username U | --api-key-stdin) [--label L] [--remember]",
		Short: "Log in to Galileo with username and password (POST /login) or an API key (POST /login/api_key)",
		Example: `  tokentop login galileo --base-url https://api.acme.rungalileo.io --label acme --username me@acme.com
  printf '%s\n' "$GALILEO_API_KEY" | tokentop login galileo --base-url https://api.acme.rungalileo.io --label acme --api-key-stdin --remember`,
		Args: noLoginArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.login(cmd, in) },
	}
	f := loginFlags(cmd, &in)
	f.StringVar(&in.baseURL, "base-url", "", "the tenant's Galileo API base URL (required)")
	f.BoolVar(&in.apiKey, "api-key-stdin", false, "log in with an API key, prompted for or read from stdin")
	bindEnv(f, "username", "TOKENTOP_GALILEO_USERNAME")
	bindEnv(f, "base-url", "TOKENTOP_GALILEO_URL")
	return cmd
}

// noLoginArgs refuses arguments to a login without repeating them: one may
// be the password, which must not reach stderr or a log a second time.
func noLoginArgs(_ *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("login takes no arguments (%d given): the password or API key is prompted for or read from stdin, never given on the command line", len(args))
	}
	return nil
}

// loginFlags adds the flags every provider's login has.
func loginFlags(cmd *cobra.Command, in *loginInput) *pflag.FlagSet {
	f := cmd.Flags()
	f.StringVar(&in.label, "label", "", "name of the session to create or replace (default: the base URL's host)")
	f.StringVar(&in.username, "username", "", "username or email, to log in with a password")
	f.BoolVar(&in.remember, "remember", false, "keep the password or API key sealed in the vault, for automatic re-login")
	return f
}

// credentials checks which login in asks for, before anything is read or sent.
func (in *loginInput) credentials(cmd *cobra.Command) (providers.Credentials, error) {
	switch {
	case in.apiKey && cmd.Flags().Changed("username"):
		return providers.Credentials{}, usagef("give --username (a password login) or --api-key-stdin, not both")
	case in.apiKey:
		return providers.Credentials{Method: providers.LoginAPIKey}, nil
	case in.username == "" && in.provider == vault.ProviderGalileo:
		return providers.Credentials{}, usagef("--username (a password login) or --api-key-stdin (an API key) is required")
	case in.username == "":
		return providers.Credentials{}, usagef("--username is required")
	}
	return providers.Credentials{Method: providers.LoginPassword, Username: in.username}, nil
}

// defaultLabel names a session after its base URL's host (and port).
func defaultLabel(baseURL string) string {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

// login logs in to in.provider with a password or API key and stores the
// session: created, or its tokens replaced when the label exists.
func (a *app) login(cmd *cobra.Command, in loginInput) error {
	ctx := cmd.Context()
	cred, err := in.credentials(cmd)
	if err != nil {
		return err
	}
	if in.label == "" {
		in.label = defaultLabel(in.baseURL)
	}
	// Refuse bad input before the secret is asked for or sent: a login
	// whose tokens could not be stored would be thrown away.
	if err := vault.ValidateInfo(in.provider, in.label, in.baseURL, in.apiVersion); err != nil {
		return usageError{err}
	}
	p, _ := a.registry().Get(in.provider)
	loginer, ok := p.(providers.Loginer)
	if !ok {
		return usagef("%s has no login in this build", in.provider)
	}
	// An existing vault is checked before the secret is sent; a missing
	// one is created only once the login has worked.
	if exists, err := a.vaultExists(ctx); err != nil {
		return err
	} else if exists {
		st, err := a.openVault(ctx)
		if err != nil {
			return err
		}
		if err := refuseOtherProvider(ctx, st, in.label, in.provider); err != nil {
			return err
		}
	}
	what := "password"
	if cred.Method == providers.LoginAPIKey {
		what = "API key"
	}
	secret, err := a.secrets(what)
	if err != nil {
		return err
	}
	if cred.Method == providers.LoginAPIKey {
		cred.APIKey = secret[0]
	} else {
		cred.Password = secret[0]
	}
	res, ex, err := loginer.Login(ctx, providers.LoginTarget{BaseURL: in.baseURL, APIVersion: in.apiVersion}, cred)
	if err != nil {
		if ex != nil { // what went over the wire, masked, on stdout; the error alone on stderr
			// Redacted masks the password as "…" and hides the request's
			// Content-Length; the error text was scrubbed before, with
			// the password's length.
			red := ex.Redacted()
			red.Error = withoutLength(red.Error, secret[0])
			red.Format(a.io.out, false)
		}
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Envelope != nil {
			return errors.New(withoutLength(fmt.Sprintf("login failed: %d %s", pe.Status, pe.Envelope.Message), secret[0]))
		}
		return errors.New(withoutLength("login failed: "+err.Error(), secret[0]))
	}
	sess := res.Session(in.provider, in.label, in.baseURL, in.apiVersion)
	st, err := a.createVault(ctx)
	if err != nil {
		return fmt.Errorf("logged in, but the tokens were not saved: %w", err)
	}
	if err := st.PutSession(ctx, &sess, true); err != nil {
		return fmt.Errorf("save session %q: %w", in.label, err)
	}
	detail := describeExpiry(sess, a.io.now())
	if sess.Sub != "" {
		detail = "sub " + sess.Sub + ", " + detail
	}
	msg := fmt.Sprintf("logged in: session %q (%s)", sess.Label, detail)
	switch {
	case in.remember:
		kept := vault.RememberedLogin{Method: cred.Method, Username: cred.Username, Secret: secret[0]}
		if err := st.RememberLogin(ctx, sess.ID, kept); err != nil {
			fmt.Fprintln(a.io.out, msg)
			return fmt.Errorf("logged in and saved, but the login was not remembered: %w", err)
		}
		msg += "; login remembered for automatic re-login (" + describeLogin(kept.Method, kept.Username) + ")"
	case sess.LoginRemembered != "":
		msg += fmt.Sprintf("; the login remembered before is kept (%s): `tokentop forget %s` drops it",
			describeLogin(sess.LoginRemembered, sess.LoginUser), sess.Label)
	}
	fmt.Fprintln(a.io.out, providers.SafeText(msg))
	return nil
}

// describeLogin says what a remembered login is: "api_key", or "password
// for me@example.com".
func describeLogin(method, username string) string {
	if method == vault.LoginMethodPassword {
		return "password for " + username
	}
	return method
}

// withoutLength replaces the password's length-only mask in text ("…(16)…",
// as error texts are scrubbed) by "…": a token's length is harmless, a
// password's narrows a guess.
func withoutLength(text, password string) string {
	return strings.ReplaceAll(text, fmt.Sprintf("…(%d)…", utf8.RuneCountInString(password)), "…")
}
