package cli

import (
	"fmt"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

func (a *app) tokenCommand() *cobra.Command {
	var minValid time.Duration
	var format string
	cmd := &cobra.Command{
		Use:   "token LABEL [--format raw|header|json|env]",
		Short: "Print the access token, refreshing first when it is about to expire",
		Long: `Print the session's access token and nothing else, refreshing it first when
less than --min-valid is left, so that scripts always get a working token.

--format chooses the shape: raw (the token alone, the default), header (an
Authorization header line), json (token, type, expiry and the headers to send)
or env (export lines for eval, the variables tokentop exec sets).`,
		Example: `  curl -H "Authorization: Bearer $(tokentop token prod)" https://api.pathstack.io/v1/me
  curl -H "$(tokentop token prod --format header)" https://api.pathstack.io/v1/me
  eval "$(tokentop token prod --format env)"
  export TOKEN=$(tokentop token prod --min-valid 10m)`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(tokenFormats, format) {
				return usagef("--format %q: want raw, header, json or env", format)
			}
			s, err := a.freshSession(cmd, "token", args[0], minValid)
			if err != nil {
				return err
			}
			return writeToken(a.io.out, s, format)
		},
	}
	cmd.Flags().DurationVar(&minValid, "min-valid", 60*time.Second, "refresh first when less than this is left")
	cmd.Flags().StringVar(&format, "format", "raw", "output: raw, header, json or env")
	bindEnv(cmd.Flags(), "min-valid", envMinValid)
	return cmd
}

// envMinValid is the fallback of --min-valid of token, exec and credential-helper.
const envMinValid = "TOKENTOP_MIN_VALID"

// freshSession finds the session named label and returns it with an access
// token valid for at least minValid, refreshed first when needed. verb
// starts the errors ("token \"prod\": …").
func (a *app) freshSession(cmd *cobra.Command, verb, label string, minValid time.Duration) (vault.Session, error) {
	if minValid < 0 {
		return vault.Session{}, usagef("%s: --min-valid must not be negative", a.flagSource(cmd, "min-valid"))
	}
	a.readOnly = true // until a refresh is needed (ensureFresh)
	_, s, err := a.sessionByLabel(cmd.Context(), verb, label)
	if err != nil {
		return vault.Session{}, err
	}
	return a.ensureFresh(cmd, verb, s, minValid)
}

// ensureFresh makes s's access token valid for at least minValid through
// Refresher.EnsureFresh: the one path every command takes to a fresh token
// (single-flight in the process, the vault lease across processes,
// compare-and-swap), so that a hundred callers at once spend the refresh
// token once.
func (a *app) ensureFresh(cmd *cobra.Command, verb string, s vault.Session, minValid time.Duration) (vault.Session, error) {
	ctx := cmd.Context()
	// No refresh can satisfy a --min-valid of the whole lifetime or
	// more: every call would refresh (and rotate) for nothing.
	if life := providers.Lifetime(s); life > 0 && minValid >= life {
		return vault.Session{}, usagef("%s is not shorter than the lifetime of %q's access tokens (%s): no refresh can satisfy it",
			a.flagSource(cmd, "min-valid"), s.Label, humanDuration(life))
	}
	// The same rule as Refresher.EnsureFresh, checked here first so that
	// the usual case (a valid token) builds no HTTP client.
	// A session that needs login and has a remembered one goes to the
	// Refresher too, which logs in again; without one, a token still valid
	// is given, and an expired one is refused with the way out.
	relogin := s.NeedsLogin && s.LoginRemembered != ""
	if !relogin && !providers.Stale(s, a.io.now(), minValid) {
		return s, nil
	}
	if s.NeedsLogin && !relogin {
		return vault.Session{}, fmt.Errorf("%s %q: session needs login (its refresh token was rejected): %s", verb, s.Label, loginHint(s))
	}
	a.readOnly = false // the refresh writes: openVault reopens a read-only vault
	a.handleSignals()  // and a signal must let it finish and save
	r, err := a.refresher(ctx)
	if err != nil {
		return vault.Session{}, err
	}
	label := s.Label
	if s, _, err = r.EnsureFresh(ctx, s.ID, minValid, vault.TriggerCLI); err != nil {
		return vault.Session{}, fmt.Errorf("%s %q: refresh failed: %s", verb, label, oneLine(err))
	}
	return s, nil
}

// loginHint says how to give a session whose refresh token was rejected new
// tokens, for its provider.
func loginHint(s vault.Session) string {
	if s.Provider == vault.ProviderPathStack {
		return fmt.Sprintf("log in again: `tokentop login pathstack --label %s --username …` (or `tokentop add pathstack --label %s --replace` with new tokens)", s.Label, s.Label)
	}
	return fmt.Sprintf("log in again: `tokentop login %s --label %s --base-url %s --username …` or `--api-key-stdin` (or `tokentop add %s --label %s --base-url %s --replace` with new tokens)",
		s.Provider, s.Label, s.BaseURL, s.Provider, s.Label, s.BaseURL)
}
