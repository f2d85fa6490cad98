package ui

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// fixedNow is the clock of every test screen.
var fixedNow = time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)

func fixedClock() time.Time { return fixedNow }

// makeJWT signs fixed claims with a fixed key, so tokens are the same on
// every run.
func makeJWT(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["kid"] = "test-1"
	s, err := tok.SignedString([]byte("tokentop-test-key"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const testSub = "8c1e4a52-7d3b-4f6e-9a1c-2b5d8e0f3a71"

// fixtureSessions are four sessions in four states, with tokens.
func fixtureSessions(t testing.TB) []vault.Session {
	t.Helper()
	iat := fixedNow.Add(-18*time.Minute - 48*time.Second)
	exp := iat.Add(time.Hour) // 41m 12s left
	access := makeJWT(t, jwt.MapClaims{
		"iss": "https://api.pathstack.io", "sub": testSub, "aud": "pathstack-api",
		"iat": iat.Unix(), "exp": exp.Unix(), "scope": "read write", "org": "acme",
	})
	refresh := makeJWT(t, jwt.MapClaims{
		"iss": "https://api.pathstack.io", "sub": testSub, "typ": "refresh",
		"iat": iat.Unix(), "exp": iat.Add(7 * 24 * time.Hour).Unix(),
	})
	stIat := fixedNow.Add(-56*time.Minute - 58*time.Second)
	stExp := stIat.Add(time.Hour) // 3m 02s left: expiring
	staging := makeJWT(t, jwt.MapClaims{"sub": testSub, "iat": stIat.Unix(), "exp": stExp.Unix()})
	gIat := fixedNow.Add(-2 * time.Hour)
	gExp := fixedNow.Add(-time.Hour) // expired an hour ago
	galileo := makeJWT(t, jwt.MapClaims{"sub": "user@acme.test", "iat": gIat.Unix(), "exp": gExp.Unix()})
	return []vault.Session{
		{ID: 1, Provider: vault.ProviderPathStack, Label: "prod-eu", BaseURL: "https://api.pathstack.io",
			APIVersion: "2024-03-27", Sub: testSub, AccessToken: access, RefreshToken: refresh, TokenType: "Bearer",
			IssuedAt: iat, ExpiresAt: exp, RefreshExpiresAt: iat.Add(7 * 24 * time.Hour), Version: 3,
			LastStatus: "ok", LastRefreshAt: iat},
		{ID: 2, Provider: vault.ProviderPathStack, Label: "staging", BaseURL: "https://staging.pathstack.io",
			Sub: testSub, AccessToken: staging, RefreshToken: "opaque-refresh-token-0123456789abcdef", TokenType: "Bearer",
			IssuedAt: stIat, ExpiresAt: stExp, Version: 1},
		{ID: 3, Provider: vault.ProviderGalileo, Label: "acme", BaseURL: "https://api.acme.rungalileo.io",
			AccessToken: galileo, RefreshToken: "galileo-refresh-0123456789abcdef", TokenType: "bearer",
			IssuedAt: gIat, ExpiresAt: gExp, Version: 1},
		{ID: 4, Provider: vault.ProviderPathStack, Label: "old-key", BaseURL: "https://api.pathstack.io",
			Sub: testSub, AccessToken: staging, RefreshToken: "revoked-refresh-token-0123456789", TokenType: "Bearer",
			IssuedAt: stIat, ExpiresAt: stExp, NeedsLogin: true, LastStatus: "rejected", Version: 2},
	}
}

// listed strips tokens, as Store.ListSessions does.
func listed(ss []vault.Session) []vault.Session {
	out := make([]vault.Session, len(ss))
	for i, s := range ss {
		s.AccessToken, s.RefreshToken = "", ""
		out[i] = s
	}
	return out
}

func fixtureSchedules() []vault.Schedule {
	return []vault.Schedule{{SessionID: 1, Mode: vault.ScheduleBeforeExpiry, Enabled: true, NextDue: fixedNow.Add(35 * time.Minute)}}
}

// failingSchedules: prod-eu refreshes every 15 minutes, was due at
// 13:56:12 and failed twice since (backing off for 25 s more); old-key's
// schedule was turned off by the Scheduler when its refresh token was
// rejected.
func failingSchedules() []vault.Schedule {
	return []vault.Schedule{
		{SessionID: 1, Mode: vault.ScheduleEvery, Interval: 15 * time.Minute, Enabled: true, Failures: 2,
			BackoffUntil: fixedNow.Add(25 * time.Second), LastError: "network error: dial tcp 127.0.0.1:1: connect: connection refused"},
		{SessionID: 4, Mode: vault.ScheduleEvery, Interval: 30 * time.Minute, Failures: 1,
			LastError: "disabled: the session needs a login (rejected · 401 · Invalid Refresh Token); log in again, then turn the schedule back on"},
	}
}

// testDeps are Deps with a fixed clock, UTC and an OSC 52-only clipboard
// writing to osc.
func testDeps(osc *bytes.Buffer) Deps {
	return Deps{
		Now:       fixedClock,
		Location:  time.UTC,
		Clipboard: NewClipboard(osc, WithNativeClipboard(nil), WithEnv(func(string) string { return "" })),
		Title:     "tokentop",
	}
}

// update runs one message through the model, returning the new model and
// its command.
func update(t testing.TB, m Model, msg tea.Msg) (Model, tea.Cmd) {
	t.Helper()
	nm, cmd := m.Update(msg)
	return nm.(Model), cmd
}

// loadedModel is a model sized w×h that has listed the fixture sessions
// and loaded their tokens; the cursor is on the first (acme).
func loadedModel(t testing.TB, w, h int) Model {
	t.Helper()
	return loadedModelWith(t, testDeps(&bytes.Buffer{}), w, h)
}

// loadedModelWith is loadedModel on deps (a clipboard whose output the
// test reads, say).
func loadedModelWith(t testing.TB, deps Deps, w, h int) Model {
	t.Helper()
	ss := fixtureSessions(t)
	m := New(deps)
	m, _ = update(t, m, tea.WindowSizeMsg{Width: w, Height: h})
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss), Schedules: fixtureSchedules(), VaultPath: "/home/dev/.local/share/tokentop/vault.db"})
	for _, s := range ss {
		m, _ = update(t, m, SessionLoadedMsg{ID: s.ID, Session: s})
	}
	return m
}

