package common

import (
	"bytes"
	"encoding/json"
	"strings"

	"github.com/charmbracelet/lipgloss"
)

// JSONStyles colour the parts of pretty-printed JSON.
type JSONStyles struct {
	Key     lipgloss.Style
	String  lipgloss.Style
	Number  lipgloss.Style
	Literal lipgloss.Style // true, false, null
}

// DefaultJSONStyles derives JSON styles from a theme.
func DefaultJSONStyles(t Theme) JSONStyles {
	return JSONStyles{
		Key:     lipgloss.NewStyle().Foreground(t.JSONKey),
		String:  lipgloss.NewStyle().Foreground(t.JSONString),
		Number:  lipgloss.NewStyle().Foreground(t.JSONNumber),
		Literal: lipgloss.NewStyle().Foreground(t.JSONLiteral),
	}
}

// Pretty indents a JSON document (keeping its key order) and colours it.
// ok is false when body is not JSON; lines then hold body as it is. Either
// way every line went through Safe: the body is a server's or a token's.
func (s JSONStyles) Pretty(body []byte) (lines []string, ok bool) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, false
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, trimmed, "", "  "); err != nil {
		return SafeLines(strings.TrimRight(string(body), "\r\n")), false
	}
	// json.Indent keeps strings as they were sent: a C1 control or a bidi
	// override is valid JSON.
	raw := SafeLines(buf.String())
	lines = make([]string, len(raw))
	for i, l := range raw {
		lines[i] = s.colourLine(l)
	}
	return lines, true
}

// Value pretty-prints any value as coloured JSON (map keys sorted).
func (s JSONStyles) Value(v any) []string {
	b, err := json.Marshal(v)
	if err != nil {
		return []string{err.Error()}
	}
	lines, _ := s.Pretty(b)
	return lines
}

// colourLine colours one line of indented JSON. It relies on json.Indent's
// output: at most one key per line, strings never span lines.
func (s JSONStyles) colourLine(line string) string {
	var b strings.Builder
	i := 0
	for i < len(line) {
		c := line[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(line) {
				if line[j] == '\\' {
					j += 2
					continue
				}
				if line[j] == '"' {
					break
				}
				j++
			}
			j = min(j+1, len(line))
			tok := line[i:j]
			if strings.HasPrefix(strings.TrimLeft(line[j:], " "), ":") {
				b.WriteString(s.Key.Render(tok))
			} else {
				b.WriteString(s.String.Render(tok))
			}
			i = j
		case c == '-' || (c >= '0' && c <= '9'):
			j := i
			for j < len(line) && strings.IndexByte("+-.eE0123456789", line[j]) >= 0 {
				j++
			}
			b.WriteString(s.Number.Render(line[i:j]))
			i = j
		case c == 't' || c == 'f' || c == 'n':
			j := i
			for j < len(line) && line[j] >= 'a' && line[j] <= 'z' {
				j++
			}
			b.WriteString(s.Literal.Render(line[i:j]))
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}
