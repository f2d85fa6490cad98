package main

import (
	"context"
	"errors"

	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/ui"
	"github.com/tokentop/tokentop/vault"
)

// runDashboard opens the dashboard on the vault.
func (a *app) runDashboard(ctx context.Context) error {
	return a.openDashboard(ctx, nil)
}

// openDashboard runs the dashboard until q, or until a signal: main turns
// SIGINT, SIGTERM and SIGHUP into cancelling ctx (handleSignals). Bubble
// Tea's own signal handler is off (ui.Run), so a signal has one path: ctx
// is cancelled, the program ends and restores the terminal, and Run lets
// the refreshes in flight save their tokens before returning nil.
// loginHint fills in the login form's credentials (the demo's).
func (a *app) openDashboard(ctx context.Context, loginHint func(provider, baseURL string) (string, string)) error {
	if a.io.tty == nil || !term.IsTerminal(int(a.io.tty.Fd())) {
		return usagef("the dashboard needs a terminal; see `tokentop --help` for the commands scripts use")
	}
	r, err := a.refresher(ctx)
	if err != nil {
		return err
	}
	title := "tokentop"
	if a.demo {
		title = "tokentop demo"
	}
	err = ui.Run(ctx, ui.Deps{Store: a.store, Refresher: r, Logins: a.logins(), LoginHint: loginHint, Now: a.io.now, Title: title})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// logins are the providers' logins the dashboard offers (l): each
// provider's Login (providers.Loginer) by provider name. A provider
// missing here gets "paste new tokens" only.
func (a *app) logins() map[string]ui.LoginFunc {
	hc := a.httpClient()
	return map[string]ui.LoginFunc{
		vault.ProviderPathStack: pathstack.New(hc, a.io.now).Login,
		vault.ProviderGalileo:   galileo.New(hc, a.io.now).Login,
	}
}
