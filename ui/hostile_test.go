package ui

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/vault"
)

// hostile is what a hostile token, server or vault puts in every text it
// controls: a screen wipe (CSI 2J), an OSC 52 clipboard write, an OSC 8
// hyperlink, BEL, a C1 CSI (as a rune and as a lone byte), DEL, a bidi
// override and isolate, CR, tab, newline, and an SGR that would colour
// whatever follows.
const hostile = "\x1b[2J" + "\x1b]52;c;QUxHCg==\x07" + "\x1b]8;;https://evil.test/\x1b\\click\x1b]8;;\x1b\\" +
	"\a" + "\u009b31m" + "\x9b" + "\x7f" + "\u202e" + "\u2066" + "\r\t\n" + "\x1b[38;5;201m"

// hostileJWT is a JWT whose header and claims are written as given, the
// signature left out (the dashboard never verifies it).
func hostileJWT(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + base64.RawURLEncoding.EncodeToString([]byte("sig"))
}

// hostileSessions: a PathStack session with hostile text in every field
// and in its tokens' header and claims, and a session of an unknown
// provider whose name is hostile too.
func hostileSessions(t testing.TB) []vault.Session {
	t.Helper()
	iat, exp := fixedNow.Add(-10*time.Minute), fixedNow.Add(50*time.Minute)
	access := hostileJWT(t,
		map[string]any{"alg": "HS256" + hostile, "kid": "k" + hostile, "typ": "JWT" + hostile},
		map[string]any{"iss": "https://iss.test/" + hostile, "sub": "sub" + hostile, "aud": []any{"aud" + hostile, "api"},
			"jti": "jti" + hostile, "iat": iat.Unix(), "exp": exp.Unix(), "org" + hostile: "org" + hostile,
			"nested": map[string]any{"k" + hostile: []any{hostile, 1}}})
	refresh := hostileJWT(t, map[string]any{"alg": "none" + hostile},
		map[string]any{"sub": hostile, "exp": fixedNow.Add(48 * time.Hour).Unix()})
	return []vault.Session{
		{ID: 1, Provider: vault.ProviderPathStack, Label: "evil" + hostile, BaseURL: "https://evil.test/" + hostile,
			APIVersion: "v" + hostile, Sub: "sub" + hostile, AccessToken: access, RefreshToken: refresh, TokenType: "Bearer" + hostile,
			IssuedAt: iat, ExpiresAt: exp, RefreshExpiresAt: fixedNow.Add(48 * time.Hour), Version: 1,
			LastStatus: "rejected", LastRefreshAt: iat},
		{ID: 2, Provider: "other" + hostile, Label: "other" + hostile, BaseURL: hostile,
			AccessToken: "opaque" + hostile, RefreshToken: "eyJ" + hostile + ".x", Version: 1, LastStatus: "failed" + hostile,
			IssuedAt: fixedNow.Add(-time.Hour), ExpiresAt: fixedNow.Add(time.Hour)},
	}
}

// hostileExchange is an exchange whose server answered with hostile text
// everywhere: status line, protocol, headers, and body (JSON or not).
func hostileExchange(jsonBody bool) *providers.Exchange {
	body := "<html>" + hostile + "</html>\r\n" + hostile
	if jsonBody {
		b, _ := json.Marshal(map[string]any{"error": map[string]any{"message": hostile, hostile: []string{hostile}}})
		// json.Marshal escapes C0 controls; a server need not: send the C1,
		// bidi and DEL characters raw, as valid JSON allows.
		body = strings.ReplaceAll(string(b), `\u202e`, "\u202e") + "\n"
	}
	return &providers.Exchange{
		StartedAt:      fixedNow,
		Method:         "POST" + hostile,
		URL:            "https://evil.test/" + hostile + "/refresh",
		RequestHeader:  http.Header{"X-Evil" + hostile: {hostile}, "Content-Type": {"application/json"}},
		RequestBody:    `{"sub":"` + "s\u009b\u202e" + `"}`,
		Status:         422,
		StatusText:     "422 " + hostile,
		Proto:          "HTTP/1.1" + hostile,
		ResponseHeader: http.Header{"Set-Cookie": {hostile}, hostile: {"v" + hostile}},
		ResponseBody:   body,
		Error:          "read: " + hostile,
		Timings:        providers.Timings{Total: 12 * time.Millisecond},
	}
}

func hostileEnvelope() *providers.Envelope {
	return &providers.Envelope{Status: 422, Code: "c" + hostile, Message: "m" + hostile, Shape: "pathstack",
		Fields: []providers.FieldError{{Loc: []any{"body" + hostile, 1.0}, Msg: "f" + hostile, Type: "t" + hostile}}}
}

