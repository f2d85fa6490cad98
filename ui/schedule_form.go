package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/ui/internal/toast"
	"github.com/tokentop/tokentop/vault"
)

// The schedule editor: its form id, fields, and the kind that turns the
// schedule off.
const (
	formSchedule = "schedule"
	fKind        = "kind"
	fMargin      = "margin"
	fInterval    = "interval"
	kindOff      = "off"
)

// openScheduleForm edits the schedule of session s: kind (before expiry,
// every, off), then the margin or the interval.
func (m *Model) openScheduleForm(s vault.Session) {
	kind, margin, interval := vault.ScheduleBeforeExpiry, "", ""
	if cur, ok := m.list.Schedule(s.ID); ok {
		kind = cur.Mode
		if !cur.Enabled {
			kind = kindOff
		}
		if cur.Margin > 0 {
			margin = providers.ShortDuration(cur.Margin)
		}
		if cur.Interval > 0 {
			interval = providers.ShortDuration(cur.Interval)
		}
	}
	f := form.New(formSchedule, "Schedule "+s.Label, []form.Field{
		{Key: fKind, Label: "refresh", Kind: form.Choice, Value: kind,
			Choices:      []string{vault.ScheduleBeforeExpiry, vault.ScheduleEvery, kindOff},
			ChoiceLabels: []string{"before expiry", "every", "off"}},
		{Key: fMargin, Label: "margin", Value: margin, Placeholder: "default",
			Hint: marginHint(s)},
		{Key: fInterval, Label: "interval", Value: interval, Placeholder: "e.g. 30m",
			Hint: "at least " + providers.ShortDuration(providers.MinInterval) + ", e.g. 30m or 1h"},
	}, m.styles.Form, m.keys.formKeys())
	m.formSession = s.ID
	m.openForm(f)
	m.adaptScheduleForm()
}

// marginHint says what an empty margin means for this session.
func marginHint(s vault.Session) string {
	lifetime := providers.Lifetime(s)
	def := providers.ShortDuration(providers.EffectiveMargin(vault.Schedule{}, s))
	if lifetime <= 0 {
		return "empty: the default, " + def + " before expiry (this token's lifetime is unknown)"
	}
	return "empty: the default, " + def + " before expiry for this session (its tokens live " +
		providers.ShortDuration(lifetime) + ")"
}

// adaptScheduleForm shows the field the chosen kind needs and previews
// when the schedule would next refresh.
func (m *Model) adaptScheduleForm() {
	if m.overlay != overlayForm || m.form.ID() != formSchedule {
		return
	}
	kind := m.form.Value(fKind)
	m.form.SetHidden(fMargin, kind != vault.ScheduleBeforeExpiry)
	m.form.SetHidden(fInterval, kind != vault.ScheduleEvery)
	s, ok := m.list.Session(m.formSession)
	if !ok {
		return
	}
	m.form.SetNote(m.schedulePreview(kind, s))
}

// schedulePreview is the form's note: what saving would do.
func (m Model) schedulePreview(kind string, s vault.Session) string {
	if kind == kindOff {
		if _, ok := m.list.Schedule(s.ID); !ok {
			return common.Safe(s.Label) + " has no schedule."
		}
		return "Saving stops the scheduled refreshes; the settings are kept."
	}
	sch, errs := scheduleFromValues(m.form.Values(), s)
	if len(errs) > 0 {
		return ""
	}
	due := providers.NextDue(sch, s, m.now)
	switch {
	case due.IsZero() && s.NeedsLogin:
		return common.Safe(s.Label) + " needs a login: the schedule waits until it has fresh tokens."
	case due.IsZero():
		return ""
	case !due.After(m.now):
		return "Next refresh: now."
	}
	return "Next refresh: " + common.Clock(due, m.now, m.common.Location) + " (" + common.Relative(due, m.now) + ")."
}

// scheduleFromValues builds the schedule the form describes (not for off),
// or the errors by field.
func scheduleFromValues(v map[string]string, s vault.Session) (vault.Schedule, map[string]string) {
	errs := map[string]string{}
	var (
		sch vault.Schedule
		err error
	)
	switch v[fKind] {
	case vault.ScheduleBeforeExpiry:
		sch, err = providers.BeforeExpiry(strings.TrimSpace(v[fMargin]))
		if err != nil {
			errs[fMargin] = scheduleError(err)
		} else if lifetime := providers.Lifetime(s); lifetime > 0 && sch.Margin >= lifetime {
			errs[fMargin] = fmt.Sprintf("not shorter than the tokens' lifetime (%s): it would refresh every %s; use every instead",
				providers.ShortDuration(lifetime), providers.ShortDuration(providers.MinRefreshGap))
		}
	case vault.ScheduleEvery:
		interval := strings.TrimSpace(v[fInterval])
		if interval == "" {
			errs[fInterval] = "an interval is required, e.g. 30m"
			break
		}
		sch, err = providers.Every(interval)
		if err != nil {
			errs[fInterval] = scheduleError(err)
		}
	default:
		errs[fKind] = "choose before expiry, every or off"
	}
	sch.SessionID = s.ID
	return sch, errs
}

