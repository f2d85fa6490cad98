package providers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// hiddenLength replaces a request's Content-Length when the body holds a
// password or key: the length would tell the secret's.
const hiddenLength = "(hidden: it tells a secret's length)"

// shortSecret is the length below which Mask shows neither head nor tail.
const shortSecret = 12

// minReplaced is the shortest secret replaced wherever it appears: shorter
// ones would match unrelated text. They are still masked where they stand
// (JSON fields, form fields, credential headers, cookies).
const minReplaced = 4

// Mask shows a secret's head, length and tail: "eyJh…(812)…Q9s". Secrets
// shorter than 12 characters show only their length: "…(7)…". It reads only
// the ends of the secret, whatever its length.
func Mask(secret string) string {
	if secret == "" {
		return ""
	}
	n := utf8.RuneCountInString(secret)
	length := "…(" + strconv.Itoa(n) + ")…"
	if n < shortSecret {
		return length
	}
	head := 0
	for range 4 {
		_, size := utf8.DecodeRuneInString(secret[head:])
		head += size
	}
	tail := len(secret)
	for range 3 {
		_, size := utf8.DecodeLastRuneInString(secret[:tail])
		tail -= size
	}
	return secret[:head] + length + secret[tail:]
}

// sensitiveKeys are JSON and form field names whose values are secrets.
var sensitiveKeys = map[string]bool{
	"access_token": true, "refresh_token": true, "id_token": true, "password": true,
	"api_key": true, "client_secret": true, "token": true, "session_token": true, "jwt": true,
	"accesstoken": true, "refreshtoken": true, "idtoken": true, "apikey": true, "clientsecret": true, "sessiontoken": true,
}

// jsonSecrets finds the `"key": "value"` pairs with a sensitive key at any
// depth, as the regular expression
//
//	(?i)"(access_?token|refresh_?token|id_?token|password|api_?key|client_?secret|token|session_?token|jwt)"(\s*:\s*)"((?:[^"\\]|\\.)*)("?)
//
// would with FindAllStringSubmatchIndex (the same ten indexes a match:
// whole, key, separator, value, closing quote), in one pass without the
// regexp machine, which cost more than the rest of redaction. A scanner
// rather than a decoder: it keeps the body byte for byte apart from the
// masked values, and also works on truncated or broken JSON (a value cut off
// by the end of the body has no closing quote). A test holds it to the
// expression on fuzzed input.
func jsonSecrets(b string) [][]int {
	var out [][]int
	for i := 0; i < len(b); {
		q := strings.IndexByte(b[i:], '"')
		if q < 0 {
			break
		}
		start := i + q
		if m := jsonSecretAt(b, start); m != nil {
			out = append(out, m)
			i = m[1]
			continue
		}
		i = start + 1
	}
	return out
}

// jsonSecretAt matches a sensitive pair starting at b[start] == '"'.
func jsonSecretAt(b string, start int) []int {
	keyStart := start + 1
	// The key: letters and underscores up to the next quote, compared with
	// case folded as (?i) does (including ſ for s and the Kelvin sign for k).
	var key [16]byte
	n, j := 0, keyStart
	for j < len(b) && b[j] != '"' {
		r, w := utf8.DecodeRuneInString(b[j:])
		switch {
		case r == '\u017f':
			r = 's'
		case r == '\u212a':
			r = 'k'
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		}
		if n == len(key) || !(r == '_' || 'a' <= r && r <= 'z') {
			return nil
		}
		key[n] = byte(r)
		n++
		j += w
	}
	if j >= len(b) || !sensitiveKeys[string(key[:n])] {
		return nil
	}
	keyEnd := j
	j++ // the key's closing quote
	sepStart := j
	j = skipJSONSpace(b, j)
	if j >= len(b) || b[j] != ':' {
		return nil
	}
	j = skipJSONSpace(b, j+1)
	sepEnd := j
	if j >= len(b) || b[j] != '"' {
		return nil
	}
	valStart := j + 1
	j = valStart
	// Byte by byte: what ends the value (a quote, a backslash before a
	// newline or the end) is ASCII, which no byte of a multi-byte UTF-8
	// sequence is.
	for j < len(b) && b[j] != '"' {
		if b[j] == '\\' {
			// A backslash and the character it escapes (any but a newline).
			if j+1 >= len(b) || b[j+1] == '\n' {
				break
			}
			j++
		}
		j++
	}
	valEnd, end := j, j
	if j < len(b) && b[j] == '"' {
		end = j + 1
	}
	return []int{start, end, keyStart, keyEnd, sepStart, sepEnd, valStart, valEnd, valEnd, end}
}

