package pathstack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// parseTokens reads a /refresh or /token answer. Only 200 is success; its
// body must be {"data": {...}} with access_token and an integer expires_in
// (and, for a login, refresh_token and sub). Every token received is
// registered as a secret of the exchange.
//
// A 200 that breaks the schema but carries a string data.refresh_token comes
// back with that token in Result.RefreshToken next to the error: the server
// has rotated, the token sent is spent, and the caller must keep the new one.
//
// A 200 whose body broke on the wire (ex.BodyBroken; Capture returns the
// transport error) cannot be parsed, but when what arrived already holds a
// complete data.refresh_token string, that token is returned: the JSON
// string ended with its closing quote, so it is whole (see partialRefresh).
//
// A token over vault.MaxTokenLen is a schema error naming its length, and is
// not returned (the vault would refuse it).
func parseTokens(ex *providers.Exchange, login bool) (providers.Result, error) {
	if ex.Status != http.StatusOK {
		return providers.Result{}, ex.StatusError()
	}
	if ex.BodyBroken {
		rotated := partialRefresh(ex.ResponseBody)
		ex.AddSecrets(rotated)
		if len(rotated) > vault.MaxTokenLen {
			return providers.Result{}, ex.SchemaError(providers.TokenTooLong("data.refresh_token", rotated))
		}
		return providers.Result{RefreshToken: rotated}, nil
	}
	var doc struct {
		Data map[string]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(ex.ResponseBody), &doc); err != nil {
		if ex.ResponseTruncated {
			return providers.Result{}, ex.SchemaError("body truncated at the 1 MiB cap")
		}
		return providers.Result{}, ex.SchemaError("body is not JSON")
	}
	if doc.Data == nil {
		return providers.Result{}, ex.SchemaError("missing data object")
	}
	d := &fieldReader{data: doc.Data}
	res := providers.Result{
		AccessToken:  d.str("access_token", true),
		RefreshToken: d.str("refresh_token", login),
		Sub:          d.str("sub", login),
		TokenType:    d.str("token_type", false),
	}
	ex.AddSecrets(res.AccessToken, res.RefreshToken)
	if len(res.RefreshToken) > vault.MaxTokenLen {
		return providers.Result{}, ex.SchemaError(providers.TokenTooLong("data.refresh_token", res.RefreshToken))
	}
	if len(res.AccessToken) > vault.MaxTokenLen {
		d.fail("%s", providers.TokenTooLong("data.access_token", res.AccessToken))
	}
	expiresIn := d.integer("expires_in")
	if d.problem != "" {
		return providers.Result{RefreshToken: res.RefreshToken}, ex.SchemaError(d.problem)
	}
	// Counted from when the request was sent: the expiry errs early, never
	// late. A lifetime beyond maxExpiresIn is taken as maxExpiresIn: the
	// server means "long-lived", and a time.Duration of it would overflow
	// (2^63-1 seconds came out as an expiry in the past, so every `token`
	// call spent a refresh).
	res.ExpiresAt = ex.StartedAt.Add(time.Duration(min(expiresIn, maxExpiresIn)) * time.Second)
	return res, nil
}

// maxExpiresIn caps expires_in, in seconds: ten years.
const maxExpiresIn = 10 * 365 * 24 * 60 * 60

// partialRefresh is data.refresh_token read from the start of a body that
// was cut off, "" unless that string arrived whole. It walks the JSON with a
// decoder and stops at the first value that does not complete.
func partialRefresh(body string) string {
	dec := json.NewDecoder(strings.NewReader(body))
	enter := func() bool {
		tok, err := dec.Token()
		return err == nil && tok == json.Delim('{')
	}
	// find reads members of the object just entered until name; false when
	// the object ends or the body breaks first.
	find := func(name string) bool {
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return false
			}
			if key == name {
				return true
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return false
			}
		}
		return false
	}
	if !enter() || !find("data") || !enter() || !find("refresh_token") {
		return ""
	}
	var tok string
	if dec.Decode(&tok) != nil {
		return ""
	}
	return tok
}

// fieldReader reads typed members of data, remembering the first problem.
type fieldReader struct {
	data    map[string]json.RawMessage
	problem string
}

func (f *fieldReader) fail(format string, args ...any) {
	if f.problem == "" {
		f.problem = fmt.Sprintf(format, args...)
	}
}

// str reads a string member; required ones must be present and non-empty.
func (f *fieldReader) str(name string, required bool) string {
	raw, ok := f.data[name]
	if !ok || bytes.Equal(raw, []byte("null")) {
		if required {
			f.fail("missing data.%s", name)
		}
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		f.fail("data.%s is not a string", name)
		return ""
	}
	if required && s == "" {
		f.fail("data.%s is empty", name)
	}
	return s
}

// integer reads a required non-negative integer member.
func (f *fieldReader) integer(name string) int64 {
	raw, ok := f.data[name]
	if !ok || bytes.Equal(raw, []byte("null")) {
		f.fail("missing data.%s", name)
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		// JSON Schema counts 3600.0 as an integer; a string or 3600.5 is not one.
		// Beyond the int64 range (1e19, or an integer of 30 digits) it is
		// still an integer: saturate, the caller caps it anyway.
		fl, ferr := strconv.ParseFloat(string(raw), 64)
		switch {
		case ferr != nil && !errors.Is(ferr, strconv.ErrRange), fl != math.Trunc(fl):
			f.fail("data.%s is not an integer", name)
			return 0
		case fl >= math.MaxInt64:
			n = math.MaxInt64
		case fl <= math.MinInt64:
			n = math.MinInt64
		default:
			n = int64(fl)
		}
	}
	if n < 0 {
		f.fail("data.%s is negative", name)
		return 0
	}
	return n
}
