package providers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
)

// Network error kinds (Error.Kind).
const (
	KindDNS     = "dns"
	KindRefused = "refused"
	KindReset   = "reset"
	KindTLS     = "tls"
	KindTimeout = "timeout"
	KindEOF     = "eof"
	KindNetwork = "network" // anything else, e.g. a refused plain http:// URL
)

// ErrSchema marks a 2xx response whose body does not match the documented
// schema (wrapped in an Error with OutcomeServerError).
var ErrSchema = errors.New("response does not match schema")

// Error is what a Provider returns when a refresh or login did not succeed.
type Error struct {
	Outcome  Outcome
	Status   int       // HTTP status, 0 when none
	Envelope *Envelope // parsed error body, nil when none
	Kind     string    // network errors: "dns", "refused", "reset", "tls", "timeout", "eof", "network"; else ""
	Err      error     // underlying cause; never carries a secret
}

// Error renders one line without any secret, e.g.
// "rejected: 401 Invalid Refresh Token",
// "network error (refused): dial tcp 127.0.0.1:1: connect: connection refused",
// "server error: 502 Bad Gateway".
func (e *Error) Error() string {
	var b strings.Builder
	switch e.Outcome {
	case OutcomeNetworkError:
		b.WriteString("network error")
		if e.Kind != "" && e.Kind != KindNetwork {
			b.WriteString(" (" + e.Kind + ")")
		}
	case OutcomeCancelled:
		b.WriteString("cancelled")
	case OutcomeRejected:
		b.WriteString("rejected")
	case OutcomeServerError:
		b.WriteString("server error")
	default:
		b.WriteString(string(e.Outcome))
	}
	if e.Status != 0 {
		b.WriteString(": " + e.statusLine())
	}
	if e.Err != nil {
		b.WriteString(": " + oneLine(e.Err.Error()))
	}
	return b.String()
}

// statusLine is "401 Invalid Refresh Token": the status code, then the
// envelope's message (or the standard status text), then the first field's
// location when the envelope has one.
func (e *Error) statusLine() string {
	code := strconv.Itoa(e.Status)
	msg := http.StatusText(e.Status)
	if e.Envelope != nil && e.Envelope.Message != "" {
		msg = e.Envelope.Message
	}
	line := code
	switch {
	case msg == "":
	case strings.HasPrefix(msg, code):
		line = msg // an HTML page titled "502 Bad Gateway"
	default:
		line += " " + msg
	}
	if e.Envelope != nil && len(e.Envelope.Fields) > 0 {
		if where := e.Envelope.Fields[0].Where(); where != "" {
			line += " at " + where
		}
	}
	return line
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrInsecureHTTP is matched (errors.Is) by the error of a refused plain
// http:// request to a host that is not loopback.
var ErrInsecureHTTP = errors.New("refusing plain http:// to a non-loopback host")

// insecureHTTPError names the refused host.
type insecureHTTPError struct{ host string }

func (e *insecureHTTPError) Error() string {
	return "refusing plain http:// to non-loopback host " + strconv.Quote(e.host) + " (use --insecure-http)"
}

func (e *insecureHTTPError) Is(target error) bool { return target == ErrInsecureHTTP }

// scrubbedError shows a cleaned text but keeps the original for errors.Is/As.
type scrubbedError struct {
	text string
	err  error
}

func (e *scrubbedError) Error() string { return e.text }
func (e *scrubbedError) Unwrap() error { return e.err }

// transportError classifies an error of http.Client.Do (or of reading the
// body) into an Error: cancelled when ctx was cancelled, else a network error
// of some kind. The *url.Error wrapper (method and URL) is dropped: the
// exchange shows the URL, and the cause reads better alone.
func transportError(ctx context.Context, err error, status int, scrub func(string) string) *Error {
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	if text := scrub(cause.Error()); text != cause.Error() {
		cause = &scrubbedError{text: text, err: cause}
	}
	if errors.Is(ctx.Err(), context.Canceled) {
		return &Error{Outcome: OutcomeCancelled, Status: status, Err: cause}
	}
	return &Error{Outcome: OutcomeNetworkError, Status: status, Kind: networkKind(ctx, err), Err: cause}
}

// networkKind names what went wrong on the wire.
func networkKind(ctx context.Context, err error) string {
	var (
		dnsErr   *net.DNSError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		certErr  *tls.CertificateVerificationError
		unkAuth  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		invErr   x509.CertificateInvalidError
		netErr   net.Error
	)
	switch {
	case errors.As(err, &dnsErr):
		return KindDNS
	case errors.Is(ctx.Err(), context.DeadlineExceeded), errors.Is(err, context.DeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return KindTimeout
	case errors.As(err, &recErr), errors.As(err, &alertErr), errors.As(err, &certErr),
		errors.As(err, &unkAuth), errors.As(err, &hostErr), errors.As(err, &invErr),
		strings.Contains(err.Error(), "tls: "):
		return KindTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return KindRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, syscall.ECONNABORTED):
		return KindReset
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return KindEOF
	}
	return KindNetwork
}
