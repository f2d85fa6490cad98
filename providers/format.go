package providers

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// SkewWarning is the clock skew from which Format warns: beyond it every
// expiry countdown is visibly wrong.
const SkewWarning = 30 * time.Second

// Format writes the exchange like `curl -v`: "> " request lines, "< "
// response lines, bodies as they were, then "* " notes (error, truncation,
// timings, clock skew). Secrets are masked unless reveal is true.
// Used by the CLI's --show-exchange and the dashboard's exchange pane.
func (e *Exchange) Format(w io.Writer, reveal bool) {
	ex := e
	if !reveal {
		ex = e.Redacted()
	}
	var b strings.Builder

	host, target := splitURL(ex.URL)
	reqProto := "HTTP/1.1"
	if ex.Proto == "HTTP/2.0" {
		reqProto = "HTTP/2"
	}
	fmt.Fprintf(&b, "> %s %s %s\n", ex.Method, target, reqProto)
	if h := ex.RequestHeader.Get("Host"); h != "" {
		host = h
	}
	if host != "" {
		fmt.Fprintf(&b, "> Host: %s\n", host)
	}
	writeHeader(&b, "> ", ex.RequestHeader)
	b.WriteString(">\n")
	writeBody(&b, ex.RequestBody)

	if ex.Status != 0 {
		b.WriteString("\n")
		fmt.Fprintf(&b, "< %s %s\n", ex.Proto, ex.StatusText)
		writeHeader(&b, "< ", ex.ResponseHeader)
		b.WriteString("<\n")
		writeBody(&b, ex.ResponseBody)
	}
	if ex.ResponseTruncated {
		fmt.Fprintf(&b, "* response body truncated at %d bytes\n", MaxResponseBody)
	}
	if ex.BodyBroken {
		fmt.Fprintf(&b, "* response body broken off after %d bytes (see the error)\n", len(e.ResponseBody))
	}
	if ex.Error != "" {
		fmt.Fprintf(&b, "* error: %s\n", ex.Error)
	}
	t := ex.Timings
	fmt.Fprintf(&b, "* timings: dns %s, connect %s, tls %s, first byte %s, total %s\n",
		round(t.DNS), round(t.Connect), round(t.TLS), round(t.FirstByte), round(t.Total))
	if !ex.ServerDate.IsZero() && (ex.ClockSkew > SkewWarning || ex.ClockSkew < -SkewWarning) {
		fmt.Fprintf(&b, "* server clock differs from the local clock by %s (server Date: %s)\n",
			ex.ClockSkew.Round(time.Second), ex.ServerDate.UTC().Format(http.TimeFormat))
	}
	// Headers and bodies are as the server sent them: never its control
	// characters to the terminal.
	_, _ = io.WriteString(w, SafeText(b.String())) // like fmt.Print: a display write error is not actionable
}

// splitURL splits "https://host/path?q" into host and request target. Plain
// string work, not url.Parse: a redacted URL holds masks ("…(33)…") that
// re-encoding would turn into percent escapes.
func splitURL(raw string) (host, target string) {
	rest := raw
	if _, after, ok := strings.Cut(raw, "://"); ok {
		rest = after
	} else {
		return "", raw
	}
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		host, target = rest[:i], rest[i:]
	} else {
		host = rest
	}
	if !strings.HasPrefix(target, "/") {
		target = "/" + target
	}
	return host, target
}

// writeHeader writes headers sorted by name, Host excepted (written first).
func writeHeader(b *strings.Builder, prefix string, h http.Header) {
	keys := make([]string, 0, len(h))
	for k := range h {
		if k != "Host" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range h[k] {
			fmt.Fprintf(b, "%s%s: %s\n", prefix, k, v)
		}
	}
}

func writeBody(b *strings.Builder, body string) {
	if body == "" {
		return
	}
	b.WriteString(body)
	if !strings.HasSuffix(body, "\n") {
		b.WriteString("\n")
	}
}

// round keeps durations readable: 1.234ms, 182ms, 2.5s.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

// SafeJSON makes encoded JSON safe to print on a terminal: encoding/json
// escapes C0 controls but writes DEL, C1 controls (U+0080–U+009F) and the
// bidirectional controls as they are, so it rewrites those as \u escapes.
// In valid JSON they can only stand inside strings, where the escape means
// the same character: the document decodes to the same value. Use it on
// every --json output that carries server or token text.
func SafeJSON(data []byte) []byte {
	i := bytes.IndexFunc(data, jsonUnsafe)
	if i < 0 {
		return data
	}
	out := make([]byte, 0, len(data)+16)
	out = append(out, data[:i]...)
	for len(data[i:]) > 0 {
		r, size := utf8.DecodeRune(data[i:])
		if jsonUnsafe(r) {
			out = appendUEscape(out, r)
		} else {
			out = append(out, data[i:i+size]...)
		}
		i += size
	}
	return out
}

// jsonUnsafe: what SafeJSON escapes. C0 controls are left alone: inside
// strings encoding/json has escaped them already, and outside strings they
// are the document's own whitespace.
func jsonUnsafe(r rune) bool {
	return r >= 0x7f && UnsafeRune(r)
}
