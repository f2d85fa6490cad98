// Package galileo is the Galileo auth client: POST /v1/refresh_token, a
// Provider, as documented in specs/galileo-refresh-token.openapi.md. The
// refresh token travels as a cookie; a rotated one comes back in Set-Cookie.
package galileo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// RefreshCookie is the cookie carrying the refresh token, both ways.
const RefreshCookie = "refresh_token"

// DefaultTokenType is the token_type the schema defaults to.
const DefaultTokenType = "bearer"

// ErrNoBaseURL: Galileo is per tenant, so a session must name its server.
var ErrNoBaseURL = errors.New("galileo session has no base URL (e.g. https://api.acme.rungalileo.io)")

// Client calls Galileo's auth endpoints.
type Client struct {
	hc  *http.Client
	now func() time.Time
}

// New returns a client using hc (nil: providers.NewHTTPClient with defaults)
// and the clock now (nil: time.Now).
func New(hc *http.Client, now func() time.Time) *Client {
	if hc == nil {
		hc = providers.NewHTTPClient(providers.ClientOptions{})
	}
	if now == nil {
		now = time.Now
	}
	return &Client{hc: hc, now: now}
}

// Name is the provider name stored in sessions: "galileo".
func (c *Client) Name() string { return vault.ProviderGalileo }

// Refresh exchanges the session's refresh token (sent as the refresh_token
// cookie, no body) for a new access token. Its expiry is the access token's
// exp claim (zero when the token is not a JWT).
func (c *Client) Refresh(ctx context.Context, s vault.Session) (providers.Result, *providers.Exchange, error) {
	if s.BaseURL == "" {
		return providers.Result{}, nil, &providers.Error{Outcome: providers.OutcomeNetworkError, Kind: providers.KindNetwork, Err: ErrNoBaseURL}
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	h.Set("Cookie", RefreshCookie+"="+s.RefreshToken)
	req := providers.Request{
		Method:  http.MethodPost,
		URL:     strings.TrimRight(s.BaseURL, "/") + "/v1/refresh_token",
		Header:  h,
		Secrets: []string{s.RefreshToken},
	}
	var res providers.Result
	ex, err := providers.Capture(ctx, c.hc, c.now, req, func(ex *providers.Exchange) error {
		var perr error
		res, perr = parseToken(ex, s.RefreshToken)
		return perr
	})
	return res, ex, err
}

// parseToken reads a /v1/refresh_token answer: 200 with the Token schema
// ({"access_token" required, "token_type" default "bearer"}), and a rotated
// refresh token when the response sets the cookie to a new value.
//
// The cookie is read first: a 200 whose body breaks the schema, or whose
// body broke on the wire (ex.BodyBroken: Capture then returns the transport
// error), still rotated the token, so the new one comes back in
// Result.RefreshToken next to the error, for the caller to keep.
//
// A rotated token over vault.MaxTokenLen is a schema error naming its length
// and is not returned: the vault would refuse it, and sending it back would
// only fail again. The token sent is spent all the same; the session will
// need a new login.
func parseToken(ex *providers.Exchange, sent string) (providers.Result, error) {
	if ex.Status != http.StatusOK {
		return providers.Result{}, ex.StatusError()
	}
	rotated := rotatedCookie(ex.ResponseHeader, ex.StartedAt)
	if rotated == sent {
		rotated = ""
	}
	ex.AddSecrets(rotated)
	if len(rotated) > vault.MaxTokenLen {
		return providers.Result{}, ex.SchemaError(tooLong("the refresh_token cookie", rotated))
	}
	if ex.BodyBroken {
		return providers.Result{RefreshToken: rotated}, nil
	}
	res, problem := parseBody(ex)
	if problem != "" {
		return providers.Result{RefreshToken: rotated}, ex.SchemaError(problem)
	}
	res.RefreshToken = rotated
	return res, nil
}

// tooLong says that a received token is over vault.MaxTokenLen, giving its
// length and never its value.
func tooLong(what, tok string) string {
	return fmt.Sprintf("%s is %d bytes, over the %d-byte token limit", what, len(tok), vault.MaxTokenLen)
}

// parseBody reads the Token schema from a 200 body; problem says what is
// wrong with it ("" when nothing is).
func parseBody(ex *providers.Exchange) (res providers.Result, problem string) {
	var body struct {
		AccessToken *json.RawMessage `json:"access_token"`
		TokenType   *json.RawMessage `json:"token_type"`
	}
	if err := json.Unmarshal([]byte(ex.ResponseBody), &body); err != nil {
		if ex.ResponseTruncated {
			return res, "body truncated at the 1 MiB cap"
		}
		return res, "body is not a JSON object"
	}
	res.TokenType = DefaultTokenType
	if body.AccessToken == nil || bytes.Equal(*body.AccessToken, []byte("null")) {
		return res, "missing access_token"
	}
	if json.Unmarshal(*body.AccessToken, &res.AccessToken) != nil {
		return res, "access_token is not a string"
	}
	ex.AddSecrets(res.AccessToken)
	if res.AccessToken == "" {
		return res, "access_token is empty"
	}
	if len(res.AccessToken) > vault.MaxTokenLen {
		return res, tooLong("access_token", res.AccessToken)
	}
	if body.TokenType != nil && !bytes.Equal(*body.TokenType, []byte("null")) {
		if json.Unmarshal(*body.TokenType, &res.TokenType) != nil {
			return res, "token_type is not a string"
		}
	}
	if tok, err := vault.DecodeToken(res.AccessToken); err == nil && !tok.Opaque {
		res.IssuedAt, res.ExpiresAt = tok.IssuedAt, tok.ExpiresAt
	}
	return res, ""
}

// rotatedCookie is the refresh_token value the response sets, "" when it sets
// none or deletes the cookie (Max-Age 0, or Expires in the past at now).
func rotatedCookie(h http.Header, now time.Time) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		deleted := c.MaxAge < 0 || (!c.Expires.IsZero() && c.Expires.Before(now))
		if c.Name == RefreshCookie && c.Value != "" && !deleted {
			return c.Value
		}
	}
	return ""
}
