package vault

import (
	"errors"
	"testing"
	"time"
)

func TestSchedules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		a, b := pathstackSession("a"), pathstackSession("b")
		for _, x := range []*Session{&a, &b} {
			if err := s.CreateSession(ctxb(), x); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.GetSchedule(ctxb(), a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("no schedule yet: %v", err)
		}
		want := Schedule{
			SessionID: a.ID, Mode: ScheduleBeforeExpiry, Margin: 2 * time.Minute, Enabled: true,
			NextDue: env.clock.Now().Add(time.Hour), Failures: 2, BackoffUntil: env.clock.Now().Add(30 * time.Second),
			LastError: "server error 502",
		}
		if err := s.PutSchedule(ctxb(), want); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSchedule(ctxb(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		want.UpdatedAt = env.clock.Now()
		if !sameSchedule(got, want) {
			t.Errorf("got %+v\nwant %+v", got, want)
		}

		// Replace.
		env.clock.Advance(time.Minute)
		every := Schedule{SessionID: a.ID, Mode: ScheduleEvery, Interval: 15 * time.Minute}
		if err := s.PutSchedule(ctxb(), every); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSchedule(ctxb(), a.ID)
		every.UpdatedAt = env.clock.Now()
		if !sameSchedule(got, every) {
			t.Errorf("replaced: %+v", got)
		}
		if err := s.PutSchedule(ctxb(), Schedule{SessionID: b.ID, Mode: ScheduleBeforeExpiry, Enabled: true}); err != nil {
			t.Fatal(err)
		}
		list, err := s.ListSchedules(ctxb())
		if err != nil || len(list) != 2 || list[0].SessionID != a.ID || list[1].SessionID != b.ID {
			t.Errorf("list: %v %+v", err, list)
		}

		for name, bad := range map[string]Schedule{
			"unknown mode":    {SessionID: a.ID, Mode: "hourly"},
			"every without":   {SessionID: a.ID, Mode: ScheduleEvery},
			"negative margin": {SessionID: a.ID, Mode: ScheduleBeforeExpiry, Margin: -time.Second},
		} {
			if err := s.PutSchedule(ctxb(), bad); !errors.Is(err, ErrInvalidSchedule) {
				t.Errorf("%s: %v, want ErrInvalidSchedule", name, err)
			}
		}
		if err := s.PutSchedule(ctxb(), Schedule{SessionID: 999, Mode: ScheduleBeforeExpiry}); !errors.Is(err, ErrNotFound) {
			t.Errorf("schedule for a missing session: %v, want ErrNotFound", err)
		}

		if err := s.DeleteSchedule(ctxb(), a.ID); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteSchedule(ctxb(), a.ID); err != nil {
			t.Errorf("second delete: %v", err)
		}
		if _, err := s.GetSchedule(ctxb(), a.ID); !errors.Is(err, ErrNotFound) {
			t.Errorf("after delete: %v", err)
		}
	})
}

func sameSchedule(a, b Schedule) bool {
	if !a.NextDue.Equal(b.NextDue) || !a.BackoffUntil.Equal(b.BackoffUntil) || !a.UpdatedAt.Equal(b.UpdatedAt) {
		return false
	}
	a.NextDue, a.BackoffUntil, a.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	b.NextDue, b.BackoffUntil, b.UpdatedAt = time.Time{}, time.Time{}, time.Time{}
	return a == b
}

// TestRecordRefreshSettling: the schedule is settled in the transaction that
// records the refresh, from the schedule as stored and the session as
// recorded; a session without one is recorded all the same.
func TestRecordRefreshSettling(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		s := env.open(t)
		a, b := pathstackSession("a"), pathstackSession("b")
		for _, x := range []*Session{&a, &b} {
			if err := s.CreateSession(ctxb(), x); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.PutSchedule(ctxb(), Schedule{SessionID: a.ID, Mode: ScheduleEvery, Interval: time.Minute, Enabled: true, Failures: 3}); err != nil {
			t.Fatal(err)
		}
		var seen Session
		settle := func(cur Schedule, after Session) (Schedule, bool) {
			seen = after
			cur.Failures, cur.NextDue = 0, after.LastRefreshAt.Add(cur.Interval)
			return cur, true
		}
		att := Attempt{Trigger: TriggerScheduled, Outcome: OutcomeOK}
		after, settled, err := s.RecordRefreshSettling(ctxb(), "", a.ID, a.Version, nil, &att, false, settle)
		if err != nil {
			t.Fatal(err)
		}
		if !settled.Found || settled.Schedule.Failures != 0 || seen.LastStatus != OutcomeOK || after.LastStatus != OutcomeOK {
			t.Errorf("settled %+v, session seen %+v", settled, seen)
		}
		got, err := s.GetSchedule(ctxb(), a.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Failures != 0 || !got.NextDue.Equal(seen.LastRefreshAt.Add(time.Minute)) {
			t.Errorf("stored %+v", got)
		}
		att = Attempt{Trigger: TriggerScheduled, Outcome: OutcomeOK}
		if _, settled, err := s.RecordRefreshSettling(ctxb(), "", b.ID, b.Version, nil, &att, false, settle); err != nil || settled.Found {
			t.Errorf("no schedule: settled %+v, %v", settled, err)
		}
	})
}
