package providers

import (
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"time"
)

// Version is tokentop's version, sent in the User-Agent. The build sets it
// (-ldflags "-X github.com/tokentop/tokentop/providers.Version=v1.2.3").
var Version = "dev"

// DefaultTimeout bounds one auth request from dial to the last body byte.
const DefaultTimeout = 15 * time.Second

// ClientOptions configures NewHTTPClient.
type ClientOptions struct {
	Timeout           time.Duration // whole request; 0: DefaultTimeout
	AllowInsecureHTTP bool          // allow plain http:// to hosts that are not loopback
	UserAgent         string        // "": "tokentop/" + Version
}

// NewHTTPClient returns the client every provider call goes through: bounded
// dial, TLS handshake and response-header waits plus an overall timeout;
// redirects are not followed (a 3xx is returned as it came, so that a
// refresh token never travels to a second host); plain http:// is refused
// except to loopback unless opts.AllowInsecureHTTP; responses are not
// transparently decompressed, so the captured exchange is what was received.
func NewHTTPClient(opts ClientOptions) *http.Client {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ua := opts.UserAgent
	if ua == "" {
		ua = "tokentop/" + Version
	}
	stage := min(timeout, 10*time.Second) // dial and TLS each get at most this
	transport := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		// Auth answers have small headers; a hostile server must not make
		// us buffer (and redact) megabytes of them.
		MaxResponseHeaderBytes: 256 << 10,
		DialContext:            (&net.Dialer{Timeout: stage, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    stage,
		ResponseHeaderTimeout:  timeout,
		ForceAttemptHTTP2:      true,
		// Sessions mostly share a host (api.pathstack.io): keep a
		// connection for each refresh a scheduler runs at once (8 by
		// default), where net/http keeps 2 per host and every other
		// refresh would dial, and shake hands, again.
		MaxIdleConns:        32,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Timeout: timeout,
		Transport: &guardTransport{
			base:          transport,
			userAgent:     ua,
			allowInsecure: opts.AllowInsecureHTTP,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// guardTransport refuses plain http:// to remote hosts and sets the User-Agent.
type guardTransport struct {
	base          http.RoundTripper
	userAgent     string
	allowInsecure bool
}

// RoundTrip implements http.RoundTripper.
func (t *guardTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !t.allowInsecure && !isLoopbackHost(req.URL.Hostname()) {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &insecureHTTPError{host: req.URL.Hostname()}
	}
	// A RoundTripper must not modify the caller's request: set the header on a clone.
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context())
		req.Header.Set("User-Agent", t.userAgent)
	}
	return t.base.RoundTrip(req)
}

// CloseIdleConnections closes the base transport's idle connections, so
// that http.Client.CloseIdleConnections reaches them (tokentop exec drops
// them before its command runs).
func (t *guardTransport) CloseIdleConnections() {
	if c, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// isLoopbackHost says whether host is this machine: "localhost" (and its
// subdomains, which resolve to loopback by RFC 6761) or a loopback IP.
func isLoopbackHost(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
