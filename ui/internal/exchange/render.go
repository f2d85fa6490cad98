package exchange

import (
	"fmt"
	"net/http"
	neturl "net/url"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

// skewWarning is the server/local clock difference worth a warning.
const skewWarning = 30 * time.Second

// title is the pane's title in at most room cells where it can be: an
// exchange's URL gives way first (the request line shows it), then
// "masked"; Panel cuts what is still too long at a word.
func (m Model) title(room int) string {
	switch m.mode {
	case ModeHistory:
		n := fmt.Sprintf("%d attempts", len(m.attempts))
		if len(m.attempts) == 1 {
			n = "1 attempt"
		}
		return "History · " + n + " · enter shows one · esc back"
	case ModeAttempt:
		return m.exchangeTitle(m.opened, " · esc back", room)
	}
	return m.exchangeTitle(m.current, "", room)
}

func (m Model) exchangeTitle(sh *Shown, suffix string, room int) string {
	if sh == nil {
		return "Exchange" + suffix
	}
	parts := []string{sh.Caption}
	if sh.InFlight {
		parts[0] = sh.Caption + " " + m.spinner + " " + common.Elapsed(m.now.Sub(sh.Started))
	}
	url, masked := -1, -1
	if ex := sh.Exchange; ex != nil {
		url = len(parts)
		parts = append(parts, ex.Method+" "+ex.URL)
		if ex.Status != 0 {
			parts = append(parts, statusText(ex))
		}
		if ex.Timings.Total > 0 {
			parts = append(parts, common.Millis(ex.Timings.Total))
		}
	}
	if sh.Exchange != nil && !sh.InFlight {
		if m.reveal && !sh.Exchange.Masked {
			parts = append(parts, "REVEALED") // a warning: it stays
		} else {
			masked = len(parts)
			parts = append(parts, "masked")
		}
	}
	join := func(parts []string) string { return strings.Join(parts, " · ") + suffix }
	tooWide := func(title string) bool { return ansi.StringWidth(common.Safe(title)) > room }
	title := join(parts)
	if url >= 0 && tooWide(title) {
		// The path, then nothing: the request line has the whole URL.
		parts[url] = sh.Exchange.Method
		if u, err := neturl.Parse(sh.Exchange.URL); err == nil && u.Path != "" {
			parts[url] += " " + u.Path
		}
		title = join(parts)
		if tooWide(title) {
			parts[url] = sh.Exchange.Method
			title = join(parts)
		}
	}
	if masked >= 0 && tooWide(title) {
		title = join(append(parts[:masked:masked], parts[masked+1:]...))
	}
	return title
}

func statusText(ex *providers.Exchange) string {
	if ex.StatusText != "" {
		return common.Safe(ex.StatusText)
	}
	return fmt.Sprintf("%d %s", ex.Status, http.StatusText(ex.Status))
}

// exchangeLines renders one exchange: outcome and envelope first (what the
// user is looking for), then timings, the request and the response.
func (m Model) exchangeLines(sh *Shown, width int) []string {
	st := m.styles
	if sh == nil {
		if m.reading {
			return []string{st.Muted.Render("Reading the last refresh…")}
		}
		return []string{st.Muted.Render("No refresh recorded for this session yet. Press r to refresh it.")}
	}
	ex := sh.Exchange
	if ex != nil && !ex.Masked && !m.reveal {
		ex = ex.Redacted()
	}
	var out []string
	if env := sh.Envelope; env != nil && !sh.InFlight {
		head := "✕ "
		if env.Status != 0 {
			head += fmt.Sprintf("%d · ", env.Status)
		}
		head += orDefault(common.Safe(env.Message), "(no message)")
		if env.Code != "" && env.Code != fmt.Sprint(env.Status) {
			head += " · code " + common.Safe(env.Code)
		}
		// Wrapped at spaces, never cut mid-word: the message is what the
		// reader came for.
		out = append(out, wrap([]string{st.Envelope.Render(head)}, width, "")...)
		for _, f := range env.Fields {
			line := st.FieldLoc.Render(common.Safe(joinLoc(f.Loc))) + "  " + common.Safe(f.Msg)
			if f.Type != "" {
				line += st.Muted.Render(" (" + common.Safe(f.Type) + ")")
			}
			out = append(out, wrapIndent([]string{line}, width)...)
		}
	} else if !sh.InFlight {
		switch {
		case sh.Outcome == string(providers.OutcomeOK):
			out = append(out, st.OK.Render("✓ ok"))
		case sh.Outcome == string(providers.OutcomeCancelled) && sh.Err != "":
			// Not a failure: nobody waited for the answer (it may still land).
			out = append(out, wrap([]string{st.Warn.Render("⚠ " + common.Safe(sh.Err))}, width, "")...)
		case sh.Err != "":
			// Errors name their outcome already ("network error (refused): ...").
			out = append(out, wrap([]string{st.Error.Render("✕ " + common.Safe(sh.Err))}, width, "")...)
		case sh.Outcome != "":
			out = append(out, st.Error.Render("✕ "+common.OutcomeWords(sh.Outcome)))
		}
	}
	if ex == nil {
		if sh.InFlight {
			out = append(out, st.Busy.Render("preparing request…"))
		}
		return out
	}
	if ex.ClockSkew > skewWarning || ex.ClockSkew < -skewWarning {
		out = append(out, wrap([]string{st.Warn.Render(fmt.Sprintf("⚠ server clock differs from this machine's by %s: countdowns may be off", common.Countdown(ex.ClockSkew)))}, width, "")...)
	}
	if t := ex.Timings; t.Total > 0 {
		for _, l := range joinSegments("timings  ", []string{"dns " + common.Millis(t.DNS), "connect " + common.Millis(t.Connect),
			"tls " + common.Millis(t.TLS), "first byte " + common.Millis(t.FirstByte), "total " + common.Millis(t.Total)}, width) {
			out = append(out, st.Muted.Render(l))
		}
	}

	// Side by side when there is room, so the response is in view at once.
	if width >= sideBySide {
		col := (width - 3) / 2
		return append(out, joinSideBySide(m.requestLines(ex, col), m.responseLines(sh, ex, col), col, st.Muted.Render(" │ "))...)
	}
	out = append(out, m.requestLines(ex, width)...)
	out = append(out, "")
	return append(out, m.responseLines(sh, ex, width)...)
}

// sideBySide is the inner width from which request and response are shown
// in two columns.
const sideBySide = 90

func (m Model) requestLines(ex *providers.Exchange, width int) []string {
	st := m.styles
	out := []string{st.Arrow.Render("→ ") + st.RequestLine.Render(common.Safe(ex.Method+" "+ex.URL))}
	out = append(out, m.headerLines(ex.RequestHeader, width)...)
	return append(out, m.bodyLines(ex.RequestBody, width)...)
}

func (m Model) responseLines(sh *Shown, ex *providers.Exchange, width int) []string {
	st := m.styles
	var out []string
	switch {
	case ex.Status != 0:
		line := st.Arrow.Render("← ") + m.statusStyle(ex.Status).Render(statusText(ex))
		if ex.Proto != "" {
			line += st.Muted.Render(" · " + common.Safe(ex.Proto))
		}
		out = append(out, line)
		out = append(out, m.headerLines(ex.ResponseHeader, width)...)
		out = append(out, m.bodyLines(ex.ResponseBody, width)...)
		if ex.ResponseTruncated {
			out = append(out, st.Warn.Render("  … body truncated at the 1 MiB cap"))
		}
	case sh.InFlight:
		out = append(out, st.Arrow.Render("← ")+st.Busy.Render("waiting for the response…"))
	case sh.Outcome == string(providers.OutcomeCancelled) && ex.Error == "":
		out = append(out, st.Arrow.Render("← ")+st.Muted.Render("not waited for"))
	default:
		out = append(out, st.Arrow.Render("← ")+st.Error.Render("no response"))
		if ex.Error != "" {
			out = append(out, wrapIndent([]string{st.Error.Render(common.Safe(ex.Error))}, width)...)
		}
	}
	return out
}

// joinSideBySide puts two columns of lines next to each other.
func joinSideBySide(left, right []string, width int, sep string) []string {
	n := max(len(left), len(right))
	out := make([]string, n)
	for i := range n {
		var l, r string
		if i < len(left) {
			l = left[i]
		}
		if i < len(right) {
			r = right[i]
		}
		out[i] = common.Fit(l, width) + sep + r
	}
	return out
}

func (m Model) statusStyle(code int) interface{ Render(...string) string } {
	switch {
	case code >= 200 && code < 300:
		return m.styles.OK
	case code >= 300 && code < 400:
		return m.styles.Warn
	default:
		return m.styles.Error
	}
}

func (m Model) headerLines(h http.Header, width int) []string {
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	var out []string
	for _, k := range names {
		for _, v := range h[k] {
			out = append(out, m.styles.HeaderName.Render(common.Safe(k)+": ")+m.styles.HeaderValue.Render(common.Safe(v)))
		}
	}
	return wrapIndent(out, width)
}

func (m Model) bodyLines(body string, width int) []string {
	if strings.TrimSpace(body) == "" {
		return nil
	}
	lines, ok := m.styles.JSON.Pretty([]byte(body))
	if !ok {
		for i, l := range lines {
			lines[i] = m.styles.Body.Render(l)
		}
	}
	return wrapIndent(lines, width)
}

// wrapIndent indents lines by two cells and wraps them to width.
func wrapIndent(lines []string, width int) []string { return wrap(lines, width, "  ") }

// wrap wraps lines to width, prefixing each output line with indent.
func wrap(lines []string, width int, indent string) []string {
	w := max(8, width-len(indent))
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		if ansi.StringWidth(l) <= w {
			out = append(out, indent+l)
			continue
		}
		for _, part := range strings.Split(ansi.Wrap(l, w, ""), "\n") {
			out = append(out, indent+part)
		}
	}
	return out
}

