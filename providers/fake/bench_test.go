package fake

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkPathStackRefreshLoopback walks a rotating chain over real loopback
// HTTP with keep-alive, as a client would.
func BenchmarkPathStackRefreshLoopback(b *testing.B) {
	s, err := StartPathStack(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tok, err := s.Mint(0)
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	rt := tok.RefreshToken
	for b.Loop() {
		resp, err := trySend(client, "POST", s.URL+"/refresh", refreshBody(tok.Sub, rt))
		if err != nil || resp.status != 200 {
			b.Fatalf("%v %d %s", err, resp.status, resp.body)
		}
		var a pathStackAnswer
		if err := json.Unmarshal([]byte(resp.body), &a); err != nil {
			b.Fatal(err)
		}
		rt = *a.Data.RefreshToken
	}
}

// BenchmarkGalileoRefreshHandler measures the server's own work per refresh,
// without the network.
func BenchmarkGalileoRefreshHandler(b *testing.B) {
	s, err := StartGalileo(Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tok, err := s.Mint(0)
	if err != nil {
		b.Fatal(err)
	}
	h := s.Handler()
	rt := tok.RefreshToken
	for b.Loop() {
		req := httptest.NewRequest("POST", "/v1/refresh_token", nil)
		req.AddCookie(&http.Cookie{Name: "refresh_token", Value: rt})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
		c := rec.Header().Get("Set-Cookie")
		rt = c[len("refresh_token="):strings.IndexByte(c, ';')]
	}
}
