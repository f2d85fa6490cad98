package main

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// loginInput is what `tokentop login pathstack` needs; the password is
// prompted for or read from stdin, never a flag.
type loginInput struct {
	label      string
	baseURL    string
	apiVersion string
	username   string
}

func (a *app) loginCommand() *cobra.Command {
	var in loginInput
	cmd := &cobra.Command{
		Use:   "login pathstack --label L --username U [--base-url URL]",
		Short: "Log in to PathStack with username and password and store the session",
		Long: `Log in to PathStack (POST /token) and create the session, or replace the
tokens of the session with that label. The password is prompted for without
echo, or read as one line from stdin.`,
		Example: `  tokentop login pathstack --label prod --username me@example.com
  printf '%s\n' "$PW" | tokentop login pathstack --label local --username dev --base-url http://127.0.0.1:8080`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != vault.ProviderPathStack {
				return usagef("login supports pathstack only (Galileo sessions are added with `tokentop add galileo`)")
			}
			return a.login(cmd, in)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.label, "label", "", "name of the session to create or replace (required)")
	f.StringVar(&in.username, "username", "", "username or email (required)")
	f.StringVar(&in.baseURL, "base-url", defaultPathStackURL, "PathStack API base URL")
	f.StringVar(&in.apiVersion, "api-version", vault.DefaultPathStackAPIVersion, "x-api-version header")
	bindEnv(f, "username", "TOKENTOP_USERNAME")
	bindEnv(f, "base-url", "TOKENTOP_PATHSTACK_URL")
	bindEnv(f, "api-version", envAPIVersion)
	return cmd
}

func (a *app) login(cmd *cobra.Command, in loginInput) error {
	if in.label == "" || in.username == "" {
		return usagef("--label and --username are required")
	}
	// Refuse bad input before the password is asked for or sent: a login
	// whose tokens could not be stored would be thrown away.
	if err := vault.ValidateInfo(vault.ProviderPathStack, in.label, in.baseURL, in.apiVersion); err != nil {
		return usageError{err}
	}
	// An existing vault is checked before the password is sent; a missing
	// one is created only once the login has worked.
	if exists, err := a.vaultExists(); err != nil {
		return err
	} else if exists {
		st, err := a.openVault(cmd.Context())
		if err != nil {
			return err
		}
		if err := refuseOtherProvider(cmd.Context(), st, in.label, vault.ProviderPathStack); err != nil {
			return err
		}
	}
	pw, err := a.secrets("password")
	if err != nil {
		return err
	}
	res, ex, err := pathstack.New(a.httpClient(), a.io.now).Login(cmd.Context(), providers.LoginTarget{BaseURL: in.baseURL, APIVersion: in.apiVersion},
		providers.Credentials{Method: providers.LoginPassword, Username: in.username, Password: pw[0]})
	if err != nil {
		if ex != nil { // what went over the wire, masked, on stdout; the error alone on stderr
			hidePasswordLength(ex.Redacted(), pw[0]).Format(a.io.out, false)
		}
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Envelope != nil {
			return errors.New(withoutLength(fmt.Sprintf("login failed: %d %s", pe.Status, pe.Envelope.Message), pw[0]))
		}
		return errors.New(withoutLength("login failed: "+err.Error(), pw[0]))
	}
	sess := vault.Session{
		Provider: vault.ProviderPathStack, Label: in.label, BaseURL: in.baseURL, APIVersion: in.apiVersion,
		Sub: res.Sub, AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, TokenType: res.TokenType,
		IssuedAt: res.IssuedAt, ExpiresAt: res.ExpiresAt,
	}
	st, err := a.createVault(cmd.Context())
	if err != nil {
		return fmt.Errorf("logged in, but the tokens were not saved: %w", err)
	}
	if err := st.PutSession(cmd.Context(), &sess, true); err != nil {
		return fmt.Errorf("save session %q: %w", in.label, err)
	}
	fmt.Fprintf(a.io.out, "logged in: session %q (sub %s, %s)\n", sess.Label, sess.Sub, describeExpiry(sess, a.io.now()))
	return nil
}

// hidePasswordLength removes what a masked exchange still tells of the
// password: the length in its mask ("…(16)…") and the request's
// Content-Length (the body less the username). A token's length is harmless;
// a password's narrows a guess.
func hidePasswordLength(ex *providers.Exchange, password string) *providers.Exchange {
	ex.RequestBody = withoutLength(ex.RequestBody, password)
	ex.Error = withoutLength(ex.Error, password)
	ex.ResponseBody = withoutLength(ex.ResponseBody, password)
	if ex.RequestHeader.Get("Content-Length") != "" {
		ex.RequestHeader.Set("Content-Length", "(hidden: it tells the password's length)")
	}
	return ex
}

// withoutLength replaces the password's length-only mask in text by "…".
func withoutLength(text, password string) string {
	return strings.ReplaceAll(text, fmt.Sprintf("…(%d)…", utf8.RuneCountInString(password)), "…")
}
