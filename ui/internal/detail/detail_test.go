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

func TestScheduleLines(t *testing.T) {
	s := vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "x", IssuedAt: now.Add(-50 * time.Minute),
		ExpiresAt: now.Add(10 * time.Minute), LastRefreshAt: now.Add(-50 * time.Minute)}
	m := newPane(t, s)
	if got := text(m); !strings.Contains(got, "schedule  none · s sets one") {
		t.Fatalf("no schedule:\n%s", got)
	}

	// Default margin of a 1 h token: 6 min, so due in 4 min; the countdown
	// follows the clock.
	sch := vault.Schedule{SessionID: 1, Mode: vault.ScheduleBeforeExpiry, Enabled: true}
	m.SetSession(s, true, &sch)
	for _, want := range []string{"schedule  before-expiry · margin 6m (default)", "next      14:04:00 (in 4m 00s)"} {
		if got := text(m); !strings.Contains(got, want) {
			t.Fatalf("lacks %q:\n%s", want, got)
		}
	}
	m.SetNow(now.Add(3*time.Minute + 30*time.Second))
	if got := text(m); !strings.Contains(got, "next      14:04:00 (in 30s)") {
		t.Fatalf("countdown did not move:\n%s", got)
	}
	m.SetNow(now.Add(5 * time.Minute))
	if got := text(m); !strings.Contains(got, "next      due now") {
		t.Fatalf("past due:\n%s", got)
	}

	// Backing off after failures: the retry is the next refresh.
	m.SetNow(now)
	sch = vault.Schedule{SessionID: 1, Mode: vault.ScheduleEvery, Interval: 30 * time.Minute, Enabled: true,
		Failures: 3, BackoffUntil: now.Add(20 * time.Second), LastError: "server error · 503"}
	s.LastRefreshAt = now.Add(-40 * time.Minute)
	m.SetSession(s, true, &sch)
	for _, want := range []string{"schedule  every 30m", "next      14:00:20 (in 20s) · a retry",
		"failures  3 in a row · backing off until 14:00:20 (in 20s)", "error     server error · 503"} {
		if got := text(m); !strings.Contains(got, want) {
			t.Fatalf("lacks %q:\n%s", want, got)
		}
	}

	// Turned off by the user, and by the Scheduler for a login.
	sch = vault.Schedule{SessionID: 1, Mode: vault.ScheduleEvery, Interval: 30 * time.Minute}
	m.SetSession(s, true, &sch)
	if got := text(m); !strings.Contains(got, "every 30m · off") || strings.Contains(got, "next ") {
		t.Fatalf("off:\n%s", got)
	}
	sch.LastError = "disabled: the session needs a login (rejected · 401)"
	s.NeedsLogin = true
	m.SetSession(s, true, &sch)
	if got := text(m); !strings.Contains(got, "every 30m · disabled: needs login") {
		t.Fatalf("disabled:\n%s", got)
	}
	// Enabled, but the session needs a login: paused.
	sch = vault.Schedule{SessionID: 1, Mode: vault.ScheduleEvery, Interval: 30 * time.Minute, Enabled: true}
	m.SetSession(s, true, &sch)
	if got := text(m); !strings.Contains(got, "next      paused: the session needs a login") {
		t.Fatalf("paused:\n%s", got)
	}
}

// The state line says a token whose nbf is ahead is not valid yet, rather
// than "valid" above a warning that says otherwise.
func TestStateLineSaysNotValidYet(t *testing.T) {
	access := sign(t, jwt.SigningMethodHS256, []byte("k"), jwt.MapClaims{
		"iat": now.Unix(), "nbf": now.Add(5 * time.Minute).Unix(), "exp": now.Add(time.Hour).Unix()})
	s := vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "g", AccessToken: access,
		IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
	m := newPane(t, s)
	got := text(m)
	want := "state     ◌ not valid yet · from 14:05:00 (in 5m 00s) · expires 15:00:00 (in 1h 00m)"
	if !strings.Contains(got, want) || strings.Contains(got, "● valid") {
		t.Fatalf("pane lacks %q (or says valid):\n%s", want, got)
	}
	// Once nbf has passed it is valid.
	m.SetNow(now.Add(6 * time.Minute))
	if got := text(m); !strings.Contains(got, "state     ● valid · expires 15:00:00") {
		t.Fatalf("after nbf:\n%s", got)
	}
}

// The "last" line pairs the latest attempt's outcome with that attempt's
// own time, in words, never with the time of the last success.
func TestLastLineShowsTheLatestAttemptWithItsTime(t *testing.T) {
	s := vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "g", LastStatus: "network_error",
		LastRefreshAt: now.Add(-time.Hour)}
	m := newPane(t, s)
	got := text(m)
	// Before the attempt is read: its outcome without a time, and when the
	// last success was.
	for _, want := range []string{"last      network error\n", "last ok   13:00:00 (1h ago)"} {
		if !strings.Contains(got, want) {
			t.Fatalf("lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "network_error") || strings.Contains(got, "network error · 13:00:00") {
		t.Fatalf("the failure is paired with the last success's time, or named by its enum:\n%s", got)
	}
	m.SetLastAttempt(LastAttempt{Outcome: "network_error", At: now.Add(-3 * time.Minute)})
	if got := text(m); !strings.Contains(got, "last      network error · 13:57:00 (3m ago)") {
		t.Fatalf("with the attempt read:\n%s", got)
	}
	// An attempt the pane read that is older than the row's outcome does
	// not lend its time.
	m.SetLastAttempt(LastAttempt{Outcome: "ok", At: now.Add(-2 * time.Hour)})
	if got := text(m); !strings.Contains(got, "last      network error\n") {
		t.Fatalf("with a stale attempt:\n%s", got)
	}
	// A success is the last success.
	s.LastStatus, s.LastRefreshAt = "ok", now.Add(-time.Minute)
	m.SetSession(s, true, nil)
	if got := text(m); !strings.Contains(got, "last      ok · 13:59:00 (1m ago)") || strings.Contains(got, "last ok") {
		t.Fatalf("after a success:\n%s", got)
	}
	for outcome, words := range map[string]string{"server_error": "server error", "rejected": "rejected", "cancelled": "cancelled"} {
		s.LastStatus = outcome
		m.SetSession(s, true, nil)
		if got := text(m); !strings.Contains(got, "last      "+words+"\n") {
			t.Fatalf("%s:\n%s", outcome, got)
		}
	}
}

// Rotated tokens waiting in recovery are said first, with the command
// that takes them back (the label quoted for a shell when it needs it).
func TestRecoveryLine(t *testing.T) {
	for _, c := range []struct {
		label string
		n     int
		want  string
	}{
		{"prod-eu", 1, "⤺ a rotated token is waiting in recovery: run tokentop recover prod-eu"},
		{"my prod", 2, "⤺ 2 rotated token sets are waiting in recovery: run tokentop recover 'my prod'"},
		{"it's", 1, `run tokentop recover 'it'\''s'`},
	} {
		m := newPane(t, vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: c.label, BaseURL: "https://x", Recovery: c.n})
		m.SetSize(200, 80) // one line
		if got := text(m); !strings.Contains(got, c.want) {
			t.Errorf("%q: pane lacks %q:\n%s", c.label, c.want, got)
		}
	}
	m := newPane(t, vault.Session{ID: 1, Provider: vault.ProviderGalileo, Label: "g", BaseURL: "https://x"})
	if strings.Contains(text(m), "recovery") {
		t.Error("no recovery, yet the pane speaks of it")
	}
}
