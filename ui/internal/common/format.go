package common

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/vault"
)

// Countdown formats a non-negative duration compactly and precisely enough
// for a live countdown: "42s", "41m 12s", "3h 02m", "2d 04h".
func Countdown(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm %02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh %02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	default:
		return fmt.Sprintf("%dd %02dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
	}
}

// Ago formats a past duration coarsely: "12s", "41m", "3h", "2d".
func Ago(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	default:
		return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
	}
}

// Relative says when t is from now: "in 41m 12s", "3h ago", "now".
func Relative(t, now time.Time) string {
	d := t.Sub(now)
	switch {
	case d >= time.Second:
		return "in " + Countdown(d)
	case d <= -time.Second:
		return Ago(-d) + " ago"
	default:
		return "now"
	}
}

// Clock formats t in loc as a time of day, with the date when it is not
// the same day as now.
func Clock(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	lt, ln := t.In(loc), now.In(loc)
	if lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year() {
		return lt.Format("15:04:05")
	}
	return lt.Format("2006-01-02 15:04:05")
}

// Millis formats a duration for timings: "182 ms", "1.24 s", "0.4 ms".
func Millis(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond))
	case d < 10*time.Second:
		if d >= time.Second {
			return fmt.Sprintf("%.2f s", d.Seconds())
		}
		return fmt.Sprintf("%d ms", d.Milliseconds())
	default:
		return fmt.Sprintf("%.1f s", d.Seconds())
	}
}

// Elapsed formats a running duration with tenths: "0.4s", "12.0s", "2m 03s".
func Elapsed(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	return Countdown(d)
}

// ShortClock is Clock in at most 11 cells: "14:32:10", or "01-02 14:32"
// on another day.
func ShortClock(t, now time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	lt, ln := t.In(loc), now.In(loc)
	if lt.YearDay() == ln.YearDay() && lt.Year() == ln.Year() {
		return lt.Format("15:04:05")
	}
	return lt.Format("01-02 15:04")
}

// OutcomeWords is a refresh outcome as words: "network error" for
// network_error, "server error", "rejected", "cancelled", "ok". The
// outcome is read from the vault: the words are Safe.
func OutcomeWords(outcome string) string { return Safe(strings.ReplaceAll(outcome, "_", " ")) }

// TruncateWords shortens plain text (no styling) to width cells, ending
// it with "…" at a word or " · " segment boundary rather than mid-word,
// unless the boundary would waste more than a third of the width (a long
// URL): then it cuts where the width ends.
func TruncateWords(s string, width int) string {
	if width <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= width {
		return s
	}
	cut := ansi.Truncate(s, width-1, "")
	if i := strings.LastIndexByte(cut, ' '); i > 0 && ansi.StringWidth(cut[:i]) >= width*2/3 {
		cut = cut[:i]
	}
	cut = strings.TrimRight(cut, " ·")
	return cut + "…"
}

// DescribeLogin says what a remembered login is, never its secret: "API
// key", "password for ada@example.test".
func DescribeLogin(method, user string) string {
	switch {
	case method == vault.LoginMethodAPIKey:
		return "API key"
	case user == "":
		return "password"
	}
	return "password for " + Safe(user)
}

// ShellQuote quotes s for POSIX shells as one single-quoted word; a quote
// inside closes the quoting, is escaped with a backslash and reopens it.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
