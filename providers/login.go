package providers

import (
	"context"
	"errors"
)

// Login methods.
const (
	LoginPassword = "password" // username + password
	LoginAPIKey   = "api_key"  // an API key (Galileo)
)

// Credentials is what a login sends. Never logged; masked in exchanges.
type Credentials struct {
	Method   string // LoginPassword or LoginAPIKey
	Username string
	Password string
	APIKey   string
}

// Secret is the credential's secret part: the password or the API key.
func (c Credentials) Secret() string {
	if c.Method == LoginAPIKey {
		return c.APIKey
	}
	return c.Password
}

// Loginer is a provider that can log in: new tokens for a session from credentials.
// Result.RefreshToken must be set on success.
type Loginer interface {
	Login(ctx context.Context, target LoginTarget, c Credentials) (Result, *Exchange, error)
}

// LoginFunc is a Loginer's Login as a value (pathstack.New(hc, now).Login).
type LoginFunc func(ctx context.Context, target LoginTarget, c Credentials) (Result, *Exchange, error)

// LoginTarget is where to log in.
type LoginTarget struct {
	BaseURL    string
	APIVersion string // PathStack x-api-version ("" = the login default)
}

// ErrLoginMethod is matched (errors.Is) by the error of a login whose method
// the provider does not offer. Nothing was sent (the exchange is nil).
var ErrLoginMethod = errors.New("login method not supported")