// exchange200 is a successful PathStack refresh.
func exchange200(t testing.TB) *providers.Exchange {
	s := fixtureSessions(t)[0]
	return &providers.Exchange{
		StartedAt: fixedNow,
		Method:    "POST",
		URL:       "https://api.pathstack.io/refresh",
		RequestHeader: http.Header{
			"Content-Type":  {"application/json"},
			"X-Api-Version": {"2024-03-27"},
			"User-Agent":    {"tokentop/dev"},
		},
		RequestBody: `{"sub":"` + testSub + `","refresh_token":"` + s.RefreshToken + `"}`,
		Status:      200, StatusText: "200 OK", Proto: "HTTP/1.1",
		ResponseHeader: http.Header{"Content-Type": {"application/json"}},
		ResponseBody:   `{"data":{"token_type":"Bearer","expires_in":3600,"access_token":"` + s.AccessToken + `"}}`,
		Timings: providers.Timings{DNS: 1200 * time.Microsecond, Connect: 3 * time.Millisecond,
			TLS: 41 * time.Millisecond, FirstByte: 170 * time.Millisecond, Total: 182 * time.Millisecond},
	}
}

// exchangeError is a refresh answered with status and body.
func exchangeError(status int, statusText, body string) *providers.Exchange {
	return &providers.Exchange{
		StartedAt: fixedNow,
		Method:    "POST",
		URL:       "https://api.pathstack.io/refresh",
		RequestHeader: http.Header{
			"Content-Type":  {"application/json"},
			"X-Api-Version": {"2024-03-27"},
		},
		RequestBody:    `{"sub":"` + testSub + `","refresh_token":"revoked-refresh-token-0123456789"}`,
		Status:         status,
		StatusText:     statusText,
		Proto:          "HTTP/1.1",
		ResponseHeader: http.Header{"Content-Type": {"application/json"}},
		ResponseBody:   body,
		Timings:        providers.Timings{Connect: 2 * time.Millisecond, FirstByte: 11 * time.Millisecond, Total: 12 * time.Millisecond},
	}
}
