package vault

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestImportWithSchedulesAllOrNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		e := env
		st := e.open(t)
		// SQLite: a refused import leaves the file byte for byte.
		var before []byte
		if e.backend == BackendSQLite {
			before = readFile(t, e.path)
		}

		// A bad schedule in the second entry: nothing of the first is written.
		bad := []ImportEntry{
			{Session: pathstackSession("one"), Schedule: &Schedule{Mode: ScheduleEvery, Interval: time.Hour, Enabled: true}},
			{Session: pathstackSession("two"), Schedule: &Schedule{Mode: "sometimes"}},
		}
		if err := st.Import(ctxb(), bad, false); !errors.Is(err, ErrInvalidSchedule) {
			t.Fatalf("Import with a bad schedule: %v", err)
		}
		if list, _ := st.ListSessions(ctxb()); len(list) != 0 || (before != nil && !bytes.Equal(before, readFile(t, e.path))) {
			t.Fatalf("a refused import wrote %d sessions", len(list))
		}

		locked := pathstackSession("locked")
		locked.NeedsLogin = true
		entries := []ImportEntry{
			{Session: pathstackSession("one"), Schedule: &Schedule{Mode: ScheduleEvery, Interval: time.Hour, Enabled: true, NextDue: e.clock.Now().Add(time.Hour)}},
			{Session: locked, Schedule: &Schedule{Mode: ScheduleBeforeExpiry, Margin: 2 * time.Minute}},
			{Session: pathstackSession("plain"), DropSchedule: true},
		}
		if err := st.Import(ctxb(), entries, false); err != nil {
			t.Fatal(err)
		}
		got := map[string]Schedule{}
		list, _ := st.ListSessions(ctxb())
		schedules, _ := st.ListSchedules(ctxb())
		for _, sch := range schedules {
			for _, s := range list {
				if s.ID == sch.SessionID {
					got[s.Label] = sch
				}
			}
		}
		if one := got["one"]; len(got) != 2 || one.Interval != time.Hour || !one.Enabled || !one.NextDue.Equal(e.clock.Now().Add(time.Hour)) {
			t.Fatalf("imported schedules: %+v", got)
		}
		if l := got["locked"]; l.Margin != 2*time.Minute || l.Enabled {
			t.Fatalf("schedule of the needs-login session: %+v", l)
		}
		s, err := st.GetSessionByLabel(ctxb(), "locked")
		if err != nil || !s.NeedsLogin {
			t.Fatalf("needs_login lost: %v %+v", err, s)
		}

		// --replace: a nil schedule with DropSchedule removes one; without it, keeps it.
		again := []ImportEntry{{Session: pathstackSession("one"), DropSchedule: true}, {Session: locked}}
		if err := st.Import(ctxb(), again, true); err != nil {
			t.Fatal(err)
		}
		one, _ := st.GetSessionByLabel(ctxb(), "one")
		if _, err := st.GetSchedule(ctxb(), one.ID); !errors.Is(err, ErrNotFound) {
			t.Fatalf("DropSchedule kept the schedule: %v", err)
		}
		if _, err := st.GetSchedule(ctxb(), s.ID); err != nil {
			t.Fatalf("an entry without DropSchedule lost its schedule: %v", err)
		}
	})
}
