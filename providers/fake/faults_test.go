package fake

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

const htmlPage = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"

func TestFaultHTMLBadGatewayThenNormal(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{Status: 502, Body: htmlPage, ContentType: "text/html"})
	resp := pathStackRefresh(t, s, tok.Sub, tok.RefreshToken)
	if resp.status != 502 || resp.body != htmlPage || resp.header.Get("Content-Type") != "text/html" {
		t.Errorf("got %d %q %q", resp.status, resp.header.Get("Content-Type"), resp.body)
	}
	// The fault did not spend the token: the next request is served normally.
	decodePathStack(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken))
	if st := s.Stats(); st != (Stats{Requests: 2, Refreshes: 1, Rotations: 1, Faults: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultDefaults(t *testing.T) {
	ps := startPathStack(t, Options{})
	gal := startGalileo(t, Options{})
	tests := []struct {
		name        string
		s           *Server
		fault       Fault
		status      int
		contentType string
		body        string
	}{
		{"pathstack envelope", ps, Fault{Status: 429}, 429, "application/json", `{"error":{"code":429,"message":"Too Many Requests"}}`},
		{"galileo envelope", gal, Fault{Status: 500}, 500, "application/json", `{"detail":"Internal Server Error"}`},
		{"pathstack 401", ps, Fault{Status: 401, Body: `{"error":{"code":401,"message":"Invalid Refresh Token"}}`}, 401, "application/json", `{"error":{"code":401,"message":"Invalid Refresh Token"}}`},
		{"html sniffed", gal, Fault{Status: 502, Body: htmlPage}, 502, "text/html; charset=utf-8", htmlPage},
		{"body alone is a 200", ps, Fault{Body: `{"data":{}}`}, 200, "application/json", `{"data":{}}`},
		{"pathstack malformed", ps, Fault{Malformed: true}, 200, "application/json", pathStackFlavor.malformed},
		{"galileo malformed 401", gal, Fault{Malformed: true, Status: 401}, 401, "application/json", galileoFlavor.malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.QueueFault(tt.fault)
			path := "/refresh"
			if tt.s == gal {
				path = "/v1/refresh_token"
			}
			resp := send(t, "POST", tt.s.URL+path, "")
			if resp.status != tt.status || resp.header.Get("Content-Type") != tt.contentType || resp.body != tt.body {
				t.Errorf("got %d %q %s\nwant %d %q %s", resp.status, resp.header.Get("Content-Type"), resp.body,
					tt.status, tt.contentType, tt.body)
			}
			if tt.fault.Malformed && json.Valid([]byte(resp.body)) {
				t.Error("malformed body parses")
			}
		})
	}
}

func TestFaultCountIsConsumedInOrder(t *testing.T) {
	s := startGalileo(t, Options{})
	s.QueueFault(Fault{Status: 503, Count: 2})
	s.QueueFault(Fault{Status: 429})
	var got []int
	for range 4 {
		got = append(got, send(t, "POST", s.URL+"/v1/refresh_token", "").status)
	}
	if want := []int{503, 503, 429, 422}; !equalInts(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if st := s.Stats(); st != (Stats{Requests: 4, Faults: 3, Rejections: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultStickyUntilCleared(t *testing.T) {
	s := startPathStack(t, Options{})
	s.QueueFault(Fault{Status: 422, Count: -1})
	for range 3 {
		if st := send(t, "POST", s.URL+"/token", "{}").status; st != 422 {
			t.Fatalf("status %d, want the sticky 422", st)
		}
	}
	s.ClearFaults()
	login(t, s)
	if st := s.Stats(); st.Faults != 3 || st.Logins != 1 || st.Requests != 4 {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultDelayOutlastsClientTimeout(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{DelayMS: 60_000})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	_, err = trySend(client, "POST", s.URL+"/refresh", refreshBody(tok.Sub, tok.RefreshToken))
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	// The delayed request was never served, so the token is unspent.
	decodePathStack(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken))
}

func TestFaultPureDelayIsThenServed(t *testing.T) {
	s := startGalileo(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{DelayMS: 1})
	decodeGalileo(t, galileoRefresh(t, s, tok.RefreshToken))
	if st := s.Stats(); st != (Stats{Requests: 1, Refreshes: 1, Rotations: 1, Faults: 1}) {
		t.Errorf("stats %+v", st)
	}
}

func TestFaultDropClosesConnection(t *testing.T) {
	s := startPathStack(t, Options{})
	s.QueueFault(Fault{Drop: true})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	_, err := trySend(client, "POST", s.URL+"/token", "{}")
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want EOF or connection reset", err)
	}
	// The server is fine afterwards.
	login(t, s)
}

func TestQueueFaultPanicsOnInvalid(t *testing.T) {
	s := startPathStack(t, Options{})
	for _, f := range []Fault{{Status: 42}, {Status: 600}, {DelayMS: -1}} {
		func() {
			defer func() {
				err, _ := recover().(error)
				if !errors.Is(err, ErrInvalidFault) {
					t.Errorf("QueueFault(%+v) panicked with %v, want ErrInvalidFault", f, err)
				}
			}()
			s.QueueFault(f)
		}()
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
