package cli

import (
	"context"
	"net/http"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// httpClient is the one shared client: timeouts, no redirects for auth
// calls, https only (but loopback) unless --insecure-http.
func (a *app) httpClient() *http.Client {
	if a.hc == nil {
		a.hc = providers.NewHTTPClient(providers.ClientOptions{Timeout: a.timeout, AllowInsecureHTTP: a.insecure, UserAgent: "tokentop/" + moduleVersion()})
	}
	return a.hc
}

// registry knows every provider tokentop speaks.
func (a *app) registry() *providers.Registry {
	hc := a.httpClient()
	return providers.NewRegistry(pathstack.New(hc, a.io.now), galileo.New(hc, a.io.now))
}

// leaseMargin is how much longer than --timeout a refresh lease lasts:
// time to write the result.
const leaseMargin = 30 * time.Second

// createVault opens the vault, creating it when missing: for the commands
// that store sessions (add, login, import).
func (a *app) createVault(ctx context.Context) (*vault.Store, error) {
	a.create = true
	return a.openVault(ctx)
}

// refresher opens the vault and builds the Refresher on it (once).
func (a *app) refresher(ctx context.Context) (*providers.Refresher, error) {
	st, err := a.openVault(ctx)
	if err != nil {
		return nil, err
	}
	if a.ref == nil {
		// The lease must outlive the slowest request plus its write: a lease
		// that lapses mid-request lets another process spend the same token.
		a.ref = providers.NewRefresher(st, a.registry(), providers.RefresherOptions{Now: a.io.now, LeaseTTL: a.timeout + leaseMargin})
	}
	return a.ref, nil
}
