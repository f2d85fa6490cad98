package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// Exit codes: 0 ok, 1 the operation failed, 2 usage error.
const (
	exitOK      = 0
	exitFailed  = 1
	exitUsage   = 2
	envVault    = "TOKENTOP_VAULT"
	envKeyFile  = "TOKENTOP_KEY_FILE"
	envTimeout  = "TOKENTOP_TIMEOUT"
	envPassword = "TOKENTOP_PASSPHRASE"
)

// stdio is the process's outside world, injected so tests can run commands
// in-process with their own streams, environment and clock.
type stdio struct {
	in     io.Reader
	out    io.Writer
	err    io.Writer
	getenv func(string) string
	now    func() time.Time
	// tty is the terminal for prompts, nil when stdin is not a terminal.
	tty *os.File
	// signals, when not nil, installs the handlers that turn SIGINT,
	// SIGTERM and SIGHUP into the end of run's context (Main's; see
	// app.handleSignals). Called again, it does nothing.
	signals func()
	// dashboard runs the dashboard; nil hands it to the tokentop-dashboard
	// program (execProgram).
	dashboard Dashboard
	// dashboardFor is envDashboardFor as this program found it, before
	// Main took it out of the environment: set when tokentop handed the
	// call over.
	dashboardFor string
	// exec runs path with argv and env in place of this process
	// (replaceProcess; tests record the call instead).
	exec func(path string, argv, env []string) error
}

func newStdio() stdio {
	s := stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr, getenv: os.Getenv, now: time.Now, exec: replaceProcess}
	if term.IsTerminal(int(os.Stdin.Fd())) {
		s.tty = os.Stdin
	}
	return s
}

// usageError marks errors that exit 2.
type usageError struct{ error }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// exitError carries an exit code without another message (the command has
// already reported what happened).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// app holds global flags and the lazily opened vault.
type app struct {
	io        stdio
	args      []string        // the call's, for the program it may hand the call to (execProgram)
	ctx       context.Context // the command's: cancelled by SIGINT and SIGTERM
	stdout    *bufio.Writer   // io.out of commands marked buffered (nil for the others); flushed before exit
	fromEnv   map[string]string
	vaultPath string
	keyFile   string // set by demo: its throwaway key
	demo      bool
	create    bool // the command may create a missing vault (add, login, import, the dashboard)
	readOnly  bool // the command only reads the vault (ls, show, history, token without a refresh)
	timeout   time.Duration
	insecure  bool
	version   bool // --version
	store     *vault.Store
	hc        *http.Client
	ref       *providers.Refresher
}

func run(ctx context.Context, args []string, io stdio) int {
	a := &app{io: io, ctx: ctx, args: args}
	if err := a.checkDashboardFor(); err != nil {
		return a.report(err)
	}
	root := a.rootCommandFor(args)
	root.SetArgs(args)
	root.SetIn(io.in)
	root.SetOut(io.out)
	root.SetErr(io.err)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		// `tokentop lss --json` fails on the flag before the mistyped command.
		if c == root && len(args) > 0 && !strings.HasPrefix(args[0], "-") {
			return unknownCommand(root, args[0])
		}
		return usageError{err}
	})
	err := root.ExecuteContext(ctx)
	if a.stdout != nil {
		if ferr := a.stdout.Flush(); ferr != nil && err == nil {
			err = fmt.Errorf("write output: %w", ferr)
		}
	}
	if cerr := a.closeVault(); cerr != nil && err == nil {
		err = cerr
	}
	return a.report(err)
}

// closeVault lets refreshes in flight save their tokens, then closes the
// vault; a later openVault opens it again.
func (a *app) closeVault() error {
	a.finishRefreshes()
	a.ref = nil
	if a.store == nil {
		return nil
	}
	err := a.store.Close()
	a.store = nil
	if err != nil {
		return fmt.Errorf("close vault: %w", err)
	}
	return nil
}

// finishRefreshes waits for refreshes whose caller gave up (Ctrl-C) after
// the request went out: their answer may carry a rotated refresh token, and
// it must reach the vault before the process ends.
func (a *app) finishRefreshes() {
	if a.ref == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.timeout+leaseMargin)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = a.ref.Wait(ctx); close(done) }()
	select {
	case <-done:
	case <-time.After(300 * time.Millisecond):
		fmt.Fprintln(a.io.err, "tokentop: letting the refresh in flight finish and save its tokens…")
		<-done
	}
}

