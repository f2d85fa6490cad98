package main

import (
	"fmt"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// humanDuration renders a duration the way the dashboard does: "41m 12s",
// "3h 02m", "2d 4h".
func humanDuration(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	}
}

// relative says "in 41m 12s" or "3h 02m ago".
func relative(t, now time.Time) string {
	if t.After(now) {
		return "in " + humanDuration(t.Sub(now))
	}
	return humanDuration(now.Sub(t)) + " ago"
}

// timeLeft is the LEFT column of ls.
func timeLeft(s vault.Session, now time.Time) string {
	switch {
	case s.ExpiresAt.IsZero():
		return "-"
	case !s.ExpiresAt.After(now):
		return "expired " + humanDuration(now.Sub(s.ExpiresAt)) + " ago"
	default:
		return humanDuration(s.ExpiresAt.Sub(now))
	}
}

// describeExpiry is a short phrase for confirmations.
func describeExpiry(s vault.Session, now time.Time) string {
	if s.ExpiresAt.IsZero() {
		return "expiry unknown"
	}
	if !s.ExpiresAt.After(now) {
		return "expired " + relative(s.ExpiresAt, now)
	}
	return "expires " + relative(s.ExpiresAt, now)
}

// rfc3339 is a time for JSON output: RFC 3339 or null.
func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}
