package detail

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

const keyCol = 10 // width of the left column

// lines renders the whole pane content. It runs when the session, the
// clock or the size change, not per frame.
func (m Model) lines() []string {
	if !m.has {
		return []string{m.styles.Muted.Render("No session selected.")}
	}
	s := m.session
	var out []string
	kv := func(k, v string) { out = append(out, m.kv(k, v)...) }

	kv("provider", m.styles.Value.Render(common.ProviderName(s.Provider)))
	kv("base URL", m.styles.Value.Render(common.Safe(s.BaseURL)))
	if s.Provider == vault.ProviderPathStack {
		v := common.Safe(s.APIVersion)
		if v == "" {
			v = vault.DefaultPathStackAPIVersion + m.styles.Muted.Render(" (default)")
		}
		kv("api", m.styles.Value.Render(v))
		kv("sub", m.styles.Value.Render(orDash(common.Safe(s.Sub))))
	}

	if s.LoginRemembered != "" {
		// What is kept, never the secret: the Refresher logs in with it
		// when the provider rejects the refresh token.
		kv("login", m.styles.Value.Render("remembered ("+common.DescribeLogin(s.LoginRemembered, s.LoginUser)+")"))
	}
	kv("state", m.stateLine())
	if bar := m.lifetimeBar(); bar != "" {
		kv("lifetime", bar)
	}
	if !s.RefreshExpiresAt.IsZero() {
		kv("refresh", m.styles.Value.Render("expires "+m.when(s.RefreshExpiresAt)))
	}
	out = append(out, m.recoveryLines()...)
	out = append(out, m.scheduleLines()...)
	out = append(out, m.lastLines()...)

	switch {
	case m.loadErr != nil:
		out = append(out, "", m.styles.Error.Render("Could not load tokens: "+common.Safe(m.loadErr.Error())))
		return out
	case !m.full:
		out = append(out, "", m.styles.Muted.Render("loading tokens…"))
		return out
	}
	out = append(out, "")
	out = append(out, m.tokenLines("Access token", s.AccessToken, m.access, m.accessErr)...)
	out = append(out, "")
	out = append(out, m.tokenLines("Refresh token", s.RefreshToken, m.refresh, m.refreshErr)...)
	return out
}

// stateLine is the session's state and expiry. A token whose nbf is still
// ahead is not valid yet, whatever its expiry says.
func (m Model) stateLine() string {
	s := m.session
	state := s.State(m.now)
	look := m.common.Theme.Look(state)
	line := m.styles.State[state].Render(look.Symbol + " " + look.Word)
	if nbf := m.notBefore(); !nbf.IsZero() && (state == vault.StateValid || state == vault.StateExpiring) {
		line = m.styles.Warn.Render("◌ not valid yet") + m.styles.Value.Render(" · from "+m.when(nbf))
	}
	if !s.ExpiresAt.IsZero() {
		verb := " · expires "
		if !s.ExpiresAt.After(m.now) {
			verb = " at "
		}
		line += m.styles.Value.Render(verb + m.when(s.ExpiresAt))
	}
	return line
}

// notBefore is the access token's nbf when it is still ahead, else zero.
func (m Model) notBefore() time.Time {
	if m.access == nil || m.access.Opaque || !m.access.NotBefore.After(m.now) {
		return time.Time{}
	}
	return m.access.NotBefore
}

// lastLines say how the latest refresh attempt went, with its own time,
// and when the last success was if that attempt failed. The time of a
// success is LastRefreshAt; of another outcome, that of the latest attempt
// the exchange pane read, if it has that outcome (else it is older than
// the row, or not read yet: no time).
func (m Model) lastLines() []string {
	s := m.session
	outcome, at := s.LastStatus, time.Time{}
	if m.latest.Outcome != "" && (outcome == "" || m.latest.Outcome == outcome) {
		outcome, at = m.latest.Outcome, m.latest.At
	}
	ok := outcome == string(providers.OutcomeOK)
	if ok && !s.LastRefreshAt.IsZero() {
		at = s.LastRefreshAt
	}
	var out []string
	if outcome != "" {
		st := m.styles.Error
		if ok {
			st = m.styles.Value
		} else if outcome == string(providers.OutcomeCancelled) {
			st = m.styles.Warn
		}
		line := st.Render(common.OutcomeWords(outcome))
		if !at.IsZero() {
			line += m.styles.Value.Render(" · " + m.when(at))
		}
		out = append(out, m.kv("last", line)...)
	}
	if !ok && !s.LastRefreshAt.IsZero() {
		out = append(out, m.kv("last ok", m.styles.Value.Render(m.when(s.LastRefreshAt)))...)
	}
	return out
}

// recoveryLines say that rotated tokens of the session wait in recovery
// (received, but not written to it) and how to take them back.
func (m Model) recoveryLines() []string {
	n := m.session.Recovery
	if n <= 0 {
		return nil
	}
	what := "a rotated token is waiting in recovery"
	if n > 1 {
		what = fmt.Sprintf("%d rotated token sets are waiting in recovery", n)
	}
	run := "tokentop recover " + shellWord(common.Safe(m.session.Label))
	return m.kv("recovery", m.styles.Error.Render("⤺ "+what+": run ")+m.styles.Value.Render(run))
}

// shellWord quotes s for a shell when it is not a plain word.
func shellWord(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '-' || r == '_' || r == '.' || r == '@' || r == ':' || r == '/' ||
			(r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	}) < 0 {
		return s
	}
	return common.ShellQuote(s)
}

