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

// dashboardProgram is the program that runs the dashboard and the demo for
// a tokentop built without them (Main with a nil Dashboard).
const dashboardProgram = "tokentop-dashboard"

// envDashboardFor is set by tokentop for the dashboard program it runs: its
// own version (thisVersion). The dashboard program takes it out of its
// environment at once (Main), refuses to run for another version (a vault
// migrated by a newer dashboard would stop the older CLI's scripts), and a
// tokentop that finds it set was run by tokentop as its dashboard: the
// program installed under the dashboard's name is the CLI, which would run
// itself for ever.
const envDashboardFor = "TOKENTOP_DASHBOARD_FOR"

// thisVersion is the version tokentop and its dashboard program compare:
// the module version ("v1.2.0", or a pseudo-version naming the revision).
// A build without one ("devel": go run, -buildvcs=false) is not compared,
// nor can two modified trees at one revision be told apart. A variable for
// tests.
var thisVersion = moduleVersion

// installHint is how to install both programs of this version.
func installHint() string {
	v := thisVersion()
	if !strings.HasPrefix(v, "v") {
		v = "latest"
	}
	return "install both with `CGO_ENABLED=0 go install github.com/tokentop/tokentop/cmd/...@" + v + "`"
}

// needTerminal refuses the dashboard without a terminal.
func (a *app) needTerminal() error {
	if a.io.tty == nil || !term.IsTerminal(int(a.io.tty.Fd())) {
		return usagef("the dashboard needs a terminal; see `tokentop --help` for the commands scripts use")
	}
	return nil
}

// execDashboard hands this call to the dashboard program, the whole of
// tokentop, with the same arguments: the one beside this executable, else
// the one on PATH. It runs the dashboard and the demo (forDashboard), and
// every call on a vault on PostgreSQL (forPostgres), for a tokentop built
// without them. On Unix it replaces this process, so the terminal and the
// signals go straight to it. No signal handler is installed before (see
// handsToDashboard, handsToPostgres): a signal until then ends tokentop,
// which has touched nothing yet.
func (a *app) execDashboard(why handOver) error {
	if a.io.getenv(envDashboardFor) != "" {
		return fmt.Errorf("the %s program that tokentop ran is tokentop itself, which has neither the dashboard nor PostgreSQL; %s", dashboardProgram, installHint())
	}
	path, err := findDashboard(why)
	if err != nil {
		return err
	}
	// Ours replaces any (an empty one too: a child would keep the first).
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, envDashboardFor+"=") })
	env = append(env, envDashboardFor+"="+thisVersion())
	return a.io.exec(path, append([]string{dashboardProgram}, a.args...), env)
}

// handOver is why a call goes to the dashboard program, as its error says
// it when the program is missing.
type handOver string

const (
	forDashboard handOver = "the dashboard is"
	forPostgres  handOver = "a vault on PostgreSQL is opened by"
)

// checkDashboardFor refuses to run as the dashboard of another version of
// tokentop (envDashboardFor).
func (a *app) checkDashboardFor() error {
	if a.io.dashboard == nil {
		return nil
	}
	theirs, mine := a.io.dashboardFor, thisVersion()
	if theirs == "" || theirs == "devel" || mine == "devel" || theirs == mine {
		return nil
	}
	return fmt.Errorf("%s is %s, but the tokentop that ran it is %s: %s", dashboardProgram, mine, theirs, installHint())
}

// findDashboard finds the dashboard program: beside this executable, else
// on PATH (exec.LookPath, which takes no program from the current folder).
func findDashboard(why handOver) (string, error) {
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			if p, err := exec.LookPath(filepath.Join(filepath.Dir(exe), dashboardProgram)); err == nil {
				return p, nil
			}
		}
	}
	if p, err := exec.LookPath(dashboardProgram); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("%s the %s program, and it is not installed next to tokentop or on PATH: %s", why, dashboardProgram, installHint())
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
