package providers

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/internal/rawtest"
)

// accept is an interpret func for Capture that accepts any response.
func accept(*Exchange) error { return nil }

func post(t *testing.T, hc *http.Client, now func() time.Time, url string) (*Exchange, error) {
	t.Helper()
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	return Capture(context.Background(), hc, now, Request{Method: "POST", URL: url, Header: h, Body: []byte(`{"a":1}`)}, accept)
}

func TestCaptureRecordsTheExchange(t *testing.T) {
	serverDate := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var gotBody, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody, gotUA = string(b), r.UserAgent()
		w.Header().Set("Date", serverDate.Format(http.TimeFormat))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", "abc")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()

	// The local clock is 90 s ahead of the server's.
	local := serverDate.Add(90 * time.Second)
	ex, err := post(t, NewHTTPClient(ClientOptions{}), func() time.Time { return local }, srv.URL+"/refresh")
	if err != nil {
		t.Fatal(err)
	}
	if gotBody != `{"a":1}` || gotUA != "tokentop/dev" {
		t.Errorf("server got body %q, User-Agent %q", gotBody, gotUA)
	}
	if ex.Method != "POST" || ex.URL != srv.URL+"/refresh" || ex.RequestBody != `{"a":1}` || !ex.StartedAt.Equal(local) {
		t.Errorf("request side %+v", ex)
	}
	// Headers as the transport wrote them, not only as the caller set them.
	for k, want := range map[string]string{
		"Host": strings.TrimPrefix(srv.URL, "http://"), "User-Agent": "tokentop/dev",
		"Content-Length": "7", "Content-Type": "application/json",
	} {
		if got := ex.RequestHeader.Get(k); got != want {
			t.Errorf("request header %s = %q, want %q", k, got, want)
		}
	}
	if ex.Status != 200 || ex.StatusText != "200 OK" || ex.Proto != "HTTP/1.1" ||
		ex.ResponseBody != `{"ok":true}` || ex.ResponseHeader.Get("X-Request-Id") != "abc" || ex.ResponseTruncated {
		t.Errorf("response side %+v", ex)
	}
	if !ex.ServerDate.Equal(serverDate) || ex.ClockSkew != -90*time.Second {
		t.Errorf("server date %v, skew %v", ex.ServerDate, ex.ClockSkew)
	}
	if ex.Timings.Total <= 0 || ex.Timings.FirstByte <= 0 || ex.Timings.FirstByte > ex.Timings.Total {
		t.Errorf("timings %+v", ex.Timings)
	}
}

func TestCaptureCapsTheBody(t *testing.T) {
	for _, size := range []int{MaxResponseBody, MaxResponseBody + 10} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, strings.Repeat("x", size))
		}))
		ex, err := post(t, NewHTTPClient(ClientOptions{}), nil, srv.URL)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		truncated := size > MaxResponseBody
		if len(ex.ResponseBody) != MaxResponseBody || ex.ResponseTruncated != truncated {
			t.Errorf("body of %d: kept %d, truncated %v", size, len(ex.ResponseBody), ex.ResponseTruncated)
		}
	}
}

func TestCaptureDoesNotFollowRedirects(t *testing.T) {
	var followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/refresh", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(w http.ResponseWriter, r *http.Request) { followed.Add(1) })
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ex, err := post(t, NewHTTPClient(ClientOptions{}), nil, srv.URL+"/refresh")
	if err != nil {
		t.Fatal(err)
	}
	if ex.Status != 307 || ex.ResponseHeader.Get("Location") != "/elsewhere" || followed.Load() != 0 {
		t.Errorf("status %d, location %q, followed %d", ex.Status, ex.ResponseHeader.Get("Location"), followed.Load())
	}
	if e := ex.StatusError(); e.Outcome != OutcomeServerError || e.Status != 307 {
		t.Errorf("redirect classified %+v", e)
	}
}

func TestCaptureInterpretErrorIsKept(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(401)
		io.WriteString(w, `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`)
	}))
	defer srv.Close()
	ex, err := Capture(context.Background(), NewHTTPClient(ClientOptions{}), nil,
		Request{Method: "POST", URL: srv.URL}, func(ex *Exchange) error { return ex.StatusError() })
	var pe *Error
	if !errors.As(err, &pe) || pe.Outcome != OutcomeRejected || ex.Error != "rejected: 401 Invalid Refresh Token" {
		t.Errorf("err %v, exchange error %q", err, ex.Error)
	}
}

func TestCaptureTellsTheObserver(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	type call struct {
		status int
		done   bool
	}
	var mu sync.Mutex
	var calls []call
	ctx := WithObserver(context.Background(), func(ex *Exchange, done bool) {
		mu.Lock()
		calls = append(calls, call{ex.Status, done})
		mu.Unlock()
	})
	if _, err := Capture(ctx, NewHTTPClient(ClientOptions{}), nil, Request{Method: "POST", URL: srv.URL}, accept); err != nil {
		t.Fatal(err)
	}
	if len(calls) != 2 || calls[0] != (call{0, false}) || calls[1] != (call{200, true}) {
		t.Errorf("observer calls %+v", calls)
	}
}

