package pathstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/tokentop/tokentop/providers"
)

// parseTokens reads a /refresh or /token answer. Only 200 is success; its
// body must be {"data": {...}} with access_token and an integer expires_in
// (and, for a login, refresh_token and sub). Every token received is
// registered as a secret of the exchange.
//
// A 200 that breaks the schema but carries a string data.refresh_token comes
// back with that token in Result.RefreshToken next to the error: the server
// has rotated, the token sent is spent, and the caller must keep the new one.
func parseTokens(ex *providers.Exchange, login bool) (providers.Result, error) {
	if ex.Status != http.StatusOK {
		return providers.Result{}, ex.StatusError()
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
	expiresIn := d.integer("expires_in")
	if d.problem != "" {
		return providers.Result{RefreshToken: res.RefreshToken}, ex.SchemaError(d.problem)
	}
	// Counted from when the request was sent: the expiry errs early, never late.
	res.ExpiresAt = ex.StartedAt.Add(time.Duration(expiresIn) * time.Second)
	return res, nil
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
		fl, ferr := strconv.ParseFloat(string(raw), 64)
		if ferr != nil || fl != float64(int64(fl)) {
			f.fail("data.%s is not an integer", name)
			return 0
		}
		n = int64(fl)
	}
	if n < 0 {
		f.fail("data.%s is negative", name)
		return 0
	}
	return n
}
