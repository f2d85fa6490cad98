// Package rawtest serves hand-written HTTP answers on loopback, for the
// provider tests that need what net/http/httptest cannot send: a body cut
// off mid-way, a header of any size, bytes as they are.
package rawtest

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"testing"
)

// Server reads each request whole from a loopback connection, then hands the
// connection to answer, and closes it. It returns the server's base URL; the
// listener closes when the test ends.
func Server(t testing.TB, answer func(net.Conn)) string {
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

// Answer is a Server that writes answer, as it is, to every request.
func Answer(t testing.TB, answer string) string {
	t.Helper()
	return Server(t, func(c net.Conn) { io.WriteString(c, answer) })
}
