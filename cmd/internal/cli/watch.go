package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// watchInput is what `tokentop watch` needs.
type watchInput struct {
	asJSON      bool
	concurrency int
}

// watchLineJSON is one refresh in `watch --json`, one object per line.
type watchLineJSON struct {
	Time       string  `json:"time"`
	Label      string  `json:"label"`
	Trigger    string  `json:"trigger"`
	Outcome    string  `json:"outcome"` // a refresh outcome, or "error" when no request was made
	Status     int     `json:"status"`
	DurationMS int64   `json:"duration_ms"`
	ExpiresAt  *string `json:"expires_at"`
	Rotated    bool    `json:"rotated"`
	Shared     bool    `json:"shared,omitempty"`  // another tokentop refreshed it; no request from here
	Relogin    bool    `json:"relogin,omitempty"` // the refresh token was rejected; logged in again with the remembered login
	NextDue    *string `json:"next_due"`          // null: the schedule is off
	Failures   int     `json:"failures"`
	Disabled   bool    `json:"disabled,omitempty"` // this refresh turned the schedule off
	Error      string  `json:"error,omitempty"`
}

func (a *app) watchCommand() *cobra.Command {
	var in watchInput
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Run the schedules headless until interrupted",
		Long: `Run every enabled schedule (see "tokentop schedule") until SIGINT or SIGTERM,
printing one line per refresh. Schedules changed meanwhile (by the dashboard or
"tokentop schedule") are picked up within a few seconds. Several watchers, and
the dashboard, can run on one vault: each due session is refreshed once.

On a signal it stops taking new work, lets the refreshes in flight finish and
save their tokens, and exits 0.`,
		Example: `  tokentop watch
  tokentop watch --json | jq -c 'select(.outcome != "ok")'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.watch(cmd.Context(), in)
		},
	}
	f := cmd.Flags()
	jsonFlag(cmd, &in.asJSON, "print one JSON object per refresh, one per line")
	f.IntVar(&in.concurrency, "concurrency", providers.DefaultSchedulerConcurrency, "refresh at most `N` sessions at once")
	bindEnv(f, "concurrency", "TOKENTOP_CONCURRENCY")
	return cmd
}

func (a *app) watch(ctx context.Context, in watchInput) error {
	if in.concurrency < 1 {
		return usagef("--concurrency must be at least 1, got %d", in.concurrency)
	}
	r, err := a.refresher(ctx)
	if err != nil {
		return err
	}
	defer watchGC(os.Getenv("GOGC"))()
	st := a.store
	schedules, err := st.ListSchedules(ctx)
	if err != nil {
		return err
	}
	a.watchBanner(schedules)

	var refreshes, failures int
	sched := providers.NewScheduler(st, r, providers.SchedulerOptions{
		Concurrency: in.concurrency,
		Now:         a.io.now,
		OnResult: func(res providers.ScheduledResult) { // serialised by the Scheduler
			line := newWatchLine(res, a.io.now())
			refreshes++
			if line.Outcome != string(providers.OutcomeOK) {
				failures++
			}
			if in.asJSON {
				writeJSONLine(a.io.out, line)
			} else {
				printWatchLine(a.io.out, line, a.io.now())
			}
		},
		OnError: func(err error) {
			fmt.Fprintf(a.io.err, "tokentop watch: %s\n", oneLine(err))
		},
	})
	if err := sched.Run(ctx); err != nil {
		return err
	}
	fmt.Fprintf(a.io.err, "tokentop watch: stopped after %d refreshes (%d failed)\n", refreshes, failures)
	return nil
}

// watchGCPercent is the garbage collector's target during `watch` (GOGC=400).
// watch keeps little (under 1 MB live over 1,000 sessions) and allocates a
// lot for it (some 80 KB a refresh: HTTP, JSON, SQLite rows), so at the
// default GOGC=100 the collector runs at its 4 MB floor: some 60 times a
// second at 1,400 refreshes/s. At 400 the floor is 16 MB, and watch spends
// 10-14% less CPU per refresh (BenchmarkWatchThroughput, interleaved runs:
// medians 0.77 against 0.69 ms over 14 runs each; 0.75 against 0.65 in 5
// pairs that set GOGC by hand). The heap it allows grows with what
// watch keeps, five times it instead of twice: 37 MB resident instead of
// 25 MB watching 200 sessions.
const watchGCPercent = 400

// watchGC sets the collector's target to watchGCPercent for a watch, unless
// gogc (the environment's GOGC) chose one, and returns what undoes it.
func watchGC(gogc string) (restore func()) {
	if gogc != "" {
		return func() {}
	}
	old := debug.SetGCPercent(watchGCPercent)
	return func() { debug.SetGCPercent(old) }
}

// watchBanner says on stderr what is being watched.
func (a *app) watchBanner(schedules []vault.Schedule) {
	on := 0
	for _, sch := range schedules {
		if sch.Enabled {
			on++
		}
	}
	switch {
	case on == 0:
		fmt.Fprintf(a.io.err, "tokentop watch: no schedules on yet (%d off); waiting for `tokentop schedule LABEL --before-expiry`. Ctrl-C to stop.\n",
			len(schedules)-on)
	default:
		fmt.Fprintf(a.io.err, "tokentop watch: watching %d scheduled %s (%d off). Ctrl-C to stop.\n",
			on, plural(on, "session", "sessions"), len(schedules)-on)
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func newWatchLine(res providers.ScheduledResult, now time.Time) watchLineJSON {
	l := watchLineJSON{
		Time: now.Format(time.RFC3339), Label: res.Label, Trigger: vault.TriggerScheduled, Outcome: "error",
		NextDue: rfc3339(res.NextDue), Failures: res.Schedule.Failures, Disabled: res.Disabled,
	}
	if rep := res.Report; rep != nil {
		l.Outcome, l.Status, l.DurationMS = string(rep.Outcome), rep.Status, rep.Attempt.Duration.Milliseconds()
		l.Rotated, l.Shared, l.Relogin = rep.Rotated, rep.Shared, rep.Relogin
		if rep.Outcome == providers.OutcomeOK && rep.Err == nil {
			l.ExpiresAt = rfc3339(rep.Session.ExpiresAt)
		}
	}
	switch {
	case res.Report != nil && res.Report.Attempt.Error != "":
		l.Error = res.Report.Attempt.Error
	case res.Err != nil:
		l.Error = oneLine(res.Err)
	}
	if l.Outcome == string(providers.OutcomeOK) && l.Error != "" {
		l.Outcome = "error" // refreshed, but the tokens went to recovery
	}
	return l
}

// printWatchLine writes one refresh for humans:
// "2025-03-01T12:00:04Z prod: ok · 200 · 182 ms · expires 12:00:10 (in 6s) · next in 4s".
func printWatchLine(w io.Writer, l watchLineJSON, now time.Time) {
	parts := []string{l.Outcome}
	if l.Status != 0 {
		parts = append(parts, fmt.Sprint(l.Status))
	}
	if l.Shared {
		parts = append(parts, "refreshed by another tokentop")
	} else if l.Outcome != "error" || l.Status != 0 {
		parts = append(parts, fmt.Sprintf("%d ms", l.DurationMS))
	}
	if l.Relogin {
		parts = append(parts, "refresh token rejected: logged in again with the remembered login")
	}
	if l.ExpiresAt != nil {
		parts = append(parts, "expires "+clockTime(*l.ExpiresAt, now))
	}
	if l.Error != "" {
		parts = append(parts, l.Error)
	}
	switch {
	case l.Disabled:
		parts = append(parts, "schedule turned off: log in again, then `tokentop schedule "+l.Label+" ...`")
	case l.NextDue == nil:
		parts = append(parts, "schedule off")
	case l.Failures > 0:
		parts = append(parts, fmt.Sprintf("retry %s (failure %d)", clockTime(*l.NextDue, now), l.Failures))
	default:
		parts = append(parts, "next "+clockTime(*l.NextDue, now))
	}
	fmt.Fprintf(w, "%s %s [%s]: %s\n", l.Time, l.Label, l.Trigger, strings.Join(parts, " · "))
}

// clockTime renders an RFC 3339 time as "15:04:05 (in 4s)".
func clockTime(rfc string, now time.Time) string {
	t, err := time.Parse(time.RFC3339, rfc)
	if err != nil {
		return rfc
	}
	return t.In(now.Location()).Format("15:04:05") + " (" + relative(t, now) + ")"
}

// writeJSONLine writes v as one compact line (for streams such as watch --json).
func writeJSONLine(w io.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return // plain data: cannot fail
	}
	b = append(providers.SafeJSON(b), '\n')
	_, _ = w.Write(b)
}
