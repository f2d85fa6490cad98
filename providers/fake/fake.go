// Package fake runs in-process stand-ins for the PathStack and Galileo auth
// APIs: real HTTP servers on loopback that follow the providers' OpenAPI pages
// (status codes, JSON envelopes, cookies), issue HS256 JWTs, rotate refresh
// tokens, detect the reuse of a rotated refresh token, and misbehave on demand
// (error statuses, HTML pages, malformed JSON, slow answers, dropped
// connections). The demo, the tests and `tokentop fake-server` use them.
//
// The package imports no other tokentop package: it plays the provider, and a
// fake that shared code with the client could share its bugs too.
//
// Besides the provider's own endpoints every server answers admin requests
// under /_fake/ (mint a session, queue faults, revoke, read stats); those are
// never counted as auth requests.
package fake

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultAddr       = "127.0.0.1:0"
	DefaultAccessTTL  = time.Hour
	DefaultRefreshTTL = 30 * 24 * time.Hour
	DefaultUsername   = "dev@tokentop.test"
)

// maxBodyBytes caps request bodies: no auth request legitimately comes close.
const maxBodyBytes = 1 << 20

// Options configures a fake server. The zero value is usable.
type Options struct {
	// Addr is the listen address, default "127.0.0.1:0" (a free port).
	Addr string
	// AccessTTL is the default access token lifetime, default 1h. Mint can
	// choose another one per token family.
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of each refresh token, default 30 days.
	RefreshTTL time.Duration
	// RotateRefresh makes every refresh issue a new refresh token and retire
	// the old one. nil means true.
	RotateRefresh *bool
	// Username and Password are the account accepted by PathStack's POST
	// /token and Galileo's POST /login; defaults "dev@tokentop.test" and a
	// random password. (Galileo's POST /login/api_key takes keys from
	// IssueAPIKey instead.)
	Username, Password string
	// Now is the server's clock (token times, expiry checks, the Date
	// header), default time.Now. A skewed clock lets tests show clock skew.
	Now func() time.Time
}

// Server is a running fake provider. All methods are safe for concurrent use.
type Server struct {
	// URL is the base URL, "http://127.0.0.1:PORT", also the tokens' iss.
	URL string

	flavor     *flavor
	opts       Options
	rotate     bool
	key        []byte // HS256 signing key, random per server
	accountSub string // the one user's sub (PathStack) or user id (Galileo)
	handler    http.Handler
	httpServer *http.Server

	mu      sync.Mutex
	refresh map[tokenHash]*refreshRecord
	apiKeys map[tokenHash]bool // Galileo API keys issued: true until revoked
	faults  []Fault
	stats   Stats

	closeOnce sync.Once
	closeErr  error
}

// Tokens is a freshly minted token family: what POST /_fake/sessions answers.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Sub          string `json:"sub"`
}

// Stats counts auth requests (admin requests under /_fake/ are not counted).
type Stats struct {
	Requests        int `json:"requests"`         // every request outside /_fake/
	Logins          int `json:"logins"`           // successful logins (PathStack /token, Galileo /login and /login/api_key)
	Refreshes       int `json:"refreshes"`        // successful refreshes
	Rotations       int `json:"rotations"`        // refreshes that issued a new refresh token
	ReuseDetections int `json:"reuse_detections"` // rotated refresh tokens presented again
	Rejections      int `json:"rejections"`       // 4xx answers of the server's own logic
	Faults          int `json:"faults"`           // requests a queued fault applied to
}

// StartPathStack starts a fake PathStack API (POST /token, POST /refresh).
func StartPathStack(opts Options) (*Server, error) {
	s, err := start(pathStackFlavor, opts)
	if err != nil {
		return nil, fmt.Errorf("start fake pathstack: %w", err)
	}
	return s, nil
}

// StartGalileo starts a fake Galileo API (POST /v1/refresh_token, POST
// /login, POST /login/api_key).
func StartGalileo(opts Options) (*Server, error) {
	s, err := start(galileoFlavor, opts)
	if err != nil {
		return nil, fmt.Errorf("start fake galileo: %w", err)
	}
	return s, nil
}