// scheduleError is a schedule parsing error as the form shows it, without
// the "invalid schedule: " every one starts with.
func scheduleError(err error) string {
	return strings.TrimPrefix(err.Error(), vault.ErrInvalidSchedule.Error()+": ")
}

// ScheduleSavedMsg reports a schedule written by the editor. Off: it was
// turned off (or there was none).
type ScheduleSavedMsg struct {
	SessionID int64
	Label     string
	Schedule  vault.Schedule
	Off       bool
	Err       error
}

// onScheduleSubmit validates the editor and saves in a tea.Cmd.
func (m Model) onScheduleSubmit(v map[string]string) (Model, tea.Cmd) {
	s, ok := m.list.Session(m.formSession)
	if !ok {
		m.form.SetErrors(nil, "the session is gone (deleted meanwhile?)")
		return m, nil
	}
	cur, has := m.list.Schedule(s.ID)
	var sch vault.Schedule
	off := v[fKind] == kindOff
	if off {
		if !has {
			m.closeForm()
			var cmd tea.Cmd
			m.status, cmd = m.status.Show(s.Label+" has no schedule: nothing to turn off", toast.Info, 4*time.Second)
			return m, cmd
		}
		sch = cur
		sch.Enabled = false
	} else {
		var errs map[string]string
		sch, errs = scheduleFromValues(v, s)
		if len(errs) > 0 {
			m.form.SetErrors(errs, "")
			return m, nil
		}
	}
	// Saved from the editor, a schedule starts afresh: the user acted on
	// whatever failed before.
	sch.Failures, sch.BackoffUntil, sch.LastError = 0, time.Time{}, ""
	sch.NextDue = providers.NextDue(sch, s, m.now)
	store := m.deps.Store
	if store == nil {
		m.form.SetErrors(nil, "no vault is open")
		return m, nil
	}
	m.form.SetBusy("saving…")
	return m, saveScheduleCmd(m.ctx, store, m.wake, s.Label, sch, off)
}

// saveScheduleCmd writes the schedule, then wakes the Scheduler (when one
// runs) so that it re-reads the schedules now rather than at its next
// periodic reload.
func saveScheduleCmd(ctx context.Context, store *vault.Store, wake func(), label string, sch vault.Schedule, off bool) tea.Cmd {
	return func() tea.Msg {
		err := store.PutSchedule(ctx, sch)
		if err == nil && wake != nil {
			wake()
		}
		if err != nil {
			err = fmt.Errorf("save the schedule of %s: %w", label, err)
		}
		return ScheduleSavedMsg{SessionID: sch.SessionID, Label: label, Schedule: sch, Off: off, Err: err}
	}
}

func (m Model) onScheduleSaved(msg ScheduleSavedMsg) (Model, tea.Cmd) {
	if msg.Err != nil {
		if m.overlay == overlayForm && m.form.ID() == formSchedule {
			text := common.Safe(msg.Err.Error()) // the form draws its error as it is
			if errors.Is(msg.Err, vault.ErrNotFound) {
				text = "the session is gone (deleted meanwhile?)"
			}
			m.form.SetErrors(nil, text)
			return m, nil
		}
		m.status.SetStatus(msg.Err.Error(), toast.Error)
		return m, nil
	}
	m.list.SetSchedule(msg.Schedule) // the mark and the detail change now
	m.markDirty(msg.SessionID)
	if m.overlay == overlayForm && m.form.ID() == formSchedule {
		m.closeForm()
	}
	text := msg.Label + ": schedule off"
	if !msg.Off {
		text = msg.Label + ": " + providers.FormatScheduleSpec(msg.Schedule)
		if s, ok := m.list.Session(msg.SessionID); ok {
			if due := providers.NextDue(msg.Schedule, s, m.now); !due.IsZero() {
				text += " · next refresh " + common.Relative(due, m.now)
			} else if s.NeedsLogin {
				text += " · waits for a new login"
			}
		}
	}
	var cmd tea.Cmd
	m.status, cmd = m.status.Show(text, toast.Success, 4*time.Second)
	cmds := []tea.Cmd{cmd, m.loadSessionsCmd()}
	if msg.SessionID == m.selectedID {
		cmds = append(cmds, m.showSelected())
	}
	return m, tea.Batch(cmds...)
}
