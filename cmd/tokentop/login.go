package main

import (
	"errors"
	"fmt"

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
	st, err := a.openVault(cmd.Context())
	if err != nil {
		return err
	}
	if err := refuseOtherProvider(cmd.Context(), st, in.label, vault.ProviderPathStack); err != nil {
		return err
	}
	pw, err := a.secrets("password")
	if err != nil {
		return err
	}
	res, ex, err := pathstack.New(a.httpClient(), a.io.now).Login(cmd.Context(), in.baseURL, in.apiVersion, in.username, pw[0])
	if err != nil {
		if ex != nil { // what went over the wire, masked, on stdout; the error alone on stderr
			ex.Redacted().Format(a.io.out, false)
		}
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Envelope != nil {
			return fmt.Errorf("login failed: %d %s", pe.Status, pe.Envelope.Message)
		}
		return fmt.Errorf("login failed: %w", err)
	}
	sess := vault.Session{
		Provider: vault.ProviderPathStack, Label: in.label, BaseURL: in.baseURL, APIVersion: in.apiVersion,
		Sub: res.Sub, AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, TokenType: res.TokenType,
		IssuedAt: res.IssuedAt, ExpiresAt: res.ExpiresAt,
	}
	if err := st.PutSession(cmd.Context(), &sess, true); err != nil {
		return fmt.Errorf("save session %q: %w", in.label, err)
	}
	fmt.Fprintf(a.io.out, "logged in: session %q (sub %s, %s)\n", sess.Label, sess.Sub, describeExpiry(sess, a.io.now()))
	return nil
}
