package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

func (a *app) tokenCommand() *cobra.Command {
	var minValid time.Duration
	cmd := &cobra.Command{
		Use:   "token LABEL",
		Short: "Print the access token, refreshing first when it is about to expire",
		Long: `Print the session's access token and nothing else, refreshing it first when
less than --min-valid is left, so that scripts always get a working token.`,
		Example: `  curl -H "Authorization: Bearer $(tokentop token prod)" https://api.pathstack.io/v1/me
  export TOKEN=$(tokentop token prod --min-valid 10m)`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if minValid < 0 {
				return usagef("%s: --min-valid must not be negative", a.flagSource(cmd, "min-valid"))
			}
			_, s, err := a.sessionByLabel(ctx, "token", args[0])
			if err != nil {
				return err
			}
			// No refresh can satisfy a --min-valid of the whole lifetime or
			// more: every call would refresh (and rotate) for nothing.
			if life := s.ExpiresAt.Sub(s.IssuedAt); !s.IssuedAt.IsZero() && !s.ExpiresAt.IsZero() && life > 0 && minValid >= life {
				return usagef("%s is not shorter than the lifetime of %q's access tokens (%s): no refresh can satisfy it",
					a.flagSource(cmd, "min-valid"), args[0], humanDuration(life))
			}
			// The same rule as Refresher.EnsureFresh, checked here first so that
			// the usual case (a valid token) builds no HTTP client.
			fresh := !providers.Stale(s, a.io.now(), minValid)
			if !fresh && s.NeedsLogin {
				return fmt.Errorf("token %q: session needs login (its refresh token was rejected): %s", args[0], loginHint(s))
			}
			if !fresh {
				r, err := a.refresher(ctx)
				if err != nil {
					return err
				}
				if s, _, err = r.EnsureFresh(ctx, s.ID, minValid, vault.TriggerCLI); err != nil {
					return fmt.Errorf("token %q: refresh failed: %s", args[0], oneLine(err))
				}
			}
			_, err = fmt.Fprintln(a.io.out, s.AccessToken)
			return err
		},
	}
	cmd.Flags().DurationVar(&minValid, "min-valid", 60*time.Second, "refresh first when less than this is left")
	bindEnv(cmd.Flags(), "min-valid", "TOKENTOP_MIN_VALID")
	return cmd
}

// loginHint says how to give a session whose refresh token was rejected new
// tokens, for its provider.
func loginHint(s vault.Session) string {
	if s.Provider == vault.ProviderPathStack {
		return fmt.Sprintf("log in again: `tokentop login pathstack --label %s --username …` (or `tokentop add pathstack --label %s --replace` with new tokens)", s.Label, s.Label)
	}
	return fmt.Sprintf("log in again and give the new tokens: `tokentop add %s --label %s --base-url %s --replace`", s.Provider, s.Label, s.BaseURL)
}
