package providers

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// Envelope shapes.
const (
	ShapePathStack     = "pathstack"      // {"error": {"code": 401, "message": "..."}}
	ShapeFastAPI       = "fastapi"        // {"detail": [{"loc": [...], "msg": "...", "type": "..."}]}
	ShapeFastAPIDetail = "fastapi-detail" // {"detail": "..."}
	ShapeRaw           = "raw"            // anything else
)

// maxMessage bounds an envelope message so that an error stays one readable line.
const maxMessage = 200

// FieldError is one validation error of an envelope.
type FieldError struct {
	Loc  []any  `json:"loc"` // strings or integers, as the provider sent them
	Msg  string `json:"msg"`
	Type string `json:"type,omitempty"`
}

// Where renders the location as a dotted path: "body.sub", "detail.0.name".
func (f FieldError) Where() string {
	parts := make([]string, len(f.Loc))
	for i, l := range f.Loc {
		parts[i] = fmt.Sprint(l)
	}
	return strings.Join(parts, ".")
}

// Envelope is the common shape of a provider's error body: PathStack's
// {"error": {...}}, FastAPI's {"detail": [...]} or {"detail": "..."}, or a raw
// fallback for anything else (an HTML 502 page, JSON of another shape).
type Envelope struct {
	Status  int          `json:"status"`
	Code    string       `json:"code,omitempty"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields"`
	Shape   string       `json:"shape"` // "pathstack" | "fastapi" | "fastapi-detail" | "raw"
}

// MarshalJSON writes "fields": [] rather than null when there are none.
func (e Envelope) MarshalJSON() ([]byte, error) {
	type plain Envelope // no MarshalJSON: no recursion
	if e.Fields == nil {
		e.Fields = []FieldError{}
	}
	return json.Marshal(plain(e))
}

// ParseEnvelope parses an error body of any of the shapes above. It never
// fails: a body it does not recognise becomes a "raw" envelope whose message
// is the HTML <title>, the first non-empty line, or the compact JSON.
// A body that parses as JSON is read as JSON whatever its Content-Type says
// (proxies mislabel bodies); contentType decides whether a non-JSON body is
// searched for an HTML <title>.
func ParseEnvelope(status int, contentType string, body []byte) *Envelope {
	env := &Envelope{Status: status, Shape: ShapeRaw}
	trimmed := bytes.TrimSpace(body)
	var doc any
	if len(trimmed) > 0 && json.Unmarshal(trimmed, &doc) == nil {
		if obj, ok := doc.(map[string]any); ok && parseKnownShape(env, obj) {
			env.Message, env.Code = oneLine(env.Message), oneLine(env.Code)
			return env
		}
		var compact bytes.Buffer
		if json.Compact(&compact, trimmed) == nil {
			env.Message = oneLine(compact.String())
		}
		return env
	}
	env.Message = rawMessage(trimmed, looksHTML(contentType, trimmed))
	if env.Message == "" {
		env.Message = http.StatusText(status)
	}
	return env
}

// parseKnownShape fills env from a PathStack or FastAPI body; false when obj is
// neither.
func parseKnownShape(env *Envelope, obj map[string]any) bool {
	if e, ok := obj["error"].(map[string]any); ok {
		env.Shape = ShapePathStack
		env.Code = scalarString(e["code"])
		env.Message, _ = e["message"].(string)
		_, hasLoc := e["loc"]
		_, hasMsg := e["msg"]
		if hasLoc || hasMsg {
			env.Fields = []FieldError{fieldError(e)}
		}
		if env.Message == "" && len(env.Fields) > 0 {
			env.Message = env.Fields[0].Msg
		}
		return true
	}
	switch d := obj["detail"].(type) {
	case string:
		env.Shape = ShapeFastAPIDetail
		env.Message = d
		return true
	case []any:
		env.Shape = ShapeFastAPI
		for _, item := range d {
			if m, ok := item.(map[string]any); ok {
				env.Fields = append(env.Fields, fieldError(m))
			}
		}
		if len(env.Fields) > 0 {
			env.Message = env.Fields[0].Msg
			if n := len(env.Fields) - 1; n > 0 {
				env.Message += fmt.Sprintf(" (and %d more)", n)
			}
		}
		return true
	}
	return false
}

// fieldError reads loc/msg/type from one validation error object. Integer
// locations stay integers (JSON numbers arrive as float64).
func fieldError(m map[string]any) FieldError {
	var f FieldError
	if locs, ok := m["loc"].([]any); ok {
		for _, l := range locs {
			if n, ok := l.(float64); ok && n == float64(int64(n)) {
				f.Loc = append(f.Loc, int(n))
				continue
			}
			f.Loc = append(f.Loc, l)
		}
	}
	f.Msg, _ = m["msg"].(string)
	f.Type, _ = m["type"].(string)
	f.Msg, f.Type = oneLine(f.Msg), oneLine(f.Type)
	for i, l := range f.Loc {
		if str, ok := l.(string); ok {
			f.Loc[i] = oneLine(str)
		}
	}
	return f
}

// scalarString renders a JSON code (number or string) as text.
func scalarString(v any) string {
	switch c := v.(type) {
	case string:
		return c
	case float64:
		if c == float64(int64(c)) {
			return strconv.FormatInt(int64(c), 10)
		}
		return strconv.FormatFloat(c, 'g', -1, 64)
	}
	return ""
}

// Compiled when an HTML body first needs them, not at every start of the
// CLI (package-level regexps compile in init).
var (
	titleRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`) })
	tagRe   = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`<[^>]*>`) })
)

// looksHTML says whether a body is worth searching for a <title>.
func looksHTML(contentType string, body []byte) bool {
	return strings.Contains(strings.ToLower(contentType), "html") || bytes.HasPrefix(body, []byte("<"))
}

// rawMessage picks a readable line from a non-JSON body: an HTML page's
// title, else its first line with text.
func rawMessage(body []byte, isHTML bool) string {
	if !isHTML {
		for _, line := range strings.Split(string(body), "\n") {
			if t := oneLine(line); t != "" {
				return t
			}
		}
		return ""
	}
	if m := titleRe().FindSubmatch(body); m != nil {
		if t := oneLine(html.UnescapeString(string(m[1]))); t != "" {
			return t
		}
	}
	for _, line := range strings.Split(string(body), "\n") {
		if t := oneLine(html.UnescapeString(tagRe().ReplaceAllString(line, " "))); t != "" {
			return t
		}
	}
	return ""
}

// oneLine collapses whitespace (newlines included) and trims s to maxMessage
// characters, marking the cut with an ellipsis.
func oneLine(s string) string {
	s = SafeText(strings.Join(strings.Fields(strings.ToValidUTF8(s, "\uFFFD")), " "))
	if utf8.RuneCountInString(s) <= maxMessage {
		return s
	}
	r := []rune(s)
	return string(r[:maxMessage-1]) + "…"
}
