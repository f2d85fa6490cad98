package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// TestScheduledRefreshRunsWhileTheDashboardIsOpen: a real vault, the fake
// PathStack minting 6 s access tokens, the real Refresher and Scheduler
// wired to the program as Run wires them. The schedule is set in the
// editor; the Scheduler refreshes the session 2 s before it expires, and
// the refresh shows in the status line, the exchange pane and the history.
func TestScheduledRefreshRunsWhileTheDashboardIsOpen(t *testing.T) {
	e := newTestEnvWith(t, fake.Options{AccessTTL: 6 * time.Second})
	ctx := context.Background()
	auto := e.addSession(t, "auto", e.ps.URL)

	sctx, stop := context.WithCancel(ctx)
	defer stop()
	var tm *teatest.TestModel
	ready := make(chan struct{})
	wake, done := startScheduler(sctx, e.deps, func(msg tea.Msg) { <-ready; tm.Send(msg) })
	m := New(e.deps)
	m.ctx, m.wake = sctx, wake
	tm = teatest.NewTestModel(t, m, teatest.WithInitialTermSize(100, 30))
	close(ready)
	sw := watch(tm)
	sw.waitFor(t, "Sessions (1)")

	sendKeys(tm, "s", "tab")
	tm.Type("2s")
	sendKeys(tm, "enter")
	sw.waitFor(t, "auto: before-expiry 2s")
	sw.waitFor(t, "auto refreshed on schedule · 200 OK")
	sw.waitFor(t, "Scheduled refresh · POST "+e.ps.URL+"/refresh")

	// The history lists it with its trigger.
	sendKeys(tm, "h")
	sw.waitFor(t, "scheduled")
	final := finalModel(t, tm)
	stop()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the Scheduler did not stop")
	}

	sch, err := e.store.GetSchedule(ctx, auto.ID)
	if err != nil || sch.Margin != 2*time.Second || !sch.Enabled || sch.Failures != 0 {
		t.Fatalf("schedule = %+v, %v", sch, err)
	}
	attempts, err := e.store.ListAttempts(ctx, auto.ID, 0)
	if err != nil || len(attempts) == 0 {
		t.Fatalf("attempts = %+v, %v", attempts, err)
	}
	for _, a := range attempts {
		if a.Trigger != vault.TriggerScheduled || a.Outcome != "ok" {
			t.Fatalf("attempt %+v: want a scheduled ok", a)
		}
	}
	stored, err := e.store.GetSession(ctx, auto.ID)
	if err != nil || stored.Version <= auto.Version || !stored.ExpiresAt.After(auto.ExpiresAt) {
		t.Fatalf("session not refreshed: version %d→%d, expiry %v→%v", auto.Version, stored.Version, auto.ExpiresAt, stored.ExpiresAt)
	}
	if got, _ := final.list.Session(auto.ID); got.Version <= auto.Version {
		t.Fatalf("the list still shows version %d, the vault has %d", got.Version, stored.Version)
	}

	// A dashboard opened later shows the latest stored attempt, labelled
	// with its time and trigger, instead of "No refresh recorded".
	later := teatest.NewTestModel(t, New(e.deps), teatest.WithInitialTermSize(100, 30))
	lw := watch(later)
	lw.waitFor(t, "· scheduled · POST /refresh · 200 OK") // the title gives up the URL first
	m2 := finalModel(t, later)
	if sh := m2.shown[auto.ID]; sh == nil || sh.AttemptID != attempts[0].ID || !strings.HasSuffix(sh.Caption, "· scheduled") {
		t.Fatalf("the pane shows %+v, want attempt %d", m2.shown[auto.ID], attempts[0].ID)
	}
}

// TestRunRunsTheSchedules: Run starts a Scheduler on the vault (a due
// session gets a scheduled refresh while the dashboard runs, which the
// program receives) and stops it on exit; with NoScheduler it starts none.
func TestRunRunsTheSchedules(t *testing.T) {
	for _, off := range []bool{false, true} {
		name := "scheduler"
		if off {
			name = "NoScheduler"
		}
		t.Run(name, func(t *testing.T) {
			e := newTestEnvWith(t, fake.Options{AccessTTL: 6 * time.Second})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := e.addSession(t, "due", e.ps.URL)
			// A margin of 5 s on 6 s tokens: due a second after they were minted.
			if err := e.store.PutSchedule(ctx, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry,
				Margin: 5 * time.Second, Enabled: true}); err != nil {
				t.Fatal(err)
			}
			deps := e.deps
			deps.NoScheduler = off
			if off {
				// No Scheduler: no wake for the editor, nothing sent, done at once.
				sent := false
				wake, done := startScheduler(ctx, deps, func(tea.Msg) { sent = true })
				select {
				case <-done:
				default:
					t.Fatal("startScheduler with NoScheduler: not done")
				}
				if wake != nil || sent {
					t.Fatalf("startScheduler with NoScheduler: wake %v, sent %v", wake != nil, sent)
				}
			}
			log, logOpt := logMessages()
			ran := make(chan error, 1)
			go func() { ran <- Run(ctx, deps, append(runOpts(t), logOpt)...) }()

			if off {
				log.waitFor(t, "the sessions listed", isMsg[SessionsLoadedMsg])
			} else {
				log.waitFor(t, "a scheduled refresh", func(m tea.Msg) bool {
					r, ok := m.(ScheduledResultMsg)
					return ok && r.Result.SessionID == s.ID && r.Result.Report != nil
				})
			}
			cancel()
			select {
			case err := <-ran:
				if err != nil {
					t.Fatalf("Run = %v", err)
				}
			case <-time.After(shutdownGrace + 5*time.Second):
				t.Fatal("Run did not return")
			}
			attempts, err := e.store.ListAttempts(context.Background(), s.ID, 0)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case off && len(attempts) != 0:
				t.Fatalf("NoScheduler, yet %d attempts", len(attempts))
			case !off && (len(attempts) == 0 || attempts[0].Trigger != vault.TriggerScheduled || attempts[0].Outcome != "ok"):
				t.Fatalf("attempts = %+v, want a scheduled ok", attempts)
			}
		})
	}
}
