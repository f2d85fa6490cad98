package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
)

// attemptJSON is one attempt in `history --json`.
type attemptJSON struct {
	StartedAt  *string         `json:"started_at"`
	Trigger    string          `json:"trigger"`
	Outcome    string          `json:"outcome"`
	Status     int             `json:"status"`
	DurationMS int64           `json:"duration_ms"`
	Rotated    bool            `json:"rotated"`
	Envelope   json.RawMessage `json:"envelope"`
	Error      string          `json:"error,omitempty"`
	SentFP     string          `json:"refresh_token_sent,omitempty"`
	ReceivedFP string          `json:"refresh_token_received,omitempty"`
}

func (a *app) historyCommand() *cobra.Command {
	var asJSON bool
	var limit int
	cmd := &cobra.Command{
		Use:   "history LABEL",
		Short: "List a session's refresh attempts, newest first",
		Example: `  tokentop history prod
  tokentop history prod --json --limit 5`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, s, err := a.sessionByLabel(ctx, "history", args[0])
			if err != nil {
				return err
			}
			attempts, err := st.ListAttempts(ctx, s.ID, limit)
			if err != nil {
				return err
			}
			if asJSON {
				out := make([]attemptJSON, 0, len(attempts))
				for _, at := range attempts {
					env := at.Envelope
					if len(env) == 0 {
						env = json.RawMessage("null")
					}
					out = append(out, attemptJSON{StartedAt: rfc3339(at.StartedAt), Trigger: at.Trigger, Outcome: at.Outcome,
						Status: at.Status, DurationMS: at.Duration.Milliseconds(), Rotated: at.Rotated, Envelope: env,
						Error: at.Error, SentFP: at.SentFP, ReceivedFP: at.ReceivedFP})
				}
				return writeJSON(a.io.out, out)
			}
			if len(attempts) == 0 {
				fmt.Fprintf(a.io.out, "no refresh attempts for %q yet\n", s.Label)
				return nil
			}
			now := a.io.now()
			tw := tabwriter.NewWriter(a.io.out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tTRIGGER\tOUTCOME\tSTATUS\tTIME\tREFRESH TOKEN\tDETAIL")
			for _, at := range attempts {
				chain := at.SentFP
				if at.Rotated {
					chain += " → " + at.ReceivedFP
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d ms\t%s\t%s\n", stamp(at.StartedAt, now), at.Trigger, at.Outcome,
					statusText(at.Status), at.Duration.Milliseconds(), chain, providers.SafeText(envelopeMessage(at.Envelope, at.Error)))
			}
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most `N` attempts (0: all kept)")
	bindEnv(cmd.Flags(), "limit", "TOKENTOP_HISTORY_LIMIT")
	return cmd
}

func statusText(code int) string {
	if code == 0 {
		return "-"
	}
	return fmt.Sprint(code)
}

// envelopeMessage is the provider's message from a stored envelope, or the error.
func envelopeMessage(raw json.RawMessage, fallback string) string {
	var env struct {
		Message string `json:"message"`
	}
	if len(raw) > 0 && json.Unmarshal(raw, &env) == nil && env.Message != "" {
		return env.Message
	}
	return fallback
}