func hostileAttempts(t testing.TB) []vault.Attempt {
	t.Helper()
	raw, err := json.Marshal(hostileExchange(false))
	if err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(hostileEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	return []vault.Attempt{
		{ID: 3, SessionID: 1, Trigger: "manual" + hostile, StartedAt: fixedNow.Add(-time.Minute), Outcome: "rejected" + hostile,
			Status: 422, Exchange: raw, Envelope: env, Error: "e" + hostile},
		{ID: 2, SessionID: 1, Trigger: vault.TriggerScheduled, StartedAt: fixedNow.Add(-time.Hour), Outcome: "ok",
			Rotated: true, SentFP: "fp" + hostile, ReceivedFP: "fp2" + hostile},
		{ID: 1, SessionID: 1, Trigger: vault.TriggerCLI, StartedAt: fixedNow.Add(-2 * time.Hour), Outcome: "network_error",
			Exchange: []byte(`{"method":"POST","url":"https://x.test/` + "\\u001b]52;c;QQ==\\u0007" + `"}`)},
	}
}

// requireInert fails when frame holds anything a terminal would act on
// rather than draw: frames here are rendered without colour (TestMain),
// so the dashboard puts no escape sequence of its own in them.
func requireInert(t *testing.T, name, frame string) {
	t.Helper()
	if !utf8.ValidString(frame) {
		i := 0
		for i < len(frame) {
			r, n := utf8.DecodeRuneInString(frame[i:])
			if r == utf8.RuneError && n == 1 {
				break
			}
			i += n
		}
		t.Fatalf("%s: invalid UTF-8 at byte %d (%q):\n%s", name, i, frame[max(0, i-20):min(len(frame), i+20)], frame)
	}
	for i, r := range frame {
		bad := ""
		switch {
		case r == '\n':
		case r < 0x20 || r == 0x7f:
			bad = "control character"
		case r >= 0x80 && r <= 0x9f:
			bad = "C1 control"
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			bad = "bidi control"
		}
		if bad != "" {
			t.Fatalf("%s: %s %U at byte %d, in %q:\n%s", name, bad, r, i, frame[max(0, i-30):min(len(frame), i+30)], frame)
		}
	}
}

// Every pane, overlay and note shows hostile text drawn, never obeyed:
// labels, URLs, claims and headers of both tokens, status lines, headers
// and bodies (JSON or not), envelopes, attempts and their errors, toasts,
// the forms and confirmations that quote a session, the help.
func TestHostileTextIsNeverSentToTheTerminal(t *testing.T) {
	for _, size := range [][2]int{{100, 30}, {80, 24}, {160, 120}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			frames := hostileFrames(t, size[0], size[1])
			var all strings.Builder
			for _, f := range frames {
				requireInert(t, f.name, f.view)
				all.WriteString(f.view)
			}
			if size[1] >= 120 {
				// Drawn, not dropped: the reader sees what the token holds.
				for _, want := range []string{`HS256\x1b[2J\x1b]52;c;QUxHCg==\x07`, `422 \x1b[2J`, `m\x1b[2J`} {
					if !strings.Contains(all.String(), want) {
						t.Errorf("no frame shows %q", want)
					}
				}
			}
		})
	}
}

type frame struct{ name, view string }

