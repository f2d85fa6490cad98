package cli

import (
	"encoding/json"
	"fmt"
	"strings"
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
	Owner      string          `json:"owner,omitempty"` // the lease owner that made it: host-pid-random
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
						Error: at.Error, SentFP: at.SentFP, ReceivedFP: at.ReceivedFP, Owner: at.Owner})
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
				if chain == "" {
					chain = "-" // a recovery restored with no refresh recorded as sent
				}
				if at.Rotated {
					chain += " → " + at.ReceivedFP
				}
				detail := envelopeMessage(at.Envelope, at.Error)
				if at.Owner != "" && ownerMatters(at.Outcome) {
					detail += " (by " + at.Owner + ")"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d ms\t%s\t%s\n", stamp(at.StartedAt, now), at.Trigger, at.Outcome,
					statusText(at.Status), at.Duration.Milliseconds(), chain, providers.SafeText(detail))
			}
			return tw.Flush()
		},
	}
	jsonFlag(cmd, &asJSON, "print JSON")
	cmd.Flags().IntVar(&limit, "limit", 20, "show at most `N` attempts (0: all kept)")
	bindEnv(cmd.Flags(), "limit", "TOKENTOP_HISTORY_LIMIT")
	return cmd
}

// ownerMatters: outcomes whose line names the process that made the attempt
// (a refresh whose answer was lost, tokens restored or not saved), since
// another process may have to be looked at.
func ownerMatters(outcome string) bool {
	switch providers.Outcome(outcome) {
	case providers.OutcomeInterrupted, providers.OutcomeRecovered, providers.OutcomeNotSaved:
		return true
	}
	return false
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
		if i := strings.Index(fallback, providers.ErrAnswerLost.Error()); i >= 0 {
			// A 401 after a lost answer: the explanation matters more than the message.
			return env.Message + ": " + fallback[i:]
		}
		return env.Message
	}
	return fallback
}
