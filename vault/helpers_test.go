package vault

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
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

// testEnv is a vault path and key file in a fresh temporary folder.
type testEnv struct {
	dir     string
	path    string
	keyFile string
	clock   *testClock
}

func newTestEnv(t testing.TB) *testEnv {
	dir := t.TempDir()
	return &testEnv{
		dir:     dir,
		path:    filepath.Join(dir, "data", "tokentop", "vault.db"),
		keyFile: filepath.Join(dir, "config", "tokentop", "key"),
		clock:   newTestClock(),
	}
}

func (e *testEnv) options() Options {
	return Options{Path: e.path, KeyFile: e.keyFile, Now: e.clock.Now}
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
