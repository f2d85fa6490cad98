package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
)

func (a *app) forgetCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "forget LABEL",
		Short: "Drop the login (password or API key) remembered for a session",
		Long: `Drop the password or API key that login --remember keeps for the session.
The session and its tokens stay; when the provider rejects its refresh token,
it needs a login by hand again.`,
		Example:           "  tokentop forget acme",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, s, err := a.sessionByLabel(cmd.Context(), "forget", args[0])
			if err != nil {
				return err
			}
			label := providers.SafeText(s.Label)
			if s.LoginRemembered == "" {
				_, err := fmt.Fprintf(a.io.out, "no login is remembered for %q: nothing to forget\n", label)
				return err
			}
			if err := st.ForgetLogin(cmd.Context(), s.ID); err != nil {
				return fmt.Errorf("forget %q: %w", s.Label, err)
			}
			_, err = fmt.Fprintf(a.io.out, "forgot the login remembered for %q (%s); its tokens are kept\n",
				label, providers.SafeText(describeLogin(s.LoginRemembered, s.LoginUser)))
			return err
		},
	}
}
