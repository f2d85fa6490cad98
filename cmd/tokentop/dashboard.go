package main

import (
	"context"
	"errors"

	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/ui"
)

// runDashboard opens the dashboard on the vault.
func (a *app) runDashboard(ctx context.Context) error {
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
	login := pathstack.New(a.httpClient(), a.io.now).Login
	err = ui.Run(ctx, ui.Deps{Store: a.store, Refresher: r, Login: login, Now: a.io.now, Title: title})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
