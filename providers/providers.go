// Package providers talks to the PathStack and Galileo auth APIs: the Provider
// interface and its registry, the captured Exchange, the common error
// Envelope and the Refresher (single-flight, lease, persistence, history).
//
// The concrete clients live in providers/pathstack and providers/galileo; they
// build on Capture, which sends one request and records it as an Exchange.
package providers

import (
	"context"
	"sort"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Outcome classifies a refresh attempt.
type Outcome string

// The outcomes.
const (
	OutcomeOK           Outcome = "ok"
	OutcomeRejected     Outcome = "rejected"      // 4xx: the provider said no
	OutcomeServerError  Outcome = "server_error"  // 5xx, 3xx, or a 2xx body not matching the schema
	OutcomeNetworkError Outcome = "network_error" // DNS, refused, reset, TLS, timeout
	OutcomeCancelled    Outcome = "cancelled"
	// OutcomeNotSaved: the provider answered with new tokens but they could
	// not be written to the session; they were kept in recovery instead.
	OutcomeNotSaved Outcome = "not_saved"
	// OutcomeInterrupted marks, in history, a refresh that was sent but
	// whose answer never came back or was never recorded (the process was
	// killed, the connection dropped): the provider may have rotated.
	OutcomeInterrupted Outcome = "interrupted"
	// OutcomeRecovered marks, in history, rotated tokens taken back from
	// recovery into their session.
	OutcomeRecovered Outcome = "recovered"
)

// Result is what a successful refresh or login returns.
type Result struct {
	AccessToken  string
	RefreshToken string // non-empty: the refresh token rotated (also set next to an ErrSchema error: keep it)
	TokenType    string
	Sub          string // PathStack data.sub when present
	IssuedAt     time.Time
	ExpiresAt    time.Time // from expires_in (PathStack) or the JWT exp (Galileo)
}

// Session is the session a login's Result makes: provider and where it
// lives from the caller, tokens and times from the Result (the vault fills
// in what the tokens' claims say and the Result leaves zero).
func (res Result) Session(provider, label, baseURL, apiVersion string) vault.Session {
	return vault.Session{
		Provider: provider, Label: label, BaseURL: baseURL, APIVersion: apiVersion,
		Sub: res.Sub, AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, TokenType: res.TokenType,
		IssuedAt: res.IssuedAt, ExpiresAt: res.ExpiresAt,
	}
}

// Provider refreshes sessions of one kind.
type Provider interface {
	Name() string
	Refresh(ctx context.Context, s vault.Session) (Result, *Exchange, error)
}

// Registry maps provider names to Providers.
type Registry struct {
	byName map[string]Provider
}

// NewRegistry registers the given providers by Name(). A later provider with
// the same name replaces an earlier one.
func NewRegistry(ps ...Provider) *Registry {
	r := &Registry{byName: make(map[string]Provider, len(ps))}
	for _, p := range ps {
		r.byName[p.Name()] = p
	}
	return r
}

// Get returns the provider for name, or false.
func (r *Registry) Get(name string) (Provider, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Names lists the registered provider names, sorted.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
