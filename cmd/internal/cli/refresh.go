package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// refreshInput is what `tokentop refresh` needs.
type refreshInput struct {
	labels       []string
	all          bool
	asJSON       bool
	showExchange bool
	reveal       bool
}

// refreshJSON is one refresh in `refresh --json`.
type refreshJSON struct {
	Label      string              `json:"label"`
	Outcome    providers.Outcome   `json:"outcome"`
	Status     int                 `json:"status"`
	DurationMS int64               `json:"duration_ms"`
	ExpiresAt  *string             `json:"expires_at"`
	Rotated    bool                `json:"rotated"`
	Shared     bool                `json:"shared,omitempty"`
	Relogin    bool                `json:"relogin,omitempty"` // rejected, then logged in again with the remembered login
	Envelope   *providers.Envelope `json:"envelope"`
	NeedsLogin bool                `json:"needs_login,omitempty"` // the refresh token was rejected for good
	Error      string              `json:"error,omitempty"`
	Exchange   *providers.Exchange `json:"exchange"`
}

// refreshConcurrency bounds parallel refreshes of `refresh --all`.
const refreshConcurrency = 4

func (a *app) refreshCommand() *cobra.Command {
	var in refreshInput
	cmd := &cobra.Command{
		Use:   "refresh LABEL... | --all",
		Short: "Refresh sessions now and show what the provider answered",
		Example: `  tokentop refresh prod
  tokentop refresh prod --show-exchange          # the request and response, like curl -v
  tokentop refresh --all --json | jq '.[] | {label, outcome}'`,
		ValidArgsFunction: a.completeLabels(true),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.labels = args
			return a.refresh(cmd.Context(), in)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&in.all, "all", false, "refresh every session")
	jsonFlag(cmd, &in.asJSON, "print JSON (an array when several)")
	f.BoolVar(&in.showExchange, "show-exchange", false, "print the request and response (secrets masked)")
	bindEnv(f, "show-exchange", "TOKENTOP_SHOW_EXCHANGE")
	f.BoolVar(&in.reveal, "reveal", false, "do not mask secrets in the printed exchange")
	return cmd
}

func (a *app) refresh(ctx context.Context, in refreshInput) error {
	if in.all == (len(in.labels) > 0) {
		return usagef("give session labels or --all, not both or neither")
	}
	r, err := a.refresher(ctx)
	if err != nil {
		return err
	}
	sessions, err := a.selectSessions(ctx, in.labels)
	if err != nil {
		return err
	}
	reports := make([]*providers.Report, len(sessions))
	errs := make([]error, len(sessions))
	sem := make(chan struct{}, refreshConcurrency)
	var wg sync.WaitGroup
	for i, s := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			reports[i], errs[i] = r.Refresh(ctx, s.ID, vault.TriggerCLI)
		}()
	}
	wg.Wait()

	failed := false
	out := make([]refreshJSON, 0, len(sessions))
	for i, s := range sessions {
		rep, err := reports[i], errs[i]
		if err != nil || rep == nil || rep.Outcome != providers.OutcomeOK {
			failed = true
		}
		if err != nil && rep == nil {
			fmt.Fprintf(a.io.err, "tokentop: refresh %q: %s\n", s.Label, oneLine(err))
			continue
		}
		j := toRefreshJSON(s.Label, rep, in.reveal)
		if j.NeedsLogin { // on stderr: stdout stays the result alone
			fmt.Fprintf(a.io.err, "tokentop: %s needs login (its refresh token was rejected): %s\n", s.Label, loginHint(rep.Session))
		}
		if in.asJSON {
			out = append(out, j)
			continue
		}
		if in.showExchange && rep.Exchange != nil {
			ex := rep.Exchange
			if !in.reveal {
				ex = ex.Redacted()
			}
			ex.Format(a.io.out, in.reveal)
		}
		printRefresh(a.io.out, j, rep.Session, a.io.now())
	}
	if in.asJSON {
		var err error
		if len(in.labels) == 1 && len(out) == 1 {
			err = writeJSON(a.io.out, out[0])
		} else {
			err = writeJSON(a.io.out, out)
		}
		if err != nil {
			return err
		}
	}
	if failed {
		return exitError{exitFailed}
	}
	return nil
}

// selectSessions resolves labels (all sessions when none), failing on the
// first unknown label before anything is refreshed.
func (a *app) selectSessions(ctx context.Context, labels []string) ([]vault.Session, error) {
	st, err := a.openVault(ctx)
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return st.ListSessions(ctx)
	}
	out := make([]vault.Session, 0, len(labels))
	for _, l := range labels {
		s, err := st.GetSessionByLabel(ctx, l)
		if err != nil {
			return nil, fmt.Errorf("refresh %q: %w", l, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func toRefreshJSON(label string, rep *providers.Report, reveal bool) refreshJSON {
	j := refreshJSON{
		Label: label, Outcome: rep.Outcome, Status: rep.Status, DurationMS: rep.Attempt.Duration.Milliseconds(),
		Rotated: rep.Rotated, Shared: rep.Shared, Relogin: rep.Relogin, Envelope: rep.Envelope, ExpiresAt: rfc3339(rep.Session.ExpiresAt),
		NeedsLogin: rep.Outcome != providers.OutcomeOK && rep.Session.NeedsLogin,
	}
	if rep.Err != nil {
		j.Error = oneLine(rep.Err)
	}
	if rep.Exchange != nil {
		j.Exchange = rep.Exchange
		if !reveal {
			j.Exchange = rep.Exchange.Redacted()
		}
	}
	return j
}

// printRefresh writes the human summary of one refresh.
func printRefresh(w io.Writer, j refreshJSON, s vault.Session, now time.Time) {
	parts := []string{string(j.Outcome)}
	if j.Status != 0 {
		parts = append(parts, fmt.Sprint(j.Status))
	}
	parts = append(parts, fmt.Sprintf("%d ms", j.DurationMS))
	if j.Outcome == providers.OutcomeOK {
		parts = append(parts, describeExpiry(s, now))
		switch {
		case j.Relogin:
			parts = append(parts, "the refresh token was rejected: logged in again with the remembered login")
		case j.Shared:
			parts = append(parts, "refreshed by another tokentop")
		case j.Rotated:
			parts = append(parts, "refresh token rotated")
		default:
			parts = append(parts, "refresh token kept")
		}
		if j.Error != "" { // e.g. the new tokens went to recovery
			parts = append(parts, providers.SafeText(j.Error))
		}
	} else if j.Envelope != nil && j.Envelope.Message != "" {
		parts = append(parts, providers.SafeText(j.Envelope.Message))
		if i := strings.Index(j.Error, providers.ErrAnswerLost.Error()); i >= 0 {
			parts = append(parts, providers.SafeText(j.Error[i:])) // why the provider said no
		}
	} else if j.Error != "" {
		parts = append(parts, providers.SafeText(j.Error))
	}
	fmt.Fprintf(w, "%s: %s\n", j.Label, strings.Join(parts, " · "))
	if j.Envelope != nil {
		for _, f := range j.Envelope.Fields {
			fmt.Fprintf(w, "  field %s: %s", providers.SafeText(locString(f.Loc)), providers.SafeText(f.Msg))
			if f.Type != "" {
				fmt.Fprintf(w, " (%s)", providers.SafeText(f.Type))
			}
			fmt.Fprintln(w)
		}
	}
}

func locString(loc []any) string {
	parts := make([]string, len(loc))
	for i, l := range loc {
		parts[i] = fmt.Sprint(l)
	}
	return strings.Join(parts, ".")
}

func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
