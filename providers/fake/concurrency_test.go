package fake

import (
	"encoding/json"
	"net/http"
	"sync"
	"testing"
)

// Many families refreshing their chains at once: every refresh succeeds and
// every rotation is counted.
func TestConcurrentRefreshChains(t *testing.T) {
	s := startPathStack(t, Options{})
	const workers, steps = 8, 40
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	defer client.CloseIdleConnections()
	var wg sync.WaitGroup
	errs := make(chan string, workers*steps)
	for range workers {
		wg.Go(func() {
			tok, err := s.Mint(0)
			if err != nil {
				errs <- err.Error()
				return
			}
			rt := tok.RefreshToken
			for range steps {
				resp, err := trySend(client, "POST", s.URL+"/refresh", refreshBody(tok.Sub, rt))
				if err != nil || resp.status != 200 {
					errs <- resp.body
					return
				}
				var a pathStackAnswer
				if err := json.Unmarshal([]byte(resp.body), &a); err != nil || a.Data.RefreshToken == nil {
					errs <- resp.body
					return
				}
				rt = *a.Data.RefreshToken
			}
		})
	}
	// Admin calls race with the refreshes.
	wg.Go(func() {
		for range steps {
			s.Stats()
			s.Revoke("unknown")
		}
	})
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if st := s.Stats(); st != (Stats{Requests: workers * steps, Refreshes: workers * steps, Rotations: workers * steps}) {
		t.Errorf("stats %+v", st)
	}
}

// Many clients spending the same refresh token at once: exactly one wins,
// every other is a reuse, and the winner's new token dies with the family.
func TestConcurrentReuseOfOneToken(t *testing.T) {
	s := startGalileo(t, Options{})
	tok, err := s.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	const racers = 16
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: racers}}
	defer client.CloseIdleConnections()
	start := make(chan struct{})
	results := make(chan response, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Go(func() {
			<-start
			resp, err := trySend(client, "POST", s.URL+"/v1/refresh_token", "", withCookie(tok.RefreshToken))
			if err != nil {
				t.Error(err)
				return
			}
			results <- resp
		})
	}
	close(start)
	wg.Wait()
	close(results)
	var won []response
	for r := range results {
		switch r.status {
		case 200:
			won = append(won, r)
		case 401:
		default:
			t.Errorf("status %d %s", r.status, r.body)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d winners, want 1", len(won))
	}
	_, rotated := decodeGalileo(t, won[0])
	expect(t, galileoRefresh(t, s, rotated), 401, `{"detail":"Invalid refresh token"}`)
	if st := s.Stats(); st.Refreshes != 1 || st.ReuseDetections != racers-1 || st.Rejections != racers {
		t.Errorf("stats %+v", st)
	}
}

// Faults, mints and refreshes from many goroutines, for the race detector.
func TestConcurrentFaultsAndMints(t *testing.T) {
	s := startPathStack(t, Options{})
	const n = 20
	s.QueueFault(Fault{Status: 503, Count: n})
	var wg sync.WaitGroup
	statuses := make(chan int, 2*n)
	for range n {
		wg.Go(func() {
			tok, err := s.Mint(0)
			if err != nil {
				t.Error(err)
				return
			}
			resp, err := trySend(http.DefaultClient, "POST", s.URL+"/refresh", refreshBody(tok.Sub, tok.RefreshToken))
			if err != nil {
				t.Error(err)
				return
			}
			statuses <- resp.status
		})
		wg.Go(func() { s.QueueFault(Fault{DelayMS: 1}) })
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for st := range statuses {
		count[st]++
	}
	// The 503s were queued first, so they take every request; the delays
	// stay queued.
	if count[503] != n {
		t.Errorf("statuses %v", count)
	}
	if st := s.Stats(); st.Faults != n || st.Requests != n {
		t.Errorf("stats %+v", st)
	}
}
