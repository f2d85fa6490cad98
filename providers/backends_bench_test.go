package providers_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
	"github.com/tokentop/tokentop/vault/pgtest"
)

// BenchmarkSchedulerThousandSessions: how many refreshes per second one
// Scheduler (one `tokentop watch`, default concurrency) sustains with 1,000
// sessions all due, against the fake PathStack on loopback, on each
// backend. One round of 1,000 refreshes per iteration (-benchtime=1x).
//
//	go test -run '^$' -bench SchedulerThousand -benchtime 1x ./providers
func BenchmarkSchedulerThousandSessions(b *testing.B) {
	for _, backend := range []string{vault.BackendSQLite, vault.BackendPostgres} {
		b.Run(backend, func(b *testing.B) {
			for range b.N {
				b.StopTimer()
				path := filepath.Join(b.TempDir(), "vault.db")
				if backend == vault.BackendPostgres {
					if !pgtest.Available(b) {
						b.Skip("TOKENTOP_TEST_POSTGRES not set: start one with scripts/pg-test-server")
					}
					path, _ = pgtest.Schema(b)
				}
				rate := scheduleThousand(b, path)
				b.ReportMetric(rate, "refreshes/s")
			}
		})
	}
}

func scheduleThousand(b *testing.B, path string) float64 {
	const sessions = 1000
	ctx := context.Background()
	st, err := vault.Open(ctx, vault.Options{Path: path, KeyFile: filepath.Join(b.TempDir(), "key")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := startFakePathStack(b, fake.Options{})
	var entries []vault.ImportEntry
	for i := range sessions {
		tok, err := srv.Mint(time.Hour)
		if err != nil {
			b.Fatal(err)
		}
		entries = append(entries, vault.ImportEntry{
			Session: vault.Session{Provider: vault.ProviderPathStack, Label: fmt.Sprintf("s%04d", i), BaseURL: srv.URL,
				Sub: tok.Sub, AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: "Bearer"},
			Schedule: &vault.Schedule{Mode: vault.ScheduleEvery, Interval: time.Hour, Enabled: true},
		})
	}
	if err := st.Import(ctx, entries, false); err != nil {
		b.Fatal(err)
	}
	// Due an hour after iat (whole seconds): the Scheduler's clock stands
	// still, an hour less a second ahead, over a second after the last
	// mint, so that every session is due once and none again after its
	// refresh.
	time.Sleep(1100 * time.Millisecond)
	ahead := time.Now().Add(time.Hour - time.Second)
	now := func() time.Time { return ahead }
	r := providers.NewRefresher(st, providers.NewRegistry(pathstack.New(providers.NewHTTPClient(providers.ClientOptions{}), nil)), providers.RefresherOptions{})
	var done atomic.Int64
	finished := make(chan struct{})
	sched := providers.NewScheduler(st, r, providers.SchedulerOptions{Now: now, OnResult: func(res providers.ScheduledResult) {
		if res.Err != nil {
			b.Errorf("%s: %v", res.Label, res.Err)
		}
		if done.Add(1) == sessions {
			close(finished)
		}
	}})
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.StartTimer()
	start := time.Now()
	go sched.Run(runCtx)
	select {
	case <-finished:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d refreshes in 5 minutes", done.Load(), sessions)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	r.Wait(ctx)
	if s := srv.Stats(); s.ReuseDetections != 0 || s.Refreshes != sessions {
		b.Errorf("fake: %+v", s)
	}
	return sessions / elapsed.Seconds()
}
