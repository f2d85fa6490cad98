package providers

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Schedule timing. These are pure functions of a schedule, its session and a
// clock, so that every process (the dashboard, each `tokentop watch`)
// computes the same due time from the same vault rows, and the UI can show
// a countdown without asking the Scheduler.
const (
	// MinRefreshGap is the 5 s floor: a scheduled refresh is never due
	// sooner than this after the session's previous refresh, whatever the
	// margin or the token's lifetime (a margin longer than the lifetime
	// would otherwise refresh in a loop).
	MinRefreshGap = 5 * time.Second
	// MinInterval is the shortest `every` interval accepted.
	MinInterval = MinRefreshGap
	// UnknownExpiryInterval paces before-expiry schedules of sessions whose
	// expiry is unknown (an opaque token and no expires_in): due at once,
	// to learn it, then at most this often.
	UnknownExpiryInterval = 5 * time.Minute
	// BackoffBase is the wait after the first failure; it doubles with each
	// further consecutive failure, up to BackoffCap.
	BackoffBase = 5 * time.Second
	// BackoffCap is the longest wait between failed attempts.
	BackoffCap = 15 * time.Minute
	// BackoffJitter spreads retries by ±20% so that many sessions failing
	// together (a server down) do not retry together.
	BackoffJitter = 0.2
)

// DefaultMargin is the before-expiry margin used when a schedule sets none:
// 10% of the token's lifetime or 5 minutes, whichever is larger, but never
// more than half the lifetime: min(max(lifetime/10, 5m), lifetime/2). The
// cap departs from issue 5's plain max(10%, 5 min) on purpose and only
// matters for lifetimes under 10 minutes: a 5-minute token (common in
// development) would otherwise be due the moment it is issued and be
// refreshed every 5 s (the MinRefreshGap floor); capped, it is refreshed
// halfway, 2m30s before it expires. An unknown lifetime (<= 0) gets 5
// minutes. It is vault.ExpiringWindow, the dashboard's "expiring" window, so
// a scheduled session is refreshed as it turns "expiring".
func DefaultMargin(lifetime time.Duration) time.Duration {
	return vault.ExpiringWindow(lifetime)
}

// Lifetime is the session's access token lifetime (ExpiresAt - IssuedAt),
// 0 when either is unknown. It is rounded to the second: iat has seconds
// only, while an expiry from expires_in carries the milliseconds of the
// moment it was received.
func Lifetime(s vault.Session) time.Duration {
	if s.ExpiresAt.IsZero() || s.IssuedAt.IsZero() || !s.ExpiresAt.After(s.IssuedAt) {
		return 0
	}
	return s.ExpiresAt.Sub(s.IssuedAt).Round(time.Second)
}

// EffectiveMargin is the margin a before-expiry schedule uses for s: its own,
// or DefaultMargin of the session's lifetime when it sets none.
func EffectiveMargin(sch vault.Schedule, s vault.Session) time.Duration {
	if sch.Margin > 0 {
		return sch.Margin
	}
	return DefaultMargin(Lifetime(s))
}

