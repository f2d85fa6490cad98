package cli

import (
	"strconv"
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
	// strconv, not fmt: ls formats one or two per session.
	var b [24]byte
	out := b[:0]
	switch {
	case d < time.Minute:
		out = append(strconv.AppendInt(out, int64(d.Seconds()), 10), 's')
	case d < time.Hour:
		out = append(strconv.AppendInt(out, int64(d.Minutes()), 10), "m "...)
		out = append(twoDigits(out, int64(d.Seconds())%60), 's')
	case d < 48*time.Hour:
		out = append(strconv.AppendInt(out, int64(d.Hours()), 10), "h "...)
		out = append(twoDigits(out, int64(d.Minutes())%60), 'm')
	default:
		out = append(strconv.AppendInt(out, int64(d.Hours())/24, 10), "d "...)
		out = append(strconv.AppendInt(out, int64(d.Hours())%24, 10), 'h')
	}
	return string(out)
}

// twoDigits appends n (0-99) as two digits, as %02d does.
func twoDigits(b []byte, n int64) []byte {
	return append(b, byte('0'+n/10), byte('0'+n%10))
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
