// Package providers talks to the PathStack and Galileo auth APIs: the Provider
// interface and its registry, the captured Exchange, the common error
// Envelope, the Refresher (single-flight, lease, persistence, history) and the
// Scheduler.
package providers

// CONTRACT STUBS — the providers helper implements these (in files of its
// choosing) and deletes this file. Signatures are what cmd/ and ui/ code against.

import (
	"context"
	"net/http"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// Outcome classifies a refresh attempt.
type Outcome string

// The outcomes.
const (
	OutcomeOK           Outcome = "ok"
	OutcomeRejected     Outcome = "rejected"      // 4xx: the provider said no
	OutcomeServerError  Outcome = "server_error"  // 5xx, or a 2xx body not matching the schema
	OutcomeNetworkError Outcome = "network_error" // DNS, refused, reset, TLS, timeout
	OutcomeCancelled    Outcome = "cancelled"
)

// Result is what a successful refresh or login returns.
type Result struct {
	AccessToken  string
	RefreshToken string // non-empty: the refresh token rotated
	TokenType    string
	Sub          string // PathStack data.sub when present
	IssuedAt     time.Time
	ExpiresAt    time.Time // from expires_in (PathStack) or the JWT exp (Galileo)
}

// Provider refreshes sessions of one kind.
type Provider interface {
	Name() string
	Refresh(ctx context.Context, s vault.Session) (Result, *Exchange, error)
}

// Error is what a Provider returns when a refresh or login did not succeed.
type Error struct {
	Outcome  Outcome
	Status   int       // HTTP status, 0 when none
	Envelope *Envelope // parsed error body, nil when none
	Kind     string    // network errors: "dns", "refused", "reset", "tls", "timeout", "eof"; else ""
	Err      error     // underlying cause; never carries a secret
}

func (e *Error) Error() string { panic("unimplemented") }
func (e *Error) Unwrap() error { return e.Err }

// FieldError is one validation error of an envelope.
type FieldError struct {
	Loc  []any  `json:"loc"` // strings or integers, as the provider sent them
	Msg  string `json:"msg"`
	Type string `json:"type,omitempty"`
}

// Envelope is the common shape of a provider's error body: PathStack's
// {"error": {...}}, FastAPI's {"detail": [...]} or {"detail": "..."}, or a raw
// fallback for anything else (an HTML 502 page, JSON of another shape).
type Envelope struct {
	Status  int          `json:"status"`
	Code    string       `json:"code,omitempty"`
	Message string       `json:"message"`
	Fields  []FieldError `json:"fields"`
	Shape   string       `json:"shape"` // "pathstack" | "fastapi" | "fastapi-detail" | "raw"
}

// ParseEnvelope parses an error body of any of the shapes above.
func ParseEnvelope(status int, contentType string, body []byte) *Envelope { panic("unimplemented") }

// Timings of one exchange, from net/http/httptrace.
type Timings struct {
	DNS       time.Duration `json:"dns"`
	Connect   time.Duration `json:"connect"`
	TLS       time.Duration `json:"tls"`
	FirstByte time.Duration `json:"first_byte"`
	Total     time.Duration `json:"total"`
}

// Exchange is one HTTP request and its response as sent and received.
// In memory it holds secrets; Redacted() masks them for display and storage.
type Exchange struct {
	StartedAt         time.Time     `json:"started_at"`
	Method            string        `json:"method"`
	URL               string        `json:"url"`
	RequestHeader     http.Header   `json:"request_header"`
	RequestBody       string        `json:"request_body"`
	Status            int           `json:"status"`      // 0: no response
	StatusText        string        `json:"status_text"` // "200 OK"
	Proto             string        `json:"proto,omitempty"`
	ResponseHeader    http.Header   `json:"response_header"`
	ResponseBody      string        `json:"response_body"`
	ResponseTruncated bool          `json:"response_truncated"` // body exceeded the 1 MiB cap
	Timings           Timings       `json:"timings"`
	Error             string        `json:"error,omitempty"`
	ServerDate        time.Time     `json:"server_date,omitempty"`
	ClockSkew         time.Duration `json:"clock_skew,omitempty"` // server Date - local clock
	Masked            bool          `json:"redacted"`             // true on a Redacted() copy
}

// Redacted returns a deep copy with every secret masked (Mask).
func (e *Exchange) Redacted() *Exchange { panic("unimplemented") }

// Mask shows a secret's head, length and tail: "eyJh…(812)…Q9s".
func Mask(secret string) string { panic("unimplemented") }

// Registry maps provider names to Providers.
type Registry struct{}

// NewRegistry registers the given providers by Name().
func NewRegistry(ps ...Provider) *Registry { panic("unimplemented") }

// Get returns the provider for name, or false.
func (r *Registry) Get(name string) (Provider, bool) { panic("unimplemented") }

// Report is the outcome of one Refresher.Refresh.
type Report struct {
	Session  vault.Session // as stored afterwards (tokens unsealed)
	Attempt  vault.Attempt // as recorded (zero ID when the refresh was shared/skipped)
	Outcome  Outcome
	Status   int
	Envelope *Envelope
	Exchange *Exchange // unredacted, in memory only; nil when no request was made
	Rotated  bool
	Shared   bool  // another caller or process did the refresh; this one reused its result
	Err      error // the provider's error or a persistence error, nil when ok
}

// RefresherOptions configures a Refresher.
type RefresherOptions struct {
	Owner    string           // lease owner id (default: hostname/pid/random)
	LeaseTTL time.Duration    // default 30 s (must exceed the HTTP timeout)
	Now      func() time.Time // clock
}

// Refresher runs refreshes: one per session at a time in the process
// (single-flight), a vault lease across processes, persistence in one
// transaction with compare-and-swap, and the attempt recorded.
type Refresher struct{}

// NewRefresher builds a Refresher.
func NewRefresher(store *vault.Store, reg *Registry, opts RefresherOptions) *Refresher {
	panic("unimplemented")
}

// Refresh refreshes session id now. Concurrent calls for one id share one
// request. If another process holds the lease it waits for it, then returns
// that process's result (Shared) instead of spending the refresh token again.
func (r *Refresher) Refresh(ctx context.Context, id int64, trigger string) (*Report, error) {
	panic("unimplemented")
}

// EnsureFresh returns the session, refreshing first when less than minValid is
// left (or its expiry is unknown... no: unknown expiry is returned as is).
func (r *Refresher) EnsureFresh(ctx context.Context, id int64, minValid time.Duration, trigger string) (vault.Session, *Report, error) {
	panic("unimplemented")
}

// Observer is told of an exchange's progress: once when the request is about
// to be sent (no response yet) and once when it finished.
type Observer func(ex *Exchange, done bool)

// WithObserver returns a context whose refreshes report to obs (the dashboard
// shows the request while it is in flight).
func WithObserver(ctx context.Context, obs Observer) context.Context { panic("unimplemented") }
