package ui

import (
	"bytes"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/vault"
)

// A token whose nbf is ahead is not called valid: once its tokens are read
// the row says "not yet" and the detail's state line says so too.
func TestNotYetValidTokenIsNotCalledValid(t *testing.T) {
	access := makeJWT(t, jwt.MapClaims{"sub": testSub, "iat": fixedNow.Unix(),
		"nbf": fixedNow.Add(5 * time.Minute).Unix(), "exp": fixedNow.Add(time.Hour).Unix()})
	s := vault.Session{ID: 1, Provider: vault.ProviderPathStack, Label: "early", BaseURL: "https://api.pathstack.io",
		Sub: testSub, AccessToken: access, RefreshToken: "opaque-refresh-token-0123456789", TokenType: "Bearer",
		IssuedAt: fixedNow, ExpiresAt: fixedNow.Add(time.Hour), Version: 1}
	m := New(testDeps(&bytes.Buffer{}))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed([]vault.Session{s})})
	m, _ = update(t, m, SessionLoadedMsg{ID: 1, Session: s})
	requireScreenContains(t, m, "state     ◌ not valid yet · from 14:05:00 (in 5m")
	rows := ansi.Strip(m.list.View())
	if !strings.Contains(rows, "◌ early") || !strings.Contains(rows, "not yet") || strings.Contains(rows, "● early") {
		t.Fatalf("the row does not say not yet:\n%s", rows)
	}
}

// The detail's "last" line shows the latest stored attempt (read for the
// exchange pane) with its own time, in words.
func TestDetailLastLineUsesTheLatestAttempt(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j") // old-key: last status rejected
	requireScreenContains(t, m, "last      rejected   ")
	a := vault.Attempt{ID: 7, SessionID: 4, Trigger: vault.TriggerScheduled, StartedAt: fixedNow.Add(-3 * time.Minute),
		Outcome: "rejected", Status: 401, Error: "rejected: 401 Invalid Refresh Token"}
	m, _ = update(t, m, SessionLoadedMsg{ID: 4, Session: fixtureSessions(t)[3], Latest: &a})
	requireScreenContains(t, m, "last      rejected · 13:57:00 (3m ago)")
}