// joinSegments joins segments with " · " after prefix, in lines of width
// cells broken between segments only ("182 ms" is never split), the lines
// after the first indented under the prefix.
func joinSegments(prefix string, segs []string, width int) []string {
	var out []string
	line := prefix
	for i, seg := range segs {
		switch {
		case i == 0:
			line += seg
		case ansi.StringWidth(line)+3+ansi.StringWidth(seg) > width:
			out = append(out, line)
			line = strings.Repeat(" ", ansi.StringWidth(prefix)) + seg
		default:
			line += " · " + seg
		}
	}
	return append(out, line)
}

// joinLoc joins a field error's location with "." ("body.sub").
func joinLoc(loc []any) string {
	parts := make([]string, len(loc))
	for i, p := range loc {
		if f, ok := p.(float64); ok && f == float64(int64(f)) {
			parts[i] = fmt.Sprint(int64(f))
			continue
		}
		parts[i] = fmt.Sprint(p)
	}
	if len(parts) == 0 {
		return "(no location)"
	}
	return strings.Join(parts, ".")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

// historyLines lists the attempts, newest first.
func (m Model) historyLines() []string {
	st := m.styles
	switch {
	case m.loading:
		return []string{st.Busy.Render("loading history…")}
	case m.attemptsErr != nil:
		return []string{st.Error.Render("could not load the history: " + common.Safe(m.attemptsErr.Error()))}
	case len(m.attempts) == 0:
		return []string{st.Muted.Render("No attempts recorded for this session yet.")}
	}
	out := make([]string, len(m.attempts))
	for i, a := range m.attempts {
		cursor := "  "
		if i == m.cursor {
			cursor = st.Cursor.Render("▸ ")
		}
		outcome := common.OutcomeWords(a.Outcome)
		oStyle := st.Error
		sym := "✕ "
		if a.Outcome == string(providers.OutcomeOK) {
			oStyle, sym = st.OK, "✓ "
		}
		status := "   "
		if a.Status != 0 {
			status = fmt.Sprintf("%3d", a.Status)
		}
		tail := ""
		relogin := a.Trigger == vault.TriggerRelogin
		switch {
		case relogin && a.Outcome == string(providers.OutcomeOK):
			tail = "logged in by itself" // with the remembered login
			if a.ReceivedFP != "" {
				tail += " · new " + a.ReceivedFP
			}
		case a.Rotated && a.SentFP != "":
			tail = "rotated " + a.SentFP + "→" + a.ReceivedFP
		case a.Error != "":
			tail = a.Error
		case a.SentFP != "":
			tail = "sent " + a.SentFP
		}
		tail = common.Safe(tail)
		trigger := common.Fit(common.Safe(a.Trigger), 9)
		if relogin {
			// Not a refresh: tokentop logged in by itself after a 401.
			trigger = st.Warn.Render(trigger)
		}
		line := cursor +
			common.PadLeft(common.ShortClock(a.StartedAt, m.now, m.common.Location), 11) + " " +
			st.Muted.Render(common.PadLeft(common.Ago(m.now.Sub(a.StartedAt)), 4)) + "  " +
			trigger + " " +
			oStyle.Render(common.Fit(sym+outcome, 15)) + " " +
			status + " " + common.PadLeft(common.Millis(a.Duration), 8) + "  " +
			st.Muted.Render(tail)
		if i == m.cursor {
			line = cursor + st.Selected.Render(ansi.Strip(line[len(cursor):]))
		}
		out[i] = line
	}
	return out
}
