// Package galileo is the Galileo auth client: POST /v1/refresh_token, a
// Provider, as documented in specs/galileo-refresh-token.openapi.md, and the
// logins POST /login (username and password) and POST /login/api_key, a
// providers.Loginer. The refresh token travels as a cookie; a new or rotated
// one comes back in Set-Cookie.
package galileo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
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

// errNoBaseURL is what Refresh and Login return, sending nothing, for a
// session or target without a base URL.
func errNoBaseURL() *providers.Error {
	return &providers.Error{Outcome: providers.OutcomeNetworkError, Kind: providers.KindNetwork, Err: ErrNoBaseURL}
}

// The client refreshes and logs in.
var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Loginer  = (*Client)(nil)
)

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
		return providers.Result{}, nil, errNoBaseURL()
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
	return c.send(ctx, req, func(ex *providers.Exchange) (providers.Result, error) {
		return parseToken(ex, s.RefreshToken)
	})
}

// send captures req, reading the answer with parse.
func (c *Client) send(ctx context.Context, req providers.Request, parse func(*providers.Exchange) (providers.Result, error)) (providers.Result, *providers.Exchange, error) {
	var res providers.Result
	ex, err := providers.Capture(ctx, c.hc, c.now, req, func(ex *providers.Exchange) error {
		var perr error
		res, perr = parse(ex)
		return perr
	})
	return res, ex, err
}

// Login starts a new token family: POST {base}/login, form-encoded
// grant_type=password with c.Username and c.Password (c.Method
// providers.LoginPassword, or empty), or POST {base}/login/api_key with JSON
// {"api_key": c.APIKey} (providers.LoginAPIKey). The access token comes in
// the body and the refresh token in Set-Cookie: a 200 without a
// refresh_token cookie is a schema error (the session could not refresh).
// A 401 {"detail": "..."} or 422 FastAPI list comes back as a rejected
// *providers.Error with its envelope. The password or API key is masked in
// the exchange without its length. No cookie jar is involved: the cookie is
// read from the response's headers.
func (c *Client) Login(ctx context.Context, target providers.LoginTarget, cred providers.Credentials) (providers.Result, *providers.Exchange, error) {
	if target.BaseURL == "" {
		return providers.Result{}, nil, errNoBaseURL()
	}
	base := strings.TrimRight(target.BaseURL, "/")
	h := http.Header{}
	h.Set("Accept", "application/json")
	var req providers.Request
	switch cred.Method {
	case providers.LoginPassword, "":
		// Written in the documented field order (url.Values.Encode sorts
		// them), which reads better in the captured request.
		form := "grant_type=password&username=" + url.QueryEscape(cred.Username) + "&password=" + url.QueryEscape(cred.Password)
		h.Set("Content-Type", "application/x-www-form-urlencoded")
		req = providers.Request{
			Method:  http.MethodPost,
			URL:     base + "/login",
			Header:  h,
			Body:    []byte(form),
			Secrets: []string{cred.Password},
		}
	case providers.LoginAPIKey:
		body, _ := json.Marshal(struct { // a plain string: cannot fail
			APIKey string `json:"api_key"`
		}{cred.APIKey})
		h.Set("Content-Type", "application/json")
		req = providers.Request{
			Method:  http.MethodPost,
			URL:     base + "/login/api_key",
			Header:  h,
			Body:    body,
			Secrets: []string{cred.APIKey},
		}
	default:
		return providers.Result{}, nil, fmt.Errorf("%w: Galileo logs in with %q or %q, not %q",
			providers.ErrLoginMethod, providers.LoginPassword, providers.LoginAPIKey, cred.Method)
	}
	return c.send(ctx, req, parseLogin)
}

// parseLogin reads a login answer: the refresh token travels as a cookie
// (required here) and the body is the same Token schema as a refresh's.
func parseLogin(ex *providers.Exchange) (providers.Result, error) {
	res, err := parseToken(ex, "")
	if err != nil || ex.BodyBroken {
		return res, err
	}
	if res.RefreshToken == "" {
		return providers.Result{}, ex.SchemaError("no refresh_token cookie set")
	}
	return res, nil
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
		return providers.Result{}, ex.SchemaError(providers.TokenTooLong("the refresh_token cookie", rotated))
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
		return res, providers.TokenTooLong("access_token", res.AccessToken)
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
