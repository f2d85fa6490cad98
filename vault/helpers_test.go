package vault

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/tokentop/tokentop/vault/pgtest"
)

// testClock is an injected clock the tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testEnv is a vault path and key file in a fresh temporary folder. For a
// PostgreSQL vault, path is the URL of a fresh schema (see pgtest.Schema).
type testEnv struct {
	dir     string
	path    string
	keyFile string
	clock   *testClock
	backend string // BackendSQLite or BackendPostgres
	schema  string // PostgreSQL only
}

// forEachBackend runs test on a fresh SQLite vault and, when a server is
// given (TOKENTOP_TEST_POSTGRES; required under CI), on a fresh PostgreSQL
// one: the vault's behaviour is the same on both.
func forEachBackend(t *testing.T, test func(t *testing.T, env *testEnv)) {
	t.Helper()
	t.Run(BackendSQLite, func(t *testing.T) { test(t, newTestEnv(t)) })
	t.Run(BackendPostgres, func(t *testing.T) { test(t, newPostgresEnv(t)) })
}

// newPostgresEnv is a testEnv on a fresh PostgreSQL schema; it skips the
// test when no server is given (and fails it under CI).
func newPostgresEnv(t testing.TB) *testEnv {
	env := newTestEnv(t)
	env.path, env.schema = pgtest.Schema(t)
	env.backend = BackendPostgres
	return env
}

func newTestEnv(t testing.TB) *testEnv {
	dir := t.TempDir()
	return &testEnv{
		dir:     dir,
		path:    filepath.Join(dir, "data", "tokentop", "vault.db"),
		keyFile: filepath.Join(dir, "config", "tokentop", "key"),
		clock:   newTestClock(),
		backend: BackendSQLite,
	}
}

// leaseUntilIs says whether a lease's until is ttl from now by the clock
// leases use: the test clock on SQLite, the database's (real time, give or
// take the test's run) on PostgreSQL.
func (e *testEnv) leaseUntilIs(until time.Time, ttl time.Duration) bool {
	if e.backend == BackendPostgres {
		d := time.Until(until.Add(-ttl))
		return d > -30*time.Second && d < time.Second
	}
	return until.Equal(e.clock.Now().Add(ttl))
}

func (e *testEnv) options() Options {
	return Options{Path: e.path, KeyFile: e.keyFile, Now: e.clock.Now, RecoveryDir: filepath.Join(e.dir, "recovery")}
}

func (e *testEnv) open(t testing.TB) *Store {
	t.Helper()
	return e.openWith(t, e.options())
}

func (e *testEnv) openWith(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// signedJWT makes an HS256 token with the given claims.
func signedJWT(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("test-secret"))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// pathstackSession is a valid PathStack session with opaque tokens.
func pathstackSession(label string) Session {
	return Session{
		Provider:     ProviderPathStack,
		Label:        label,
		Sub:          "8c1e7a52-3f7e-4b8e-9d0e-1f2a3b4c5d6e",
		AccessToken:  "access-" + label,
		RefreshToken: "refresh-" + label,
		TokenType:    "Bearer",
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ctxb() context.Context { return context.Background() }

// seed makes the vault with one session, label, and closes it: for tests
// of what a later Open finds.
func (e *testEnv) seed(t testing.TB, label string) Session {
	t.Helper()
	s := e.open(t)
	sess := pathstackSession(label)
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return sess
}

// diskFile is the raw content of one of a SQLite vault's files.
type diskFile struct {
	path string
	data []byte
}

// onDisk reads the vault file and its WAL, in that order, as they are on
// disk (one that does not exist is left out): tests grep them for secrets.
func (e *testEnv) onDisk(t testing.TB) []diskFile {
	t.Helper()
	var out []diskFile
	for _, p := range []string{e.path, e.path + "-wal"} {
		data, err := os.ReadFile(p)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, diskFile{p, data})
	}
	return out
}