func start(f *flavor, opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = DefaultAddr
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = DefaultAccessTTL
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = DefaultRefreshTTL
	}
	if opts.Username == "" {
		opts.Username = DefaultUsername
	}
	if opts.Password == "" {
		opts.Password = rand.Text()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	s := &Server{
		URL:        "http://" + ln.Addr().String(),
		flavor:     f,
		opts:       opts,
		rotate:     opts.RotateRefresh == nil || *opts.RotateRefresh,
		key:        make([]byte, 32),
		accountSub: newUUID4(),
		refresh:    make(map[tokenHash]*refreshRecord),
		apiKeys:    make(map[tokenHash]bool),
	}
	rand.Read(s.key)
	s.handler = http.HandlerFunc(s.serveHTTP)
	s.httpServer = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	go s.httpServer.Serve(ln) //nolint:errcheck // returns ErrServerClosed on Close
	return s, nil
}

// Provider returns "pathstack" or "galileo".
func (s *Server) Provider() string { return s.flavor.name }

// Username returns the account name the login (PathStack POST /token,
// Galileo POST /login) accepts.
func (s *Server) Username() string { return s.opts.Username }

// Password returns the account password the login accepts.
func (s *Server) Password() string { return s.opts.Password }

// Handler returns the server's handler, so tests can wrap it (the tokens'
// iss stays URL).
func (s *Server) Handler() http.Handler { return s.handler }

// Stats returns a snapshot of the auth request counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Close stops the server and closes its connections. It is idempotent.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if err := s.httpServer.Close(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = fmt.Errorf("close fake %s: %w", s.flavor.name, err)
		}
	})
	return s.closeErr
}

func (s *Server) now() time.Time { return s.opts.Now() }

// serveHTTP routes a request: admin endpoints first, then queued faults, then
// the provider's endpoints.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	// Set Date from the server clock so that an injected skew is visible.
	w.Header().Set("Date", s.now().UTC().Format(http.TimeFormat))
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.serveAdmin(w, r)
		return
	}
	fault, faulted := s.takeFault()
	if faulted && !s.applyFault(w, r, fault) {
		return
	}
	if faulted && fault.holdsAnswer() {
		s.serveHeld(w, r, fault)
		return
	}
	s.serveAuth(w, r)
}

// serveAuth serves one of the provider's own endpoints.
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	route, ok := s.flavor.routes[r.URL.Path]
	if !ok {
		s.reject(w, http.StatusNotFound, notFoundBody)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		s.reject(w, http.StatusMethodNotAllowed, s.flavor.errorBody(http.StatusMethodNotAllowed, "Method Not Allowed"))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	route(s, w, r)
}

// notFoundBody is what FastAPI answers for a path it has no route for.
var notFoundBody = []byte(`{"detail":"Not Found"}`)

// login starts the token family of a successful login and counts it; false
// when it could not, having answered 500.
func (s *Server) login(w http.ResponseWriter) (issued, bool) {
	out, err := s.newFamily(0)
	if err != nil {
		writeBody(w, http.StatusInternalServerError, "application/json", s.flavor.errorBody(500, "Internal Server Error"))
		return issued{}, false
	}
	s.mu.Lock()
	s.stats.Logins++
	s.mu.Unlock()
	return out, true
}

// reject writes a 4xx answer of the server's own logic and counts it.
func (s *Server) reject(w http.ResponseWriter, status int, body []byte) {
	s.mu.Lock()
	s.stats.Rejections++
	s.mu.Unlock()
	writeBody(w, status, "application/json", body)
}

// writeJSON encodes v compactly, without Go's HTML escaping (FastAPI does
// not escape either), and writes it with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil { // only our own plain structs get here
		http.Error(w, "encode response", http.StatusInternalServerError)
		return
	}
	writeBody(w, status, "application/json", bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) {
	h := w.Header()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body) //nolint:errcheck // the client may be gone; nothing to do
}