// hostileFrames drives a dashboard through every screen with hostile
// sessions, exchanges and notes, returning each frame.
func hostileFrames(t *testing.T, w, h int) []frame {
	t.Helper()
	var frames []frame
	shot := func(name string, m Model) { frames = append(frames, frame{name, m.View()}) }

	ss := hostileSessions(t)
	m := New(testDeps(&bytes.Buffer{}))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	schedules := []vault.Schedule{{SessionID: 1, Mode: vault.ScheduleEvery, Interval: 15 * time.Minute, Enabled: true,
		Failures: 2, BackoffUntil: fixedNow.Add(time.Minute), LastError: "e" + hostile},
		{SessionID: 2, Mode: "mode" + hostile, Enabled: true, LastError: hostile}}
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss), Schedules: schedules, VaultPath: "/tmp/" + hostile})
	shot("list, tokens loading", m)
	latest := hostileAttempts(t)[0]
	for _, s := range ss {
		m, _ = update(t, m, SessionLoadedMsg{ID: s.ID, Session: s, Latest: &latest})
	}
	shot("list and detail", m)
	m, _ = press(t, m, "x")
	shot("detail revealed", m)
	m, _ = press(t, m, "j")
	shot("unknown provider, opaque and undecodable tokens", m)
	m, _ = press(t, m, "k", "x")

	for _, rep := range []*providers.Report{
		{Session: ss[0], Outcome: providers.OutcomeRejected, Status: 422, Exchange: hostileExchange(false),
			Envelope: hostileEnvelope(), Err: errors.New("rejected: " + hostile)},
		{Session: ss[0], Outcome: providers.OutcomeRejected, Status: 422, Exchange: hostileExchange(true),
			Err: errors.New("rejected: " + hostile)},
		{Session: ss[0], Outcome: providers.OutcomeNetworkError, Exchange: &providers.Exchange{Method: "POST",
			URL: "https://evil.test/" + hostile, Error: "dial: " + hostile}, Err: errors.New("network error: " + hostile)},
		{Session: ss[0], Outcome: providers.OutcomeOK, Status: 200, Exchange: hostileExchange(true)},
	} {
		m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Report: rep})
		shot("exchange "+string(rep.Outcome), m)
		m, _ = press(t, m, "x")
		shot("exchange revealed "+string(rep.Outcome), m)
		m, _ = press(t, m, "x")
	}
	m, _ = update(t, m, RefreshDoneMsg{SessionID: 1, Err: errors.New("failed: " + hostile)})
	shot("refresh error", m)

	m, _ = press(t, m, "h")
	m, _ = update(t, m, AttemptsLoadedMsg{SessionID: 1, Attempts: hostileAttempts(t)})
	shot("history", m)
	for i := range 3 {
		m, _ = press(t, m, "enter")
		shot(fmt.Sprintf("attempt %d", i), m)
		m, _ = press(t, m, "esc", "j")
	}
	m, _ = update(t, m, AttemptsLoadedMsg{SessionID: 1, Err: errors.New("list: " + hostile)})
	shot("history error", m)
	m, _ = press(t, m, "esc", "esc")

	m, _ = update(t, m, SchedulerErrorMsg{Err: errors.New("schedules: " + hostile)})
	shot("scheduler error toast", m)
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: 2, Err: errors.New("sched: " + hostile)}})
	shot("scheduled result toast", m)
	m, _ = update(t, m, ScheduledResultMsg{Result: providers.ScheduledResult{SessionID: 1, Schedule: schedules[0],
		Report: &providers.Report{Session: ss[0], Outcome: providers.OutcomeServerError, Status: 502,
			Exchange: hostileExchange(false), Err: errors.New("server error: " + hostile)}}})
	shot("scheduled failure", m)
	m, _ = press(t, m, "c")
	shot("copy toast", m)

	m, _ = press(t, m, "?")
	shot("help", m)
	m, _ = press(t, m, "esc")

	paste := tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(hostile), Paste: true}
	// formKey presses k in a form and hands the form's answer (submit,
	// cancel) back to the dashboard.
	formKey := func(k string) {
		var cmd tea.Cmd
		m, cmd = press(t, m, k)
		if cmd == nil {
			return
		}
		switch msg := cmd().(type) {
		case form.SubmitMsg, form.CancelMsg:
			m, _ = update(t, m, msg)
		}
	}
	for _, k := range []string{"e", "l", "s", "a"} {
		m, _ = press(t, m, k)
		if m.overlay != overlayForm {
			t.Fatalf("%s opens no form", k)
		}
		shot("form "+k, m)
		m, _ = update(t, m, paste)
		shot("form "+k+" pasted", m)
		formKey("ctrl+s")
		shot("form "+k+" submitted", m)
		// What the vault says back, in the form.
		if m.overlay == overlayForm {
			m, _ = update(t, m, SessionSavedMsg{FormID: m.form.ID(), Err: errors.New("save: " + hostile)})
			m, _ = update(t, m, ScheduleSavedMsg{SessionID: 1, Label: hostile, Err: errors.New("save: " + hostile)})
			shot("form "+k+" error", m)
		}
		for m.overlay == overlayForm {
			formKey("esc")
		}
	}
	for _, k := range []string{"d", "C"} {
		m, _ = press(t, m, k)
		shot("confirm "+k, m)
		m, _ = press(t, m, "n")
	}
	m, _ = press(t, m, "/")
	m, _ = update(t, m, paste)
	shot("filter", m)
	m, _ = press(t, m, "esc")

	// Before the vault opened, and an empty vault at a hostile path.
	e := New(testDeps(&bytes.Buffer{}))
	e, _ = update(t, e, tea.WindowSizeMsg{Width: w, Height: h})
	e, _ = update(t, e, SessionsLoadedMsg{Err: errors.New("open: " + hostile)})
	shot("vault error", e)
	e, _ = update(t, e, SessionsLoadedMsg{VaultPath: "/tmp/" + hostile})
	shot("empty vault", e)
	return frames
}
