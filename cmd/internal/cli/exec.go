package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
)

// execInput is what `tokentop exec` needs.
type execInput struct {
	label    string
	minValid time.Duration
	envName  string   // the access token's variable
	argv     []string // the command and its arguments
}

// envNamePattern is what a portable environment variable name looks like
// (compiled on first use: package-level regexps compile at every start).
var envNamePattern = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`) })

func (a *app) execCommand() *cobra.Command {
	var in execInput
	cmd := &cobra.Command{
		Use:   "exec LABEL [--min-valid D] [--env NAME] -- CMD [ARG…]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Run CMD with the session's access token in its environment, refreshed first
when less than --min-valid is left. The child gets:

  TOKENTOP_ACCESS_TOKEN   the access token (--env renames it)
  TOKENTOP_AUTHORIZATION  "Bearer <token>"
  TOKENTOP_EXPIRES_AT     the token's expiry, RFC 3339 (when known)
  PATHSTACK_API_VERSION   the session's x-api-version (PathStack sessions)

The token is never put on a command line or printed. tokentop closes the vault,
runs CMD, passes on the signals it gets (INT, TERM, HUP, QUIT, USR1, USR2,
WINCH; not those the terminal sent CMD already), waits for it and exits with its status (128+N when a signal N ended it,
like a shell). When no fresh token can be had, CMD is not run and the exit
status is 1. Put -- before CMD when it or its arguments have flags.`,
		Example: `  tokentop exec prod -- sh -c 'curl -H "Authorization: $TOKENTOP_AUTHORIZATION" https://api.pathstack.io/v1/me'
  tokentop exec acme --env GALILEO_TOKEN --min-valid 10m -- python run_eval.py`,
		Args: func(cmd *cobra.Command, args []string) error {
			dash := cmd.ArgsLenAtDash()
			switch {
			case dash > 1:
				return usagef("exec takes one LABEL before --, got %d arguments", dash)
			case dash == 0 || len(args) == 0:
				return usagef("exec needs a session LABEL: tokentop exec LABEL -- CMD [ARG…]")
			case len(args) == 1:
				return usagef("exec needs a command to run: tokentop exec %s -- CMD [ARG…]", args[0])
			case dash < 0 && cmd.Flags().NFlag() > 0:
				// Without --, flags meant for CMD would have been taken as
				// tokentop's: `exec prod tool --timeout 5s` must not run tool
				// without its --timeout.
				return usagef("put -- before the command when flags are given: tokentop exec %s [flags] -- %s …", args[0], args[1])
			}
			return nil
		},
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			if len(args) > 0 { // the command and its arguments: the shell's own completion
				return nil, cobra.ShellCompDirectiveDefault
			}
			return a.completeLabels(false)(cmd, args, toComplete)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			in.label, in.argv = args[0], args[1:]
			return a.exec(cmd, in)
		},
	}
	// Cobra reports a flag of CMD (`exec prod curl -s …`) as tokentop's.
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usagef("%v (flags of the command go after --: tokentop exec LABEL -- CMD [ARG…])", err)
	})
	f := cmd.Flags()
	f.DurationVar(&in.minValid, "min-valid", 60*time.Second, "refresh first when less than this is left")
	f.StringVar(&in.envName, "env", envAccessToken, "name of the variable that carries the access token")
	bindEnv(f, "min-valid", envMinValid)
	bindEnv(f, "env", "TOKENTOP_EXEC_ENV")
	return cmd
}

// exec runs in.argv with a fresh token of in.label in its environment and
// returns its exit status as an exitError.
func (a *app) exec(cmd *cobra.Command, in execInput) error {
	if !envNamePattern().MatchString(in.envName) {
		return usagef("%s: not a variable name (letters, digits and _, not first a digit)", a.flagSource(cmd, "env"))
	}
	s, err := a.freshSession(cmd, "exec", in.label, in.minValid)
	if err != nil {
		return err
	}
	// The child may run for hours: hold no SQLite file, and no connection
	// to the provider left from a refresh, open meanwhile.
	if err := a.closeVault(); err != nil {
		return err
	}
	if a.hc != nil {
		a.hc.CloseIdleConnections()
	}
	path, err := exec.LookPath(in.argv[0])
	if err != nil {
		// The shell's statuses: 127 not found, 126 found but not runnable.
		code := 127
		if errors.Is(err, fs.ErrPermission) {
			code = 126
		}
		fmt.Fprintf(a.io.err, "tokentop: exec %s: %s\n", providers.SafeText(in.argv[0]), lookPathReason(err))
		return exitError{code}
	}
	child := exec.Command(path, in.argv[1:]...)
	child.Args[0] = in.argv[0]
	child.Stdin, child.Stdout, child.Stderr = a.io.in, a.io.out, a.io.err
	vars := tokenVars(s, in.envName)
	// The command gets this one token, not the passphrase to every session's.
	child.Env = withVars(os.Environ(), vars, envAccessToken, envPassword)

	// Listen before the child starts, so that no signal between its start
	// and the forwarding goroutine ends tokentop instead of reaching it.
	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, forwardedSignals...)
	defer signal.Stop(sigs)
	if cmd.Context().Err() != nil { // Ctrl-C while the token was being made fresh
		return fmt.Errorf("exec %s: interrupted before it started", in.argv[0])
	}
	if err := child.Start(); err != nil { // found but not runnable (a script without #!, say): 126
		fmt.Fprintf(a.io.err, "tokentop: exec %s: %s\n", providers.SafeText(in.argv[0]), providers.SafeText(oneLine(err)))
		return exitError{126}
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case sig := <-sigs:
				if !fromTerminal(sig, child.Process) {
					_ = child.Process.Signal(sig) // the child may be gone already
				}
			case <-stop:
				return
			}
		}
	}()
	err = child.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee):
		return exitError{exitStatus(ee.ProcessState)}
	default:
		return fmt.Errorf("exec %s: %w", in.argv[0], err)
	}
}

// exitStatus is a shell's $? for a finished process: its exit code, or
// 128+N when signal N ended it.
func exitStatus(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// lookPathReason says why CMD cannot be run, without exec's wrapping.
func lookPathReason(err error) string {
	switch {
	case errors.Is(err, exec.ErrNotFound), errors.Is(err, fs.ErrNotExist):
		return "command not found"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied"
	}
	return err.Error()
}

// withVars is environ with vars set, replacing any inherited value of
// theirs, and without the variables in drop (an inherited token under the
// default name while --env renames it would be a stale one; the vault
// passphrase).
func withVars(environ []string, vars []credential, drop ...string) []string {
	skip := map[string]bool{}
	for _, d := range drop {
		skip[d] = true
	}
	for _, v := range vars {
		skip[v.name] = true
	}
	out := make([]string, 0, len(environ)+len(vars))
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if !skip[name] {
			out = append(out, kv)
		}
	}
	for _, v := range vars {
		out = append(out, v.name+"="+v.value)
	}
	return out
}
