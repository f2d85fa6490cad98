package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// startFakeServerProcess runs `tokentop fake-server` as a process of its
// own (so that its CPU is not counted as the watcher's) and returns the
// PathStack URL and account from its JSON line.
func startFakeServerProcess(b *testing.B) (url, user, pass string) {
	b.Helper()
	cmd := newEnv(b).command("", "fake-server")
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		b.Fatalf("fake-server: %v", err)
	}
	var v struct {
		URL      string `json:"pathstack_url"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		b.Fatalf("fake-server said %q: %v", line, err)
	}
	return v.URL, v.Username, v.Password
}

// lineCounter counts the lines written to it and signals when it reaches want.
type lineCounter struct {
	n    atomic.Int64
	want int64
	done chan struct{}
}

func (c *lineCounter) Write(p []byte) (int, error) {
	if n := c.n.Add(int64(strings.Count(string(p), "\n"))); n >= c.want && c.done != nil {
		select {
		case <-c.done:
		default:
			close(c.done)
		}
	}
	return len(p), nil
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWatchThroughput: one `tokentop watch` (in this process) over
// 1,000 sessions scheduled `every 5s`, all due at the start, against the
// fake PathStack running as another process (`tokentop fake-server`) on
// loopback. Reports refreshes/s until all 1,000 are refreshed and saved, and
// this process's CPU (getrusage RUSAGE_SELF: the watcher's, plus the
// benchmark's line counting) per refresh, and the vault's commits per
// refresh, and those among them that waited for the disk (syncs: one fsync
// of the write-ahead log each; see vault.Stats). Targets: at least 500
// refreshes/s, under 1 ms CPU per refresh, no more syncs per refresh than
// one transaction's one. The floor, in the same run: the same 1,000 refresh
// calls made with bare net/http, as many at once as the scheduler makes
// (floor-CPU-ms/refresh, floor-refreshes/s).
//
//	go test -run '^$' -bench WatchThroughput -benchtime 2x ./cmd/internal/cli
func BenchmarkWatchThroughput(b *testing.B) {
	const n = 1000
	url, user, pass := startFakeServerProcess(b)
	var (
		wall, cpu           time.Duration
		total               int64
		commits, synced     int64
		floorWall, floorCPU time.Duration
		steal               stealMeter
	)
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		e := newEnv(b)
		st := e.openStore()
		now := time.Now()
		for j := range n {
			res := loginFake(b, url, user, pass)
			// Issued 10 s ago: with `every 5s` each is due at once.
			s := vault.Session{Provider: vault.ProviderPathStack, Label: fmt.Sprintf("w-%04d", j), BaseURL: url, Sub: res.Sub,
				AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, TokenType: res.TokenType,
				IssuedAt: now.Add(-10 * time.Second), ExpiresAt: res.ExpiresAt}
			if err := st.CreateSession(context.Background(), &s); err != nil {
				b.Fatal(err)
			}
			if err := st.PutSchedule(context.Background(), vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleEvery, Interval: 5 * time.Second, Enabled: true}); err != nil {
				b.Fatal(err)
			}
		}
		st.Close()

		lines := &lineCounter{want: n, done: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		io := stdio{in: strings.NewReader(""), out: lines, err: io.Discard,
			getenv: func(k string) string { return e.vars[k] }, now: time.Now}
		code := make(chan int, 1)
		stopProfile := profileWindow(b, i)
		w0 := vault.Stats()
		c0, t0 := cpuTime(b), time.Now()
		steal.start()
		b.StartTimer()
		go func() { code <- run(ctx, []string{"watch", "--insecure-http"}, io) }()
		select {
		case <-lines.done:
		case <-time.After(2 * time.Minute):
			b.Fatalf("%d of %d refreshed in 2 minutes", lines.n.Load(), n)
		}
		b.StopTimer()
		steal.stop()
		wall += time.Since(t0)
		cpu += cpuTime(b) - c0
		w1 := vault.Stats()
		commits += w1.Commits - w0.Commits
		synced += w1.Synced - w0.Synced
		stopProfile()
		total += lines.n.Load()
		cancel()
		if c := <-code; c != 0 {
			b.Fatalf("watch exited %d", c)
		}

		w, c := bareRefreshes(b, url, user, pass, n)
		floorWall += w
		floorCPU += c
	}
	steal.report(b)
	b.ReportMetric(float64(total)/wall.Seconds(), "refreshes/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(total), "CPU-ms/refresh")
	b.ReportMetric(float64(commits)/float64(total), "commits/refresh")
	b.ReportMetric(float64(synced)/float64(total), "syncs/refresh")
	calls := float64(n * b.N)
	b.ReportMetric(calls/floorWall.Seconds(), "floor-refreshes/s")
	b.ReportMetric(float64(floorCPU.Microseconds())/1000/calls, "floor-CPU-ms/refresh")
}

// loginFake logs in to the fake PathStack at url: one session's tokens.
func loginFake(b *testing.B, url, user, pass string) providers.Result {
	b.Helper()
	res, _, err := pathstack.New(http.DefaultClient, time.Now).Login(context.Background(),
		providers.LoginTarget{BaseURL: url}, providers.Credentials{Username: user, Password: pass})
	if err != nil {
		b.Fatal(err)
	}
	return res
}

// bareRefreshes is the watch benchmark's floor: n rotating PathStack refresh
// calls with bare net/http (a POST, JSON in and out, the new refresh token
// kept), providers.DefaultSchedulerConcurrency at once, on the fake server
// at url. It returns their wall time and this process's CPU time, the logins
// that give the refresh tokens left out.
func bareRefreshes(b *testing.B, url, user, pass string, n int) (wall, cpu time.Duration) {
	b.Helper()
	type grant struct{ sub, refresh string }
	grants := make(chan grant, n)
	for range n {
		res := loginFake(b, url, user, pass)
		grants <- grant{res.Sub, res.RefreshToken}
	}
	close(grants)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: providers.DefaultSchedulerConcurrency}}
	defer hc.CloseIdleConnections()
	errs := make(chan error, providers.DefaultSchedulerConcurrency)
	c0, t0 := cpuTime(b), time.Now()
	for range providers.DefaultSchedulerConcurrency {
		go func() {
			for g := range grants {
				if _, err := fake.RefreshBare(context.Background(), hc, url, g.sub, g.refresh); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range providers.DefaultSchedulerConcurrency {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(t0), cpuTime(b) - c0
}

// profileWindow starts a CPU profile of the timed part of iteration i when
// TOKENTOP_BENCH_CPUPROFILE names a file (the first iteration only): go
// test's -cpuprofile would mix in the setup, 1,000 logins and inserts.
func profileWindow(b *testing.B, i int) (stop func()) {
	path := os.Getenv("TOKENTOP_BENCH_CPUPROFILE")
	if path == "" || i > 0 {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
