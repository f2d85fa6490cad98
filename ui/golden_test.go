package ui

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// Golden screens: the dashboard driven through a real tea.Program
// (teatest) with a fixed clock and fixed tokens, its final frame compared
// as plain text with testdata/TestGoldenScreens/<size>/<screen>.golden.
// Regenerate with: go test ./ui -run TestGoldenScreens -update
func TestGoldenScreens(t *testing.T) {
	screens := []struct {
		name string
		msgs func(t *testing.T) []tea.Msg
		want string // shown once the screen is drawn
	}{
		{"list_detail", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("j"), keyMsg("j"))
		}, "41m 12s"},
		{"exchange_200", func(t *testing.T) []tea.Msg {
			s := fixtureSessions(t)[0]
			rep := &providers.Report{Session: s, Outcome: providers.OutcomeOK, Status: 200, Exchange: exchange200(t)}
			return append(loadMsgs(t), keyMsg("j"), keyMsg("j"), RefreshDoneMsg{SessionID: 1, Report: rep})
		}, "200 OK"},
		{"exchange_401", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("j"), rejected(t, 401, "401 Unauthorized",
				`{"error":{"code":401,"message":"Invalid Refresh Token"}}`))
		}, "Invalid Refresh Token"},
		{"exchange_422", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("j"), rejected(t, 422, "422 Unprocessable Entity",
				`{"error":{"code":422,"message":"Field required","loc":["body","sub"],"msg":"Field required","type":"missing"}}`))
		}, "body.sub"},
		{"help", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("?"))
		}, "Navigate"},
		{"empty_vault", func(t *testing.T) []tea.Msg {
			return []tea.Msg{SessionsLoadedMsg{VaultPath: "/home/dev/.local/share/tokentop/vault.db"}}
		}, "Welcome to tokentop"},
		{"add_form", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("a"))
		}, "Add a session"},
		{"schedule_editor", func(t *testing.T) []tea.Msg {
			return append(loadMsgs(t), keyMsg("j"), keyMsg("j"), keyMsg("s"))
		}, "Schedule prod-eu"},
		{"schedule_editor_error", func(t *testing.T) []tea.Msg {
			msgs := append(loadMsgs(t), keyMsg("j"), keyMsg("j"), keyMsg("s"), keyMsg("right"), keyMsg("tab"))
			for _, r := range "2s" {
				msgs = append(msgs, keyMsg(string(r)))
			}
			return append(msgs, keyMsg("enter"))
		}, "shorter than the minimum"},
		{"detail_schedule", func(t *testing.T) []tea.Msg {
			msgs := append(loadMsgsWith(t, failingSchedules()), keyMsg("j"), keyMsg("j"), keyMsg("tab"))
			for range 7 {
				msgs = append(msgs, keyMsg("j"))
			}
			return msgs
		}, "backing off"},
	}
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			for _, sc := range screens {
				t.Run(sc.name, func(t *testing.T) {
					tm := teatest.NewTestModel(t, New(testDeps(&bytes.Buffer{})), teatest.WithInitialTermSize(size[0], size[1]))
					for _, msg := range sc.msgs(t) {
						tm.Send(msg)
					}
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(sc.want)) },
						teatest.WithDuration(5*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
					if err := tm.Quit(); err != nil {
						t.Fatal(err)
					}
					final := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).(Model)
					golden.RequireEqual(t, []byte(ansi.Strip(final.View())))
				})
			}
		})
	}
}

// loadMsgs are what the vault would answer: the sessions, then each one's
// tokens.
func loadMsgs(t *testing.T) []tea.Msg { return loadMsgsWith(t, fixtureSchedules()) }

// loadMsgsWith are loadMsgs with other schedules.
func loadMsgsWith(t *testing.T, schedules []vault.Schedule) []tea.Msg {
	ss := fixtureSessions(t)
	msgs := []tea.Msg{SessionsLoadedMsg{Sessions: listed(ss), Schedules: schedules, VaultPath: "/home/dev/.local/share/tokentop/vault.db"}}
	for _, s := range ss {
		msgs = append(msgs, SessionLoadedMsg{ID: s.ID, Session: s})
	}
	return msgs
}

// rejected is old-key's refresh answered with an error envelope.
func rejected(t *testing.T, status int, statusText, body string) RefreshDoneMsg {
	ex := exchangeError(status, statusText, body)
	env := providers.ParseEnvelope(status, "application/json", []byte(body))
	pe := &providers.Error{Outcome: providers.OutcomeRejected, Status: status, Envelope: env}
	s := listed(fixtureSessions(t))[3]
	return RefreshDoneMsg{SessionID: 4, Err: pe, Report: &providers.Report{
		Session: s, Outcome: providers.OutcomeRejected, Status: status, Exchange: ex, Envelope: env, Err: pe}}
}
