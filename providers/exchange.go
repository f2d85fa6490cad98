package providers

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// MaxResponseBody caps how much of a response body is read and kept.
const MaxResponseBody = 1 << 20

// Timings of one exchange, from net/http/httptrace. DNS, Connect and TLS are
// zero when a kept-alive connection was reused.
type Timings struct {
	DNS       time.Duration `json:"dns"`
	Connect   time.Duration `json:"connect"`
	TLS       time.Duration `json:"tls"`
	FirstByte time.Duration `json:"first_byte"` // from the start of the request
	Total     time.Duration `json:"total"`      // to the last body byte read
}

// Exchange is one HTTP request and its response as sent and received.
// In memory it holds secrets; Redacted() masks them for display and storage.
type Exchange struct {
	StartedAt         time.Time   `json:"started_at"`
	Method            string      `json:"method"`
	URL               string      `json:"url"`
	RequestHeader     http.Header `json:"request_header"`
	RequestBody       string      `json:"request_body"`
	Status            int         `json:"status"`      // 0: no response
	StatusText        string      `json:"status_text"` // "200 OK"
	Proto             string      `json:"proto,omitempty"`
	ResponseHeader    http.Header `json:"response_header"`
	ResponseBody      string      `json:"response_body"`
	ResponseTruncated bool        `json:"response_truncated"` // body exceeded the 1 MiB cap
	// BodyBroken: reading the response body failed (connection closed,
	// timeout) after the status line and headers arrived; ResponseBody holds
	// what came before the failure.
	BodyBroken bool          `json:"body_broken,omitempty"`
	Timings    Timings       `json:"timings"`
	Error      string        `json:"error,omitempty"`
	ServerDate time.Time     `json:"server_date,omitzero"`
	ClockSkew  time.Duration `json:"clock_skew,omitempty"` // server Date - local clock
	Masked     bool          `json:"redacted"`             // true on a Redacted() copy

	// secrets are values masked wherever they appear (refresh token sent,
	// password, tokens received). Never marshalled.
	secrets []string
}

// AddSecrets registers values that Redacted masks wherever they appear in the
// exchange (URL, headers, bodies, error). Empty values are ignored.
func (e *Exchange) AddSecrets(secrets ...string) {
	for _, s := range secrets {
		if s != "" {
			e.secrets = append(e.secrets, s)
		}
	}
}

// clone is a deep copy (secrets included).
func (e *Exchange) clone() *Exchange {
	c := *e
	c.RequestHeader = e.RequestHeader.Clone()
	c.ResponseHeader = e.ResponseHeader.Clone()
	c.secrets = append([]string(nil), e.secrets...)
	return &c
}

// Request is one call for Capture to make.
type Request struct {
	Method  string
	URL     string
	Header  http.Header
	Body    []byte   // nil: no body
	Secrets []string // masked wherever they appear in the captured exchange
}

// Observer is told of an exchange's progress: once when the request is about
// to be sent (no response yet) and once when it finished. The first call gets
// a snapshot; the second the final exchange, which is not modified afterwards.
type Observer func(ex *Exchange, done bool)

type observerKey struct{}

// WithObserver returns a context whose refreshes report to obs (the dashboard
// shows the request while it is in flight).
func WithObserver(ctx context.Context, obs Observer) context.Context {
	return context.WithValue(ctx, observerKey{}, obs)
}

func observerFrom(ctx context.Context) Observer {
	obs, _ := ctx.Value(observerKey{}).(Observer)
	return obs
}

// Capture sends req with hc and records the exchange. A transport failure
// (or cancellation) before the response's status line comes back as an
// *Error without calling interpret. Otherwise interpret reads the captured
// response and returns nil or the call's *Error; Capture stores that error's
// text in the exchange. now is the clock for StartedAt and the clock skew;
// durations use the monotonic clock.
//
// When the status line and headers arrived but the body broke (a closed
// connection, a timeout), interpret is still called, with ex.BodyBroken set
// and the partial body: the headers may say the server already rotated the
// refresh token (a Set-Cookie), and that must not be lost. Its result is for
// the provider to keep; Capture returns the transport error.
func Capture(ctx context.Context, hc *http.Client, now func() time.Time, req Request, interpret func(*Exchange) error) (*Exchange, error) {
	if now == nil {
		now = time.Now
	}
	ex := &Exchange{
		Method:        req.Method,
		URL:           req.URL,
		RequestHeader: req.Header.Clone(),
		RequestBody:   string(req.Body),
	}
	if ex.RequestHeader == nil {
		ex.RequestHeader = http.Header{}
	}
	ex.AddSecrets(req.Secrets...)
	obs := observerFrom(ctx)

	var body io.Reader
	if req.Body != nil {
		body = bytes.NewReader(req.Body)
	}
	ex.StartedAt = now()
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, body)
	if err != nil {
		// A malformed URL or method: nothing was sent. The URL is left out of
		// the message (the exchange shows it, masked).
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return ex, finish(ex, obs, &Error{Outcome: OutcomeNetworkError, Kind: KindNetwork,
			Err: fmt.Errorf("build request: %s", ex.scrub(err.Error()))})
	}
	hr.Header = req.Header.Clone()
	if hr.Header == nil {
		hr.Header = http.Header{}
	}

	tr := &tracer{}
	hr = hr.WithContext(httptrace.WithClientTrace(hr.Context(), tr.clientTrace()))

	if obs != nil {
		obs(ex.clone(), false)
	}
	start := time.Now()
	resp, err := hc.Do(hr)
	if err != nil {
		tr.fill(ex, start, time.Now())
		return ex, finish(ex, obs, transportError(ctx, err, 0, ex.scrub))
	}
	received := now()
	ex.Status = resp.StatusCode
	ex.StatusText = resp.Status
	ex.Proto = resp.Proto
	ex.ResponseHeader = resp.Header.Clone()
	if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
		ex.ServerDate = d
		ex.ClockSkew = d.Sub(received)
	}
	data, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	resp.Body.Close()
	tr.fill(ex, start, time.Now())
	if len(data) > MaxResponseBody {
		data = data[:MaxResponseBody]
		ex.ResponseTruncated = true
	}
	ex.ResponseBody = string(data)
	if rerr != nil {
		ex.BodyBroken = true
		_ = interpret(ex) // for what the headers say; the body cannot be judged
		return ex, finish(ex, obs, transportError(ctx, rerr, ex.Status, ex.scrub))
	}
	return ex, finish(ex, obs, interpret(ex))
}

