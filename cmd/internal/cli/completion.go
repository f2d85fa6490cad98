package cli

import (
	"io"
	"slices"

	"github.com/spf13/cobra"
)

// completeLabels completes session labels for commands that take them
// (`tokentop show <TAB>`). It never creates a vault, never prompts (a
// passphrase vault completes only with TOKENTOP_PASSPHRASE set) and never
// prints: a completion that fails offers nothing.
func (a *app) completeLabels(many bool) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !many {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		a.io.tty, a.io.err = nil, io.Discard
		if a.applyEnv(cmd) != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		if a.vaultNeedsPostgresProgram() {
			// The flags are parsed by now (not yet in PersistentPreRunE,
			// for __complete) and nothing is printed: the program that
			// can open the vault answers in this one's place.
			_ = a.execProgram(forPostgres)
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		st, err := a.openVault(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		sessions, err := st.ListSessions(cmd.Context())
		if err != nil {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, s := range sessions {
			if !slices.Contains(args, s.Label) {
				out = append(out, cobra.CompletionWithDesc(s.Label, s.Provider+" · "+string(s.State(a.io.now()))))
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