// NextDue is when the schedule next refreshes s. The zero time means never:
// the schedule is disabled or the session needs a login (it resumes once the
// session is logged in again). A time at or before now means due now.
//
//   - before-expiry: ExpiresAt - margin (the schedule's, or DefaultMargin:
//     max(10% of the lifetime, 5 min), at most half the lifetime). Unknown
//     expiry: now if the session was never refreshed, else LastRefreshAt +
//     UnknownExpiryInterval.
//   - every: the last time tokens were obtained (LastRefreshAt, or IssuedAt
//     when later) + Interval; now when neither is known.
//
// Then the 5 s floor (never sooner than LastRefreshAt + MinRefreshGap) and,
// after failures, never before BackoffUntil.
func NextDue(sch vault.Schedule, s vault.Session, now time.Time) time.Time {
	if !sch.Enabled || s.NeedsLogin {
		return time.Time{}
	}
	var due time.Time
	switch sch.Mode {
	case vault.ScheduleEvery:
		anchor := s.LastRefreshAt
		if s.IssuedAt.After(anchor) {
			anchor = s.IssuedAt
		}
		if anchor.IsZero() {
			due = now
		} else {
			due = anchor.Add(max(sch.Interval, MinInterval))
		}
	case vault.ScheduleBeforeExpiry:
		switch {
		case !s.ExpiresAt.IsZero():
			due = s.ExpiresAt.Add(-EffectiveMargin(sch, s))
		case s.LastRefreshAt.IsZero():
			due = now
		default:
			due = s.LastRefreshAt.Add(UnknownExpiryInterval)
		}
	default:
		return time.Time{} // an unknown mode never runs (the vault refuses to store one)
	}
	if !s.LastRefreshAt.IsZero() {
		due = later(due, s.LastRefreshAt.Add(MinRefreshGap))
	}
	if sch.Failures > 0 {
		due = later(due, sch.BackoffUntil)
	}
	return due
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Backoff is the wait after the given number of consecutive failures:
// BackoffBase doubling with each failure, jittered by ±BackoffJitter with
// rnd in [0, 1) (0.5: no jitter), and never more than BackoffCap. Zero for
// no failures.
func Backoff(failures int, rnd float64) time.Duration {
	if failures <= 0 {
		return 0
	}
	base := BackoffCap
	if failures <= 20 { // 5 s << 20 is far past the cap; avoids overflow
		base = min(BackoffBase<<(failures-1), BackoffCap)
	}
	rnd = math.Min(math.Max(rnd, 0), 1)
	d := time.Duration(float64(base) * (1 - BackoffJitter + 2*BackoffJitter*rnd))
	return min(d, BackoffCap)
}

// ParseScheduleSpec reads a schedule as written on the command line or in the
// dashboard's editor: "before-expiry", "before-expiry 2m", "every 30m". The
// result has Mode, Margin or Interval set and Enabled true; the caller fills
// SessionID. Wrapped vault.ErrInvalidSchedule on a bad spec.
func ParseScheduleSpec(spec string) (vault.Schedule, error) {
	fields := strings.Fields(spec)
	if len(fields) == 0 || len(fields) > 2 {
		return vault.Schedule{}, fmt.Errorf("%w: want \"before-expiry [MARGIN]\" or \"every INTERVAL\", got %q", vault.ErrInvalidSchedule, spec)
	}
	var arg string
	if len(fields) == 2 {
		arg = fields[1]
	}
	switch fields[0] {
	case vault.ScheduleBeforeExpiry:
		return BeforeExpiry(arg)
	case vault.ScheduleEvery:
		if arg == "" {
			return vault.Schedule{}, fmt.Errorf("%w: every needs an interval, e.g. \"every 30m\"", vault.ErrInvalidSchedule)
		}
		return Every(arg)
	}
	return vault.Schedule{}, fmt.Errorf("%w: unknown kind %q (want before-expiry or every)", vault.ErrInvalidSchedule, fields[0])
}

// BeforeExpiry builds a before-expiry schedule; margin "" or "default" means
// the default margin, else a positive Go duration ("90s", "2m").
func BeforeExpiry(margin string) (vault.Schedule, error) {
	sch := vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Enabled: true}
	if margin == "" || margin == "default" {
		return sch, nil
	}
	d, err := time.ParseDuration(margin)
	if err != nil || d <= 0 {
		return vault.Schedule{}, fmt.Errorf("%w: margin %q is not a positive duration like 90s or 5m", vault.ErrInvalidSchedule, margin)
	}
	sch.Margin = d.Round(time.Millisecond) // what the vault keeps
	return sch, nil
}

// Every builds an every schedule; interval is a Go duration of at least
// MinInterval.
func Every(interval string) (vault.Schedule, error) {
	d, err := time.ParseDuration(interval)
	if err != nil {
		return vault.Schedule{}, fmt.Errorf("%w: interval %q is not a duration like 30m or 1h", vault.ErrInvalidSchedule, interval)
	}
	if d < MinInterval {
		return vault.Schedule{}, fmt.Errorf("%w: interval %s is shorter than the minimum %s", vault.ErrInvalidSchedule, d, MinInterval)
	}
	return vault.Schedule{Mode: vault.ScheduleEvery, Interval: d.Round(time.Millisecond), Enabled: true}, nil
}

// FormatScheduleSpec writes a schedule the way ParseScheduleSpec reads it:
// "before-expiry" (default margin), "before-expiry 2m", "every 30m".
func FormatScheduleSpec(sch vault.Schedule) string {
	switch sch.Mode {
	case vault.ScheduleBeforeExpiry:
		if sch.Margin > 0 {
			return sch.Mode + " " + ShortDuration(sch.Margin)
		}
		return sch.Mode
	case vault.ScheduleEvery:
		return sch.Mode + " " + ShortDuration(sch.Interval)
	}
	return sch.Mode
}

// ShortDuration is time.Duration.String without zero units: "5m", "1h30m",
// "2s", "1.5s".
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
