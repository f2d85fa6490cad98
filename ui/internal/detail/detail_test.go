package detail

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

var now = time.Date(2025, 3, 14, 14, 0, 0, 0, time.UTC)

func newPane(t *testing.T, s vault.Session) Model {
	t.Helper()
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetSize(90, 80)
	m.SetNow(now)
	m.SetSession(s, true, nil)
	return m
}

func text(m Model) string { return ansi.Strip(strings.Join(m.scroll.Lines(), "\n")) }

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRegisteredClaimsAsLocalTimes(t *testing.T) {
	access := sign(t, jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{
		"sub": "u1", "iat": now.Add(-3 * time.Hour).Unix(), "exp": now.Add(41*time.Minute + 12*time.Second).Unix(), "role": "admin"})
	m := newPane(t, vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "g", BaseURL: "https://x",
		AccessToken: access, RefreshToken: "opaque-refresh-token-123456",
		IssuedAt: now.Add(-3 * time.Hour), ExpiresAt: now.Add(41*time.Minute + 12*time.Second)})
	got := text(m)
	for _, want := range []string{
		"Access token · JWT HS256 · claims unverified",
		"iat       11:00:00 (3h ago)",
		"exp       14:41:12 (in 41m 12s)",
		`"role": "admin"`,
		"Refresh token · opaque (27 chars): not a JWT, nothing to decode",
		"token     opaq…(27)…456", // masked until revealed
		"▓▓░░░░░░░░ 19% left",     // 41m 12s of 3h 41m 12s
	} {
		if !strings.Contains(got, want) {
			t.Errorf("pane lacks %q:\n%s", want, got)
		}
	}
	m.SetReveal(true)
	if !strings.Contains(text(m), "opaque-refresh-token-123456") {
		t.Error("reveal does not show the token")
	}
}

func TestFlagsUnsignedAndNotYetValidTokens(t *testing.T) {
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, jwt.MapClaims{"sub": "u1", "exp": now.Add(time.Hour).Unix()})
	future := sign(t, jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{"nbf": now.Add(5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	m := newPane(t, vault.Session{ID: 1, Provider: vault.ProviderPathStack, Label: "p", AccessToken: none, RefreshToken: future})
	got := text(m)
	for _, want := range []string{
		"Access token · JWT none · claims unverified",
		"⚠ alg: none: the token is unsigned",
		"Refresh token · JWT HS256",
		"⚠ not valid yet: nbf 14:05:00 (in 5m 00s)",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("pane lacks %q:\n%s", want, got)
		}
	}
}

func TestListedSessionWaitsForItsTokens(t *testing.T) {
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetSize(90, 40)
	m.SetNow(now)
	m.SetSession(vault.Session{ID: 1, Provider: vault.ProviderPathStack, Label: "p", ExpiresAt: now.Add(-time.Minute)}, false, nil)
	got := text(m)
	if !strings.Contains(got, "loading tokens…") || !strings.Contains(got, "✕ expired at 13:59:00 (1m ago)") {
		t.Fatalf("pane:\n%s", got)
	}
	if _, full := m.Session(); full {
		t.Fatal("a listed session does not hold its tokens")
	}
}
