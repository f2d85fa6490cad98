package cli

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// marginDefault is what --before-expiry holds when given without a value.
const marginDefault = "default"

// scheduleInput is what `tokentop schedule` needs.
type scheduleInput struct {
	args         []string
	beforeExpiry string // "" when not given; marginDefault when given bare
	every        string
	off          bool
	list         bool
	asJSON       bool
}

// scheduleJSON is one schedule in `schedule --json`. Times are RFC 3339.
type scheduleJSON struct {
	Label           string   `json:"label"`
	Spec            string   `json:"spec"` // "before-expiry 2m", "every 30m": what `schedule` reads back
	Mode            string   `json:"mode"`
	MarginSeconds   *float64 `json:"margin_seconds"` // before-expiry: the margin in use
	MarginIsDefault bool     `json:"margin_is_default,omitempty"`
	IntervalSeconds *float64 `json:"interval_seconds"`
	Enabled         bool     `json:"enabled"`
	NextDue         *string  `json:"next_due"` // null: never (off, or the session needs a login)
	Failures        int      `json:"failures"`
	BackoffUntil    *string  `json:"backoff_until"`
	LastError       string   `json:"last_error"`
	NeedsLogin      bool     `json:"needs_login"`
}

func (a *app) scheduleCommand() *cobra.Command {
	var in scheduleInput
	cmd := &cobra.Command{
		Use:   "schedule LABEL --before-expiry [MARGIN] | --every INTERVAL | --off\n  tokentop schedule --list [--json]",
		Short: "Keep a session fresh: refresh it before it expires, or every so often",
		Long: `Schedule a session's refreshes. Schedules are kept in the vault and run
while the dashboard or "tokentop watch" is running (several at once refresh
each session once).

  --before-expiry [MARGIN]  refresh MARGIN before the access token expires;
                            without MARGIN when 10% of its lifetime or 5 minutes
                            are left, whichever is larger, but never more than
                            half its lifetime (a 5-minute token is refreshed
                            2m30s before it expires, not every 5s)
  --every INTERVAL          refresh every INTERVAL (at least 5s)
  --off                     stop refreshing (the schedule is kept, turned off)

Without a flag it shows the session's schedule. A failing refresh is retried
after 5s, 10s, 20s... up to 15 minutes; a refresh token the provider rejects
(401) turns the schedule off until you log in again.`,
		Example: `  tokentop schedule prod --before-expiry          # the default margin
  tokentop schedule prod --before-expiry 2m
  tokentop schedule staging --every 30m
  tokentop schedule staging --off
  tokentop schedule --list
  tokentop watch                                   # run them headless`,
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.args = args
			return a.schedule(cmd.Context(), in)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.beforeExpiry, "before-expiry", "", "refresh MARGIN before expiry (`MARGIN` optional: --before-expiry=2m or LABEL --before-expiry 2m)")
	f.Lookup("before-expiry").NoOptDefVal = marginDefault
	f.StringVar(&in.every, "every", "", "refresh every `INTERVAL` (at least 5s)")
	f.BoolVar(&in.off, "off", false, "turn the schedule off")
	f.BoolVar(&in.list, "list", false, "list every schedule")
	jsonFlag(cmd, &in.asJSON, "print JSON")
	return cmd
}