func TestPlainHTTPRefusedForRemoteHosts(t *testing.T) {
	ex, err := post(t, NewHTTPClient(ClientOptions{}), nil, "http://example.com/refresh")
	want := `refusing plain http:// to non-loopback host "example.com" (use --insecure-http)`
	if !errors.Is(err, ErrInsecureHTTP) || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("err %v", err)
	}
	if ex.Status != 0 || !strings.Contains(ex.Error, want) {
		t.Errorf("exchange %+v", ex)
	}

	// With the option the request goes to the underlying transport.
	var forwarded bool
	g := &guardTransport{allowInsecure: true, userAgent: "ua", base: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		forwarded = r.Header.Get("User-Agent") == "ua"
		return nil, errors.New("stop")
	})}
	req, _ := http.NewRequest("POST", "http://example.com/refresh", nil)
	if _, err := g.RoundTrip(req); err == nil || errors.Is(err, ErrInsecureHTTP) || !forwarded {
		t.Errorf("allowed insecure: err %v, forwarded %v", err, forwarded)
	}
	if req.Header.Get("User-Agent") != "" {
		t.Error("RoundTrip modified the caller's request")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestIsLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LOCALHOST.": true, "api.localhost": true, "127.0.0.1": true, "127.8.9.1": true,
		"::1": true, "example.com": false, "10.0.0.1": false, "localhost.example.com": false, "": false,
	} {
		if got := isLoopbackHost(host); got != want {
			t.Errorf("isLoopbackHost(%q) = %v", host, got)
		}
	}
}

func TestCaptureClassifiesNetworkErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // then the server notices the client leaving
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	tlsSrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	dropped := rawtest.Server(t, func(net.Conn) {})
	reset := rawtest.Server(t, func(c net.Conn) {
		c.(*net.TCPConn).SetLinger(0) // close with RST
	})
	shortBody := rawtest.Answer(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"partial\":")

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		kind    string
		status  int
		text    string
	}{
		{"refused", "http://" + closedAddr, 0, KindRefused, 0,
			"network error (refused): dial tcp " + closedAddr + ": connect: connection refused"},
		{"timeout", slow.URL, 100 * time.Millisecond, KindTimeout, 0, "network error (timeout): "},
		{"tls", tlsSrv.URL, 0, KindTLS, 0, "network error (tls): tls: failed to verify certificate"},
		{"dropped", dropped, 0, KindEOF, 0, "network error (eof): EOF"},
		{"reset", reset, 0, KindReset, 0, "network error (reset): "},
		{"short body", shortBody, 0, KindEOF, 200, "network error (eof): 200 OK: unexpected EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, err := post(t, NewHTTPClient(ClientOptions{Timeout: tt.timeout}), nil, tt.url)
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("err %v (%T)", err, err)
			}
			if pe.Outcome != OutcomeNetworkError || pe.Kind != tt.kind || pe.Status != tt.status {
				t.Errorf("got %s/%s/%d, want network_error/%s/%d: %v", pe.Outcome, pe.Kind, pe.Status, tt.kind, tt.status, err)
			}
			if !strings.HasPrefix(err.Error(), tt.text) || strings.Contains(err.Error(), "Post ") {
				t.Errorf("error %q, want prefix %q", err, tt.text)
			}
			if ex.Error != err.Error() || ex.Timings.Total <= 0 {
				t.Errorf("exchange error %q, timings %+v", ex.Error, ex.Timings)
			}
		})
	}
}

func TestCaptureDNSError(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := Capture(ctx, NewHTTPClient(ClientOptions{}), nil, Request{Method: "POST", URL: "https://nonexistent.invalid/refresh"}, accept)
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("err %v", err)
	}
	if pe.Kind == KindTimeout {
		t.Skip("the resolver did not answer in time (no network)")
	}
	if pe.Kind != KindDNS {
		t.Errorf("kind %q: %v", pe.Kind, err)
	}
}

func TestCaptureCancelled(t *testing.T) {
	started := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-r.Context().Done()
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-started; cancel() }()
	ex, err := Capture(ctx, NewHTTPClient(ClientOptions{}), nil, Request{Method: "POST", URL: srv.URL}, accept)
	var pe *Error
	if !errors.As(err, &pe) || pe.Outcome != OutcomeCancelled || !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v", err)
	}
	if !strings.HasPrefix(ex.Error, "cancelled: ") {
		t.Errorf("exchange error %q", ex.Error)
	}
}

func TestCaptureBadRequest(t *testing.T) {
	for _, req := range []Request{
		{Method: "POST", URL: "http://[::1/refresh?token=MRK-query-0123456789abcdef"},
		{Method: "BAD METHOD", URL: "http://127.0.0.1:1/"},
	} {
		ex, err := Capture(context.Background(), NewHTTPClient(ClientOptions{}), nil, req, accept)
		var pe *Error
		if !errors.As(err, &pe) || pe.Outcome != OutcomeNetworkError || !strings.HasPrefix(err.Error(), "network error: build request: ") {
			t.Errorf("err %v", err)
		}
		if strings.Contains(err.Error(), "MRK-") || ex.Error != err.Error() {
			t.Errorf("error %q, exchange error %q", err, ex.Error)
		}
	}
}