// report prints err as one line on stderr and picks the exit code.
func (a *app) report(err error) int {
	if err == nil {
		return exitOK
	}
	var ee exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	msg := providers.SafeText(strings.ReplaceAll(err.Error(), "\n", " "))
	fmt.Fprintf(a.io.err, "tokentop: %s\n", msg)
	var ue usageError
	if errors.As(err, &ue) || isCobraUsage(err) {
		return exitUsage
	}
	return exitFailed
}

// isCobraUsage recognises cobra's own argument errors, which it does not type.
func isCobraUsage(err error) bool {
	s := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "flag needs an argument", "invalid argument"} {
		if strings.HasPrefix(s, p) || strings.Contains(s, " "+p) {
			return true
		}
	}
	return false
}

// rootCommandFor is the command tree a call with args runs (commandsFor);
// nil args: every command.
func (a *app) rootCommandFor(args []string) *cobra.Command {
	root := &cobra.Command{
		Use:   "tokentop",
		Short: "A terminal dashboard and CLI for PathStack and Galileo API sessions",
		Long: `tokentop keeps PathStack and Galileo sessions (access token, refresh token)
in a local encrypted SQLite vault, shows their claims and expiry, refreshes them
on demand or on a schedule, and prints or copies fresh tokens.

Run it without a command to open the dashboard; try "tokentop demo" first.
Every setting flag has an environment fallback, named in its help: the flag
wins over the variable, the variable over the default.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && !a.version { // --version ignores the rest, as cobra's did
				return unknownCommand(cmd, args[0])
			}
			return nil
		},
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.version {
				return nil // RunE prints it, whatever the environment says
			}
			if err := a.applyEnv(cmd); err != nil {
				return err
			}
			if a.timeout <= 0 {
				return usagef("%s: the timeout must be positive, e.g. 15s", a.flagSource(cmd, "timeout"))
			}
			if a.handsToPostgres(cmd) { // before anything is read or a handler installed
				if err := a.execProgram(forPostgres); err != nil {
					return err
				}
				return exitError{exitOK} // it ran the call (as a child where there is no exec)
			}
			if _, ok := cmd.Annotations[annotationBuffered]; ok { // made here: token, on the hot path, is not
				a.stdout = bufio.NewWriterSize(a.io.out, 32<<10)
				a.io.out = a.stdout
			}
			_, readsOnly := cmd.Annotations[annotationReadsOnly]
			switch {
			case readsOnly, completionRequest(cmd):
				a.readOnly = true // the vault opened read-only, until it must write (ensureFresh)
			case a.handsToDashboard(cmd):
				// No handlers: a signal before the exec ends this process,
				// which has touched nothing, instead of being caught here
				// and lost by the exec.
			default:
				a.handleSignals()
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.version {
				_, err := fmt.Fprintln(a.io.out, version())
				return err
			}
			if a.io.dashboard == nil {
				if err := a.needTerminal(); err != nil {
					return err
				}
				return a.execProgram(forDashboard)
			}
			a.create = true // the dashboard adds sessions and logs in too
			return a.openDashboard(cmd.Context(), nil)
		},
	}
	annotate(root, annotationDashboard)
	// Not cobra's Version with a version template: the template makes
	// text/template's method lookup reachable, and then the linker keeps
	// every exported method of every type in the binary (3.5 MB more, and
	// each call's start slower by the pages it maps).
	root.Flags().BoolVarP(&a.version, "version", "v", false, "version for tokentop")
	root.SuggestionsMinimumDistance = 2
	pf := root.PersistentFlags()
	pf.StringVar(&a.vaultPath, "vault", "", "vault `file`, or a postgres:// URL for a team vault (default $XDG_DATA_HOME/tokentop/vault.db)")
	pf.StringVar(&a.keyFile, "key-file", "", "key `file` of a vault without passphrase (default $XDG_CONFIG_HOME/tokentop/key)")
	pf.DurationVar(&a.timeout, "timeout", 15*time.Second, "overall timeout of one HTTP request")
	pf.BoolVar(&a.insecure, "insecure-http", false, "allow plain http:// to hosts other than loopback")
	bindEnv(pf, "vault", envVault)
	bindEnv(pf, "key-file", envKeyFile)
	bindEnv(pf, "timeout", envTimeout)
	cmds := a.commandsFor(args)
	// A call that names its command has no use for cobra's default
	// completion command, which it would otherwise build, with a
	// subcommand for each shell, on every call.
	root.CompletionOptions.DisableDefaultCmd = len(cmds) == 1
	root.AddCommand(cmds...)
	return root
}

// unknownCommand is cobra's "unknown command" as one line, with its
// suggestions (SuggestionsMinimumDistance, SuggestFor, prefixes).
func unknownCommand(root *cobra.Command, name string) error {
	msg := fmt.Sprintf("unknown command %q", name)
	if s := slices.Compact(slices.Sorted(slices.Values(root.SuggestionsFor(name)))); len(s) > 0 { // SuggestFor and distance may both match
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return usagef("%s; see `tokentop --help`", msg)
}

// annotationDashboard marks the commands that run the dashboard (the root
// and demo): without one in this program, they exec the dashboard program.
const annotationDashboard = "tokentop/dashboard"

// handsToDashboard says whether cmd is run by the dashboard program
// (execProgram) rather than here.
func (a *app) handsToDashboard(cmd *cobra.Command) bool {
	_, ok := cmd.Annotations[annotationDashboard]
	return ok && a.io.dashboard == nil
}

// annotationNoVault marks the commands that never open a vault (decode,
// version, fake-server): they run here whatever vault is named.
const annotationNoVault = "tokentop/no-vault"

// noVault marks c as a command that never opens a vault.
func noVault(c *cobra.Command) *cobra.Command { return annotate(c, annotationNoVault) }

// handsToPostgres says whether cmd, on the vault named, is run by the
// PostgreSQL program (execProgram) because this program cannot open it:
// the CLI links no PostgreSQL driver (vault/postgres), which would cost
// a tokentop token about 6% of its time. The dashboard and the demo go to
// the dashboard program (handsToDashboard), which links it too.
func (a *app) handsToPostgres(cmd *cobra.Command) bool {
	return !opensNoVault(cmd) && !a.handsToDashboard(cmd) && a.vaultNeedsPostgresProgram()
}

// vaultNeedsPostgresProgram says whether the vault named (flag, else
// variable: applyEnv) is on PostgreSQL and this program cannot open it.
func (a *app) vaultNeedsPostgresProgram() bool {
	return vault.IsPostgresURL(a.vaultPath) && !postgresLinked()
}

// opensNoVault says whether cmd never opens a vault itself: ours marked
// noVault, and cobra's help and completion scripts. Nor does __complete,
// whose flags are not parsed yet here: completeLabels hands over the
// answers that list the vault's sessions.
func opensNoVault(cmd *cobra.Command) bool {
	_, none := cmd.Annotations[annotationNoVault]
	return none || cmd.Name() == "help" || completionRequest(cmd) || (cmd.HasParent() && cmd.Parent().Name() == "completion")
}

// completionRequest says whether cmd is cobra's __complete, which the
// shell runs on <TAB>: it only reads, like the commands marked readsOnly.
func completionRequest(cmd *cobra.Command) bool {
	return cmd.Name() == cobra.ShellCompRequestCmd || cmd.Name() == cobra.ShellCompNoDescRequestCmd
}

// postgresLinked is vault.PostgresLinked: a variable for tests, whose
// binary links the driver for their own server (vault/pgtest).
var postgresLinked = vault.PostgresLinked

// annotationBuffered marks commands whose output goes through one buffer
// (lists: text/tabwriter writes every cell on its own).
const annotationBuffered = "tokentop/buffered"

// buffered marks c as a command that prints a list and exits: its stdout is
// buffered and flushed once before exit. Commands that stream (watch,
// fake-server, the dashboard) or print before a prompt must not be marked.
func buffered(c *cobra.Command) *cobra.Command { return annotate(c, annotationBuffered) }

// annotate marks c with the annotation key.
func annotate(c *cobra.Command, key string) *cobra.Command {
	if c.Annotations == nil {
		c.Annotations = map[string]string{}
	}
	c.Annotations[key] = "1"
	return c
}

// annotationReadsOnly marks commands that only read, at least until they
// say otherwise (a token that needs a refresh): see readsOnly.
const annotationReadsOnly = "tokentop/reads-only"

// readsOnly marks c as a command that only reads unless it calls
// handleSignals first: a signal may end it at once, with nothing to save or
// restore, so it does not pay for installing signal handlers (a thread and
// a handshake with it, 0.2 ms at best and several on a busy machine, in a
// command that takes a few). Its vault is opened read-only (a.readOnly).
func readsOnly(c *cobra.Command) *cobra.Command { return annotate(c, annotationReadsOnly) }

// handleSignals makes SIGINT, SIGTERM and SIGHUP end the command's context
// instead of the process, from now on: refreshes in flight then finish and
// save, the dashboard restores the terminal, the demo removes its files.
// Every command calls it before it starts (see root's PersistentPreRunE)
// except those marked readsOnly, which call it before they write (the
// vault opened for writing, a refresh).
func (a *app) handleSignals() {
	if a.io.signals != nil {
		a.io.signals()
	}
}

// commands lists the subcommands, each built in its own file.
func (a *app) commands() []*cobra.Command {
	var cs []*cobra.Command
	for _, c := range a.commandTable() {
		cs = append(cs, c.build())
	}
	return cs
}

// namedCommand is a subcommand's name and how to build it.
type namedCommand struct {
	name  string
	build func() *cobra.Command
}

// commandTable lists every subcommand by name (TestCommandTableNames checks
// the names against what each builds), so that a call builds only the one it
// runs: building all twenty, with their flags, cost every call 0.2 ms.
func (a *app) commandTable() []namedCommand {
	return []namedCommand{
		{"add", a.addCommand},
		{"ls", func() *cobra.Command { return readsOnly(buffered(a.lsCommand())) }},
		{"show", func() *cobra.Command { return readsOnly(buffered(a.showCommand())) }},
		{"decode", func() *cobra.Command { return noVault(readsOnly(buffered(a.decodeCommand()))) }},
		{"rm", a.rmCommand},
		{"export", func() *cobra.Command { return buffered(a.exportCommand()) }},
		{"import", a.importCommand},
		{"login", a.loginCommand},
		{"refresh", a.refreshCommand},
		{"token", func() *cobra.Command { return readsOnly(a.tokenCommand()) }},
		{"history", func() *cobra.Command { return readsOnly(buffered(a.historyCommand())) }},
		{"fake-server", func() *cobra.Command { return noVault(a.fakeServerCommand()) }},
		{"demo", a.demoCommand},
		{"version", func() *cobra.Command { return noVault(readsOnly(a.versionCommand())) }},
		{"schedule", func() *cobra.Command { return buffered(a.scheduleCommand()) }},
		{"watch", a.watchCommand},
		{"recover", func() *cobra.Command { return buffered(a.recoverCommand()) }},
		{"exec", a.execCommand},
		{"credential-helper", func() *cobra.Command { return readsOnly(a.credentialHelperCommand()) }},
		{"forget", a.forgetCommand},
	}
}

// commandsFor is what a call with args needs: only the subcommand args[0]
// names, when it names one; everything otherwise (no command, a flag first,
// help, completion, a typo that wants suggestions).
func (a *app) commandsFor(args []string) []*cobra.Command {
	if len(args) > 0 {
		for _, c := range a.commandTable() {
			if c.name == args[0] {
				return []*cobra.Command{c.build()}
			}
		}
	}
	return a.commands()
}

// sessionByLabel opens the vault and finds the session named label; verb
// starts the error ("show \"prod\": no such session").
func (a *app) sessionByLabel(ctx context.Context, verb, label string) (*vault.Store, vault.Session, error) {
	st, err := a.openVault(ctx)
	if err != nil {
		return nil, vault.Session{}, err
	}
	s, err := st.GetSessionByLabel(ctx, label)
	if err != nil {
		return nil, vault.Session{}, fmt.Errorf("%s %q: %w", verb, label, err)
	}
	return st, s, nil
}

// refuseOtherProvider refuses to replace a session of another provider under
// the same label (its tokens would be lost).
func refuseOtherProvider(ctx context.Context, st *vault.Store, label, provider string) error {
	if old, err := st.GetSessionByLabel(ctx, label); err == nil && old.Provider != provider {
		return usagef("session %q is a %s session, not %s: choose another label", label, old.Provider, provider)
	}
	return nil
}

// paths resolves where the vault and its key file live.
func (a *app) paths() (vaultPath, keyFile string, err error) {
	vaultPath = a.vaultPath // flag, else TOKENTOP_VAULT (applyEnv)
	if vaultPath == "" {
		dir, err := xdgDir("XDG_DATA_HOME", ".local/share", a.io.getenv)
		if err != nil {
			return "", "", err
		}
		vaultPath = filepath.Join(dir, "tokentop", "vault.db")
	}
	keyFile = a.keyFile // flag, else TOKENTOP_KEY_FILE, or demo's
	if keyFile == "" {
		dir, err := xdgDir("XDG_CONFIG_HOME", ".config", a.io.getenv)
		if err != nil {
			return "", "", err
		}
		keyFile = filepath.Join(dir, "tokentop", "key")
	}
	return vaultPath, keyFile, nil
}

func xdgDir(env, fallback string, getenv func(string) string) (string, error) {
	if d := getenv(env); d != "" && filepath.IsAbs(d) {
		return d, nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("find home folder: %w", err)
		}
		home = h
	}
	return filepath.Join(home, fallback), nil
}

// vaultExists reports whether the vault file is there; for a PostgreSQL
// vault, whether its tables are (it is opened to tell).
func (a *app) vaultExists(ctx context.Context) (bool, error) {
	path, _, err := a.paths()
	if err != nil {
		return false, err
	}
	if vault.IsPostgresURL(path) {
		_, err := a.openVault(ctx)
		if errors.Is(err, vault.ErrNoVault) {
			return false, nil
		}
		return err == nil, err
	}
	return fileExists(path)
}

// fileExists reports whether there is a file at path.
func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// openVault opens the vault once per process. Only commands that store
// sessions (a.create: add, login, import, the dashboard; demo) create a
// missing one: a mistyped --vault must not turn into a new empty vault.
//
// A command that only reads (readsOnly) has a.readOnly set: the vault is then opened
// read-only when it can be, and nothing is written to its files. Should it
// have to write after all (token refreshing), it clears a.readOnly and the
// next openVault opens the vault again, writable.
func (a *app) openVault(ctx context.Context) (*vault.Store, error) {
	if a.store != nil {
		if !a.store.ReadOnly() || a.readOnly {
			return a.store, nil
		}
		err := a.store.Close()
		a.store = nil
		if err != nil {
			return nil, err
		}
	}
	if !a.readOnly {
		a.handleSignals() // a readsOnly command about to write after all
	}
	path, keyFile, err := a.paths()
	if err != nil {
		return nil, err
	}
	pg := vault.IsPostgresURL(path)
	if !a.create && !a.demo && !pg {
		if exists, err := fileExists(path); err != nil {
			return nil, err
		} else if !exists {
			return nil, fmt.Errorf("no vault at %s (create one with tokentop add, login or import)", path)
		}
	}
	opts := vault.Options{Path: path, KeyFile: keyFile, Passphrase: a.io.getenv(envPassword), Now: a.io.now, ReadOnly: a.readOnly}
	if pg {
		// A team vault on PostgreSQL: nothing local but the key file (when
		// not in passphrase mode) and, only if the database cannot take a
		// recovery row, a recovery file in the data folder.
		opts.MustExist = !a.create && !a.demo
		dataDir, err := xdgDir("XDG_DATA_HOME", ".local/share", a.io.getenv)
		if err != nil {
			return nil, err
		}
		opts.RecoveryDir = filepath.Join(dataDir, "tokentop", "recovery")
	}
	opts.Warn = func(msg string) { fmt.Fprintln(a.io.err, "tokentop: warning: "+msg) }
	if a.io.tty != nil {
		opts.PromptPassphrase = func() (string, error) { return a.promptSecret("Vault passphrase: ") }
	}
	st, err := vault.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	a.store = st
	return st, nil
}
