// Package pathstack is the PathStack auth client: POST /refresh (a Provider)
// and POST /token (login), as documented in specs/pathstack-refresh.openapi.md.
package pathstack

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// DefaultLoginAPIVersion is the x-api-version the /token page documents as
// its default (the /refresh page documents vault.DefaultPathStackAPIVersion).
const DefaultLoginAPIVersion = "2024-03-26"

// The client refreshes and logs in.
var (
	_ providers.Provider = (*Client)(nil)
	_ providers.Loginer  = (*Client)(nil)
)

// Client calls PathStack's auth endpoints.
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

// Name is the provider name stored in sessions: "pathstack".
func (c *Client) Name() string { return vault.ProviderPathStack }

// Refresh exchanges the session's refresh token for a new access token:
// POST {base}/refresh with {"sub", "refresh_token"}. When the answer carries
// data.refresh_token the token rotated and Result.RefreshToken holds it.
func (c *Client) Refresh(ctx context.Context, s vault.Session) (providers.Result, *providers.Exchange, error) {
	body, _ := json.Marshal(struct { // plain strings: cannot fail
		Sub          string `json:"sub"`
		RefreshToken string `json:"refresh_token"`
	}{s.Sub, s.RefreshToken})
	version := s.APIVersion
	if version == "" {
		version = vault.DefaultPathStackAPIVersion
	}
	req := providers.Request{
		Method:  http.MethodPost,
		URL:     endpoint(s.BaseURL, "/refresh"),
		Header:  jsonHeader(version),
		Body:    body,
		Secrets: []string{s.RefreshToken},
	}
	return c.send(ctx, req, false)
}

// Login exchanges a username (or email) and password for a session's first
// tokens: POST {base}/token. target.APIVersion "" sends DefaultLoginAPIVersion.
// PathStack has no API-key login: c.Method must be providers.LoginPassword
// (or empty), else the error matches providers.ErrLoginMethod and nothing is
// sent. The password is masked in the returned exchange, by a mask that does
// not show its length.
func (c *Client) Login(ctx context.Context, target providers.LoginTarget, cred providers.Credentials) (providers.Result, *providers.Exchange, error) {
	if cred.Method != "" && cred.Method != providers.LoginPassword {
		return providers.Result{}, nil, fmt.Errorf("%w: PathStack logs in with a username and password only, not %q", providers.ErrLoginMethod, cred.Method)
	}
	body, _ := json.Marshal(struct { // plain strings: cannot fail
		Username string `json:"username"`
		Password string `json:"password"`
	}{cred.Username, cred.Password})
	apiVersion := target.APIVersion
	if apiVersion == "" {
		apiVersion = DefaultLoginAPIVersion
	}
	req := providers.Request{
		Method:  http.MethodPost,
		URL:     endpoint(target.BaseURL, "/token"),
		Header:  jsonHeader(apiVersion),
		Body:    body,
		Secrets: []string{cred.Password},
	}
	return c.send(ctx, req, true)
}

// send makes one call and reads its tokens (login: refresh_token and sub required).
func (c *Client) send(ctx context.Context, req providers.Request, login bool) (providers.Result, *providers.Exchange, error) {
	var res providers.Result
	ex, err := providers.Capture(ctx, c.hc, c.now, req, func(ex *providers.Exchange) error {
		var perr error
		res, perr = parseTokens(ex, login)
		return perr
	})
	return res, ex, err
}

// endpoint joins the base URL (default: production) and a path.
func endpoint(base, path string) string {
	if base == "" {
		base = vault.DefaultPathStackBaseURL
	}
	return strings.TrimRight(base, "/") + path
}

// jsonHeader is the request header of every PathStack auth call. The API
// version is always sent, so the captured request shows which one was used.
func jsonHeader(apiVersion string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("X-Api-Version", apiVersion)
	return h
}
