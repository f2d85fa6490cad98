package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/vault"
)

// env is a throwaway tokentop home: its own vault and key file.
type env struct {
	t     testing.TB
	dir   string
	vault string
	key   string
	vars  map[string]string
	now   time.Time
}

func newEnv(t testing.TB) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, vault: filepath.Join(dir, "data", "vault.db"), key: filepath.Join(dir, "config", "key"),
		now: time.Now().Truncate(time.Second)}
	e.vars = map[string]string{envVault: e.vault, envKeyFile: e.key, "HOME": dir}
	return e
}

// result of one in-process run of the CLI.
type result struct {
	code     int
	out, err string
}

// stdio is what an in-process run of tokentop gets: stdin, out and err as
// given, e's variables (TOKENTOP_DASHBOARD_FOR read as Main reads it) and
// clock, no terminal, and a dashboard that must not run (openDashboard
// refuses without a terminal first).
func (e *env) stdio(stdin string, out, err io.Writer) stdio {
	return stdio{in: strings.NewReader(stdin), out: out, err: err, dashboardFor: e.vars[envDashboardFor],
		getenv: func(k string) string { return e.vars[k] }, now: func() time.Time { return e.now },
		dashboard: func(context.Context, DashboardDeps) error {
			return errors.New("test: the dashboard ran without a terminal")
		}}
}

// openStore opens e's vault (creating it when missing) beside the program
// under test, as another process would; the caller closes it.
func (e *env) openStore() *vault.Store {
	e.t.Helper()
	st, err := vault.Open(context.Background(), vault.Options{Path: e.vault, KeyFile: e.key})
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// run runs tokentop in-process with args and stdin (not a terminal).
func (e *env) run(stdin string, args ...string) result {
	e.t.Helper()
	return e.runWith(nil, stdin, args...)
}

// runWith is run with e.stdio changed by set (nil: as it is) first.
func (e *env) runWith(set func(*stdio), stdin string, args ...string) result {
	var out, errb bytes.Buffer
	io := e.stdio(stdin, &out, &errb)
	if set != nil {
		set(&io)
	}
	code := run(context.Background(), args, io)
	return result{code: code, out: out.String(), err: errb.String()}
}

// mustRun runs and fails the test unless the exit code is 0.
func (e *env) mustRun(stdin string, args ...string) string {
	e.t.Helper()
	r := e.run(stdin, args...)
	if r.code != 0 {
		e.t.Fatalf("tokentop %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.out, r.err)
	}
	return r.out
}

// vaultBytes reads the vault file (nil when missing).
func (e *env) vaultBytes() []byte {
	b, err := os.ReadFile(e.vault)
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	return b
}

// makeJWT signs an HS256 token with the given claims (tests only).
func makeJWT(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-key-0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// tokenPair makes an access token living ttl from now and a refresh token,
// each carrying a marker so tests can grep for leaks.
func tokenPair(t *testing.T, now time.Time, ttl time.Duration, marker string) (access, refresh string) {
	access = makeJWT(t, jwt.MapClaims{"sub": "8c1e5b9e-1f0a-4c59-9a57-2f4f3e7d1a01", "iat": now.Unix(), "exp": now.Add(ttl).Unix(),
		"iss": "https://api.pathstack.io", "marker": marker + "-access"})
	refresh = makeJWT(t, jwt.MapClaims{"sub": "8c1e5b9e-1f0a-4c59-9a57-2f4f3e7d1a01", "iat": now.Unix(), "exp": now.Add(30 * 24 * time.Hour).Unix(),
		"typ": "refresh", "marker": marker + "-refresh"})
	return access, refresh
}

const testSub = "8c1e5b9e-1f0a-4c59-9a57-2f4f3e7d1a01"

// waitExit waits up to timeout for cmd to exit and returns what Wait
// returned; on timeout it kills cmd and fails the test with format and args.
func waitExit(t testing.TB, cmd *exec.Cmd, timeout time.Duration, format string, args ...any) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(timeout):
		cmd.Process.Kill()
		t.Fatalf(format, args...)
		return nil
	}
}