// skipJSONSpace skips what \s matches: tab, newline, form feed, carriage
// return and space.
func skipJSONSpace(b string, i int) int {
	for i < len(b) {
		switch b[i] {
		case '\t', '\n', '\f', '\r', ' ':
			i++
		default:
			return i
		}
	}
	return i
}

// Redacted returns a deep copy with every secret masked (Mask): credential
// headers and cookie values, sensitive JSON and form fields, sensitive URL
// query parameters, and every registered secret wherever it appears.
func (e *Exchange) Redacted() *Exchange {
	if e == nil {
		return nil
	}
	c := e.clone()
	c.secrets = nil
	if e.Masked {
		return c
	}
	c.Masked = true
	r := &redactor{secrets: append([]string(nil), e.secrets...)}

	c.URL = r.url(c.URL)
	r.header(c.RequestHeader)
	r.header(c.ResponseHeader)
	c.RequestBody = r.body(c.RequestBody, c.RequestHeader.Get("Content-Type"))
	if len(r.lengthOnly) > 0 && c.RequestHeader.Get("Content-Length") != "" {
		// The body's length less the other fields is the password's.
		c.RequestHeader.Set("Content-Length", hiddenLength)
	}
	c.ResponseBody = r.body(c.ResponseBody, c.ResponseHeader.Get("Content-Type"))

	// Second pass: every secret found above, or registered, wherever it
	// appears. A secret longer than every text cannot appear: leaving it out
	// spares building the automaton for a huge cookie already masked above.
	longest := max(len(c.URL), len(c.RequestBody), len(c.ResponseBody), len(c.Error))
	for _, h := range []http.Header{c.RequestHeader, c.ResponseHeader} {
		for _, vs := range h {
			for _, v := range vs {
				longest = max(longest, len(v))
			}
		}
	}
	rep := r.replacer(longest)
	c.URL = rep.Replace(c.URL)
	c.RequestBody = rep.Replace(c.RequestBody)
	c.ResponseBody = rep.Replace(c.ResponseBody)
	c.Error = rep.Replace(c.Error)
	for _, h := range []http.Header{c.RequestHeader, c.ResponseHeader} {
		for k, vs := range h {
			for i := range vs {
				vs[i] = rep.Replace(vs[i])
			}
			h[k] = vs
		}
	}
	return c
}

// MarshalRedacted is the redacted exchange as JSON, for storage in the vault.
func (e *Exchange) MarshalRedacted() (json.RawMessage, error) {
	if e == nil {
		return nil, nil
	}
	return json.Marshal(e.Redacted())
}

// scrub replaces the registered secrets in text (error messages).
func (e *Exchange) scrub(text string) string {
	return (&redactor{secrets: e.secrets, allLengthOnly: true}).replacer(len(text)).Replace(text)
}

// redactor masks values where they stand and collects them as secrets.
type redactor struct {
	secrets []string
	// lengthOnly are secrets shown as "…" alone: passwords and keys, where
	// even a head and tail, or the length, give too much away.
	lengthOnly map[string]bool
	// allLengthOnly masks every secret by its length (error messages).
	allLengthOnly bool
}

func (r *redactor) mask(v string) string {
	if v != "" {
		r.secrets = append(r.secrets, v)
	}
	return r.maskOf(v)
}

// maskPassword masks v as "…", wherever it appears.
func (r *redactor) maskPassword(v string) string {
	if v != "" {
		if r.lengthOnly == nil {
			r.lengthOnly = map[string]bool{}
		}
		r.lengthOnly[v] = true
	}
	return r.mask(v)
}

func (r *redactor) maskOf(v string) string {
	if v != "" && r.lengthOnly[v] {
		return "…"
	}
	if v != "" && r.allLengthOnly {
		return "…(" + strconv.Itoa(utf8.RuneCountInString(v)) + ")…"
	}
	return Mask(v)
}

// passwordKeys are fields whose values are masked as "…", length and all.
var passwordKeys = map[string]bool{"password": true, "client_secret": true, "api_key": true, "clientsecret": true, "apikey": true}

// replacer masks every collected secret no longer than limit bytes wherever
// it appears (see masker).
func (r *redactor) replacer(limit int) *masker {
	secrets := make([]string, 0, len(r.secrets))
	for _, s := range r.secrets {
		if len(s) <= limit {
			secrets = append(secrets, s)
		}
	}
	return newMasker(secrets, r.maskOf)
}