func (a *app) schedule(ctx context.Context, in scheduleInput) error {
	modes := 0
	for _, set := range []bool{in.beforeExpiry != "", in.every != "", in.off} {
		if set {
			modes++
		}
	}
	if in.list {
		if len(in.args) > 0 || modes > 0 {
			return usagef("schedule --list takes no label and no --before-expiry, --every or --off")
		}
		return a.listSchedules(ctx, in.asJSON)
	}
	if modes > 1 {
		return usagef("give one of --before-expiry, --every or --off")
	}
	label, margin, err := scheduleArgs(in)
	if err != nil {
		return err
	}
	var want vault.Schedule
	switch {
	case in.beforeExpiry != "":
		if margin == "" {
			margin = in.beforeExpiry
		}
		want, err = providers.BeforeExpiry(margin)
	case in.every != "":
		want, err = providers.Every(in.every)
	}
	if err != nil {
		return usageError{err}
	}

	st, s, err := a.sessionByLabel(ctx, "schedule", label)
	if err != nil {
		return err
	}
	old, err := st.GetSchedule(ctx, s.ID)
	hasOld := err == nil
	if err != nil && !errors.Is(err, vault.ErrNotFound) {
		return fmt.Errorf("schedule %q: %w", label, err)
	}
	now := a.io.now()

	switch {
	case modes == 0: // show
		if !hasOld {
			if in.asJSON {
				return writeJSON(a.io.out, nil)
			}
			fmt.Fprintf(a.io.out, "%s: not scheduled (try `tokentop schedule %s --before-expiry`)\n", label, label)
			return nil
		}
		return a.printSchedule(old, s, now, in.asJSON)
	case in.off:
		if !hasOld {
			if in.asJSON {
				return writeJSON(a.io.out, nil)
			}
			fmt.Fprintf(a.io.out, "%s: not scheduled, nothing to turn off\n", label)
			return nil
		}
		old.Enabled, old.NextDue = false, time.Time{}
		if err := st.PutSchedule(ctx, old); err != nil {
			return fmt.Errorf("schedule %q: %w", label, err)
		}
		return a.printSchedule(old, s, now, in.asJSON)
	}

	// A new or changed schedule starts afresh: no failures, no backoff.
	want.SessionID = s.ID
	want.NextDue = providers.NextDue(want, s, now)
	if err := st.PutSchedule(ctx, want); err != nil {
		return fmt.Errorf("schedule %q: %w", label, err)
	}
	if err := a.printSchedule(want, s, now, in.asJSON); err != nil || in.asJSON {
		return err
	}
	if s.NeedsLogin {
		fmt.Fprintf(a.io.out, "note: %s needs a login; the schedule waits until it has fresh tokens\n", label)
	}
	fmt.Fprintln(a.io.out, "schedules run while the dashboard or `tokentop watch` is running")
	return nil
}

// scheduleArgs finds the label, and the margin when it was given as its own
// argument: pflag reads `--before-expiry 2m` as the bare flag and an argument.
func scheduleArgs(in scheduleInput) (label, margin string, err error) {
	switch len(in.args) {
	case 1:
		return in.args[0], "", nil
	case 2:
		if in.beforeExpiry != marginDefault {
			return "", "", usagef("schedule takes one LABEL, got %q", in.args)
		}
		if isDuration(in.args[1]) {
			return in.args[0], in.args[1], nil
		}
		if isDuration(in.args[0]) { // tokentop schedule --before-expiry 2m prod
			return in.args[1], in.args[0], nil
		}
		return "", "", usagef("schedule: %q is not a margin like 90s or 5m", in.args[1])
	case 0:
		return "", "", usagef("schedule needs a session LABEL (or --list)")
	}
	return "", "", usagef("schedule takes one LABEL, got %d arguments", len(in.args))
}

func isDuration(s string) bool {
	_, err := time.ParseDuration(s)
	return err == nil
}

func (a *app) printSchedule(sch vault.Schedule, s vault.Session, now time.Time, asJSON bool) error {
	if asJSON {
		return writeJSON(a.io.out, newScheduleJSON(sch, s, now))
	}
	fmt.Fprintf(a.io.out, "%s: %s\n", s.Label, describeSchedule(sch, s, now))
	return nil
}

// describeSchedule is one line for humans: what, when next, what went wrong.
func describeSchedule(sch vault.Schedule, s vault.Session, now time.Time) string {
	line := scheduleText(sch, s)
	if !sch.Enabled {
		line += " · off"
	} else {
		line += " · next " + nextDueText(sch, s, now)
	}
	if sch.Failures > 0 {
		line += fmt.Sprintf(" · %d failed", sch.Failures)
	}
	if sch.LastError != "" {
		line += " · " + sch.LastError
	}
	return line
}

