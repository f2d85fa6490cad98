package providers_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/galileo"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// tokenServer is a PathStack-like /refresh issuing marker tokens
// ("MRK-access-1-…", "MRK-refresh-1-…"), so that a leak anywhere is found by
// a substring search. It rejects any refresh token but the current one.
type tokenServer struct {
	*httptest.Server

	mu       sync.Mutex
	requests int
	current  string   // the refresh token it accepts
	issued   []string // every token it handed out
	rotate   bool
	status   int           // non-zero: answer this status with an envelope echoing the token
	gate     chan struct{} // non-nil: wait for it before answering
	during   func()        // called while handling, before answering
}

const initialRefresh = "MRK-refresh-0-initial-7f3a9c"

func newTokenServer(t *testing.T) *tokenServer {
	t.Helper()
	ts := &tokenServer{current: initialRefresh, rotate: true, issued: []string{initialRefresh}}
	ts.Server = httptest.NewServer(http.HandlerFunc(ts.serve))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *tokenServer) serve(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Sub          string `json:"sub"`
		RefreshToken string `json:"refresh_token"`
	}
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &body)

	ts.mu.Lock()
	ts.requests++
	n := ts.requests
	gate, during, status, rotate := ts.gate, ts.during, ts.status, ts.rotate
	ts.mu.Unlock()
	if gate != nil {
		<-gate
	}
	if during != nil {
		during()
	}
	w.Header().Set("Content-Type", "application/json")
	if status != 0 {
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error": {"code": %d, "message": "Invalid Refresh Token %s"}}`, status, body.RefreshToken)
		return
	}

	ts.mu.Lock()
	defer ts.mu.Unlock()
	if body.RefreshToken != ts.current {
		w.WriteHeader(401)
		io.WriteString(w, `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`)
		return
	}
	access := fmt.Sprintf("MRK-access-%d-5b1d0e8c2a", n)
	ts.issued = append(ts.issued, access)
	data := map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": access}
	if rotate {
		ts.current = fmt.Sprintf("MRK-refresh-%d-c4e8a1f2b9", n)
		ts.issued = append(ts.issued, ts.current)
		data["refresh_token"] = ts.current
	}
	json.NewEncoder(w).Encode(map[string]any{"data": data})
}

func (ts *tokenServer) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.requests
}

func (ts *tokenServer) set(f func(ts *tokenServer)) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	f(ts)
}

func (ts *tokenServer) tokens() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.issued...)
}

var testClock = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testNow() time.Time { return testClock }

// openStore opens (or creates) the vault in dir.
func openStore(t testing.TB, dir string) *vault.Store {
	t.Helper()
	st, err := vault.Open(context.Background(), vault.Options{
		Path:    filepath.Join(dir, "vault.db"),
		KeyFile: filepath.Join(dir, "key"),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// addSession stores a PathStack session pointing at base.
func addSession(t testing.TB, st *vault.Store, base string, expiresAt time.Time) vault.Session {
	t.Helper()
	s := vault.Session{
		Provider: vault.ProviderPathStack, Label: "prod", BaseURL: base,
		Sub: "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11", AccessToken: "MRK-access-0-initial-1a2b3c",
		RefreshToken: initialRefresh, TokenType: "Bearer", ExpiresAt: expiresAt,
	}
	if err := st.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// newRefresher builds a Refresher with the real PathStack and Galileo clients.
func newRefresher(st *vault.Store, owner string) *providers.Refresher {
	hc := providers.NewHTTPClient(providers.ClientOptions{})
	reg := providers.NewRegistry(pathstack.New(hc, testNow), galileo.New(hc, testNow))
	return providers.NewRefresher(st, reg, providers.RefresherOptions{Owner: owner, Now: testNow})
}
