package fake

import (
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestFaultDelayAfterRotatesThenWithholds: the refresh is processed (the
// token rotates) before the delay, so a client that gives up during the
// delay has spent its refresh token without ever seeing the new one.
func TestFaultDelayAfterRotatesThenWithholds(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{DelayAfterMS: 60_000})
	client := &http.Client{Timeout: 50 * time.Millisecond}
	_, err = trySend(client, "POST", s.URL+"/refresh", refreshBody(tok.Sub, tok.RefreshToken))
	var netErr net.Error
	if !errors.As(err, &netErr) || !netErr.Timeout() {
		t.Fatalf("err = %v, want a client timeout", err)
	}
	if st := s.Stats(); st.Rotations != 1 || st.Refreshes != 1 {
		t.Errorf("stats %+v: the refresh was not processed before the delay", st)
	}
	// The token sent is spent: presenting it again is reuse.
	expect(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken), http.StatusUnauthorized, `{"error":{"code":401,"message":"Invalid Refresh Token"}}`)
}

// TestFaultDelayAfterDeliversTheAnswer: a client that waits gets the normal
// answer, headers (the rotated cookie) included.
func TestFaultDelayAfterDeliversTheAnswer(t *testing.T) {
	s := startGalileo(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{DelayAfterMS: 1})
	_, rotated := decodeGalileo(t, galileoRefresh(t, s, tok.RefreshToken))
	if rotated == "" || rotated == tok.RefreshToken {
		t.Errorf("rotated cookie %q lost", rotated)
	}
	decodeGalileo(t, galileoRefresh(t, s, rotated)) // and it is the live one
	if st := s.Stats(); st != (Stats{Requests: 2, Refreshes: 2, Rotations: 2, Faults: 1}) {
		t.Errorf("stats %+v", st)
	}
}

// TestFaultDropAfterRotatesThenDrops: the client sees EOF; the server has
// rotated, so the token sent is spent.
func TestFaultDropAfterRotatesThenDrops(t *testing.T) {
	s := startPathStack(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	s.QueueFault(Fault{DropAfter: true})
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	_, err = trySend(client, "POST", s.URL+"/refresh", refreshBody(tok.Sub, tok.RefreshToken))
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("err = %v, want EOF or connection reset", err)
	}
	if st := s.Stats(); st.Rotations != 1 {
		t.Errorf("stats %+v: the refresh was not processed before the drop", st)
	}
	expect(t, pathStackRefresh(t, s, tok.Sub, tok.RefreshToken), http.StatusUnauthorized, "")
}

// TestFaultAfterModesValidation: the after-modes hold the normal answer, so
// they cannot be combined with a canned answer or a drop; the admin endpoint
// takes them as JSON.
func TestFaultAfterModesValidation(t *testing.T) {
	s := startPathStack(t, Options{})
	for _, f := range []Fault{{DelayAfterMS: -1}, {DropAfter: true, Status: 500}, {DelayAfterMS: 5, Drop: true}, {DropAfter: true, Malformed: true}} {
		if err := f.validate(); !errors.Is(err, ErrInvalidFault) {
			t.Errorf("%+v: %v, want ErrInvalidFault", f, err)
		}
	}
	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"drop_after": true, "delay_after_ms": 10}`), 200,
		`{"count":1,"delay_after_ms":10,"drop_after":true}`)
	expect(t, send(t, "POST", s.URL+"/_fake/faults", `{"drop_after": true, "status": 502}`), 400, "")
}