// scheduleText is the spec, with the margin in use when it is the default.
func scheduleText(sch vault.Schedule, s vault.Session) string {
	if sch.Mode == vault.ScheduleBeforeExpiry && sch.Margin == 0 {
		return fmt.Sprintf("%s (default: %s)", sch.Mode, providers.ShortDuration(providers.EffectiveMargin(sch, s)))
	}
	return providers.FormatScheduleSpec(sch)
}

// nextDueText is "in 3m 10s", "due now", or why never.
func nextDueText(sch vault.Schedule, s vault.Session, now time.Time) string {
	due := providers.NextDue(sch, s, now)
	switch {
	case due.IsZero() && s.NeedsLogin:
		return "- (needs login)"
	case due.IsZero():
		return "-"
	case !due.After(now):
		return "due now"
	}
	return "in " + humanDuration(due.Sub(now))
}

func newScheduleJSON(sch vault.Schedule, s vault.Session, now time.Time) scheduleJSON {
	j := scheduleJSON{
		Label: s.Label, Spec: providers.FormatScheduleSpec(sch), Mode: sch.Mode, Enabled: sch.Enabled,
		NextDue: rfc3339(providers.NextDue(sch, s, now)), Failures: sch.Failures, LastError: sch.LastError,
		NeedsLogin: s.NeedsLogin,
	}
	if sch.Failures > 0 {
		j.BackoffUntil = rfc3339(sch.BackoffUntil)
	}
	seconds := func(d time.Duration) *float64 { v := d.Seconds(); return &v }
	switch sch.Mode {
	case vault.ScheduleBeforeExpiry:
		j.MarginSeconds = seconds(providers.EffectiveMargin(sch, s))
		j.MarginIsDefault = sch.Margin == 0
	case vault.ScheduleEvery:
		j.IntervalSeconds = seconds(sch.Interval)
	}
	return j
}

// listSchedules prints every schedule with its session, by label.
func (a *app) listSchedules(ctx context.Context, asJSON bool) error {
	st, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	schedules, err := st.ListSchedules(ctx)
	if err != nil {
		return err
	}
	sessions, err := st.ListSessions(ctx) // by label, no secrets read
	if err != nil {
		return err
	}
	byID := make(map[int64]vault.Schedule, len(schedules))
	for _, sch := range schedules {
		byID[sch.SessionID] = sch
	}
	now := a.io.now()
	out := make([]scheduleJSON, 0, len(schedules))
	type row struct {
		sch vault.Schedule
		s   vault.Session
	}
	var rows []row
	for _, s := range sessions {
		if sch, ok := byID[s.ID]; ok {
			out = append(out, newScheduleJSON(sch, s, now))
			rows = append(rows, row{sch, s})
		}
	}
	if asJSON {
		return writeJSON(a.io.out, out)
	}
	if len(rows) == 0 {
		fmt.Fprintln(a.io.out, "no schedules yet: try `tokentop schedule LABEL --before-expiry`")
		return nil
	}
	tw := tabwriter.NewWriter(a.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LABEL\tSCHEDULE\tON\tNEXT\tFAILURES\tLAST ERROR")
	for _, r := range rows {
		on := "on"
		if !r.sch.Enabled {
			on = "off"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", r.s.Label, scheduleText(r.sch, r.s), on,
			nextDueText(r.sch, r.s, now), r.sch.Failures, lastErrorText(r.sch, now))
	}
	return tw.Flush()
}

// lastErrorText adds when the next retry is while backing off.
func lastErrorText(sch vault.Schedule, now time.Time) string {
	if sch.LastError == "" {
		return "-"
	}
	if sch.Enabled && sch.Failures > 0 && sch.BackoffUntil.After(now) {
		return sch.LastError + " (retry " + relative(sch.BackoffUntil, now) + ")"
	}
	return sch.LastError
}
