package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// Dashboard runs the dashboard until q or until ctx ends (a signal: Main
// turns SIGINT, SIGTERM and SIGHUP into cancelling ctx, handleSignals).
// cmd/tokentop-dashboard gives one that runs ui.Run.
type Dashboard func(ctx context.Context, d DashboardDeps) error

// DashboardDeps is what the dashboard runs on.
type DashboardDeps struct {
	Store     *vault.Store
	Refresher *providers.Refresher
	// Logins are the providers' logins by provider (logins).
	Logins map[string]providers.LoginFunc
	// LoginHint fills in the login form's credentials (the demo's); nil: none.
	LoginHint func(provider, baseURL string) (string, string)
	Now       func() time.Time
	Title     string
}

// openDashboard runs the dashboard (a.io.dashboard) until q, or until a
// signal: ctx is cancelled, the program ends and restores the terminal, and
// the refreshes in flight save their tokens before it returns nil.
// loginHint fills in the login form's credentials (the demo's; nil: none).
func (a *app) openDashboard(ctx context.Context, loginHint func(provider, baseURL string) (string, string)) error {
	if err := a.needTerminal(); err != nil {
		return err
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

// dashboardProgram runs the dashboard and the demo for a tokentop built
// without them (Main with a nil Dashboard). It links PostgreSQL too: the
// dashboard opens any vault.
const dashboardProgram = "tokentop-dashboard"

// postgresProgram runs the calls on a vault on PostgreSQL for a tokentop
// that links no driver for it (does not import vault/postgres): the CLI
// with the driver, and without the dashboard, whose start asks the
// terminal for its colours.
const postgresProgram = "tokentop-postgres"

// envDashboardFor is set by tokentop for the program it hands a call to
// (execProgram): its own version (thisVersion). Every program takes it out
// of its environment at once (Main, into stdio.dashboardFor) and refuses to
// run for another version (a vault migrated by a newer program would stop
// the older CLI's scripts). A program handed a call never hands it on
// (execProgram).
const envDashboardFor = "TOKENTOP_DASHBOARD_FOR"

// thisVersion is the version tokentop and the programs it runs compare:
// the module version ("v1.2.0", or a pseudo-version naming the revision).
// A build without one ("devel": go run, -buildvcs=false) is not compared,
// nor can two modified trees at one revision be told apart. A variable for
// tests.
var thisVersion = moduleVersion

// installHint is how to install tokentop's programs of this version.
func installHint() string {
	v := thisVersion()
	if !strings.HasPrefix(v, "v") {
		v = "latest"
	}
	return "install all three with `CGO_ENABLED=0 go install github.com/tokentop/tokentop/cmd/...@" + v + "`"
}

// needTerminal refuses the dashboard without a terminal.
func (a *app) needTerminal() error {
	if a.io.tty == nil || !term.IsTerminal(int(a.io.tty.Fd())) {
		return usagef("the dashboard needs a terminal; see `tokentop --help` for the commands scripts use")
	}
	return nil
}

// execProgram hands this call to another of tokentop's programs (to), with
// the same arguments: the one beside this executable, else the one on PATH.
// The dashboard program runs the dashboard and the demo (forDashboard), the
// PostgreSQL one every call on a vault there (forPostgres), for a tokentop
// built without them. On Unix it replaces this process, so the terminal and
// the signals go straight to it. No signal handler is installed before (see
// handsToDashboard, handsToPostgres): a signal until then ends tokentop,
// which has touched nothing yet.
func (a *app) execProgram(to handOver) error {
	// A call handed over is never handed on: tokentop sends each program
	// only what it runs itself. Here it did not, so what is installed under
	// the program's name is another of them (the CLI, or tokentop-postgres
	// in the dashboard's place), which would run itself for ever.
	if a.io.dashboardFor != "" {
		this := a.thisProgram()
		if this == "tokentop" {
			this = "tokentop itself"
		}
		return fmt.Errorf("the %s program that tokentop ran is %s; %s", to.program, this, installHint())
	}
	path, err := findProgram(to)
	if err != nil {
		return err
	}
	// Ours replaces any (an empty one too: a child would keep the first).
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, envDashboardFor+"=") })
	env = append(env, envDashboardFor+"="+thisVersion())
	return a.io.exec(path, append([]string{to.program}, a.args...), env)
}

// handOver is a program tokentop hands calls to, and what it does, as the
// error says it when the program is missing.
type handOver struct{ program, what string }

var (
	forDashboard = handOver{dashboardProgram, "the dashboard is"}
	forPostgres  = handOver{postgresProgram, "a vault on PostgreSQL is opened by"}
)

// thisProgram names the program running: the one a tokentop built without
// the dashboard or PostgreSQL hands calls to, or tokentop.
func (a *app) thisProgram() string {
	switch {
	case a.io.dashboard != nil:
		return dashboardProgram
	case postgresLinked():
		return postgresProgram
	}
	return "tokentop"
}

// checkDashboardFor refuses to run a call handed over by another version
// of tokentop (envDashboardFor).
func (a *app) checkDashboardFor() error {
	theirs, mine := a.io.dashboardFor, thisVersion()
	if theirs == "" || theirs == "devel" || mine == "devel" || theirs == mine {
		return nil
	}
	return fmt.Errorf("%s is %s, but the tokentop that ran it is %s: %s", a.thisProgram(), mine, theirs, installHint())
}

// findProgram finds the program to run: beside this executable, else on
// PATH (exec.LookPath, which takes no program from the current folder).
func findProgram(to handOver) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			if p, err := exec.LookPath(filepath.Join(filepath.Dir(exe), to.program)); err == nil {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(to.program); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s the %s program, and it is not installed next to tokentop or on PATH: %s", to.what, to.program, installHint())
}

// logins are the providers' logins the dashboard offers (l): each
// provider's Login (providers.Loginer) by provider name. A provider
// missing here gets "paste new tokens" only.
func (a *app) logins() map[string]providers.LoginFunc {
	hc := a.httpClient()
	return map[string]providers.LoginFunc{
		vault.ProviderPathStack: pathstack.New(hc, a.io.now).Login,
		vault.ProviderGalileo:   galileo.New(hc, a.io.now).Login,
	}
}
