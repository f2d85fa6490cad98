package providers_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// startFakePathStack starts a rotating fake PathStack for one test.
func startFakePathStack(tb testing.TB, opts fake.Options) *fake.Server {
	tb.Helper()
	srv, err := fake.StartPathStack(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { srv.Close() })
	return srv
}

// addDueSessions stores n sessions minted by srv (reached at baseURL) whose
// access tokens expired a minute before now, each with a before-expiry
// schedule (default margin): all due at once.
func addDueSessions(tb testing.TB, st *vault.Store, srv *fake.Server, baseURL string, n int, now time.Time) []vault.Session {
	tb.Helper()
	ctx := context.Background()
	out := make([]vault.Session, 0, n)
	for i := range n {
		tok, err := srv.Mint(0)
		if err != nil {
			tb.Fatal(err)
		}
		s := vault.Session{Provider: vault.ProviderPathStack, Label: fmt.Sprintf("due-%04d", i), BaseURL: baseURL, Sub: tok.Sub,
			AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken,
			IssuedAt: now.Add(-61 * time.Minute), ExpiresAt: now.Add(-time.Minute)}
		if err := st.CreateSession(ctx, &s); err != nil {
			tb.Fatal(err)
		}
		if err := st.PutSchedule(ctx, vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleBeforeExpiry, Enabled: true}); err != nil {
			tb.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

// BenchmarkSchedulerAllDue: 1,000 scheduled sessions, all due at once, run
// by one Scheduler with the default concurrency (8) against the fake
// PathStack on loopback, through the real vault. Reports the time until all
// are refreshed and saved, and the process's memory.
//
//	go test -run '^$' -bench SchedulerAllDue -benchtime 3x ./providers/
func BenchmarkSchedulerAllDue(b *testing.B) {
	const n = 1000
	srv := startFakePathStack(b, fake.Options{})
	var (
		total         time.Duration
		alloc, allocs uint64 // during the runs only, not the setup
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := openStore(b, b.TempDir())
		addDueSessions(b, st, srv, srv.URL, n, time.Now())
		before := srv.Stats()
		results := make(chan providers.ScheduledResult, n)
		sched := providers.NewScheduler(st, refresherAt(st, "", time.Now), providers.SchedulerOptions{
			OnResult: func(res providers.ScheduledResult) { results <- res },
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		b.StartTimer()

		start := time.Now()
		go func() { done <- sched.Run(ctx) }()
		for range n {
			select {
			case res := <-results:
				if res.Err != nil || res.Report == nil || res.Report.Shared {
					b.Fatalf("%s: %+v", res.Label, res)
				}
			case <-time.After(60 * time.Second):
				b.Fatal("not all refreshed within 60 s")
			}
		}
		total += time.Since(start)

		b.StopTimer()
		runtime.ReadMemStats(&m1)
		// The fake server runs in this process too: its allocations are in
		// these numbers (it serves the same 1,000 refreshes).
		alloc += m1.TotalAlloc - m0.TotalAlloc
		allocs += m1.Mallocs - m0.Mallocs
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		after := srv.Stats()
		if after.Refreshes-before.Refreshes != n || after.ReuseDetections != 0 {
			b.Fatalf("server stats %+v (before %+v)", after, before)
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/1000-due")
	b.ReportMetric(float64(n*b.N)/total.Seconds(), "refreshes/s")
	b.ReportMetric(float64(alloc)/float64(n*b.N), "B-alloc/refresh")
	b.ReportMetric(float64(allocs)/float64(n*b.N), "allocs/refresh")
}

// BenchmarkSchedulerReload is what one reload does with 1,000 enabled
// schedules: at the start, on Wake, and after a look found
// the vault changed.
func BenchmarkSchedulerReload(b *testing.B) {
	srv := startFakePathStack(b, fake.Options{})
	st := openStore(b, b.TempDir())
	addDueSessions(b, st, srv, srv.URL, 1000, time.Now())
	sched := providers.NewScheduler(st, refresherAt(st, "", time.Now), providers.SchedulerOptions{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if err := providers.ReloadSchedules(ctx, sched); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSchedulerIdleLook is the idle cost: the look at the vault's
// files every 2 s (two stats) that finds nothing changed, with 1,000
// enabled schedules.
func BenchmarkSchedulerIdleLook(b *testing.B) {
	srv := startFakePathStack(b, fake.Options{})
	st := openStore(b, b.TempDir())
	addDueSessions(b, st, srv, srv.URL, 1000, time.Now())
	sched := providers.NewScheduler(st, refresherAt(st, "", time.Now), providers.SchedulerOptions{})
	if err := providers.ReloadSchedules(context.Background(), sched); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if providers.VaultChanged(sched) {
			b.Fatal("an unchanged vault looks changed")
		}
	}
}
