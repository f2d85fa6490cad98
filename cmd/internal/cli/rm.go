package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func (a *app) rmCommand() *cobra.Command {
	var yes bool
	cmd := &cobra.Command{
		Use:               "rm LABEL",
		Short:             "Delete a session and its history",
		Example:           "  tokentop rm old-staging\n  tokentop rm old-staging --yes   # no question (scripts)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		SuggestFor:        []string{"remove", "delete"},
		RunE: func(cmd *cobra.Command, args []string) error {
			label := args[0]
			st, s, err := a.sessionByLabel(cmd.Context(), "rm", label)
			if err != nil {
				return err
			}
			if !yes {
				if a.io.tty == nil {
					return usagef("rm %q: stdin is not a terminal; pass --yes to delete without asking", label)
				}
				ans, err := a.promptLine(fmt.Sprintf("Delete %s session %q and its history? [y/N] ", s.Provider, label))
				if err != nil {
					return err
				}
				if ans = strings.ToLower(ans); ans != "y" && ans != "yes" {
					fmt.Fprintln(a.io.err, "not deleted")
					return exitError{exitFailed}
				}
			}
			if err := st.DeleteSession(cmd.Context(), s.ID); err != nil {
				return fmt.Errorf("rm %q: %w", label, err)
			}
			fmt.Fprintf(a.io.out, "deleted %q\n", label)
			return nil
		},
	}
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}