// kv is a key and its value, the value wrapped under itself when long.
func (m Model) kv(k, v string) []string {
	w := max(10, m.width-2-keyCol)
	parts := strings.Split(ansi.Wrap(v, w, ""), "\n")
	out := make([]string, len(parts))
	for i, p := range parts {
		if i == 0 {
			out[i] = m.styles.Key.Render(common.Fit(k, keyCol)) + p
		} else {
			out[i] = strings.Repeat(" ", keyCol) + p
		}
	}
	return out
}

// when is a time as "14:32:10 (in 41m 12s)".
func (m Model) when(t time.Time) string {
	return common.Clock(t, m.now, m.common.Location) + " (" + common.Relative(t, m.now) + ")"
}

// lifetimeBar draws the share of the access token's lifetime left.
func (m Model) lifetimeBar() string {
	frac := -1.0
	if m.access != nil && !m.access.Opaque {
		frac = m.access.FractionLeft(m.now)
	}
	if frac < 0 {
		s := m.session
		if s.IssuedAt.IsZero() || s.ExpiresAt.IsZero() || !s.ExpiresAt.After(s.IssuedAt) {
			return ""
		}
		frac = float64(s.ExpiresAt.Sub(m.now)) / float64(s.ExpiresAt.Sub(s.IssuedAt))
		frac = math.Min(1, math.Max(0, frac))
	}
	const width = 10
	full := int(math.Round(frac * width))
	return m.styles.BarFull.Render(strings.Repeat("▓", full)) +
		m.styles.BarEmpty.Render(strings.Repeat("░", width-full)) +
		m.styles.Value.Render(fmt.Sprintf(" %d%% left", int(math.Round(frac*100))))
}

// tokenLines shows one token: its kind, the token (masked unless revealed),
// flags, registered claims as local times, then header and claims as JSON.
func (m Model) tokenLines(name, raw string, tok *vault.Token, decodeErr error) []string {
	var out []string
	if raw == "" {
		return []string{m.styles.Heading.Render(name) + m.styles.Muted.Render(" · none")}
	}
	shown := providers.Mask(raw)
	if m.reveal {
		shown = raw
	}
	shown = common.Safe(shown) // a pasted token is vault text like any other
	switch {
	case decodeErr != nil:
		out = append(out, m.styles.Heading.Render(name)+m.styles.Error.Render(" · undecodable: "+common.Safe(decodeErr.Error())))
		out = append(out, m.kv("token", m.styles.Value.Render(shown))...)
		return out
	case tok == nil || tok.Opaque:
		out = append(out, m.styles.Heading.Render(name)+m.styles.Muted.Render(fmt.Sprintf(" · opaque (%d chars): not a JWT, nothing to decode", len(raw))))
		out = append(out, m.kv("token", m.styles.Value.Render(shown))...)
		return out
	}
	alg := common.Safe(tok.Alg)
	if alg == "" {
		alg = "no alg"
	}
	out = append(out, m.styles.Heading.Render(name)+m.styles.Muted.Render(" · JWT "+alg+" · claims unverified"))
	out = append(out, m.kv("token", m.styles.Value.Render(shown))...)
	if tok.Unsigned {
		out = append(out, m.styles.Warn.Render("⚠ alg: none: the token is unsigned; anyone could have written it"))
	}
	if !tok.NotBefore.IsZero() && tok.NotBefore.After(m.now) {
		out = append(out, m.styles.Warn.Render("⚠ not valid yet: nbf "+m.when(tok.NotBefore)))
	}
	for _, k := range registeredOrder(tok.Claims) {
		v := tok.Claims[k]
		var shownV string
		if t, ok := claimTime(v); ok && isTimeClaim(k) {
			shownV = m.when(t)
		} else {
			shownV = fmt.Sprint(v)
			if arr, ok := v.([]any); ok {
				parts := make([]string, len(arr))
				for i, a := range arr {
					parts[i] = fmt.Sprint(a)
				}
				shownV = strings.Join(parts, ", ")
			}
			shownV = common.Safe(shownV)
		}
		out = append(out, m.kv(k, m.styles.Value.Render(shownV))...)
	}
	out = append(out, m.styles.Key.Render("header"))
	out = append(out, m.styles.JSON.Value(tok.Header)...)
	out = append(out, m.styles.Key.Render("claims"))
	out = append(out, m.styles.JSON.Value(tok.Claims)...)
	return out
}

// registeredOrder lists the registered claims present, in RFC 7519 order.
func registeredOrder(claims map[string]any) []string {
	order := []string{"iss", "sub", "aud", "iat", "nbf", "exp", "jti"}
	var out []string
	for _, k := range order {
		if _, ok := claims[k]; ok {
			out = append(out, k)
		}
	}
	return out
}

func isTimeClaim(k string) bool { return k == "iat" || k == "nbf" || k == "exp" }

func claimTime(v any) (time.Time, bool) {
	switch n := v.(type) {
	case float64:
		sec, frac := math.Modf(n)
		return time.Unix(int64(sec), int64(frac*1e9)), true
	case int64:
		return time.Unix(n, 0), true
	case int:
		return time.Unix(int64(n), 0), true
	case json.Number:
		if f, err := n.Float64(); err == nil {
			return claimTime(f)
		}
	}
	return time.Time{}, false
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}
