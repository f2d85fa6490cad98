package galileo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// cookieLen is the size of the hostile cookie: 200 KB of one character, which
// once took a refresh minutes to redact.
const cookieLen = 200_000

// rawAnswerServer reads each request whole and writes answer as it is.
func rawAnswerServer(t testing.TB, answer string) string {
	return rawServer(t, func(c net.Conn) { io.WriteString(c, answer) })
}

// rawServer reads each request whole from a loopback connection, then hands
// the connection to answer, and closes it.
func rawServer(t testing.TB, answer func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				answer(c)
			}(c)
		}
	}()
	return "http://" + ln.Addr().String()
}

// TestLongCookieTiming prints how long a refresh (and redacting its
// exchange) takes with a 200 KB cookie of one repeated character, both ways:
// sent (a session holding such a refresh token, answered 401) and received
// (a 200 rotating to such a token). A measurement for go test -v, not an
// assertion beyond the package's -timeout.
func TestLongCookieTiming(t *testing.T) {
	long := strings.Repeat("a", cookieLen)
	body := `{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`
	rotating := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: refresh_token=%s; Path=/\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", long, len(body), body)
	detail := `{"detail": "Invalid refresh token"}`
	rejecting := fmt.Sprintf("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(detail), detail)
	for _, tc := range []struct {
		name, answer, sent string
	}{
		{"sent, answered 401", rejecting, long},
		{"received in Set-Cookie", rotating, refreshToken},
	} {
		sess := session(rawAnswerServer(t, tc.answer))
		sess.RefreshToken = tc.sent
		start := time.Now()
		_, ex, err := client().Refresh(context.Background(), sess)
		var b strings.Builder
		ex.Format(&b, false)
		if strings.Contains(b.String(), long[:100]) {
			t.Errorf("%s: the cookie shows in the formatted exchange", tc.name)
		}
		t.Logf("%s: refresh + Format took %s (err: %v)", tc.name, time.Since(start), err)
	}
}