// finish stores err's text in ex, tells the observer and returns err.
func finish(ex *Exchange, obs Observer, err error) error {
	if err != nil {
		ex.Error = ex.scrub(err.Error())
	}
	if obs != nil {
		obs(ex, true)
	}
	return err
}

// StatusError classifies a response that is not the documented success: 4xx
// is rejected, anything else (3xx, 5xx, an unexpected 2xx) a server error. The
// envelope is parsed from the redacted body, so it never holds a secret.
func (e *Exchange) StatusError() *Error {
	outcome := OutcomeServerError
	if e.Status >= 400 && e.Status < 500 {
		outcome = OutcomeRejected
	}
	red := e.Redacted()
	env := ParseEnvelope(e.Status, e.ResponseHeader.Get("Content-Type"), []byte(red.ResponseBody))
	return &Error{Outcome: outcome, Status: e.Status, Envelope: env}
}

// SchemaError is the server error for a success status whose body does not
// match the documented schema; problem says what is wrong (no secret).
func (e *Exchange) SchemaError(problem string) *Error {
	return &Error{Outcome: OutcomeServerError, Status: e.Status, Err: fmt.Errorf("%w: %s", ErrSchema, problem)}
}

// TokenTooLong is the schema problem of a received token (named what) over
// vault.MaxTokenLen: it gives the token's length, never its value.
func TokenTooLong(what, tok string) string {
	return fmt.Sprintf("%s is %d bytes, over the %d-byte token limit", what, len(tok), vault.MaxTokenLen)
}

// tracer collects httptrace events. Callbacks run on the transport's
// goroutines (a dial may even finish after the request returned), hence the lock.
type tracer struct {
	mu                  sync.Mutex
	dnsStart, dnsDone   time.Time
	connStart, connDone time.Time
	tlsStart, tlsDone   time.Time
	firstByte           time.Time
	wrote               http.Header
}

func (t *tracer) at(field *time.Time) func() {
	return func() {
		t.mu.Lock()
		if field.IsZero() {
			*field = time.Now()
		}
		t.mu.Unlock()
	}
}

func (t *tracer) clientTrace() *httptrace.ClientTrace {
	return &httptrace.ClientTrace{
		DNSStart:             func(httptrace.DNSStartInfo) { t.at(&t.dnsStart)() },
		DNSDone:              func(httptrace.DNSDoneInfo) { t.at(&t.dnsDone)() },
		ConnectStart:         func(string, string) { t.at(&t.connStart)() },
		ConnectDone:          func(string, string, error) { t.at(&t.connDone)() },
		TLSHandshakeStart:    t.at(&t.tlsStart),
		TLSHandshakeDone:     func(tls.ConnectionState, error) { t.at(&t.tlsDone)() },
		GotFirstResponseByte: t.at(&t.firstByte),
		WroteHeaderField: func(key string, value []string) {
			t.mu.Lock()
			defer t.mu.Unlock()
			// Host (HTTP/1) or :authority (HTTP/2) comes first: start over
			// when the transport retries the request on a fresh connection.
			if t.wrote == nil || key == "Host" || key == ":authority" {
				t.wrote = http.Header{}
			}
			if strings.HasPrefix(key, ":") { // HTTP/2 pseudo-headers
				return
			}
			k := http.CanonicalHeaderKey(key)
			t.wrote[k] = append(t.wrote[k], value...)
		},
	}
}

// fill copies the timings, and the headers as the transport wrote them
// (Host, User-Agent, Content-Length included), into ex.
func (t *tracer) fill(ex *Exchange, start, end time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	span := func(a, b time.Time) time.Duration {
		if a.IsZero() || b.IsZero() || b.Before(a) {
			return 0
		}
		return b.Sub(a)
	}
	ex.Timings = Timings{
		DNS:       span(t.dnsStart, t.dnsDone),
		Connect:   span(t.connStart, t.connDone),
		TLS:       span(t.tlsStart, t.tlsDone),
		FirstByte: span(start, t.firstByte),
		Total:     end.Sub(start),
	}
	if len(t.wrote) > 0 {
		ex.RequestHeader = maps.Clone(t.wrote)
	}
}
