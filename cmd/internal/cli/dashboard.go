package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// Dashboard runs the dashboard until q or until ctx ends (a signal: main
// turns SIGINT, SIGTERM and SIGHUP into cancelling ctx, handleSignals).
// cmd/tokentop-dashboard gives one that runs ui.Run.
type Dashboard func(ctx context.Context, d DashboardDeps) error

// DashboardDeps is what the dashboard runs on.
type DashboardDeps struct {
	Store     *vault.Store
	Refresher *providers.Refresher
	// Logins are the providers' logins by provider (logins).
	Logins map[string]func(context.Context, providers.LoginTarget, providers.Credentials) (providers.Result, *providers.Exchange, error)
	// LoginHint fills in the login form's credentials (the demo's); nil: none.
	LoginHint func(provider, baseURL string) (string, string)
	Now       func() time.Time
	Title     string
}

// runDashboard opens the dashboard on the vault.
func (a *app) runDashboard(ctx context.Context) error {
	return a.openDashboard(ctx, nil)
}

// openDashboard runs the dashboard (a.io.dashboard) until q, or until a
// signal: ctx is cancelled, the program ends and restores the terminal, and
// the refreshes in flight save their tokens before it returns nil.
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
	err = a.io.dashboard(ctx, DashboardDeps{Store: a.store, Refresher: r, Logins: a.logins(), LoginHint: loginHint, Now: a.io.now, Title: title})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// dashboardProgram is the program that runs the dashboard and the demo for
// a tokentop built without them (Main with a nil Dashboard).
const dashboardProgram = "tokentop-dashboard"

// errNoDashboard: the dashboard program is not installed.
var errNoDashboard = errors.New("the dashboard is the " + dashboardProgram + " program, and it is not installed next to tokentop or on PATH: " +
	"install both with `CGO_ENABLED=0 go install github.com/tokentop/tokentop/cmd/...@latest`")

// execDashboard hands this call (the dashboard, the demo) to the dashboard
// program with the same arguments: the one beside this executable, else the
// one on PATH. On Unix it replaces this process, so the terminal and the
// signals go straight to it.
func (a *app) execDashboard() error {
	path, err := findDashboard()
	if err != nil {
		return err
	}
	return replaceProcess(path, append([]string{dashboardProgram}, a.args...))
}

// findDashboard finds the dashboard program.
func findDashboard() (string, error) {
	name := dashboardProgram
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			p := filepath.Join(filepath.Dir(exe), name)
			if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(dashboardProgram); err == nil {
		return p, nil
	}
	return "", errNoDashboard
}

// logins are the providers' logins the dashboard offers (l): each
// provider's Login (providers.Loginer) by provider name. A provider
// missing here gets "paste new tokens" only.
func (a *app) logins() map[string]func(context.Context, providers.LoginTarget, providers.Credentials) (providers.Result, *providers.Exchange, error) {
	hc := a.httpClient()
	return map[string]func(context.Context, providers.LoginTarget, providers.Credentials) (providers.Result, *providers.Exchange, error){
		vault.ProviderPathStack: pathstack.New(hc, a.io.now).Login,
		vault.ProviderGalileo:   galileo.New(hc, a.io.now).Login,
	}
}