// header masks credentials in place.
func (r *redactor) header(h http.Header) {
	for k, vs := range h {
		for i, v := range vs {
			switch http.CanonicalHeaderKey(k) {
			case "Authorization", "Proxy-Authorization":
				// Keep the scheme ("Bearer"), mask the credential.
				if scheme, cred, ok := strings.Cut(v, " "); ok {
					vs[i] = scheme + " " + r.mask(strings.TrimSpace(cred))
				} else {
					vs[i] = r.mask(v)
				}
			case "Cookie":
				vs[i] = r.cookies(v)
			case "Set-Cookie":
				// Only the first pair is the cookie; the rest are attributes.
				first, attrs, hasAttrs := strings.Cut(v, ";")
				vs[i] = r.cookiePair(first)
				if hasAttrs {
					vs[i] += ";" + attrs
				}
			case "Galileo-Api-Key", "X-Api-Key", "Api-Key":
				vs[i] = r.maskPassword(v)
			}
		}
	}
}

// cookies masks every value of a Cookie header: "a=…(3)…; refresh_token=eyJh…(812)…Q9s".
func (r *redactor) cookies(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		parts[i] = r.cookiePair(p)
	}
	return strings.Join(parts, ";")
}

// cookiePair masks the value of one "name=value", keeping the spacing.
func (r *redactor) cookiePair(p string) string {
	name, value, ok := strings.Cut(p, "=")
	if !ok {
		return p
	}
	quoted := len(value) >= 2 && strings.HasPrefix(value, `"`) && strings.HasSuffix(value, `"`)
	if quoted {
		value = value[1 : len(value)-1]
	}
	if value == "" {
		return p
	}
	// Masked here always; looked for elsewhere only when long enough to be
	// a credential: a short value ("tenant=acme") would mask every "acme".
	var m string
	if utf8.RuneCountInString(value) >= shortSecret {
		m = r.mask(value)
	} else {
		m = Mask(value)
	}
	if quoted {
		m = `"` + m + `"`
	}
	return name + "=" + m
}

// body masks sensitive fields of a JSON or form body.
func (r *redactor) body(b, contentType string) string {
	if b == "" {
		return b
	}
	if strings.Contains(strings.ToLower(contentType), "x-www-form-urlencoded") {
		return r.form(b)
	}
	matches := jsonSecrets(b)
	if matches == nil {
		return b
	}
	var out strings.Builder
	last := 0
	for _, m := range matches {
		// m[6]:m[7] is the value between its quotes; m[8]:m[9] the closing quote.
		raw := b[m[6]:m[7]]
		var value string
		if json.Unmarshal([]byte(`"`+raw+`"`), &value) != nil {
			value = raw
		}
		var masked string
		if passwordKeys[strings.ToLower(b[m[2]:m[3]])] {
			masked = jsonString(r.maskPassword(value))
		} else {
			masked = jsonString(r.mask(value))
		}
		if m[8] == m[9] { // cut off: no closing quote
			masked = strings.TrimSuffix(masked, `"`)
		}
		out.WriteString(b[last : m[6]-1])
		out.WriteString(masked)
		last = m[1]
	}
	out.WriteString(b[last:])
	return out.String()
}

// form masks sensitive fields of "a=1&password=x", keeping order and the
// other fields as they were. The mask is written unescaped: the result is for
// reading, not for sending.
func (r *redactor) form(q string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		key, err := url.QueryUnescape(k)
		if err != nil || !sensitiveKeys[strings.ToLower(key)] {
			continue
		}
		value, err := url.QueryUnescape(v)
		if err != nil {
			value = v
		}
		if passwordKeys[strings.ToLower(key)] {
			parts[i] = k + "=" + r.maskPassword(value)
		} else {
			parts[i] = k + "=" + r.mask(value)
		}
	}
	return strings.Join(parts, "&")
}

// url masks sensitive query parameters, and collects a user-info password
// for the second pass. String work rather than url.URL.String(), which would
// re-encode the rest of the URL.
func (r *redactor) url(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.User != nil {
		if p, ok := u.User.Password(); ok {
			r.maskPassword(p)
		}
	}
	base, query, ok := strings.Cut(raw, "?")
	if !ok {
		return raw
	}
	query, fragment, hasFragment := strings.Cut(query, "#")
	out := base + "?" + r.form(query)
	if hasFragment {
		out += "#" + fragment
	}
	return out
}

// jsonString quotes s as a JSON string without HTML escaping.
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
