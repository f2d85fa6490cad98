package detail

import (
	"fmt"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// scheduleLines describe the session's schedule: what it is, when it next
// refreshes (a live countdown computed with providers.NextDue from the
// clock of the last tick, never read from the vault), and what went wrong.
func (m Model) scheduleLines() []string {
	sch, s := m.schedule, m.session
	if sch == nil {
		return m.kv("schedule", m.styles.Muted.Render("none · s sets one"))
	}
	var out []string
	kv := func(k, v string) { out = append(out, m.kv(k, v)...) }

	what := common.Safe(providers.FormatScheduleSpec(*sch)) // an unknown mode is the vault's text
	if sch.Mode == vault.ScheduleBeforeExpiry && sch.Margin <= 0 {
		what += " · margin " + providers.ShortDuration(providers.EffectiveMargin(*sch, s)) + " (default)"
	}
	switch {
	case providers.DisabledForLogin(*sch):
		kv("schedule", m.styles.Value.Render(what)+m.styles.Warn.Render(" · disabled: needs login"))
	case !sch.Enabled:
		kv("schedule", m.styles.Muted.Render(what+" · off"))
	default:
		kv("schedule", m.styles.Value.Render(what))
		kv("next", m.nextDue(*sch, s))
	}
	if sch.Failures > 0 {
		f := fmt.Sprintf("%d in a row", sch.Failures)
		if sch.Failures == 1 {
			f = "1"
		}
		line := m.styles.Warn.Render(f)
		if sch.Enabled && sch.BackoffUntil.After(m.now) {
			line += m.styles.Value.Render(" · backing off until " + m.when(sch.BackoffUntil))
		}
		kv("failures", line)
	}
	if sch.LastError != "" {
		kv("error", m.styles.Error.Render(common.Safe(sch.LastError)))
	}
	return out
}

// nextDue is when the schedule refreshes next, counting down.
func (m Model) nextDue(sch vault.Schedule, s vault.Session) string {
	due := providers.NextDue(sch, s, m.now)
	switch {
	case due.IsZero() && s.NeedsLogin:
		return m.styles.Warn.Render("paused: the session needs a login")
	case due.IsZero():
		return m.styles.Muted.Render("never")
	case !due.After(m.now.Add(time.Second / 2)):
		return m.styles.Value.Render("due now")
	}
	next := m.when(due)
	if sch.Failures > 0 && due.Equal(sch.BackoffUntil) {
		next += " · a retry"
	}
	return m.styles.Value.Render(next)
}
