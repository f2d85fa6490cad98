package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// The CLI's cost per call against its floor, measured in one run: the built
// binary against the sqlite3 shell reading the same plain columns of the
// same vault (the peer a script would use), one of each in turn; without
// sqlite3 tokentop is timed alone.

// benchVault fills e's vault with n sessions in one transaction.
func benchVault(b *testing.B, e *env, n int) {
	b.Helper()
	st := e.openStore()
	defer st.Close()
	exp := time.Now().Add(time.Hour)
	sessions := make([]vault.Session, n)
	for i := range sessions {
		sessions[i] = vault.Session{
			Provider: vault.ProviderPathStack, Label: fmt.Sprintf("session-%05d", i), BaseURL: "https://api.pathstack.io",
			Sub: "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11", AccessToken: fmt.Sprintf("opaque-access-%05d", i),
			RefreshToken: fmt.Sprintf("opaque-refresh-%05d", i), TokenType: "Bearer", ExpiresAt: exp,
		}
	}
	if err := st.ImportSessions(context.Background(), sessions, false); err != nil {
		b.Fatal(err)
	}
}

// runPeer runs one command to completion, output discarded.
func runPeer(b *testing.B, cmd *exec.Cmd) {
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
}

// againstPeer runs ours and the peer (nil: skipped) alternately, one of
// each per iteration, so that both meet the same machine, and reports each
// one's mean time and the ratio of the means (x-peer), and the ratio of the
// medians (x-peer-median), which a neighbour's burst on a shared machine
// moves less. Run one after the other, a noisy machine moves the mean ratio
// by a third between runs.
func againstPeer(b *testing.B, ours func() *exec.Cmd, peer func() *exec.Cmd) {
	var tOurs, tPeer []time.Duration
	var steal stealMeter
	b.ResetTimer()
	steal.start()
	for b.Loop() {
		t0 := time.Now()
		runPeer(b, ours())
		tOurs = append(tOurs, time.Since(t0))
		if peer != nil {
			t0 = time.Now()
			runPeer(b, peer())
			tPeer = append(tPeer, time.Since(t0))
		}
	}
	b.StopTimer()
	steal.stop()
	steal.report(b)
	b.ReportMetric(ms(mean(tOurs)), "tokentop-ms")
	if peer != nil {
		b.ReportMetric(ms(mean(tPeer)), "peer-ms")
		b.ReportMetric(float64(mean(tOurs))/float64(mean(tPeer)), "x-peer")
		b.ReportMetric(float64(median(tOurs))/float64(median(tPeer)), "x-peer-median")
	}
}

// stealMeter measures the host's steal time over the timed parts of a
// benchmark: the time the hypervisor ran something else while this
// machine's CPUs had work, which slows every process here alike and
// makes CPU time read high (see the README on comparing builds).
type stealMeter struct {
	wall, steal time.Duration
	t0          time.Time
	s0          time.Duration
	cpus        int
	ok          bool
}

func (m *stealMeter) start() {
	m.t0 = time.Now()
	m.s0, m.cpus, m.ok = hostSteal()
}

func (m *stealMeter) stop() {
	s1, _, ok := hostSteal()
	m.ok = m.ok && ok
	m.wall += time.Since(m.t0)
	m.steal += s1 - m.s0
}

// report gives host-steal-%: the share of the machine's CPU time (all its
// CPUs over the timed wall time) that the host took. Nothing when
// /proc/stat says nothing (not Linux).
func (m *stealMeter) report(b *testing.B) {
	if m.ok && m.wall > 0 && m.cpus > 0 {
		b.ReportMetric(100*float64(m.steal)/(float64(m.wall)*float64(m.cpus)), "host-steal-%")
	}
}

// hostSteal is the machine's steal time so far, summed over its CPUs (the
// 8th value of /proc/stat's "cpu" line, in USER_HZ ticks, which Linux
// fixes at 100 a second), and how many CPUs it has (its "cpuN" lines).
func hostSteal() (steal time.Duration, cpus int, ok bool) {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, false
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) > 8 && f[0] == "cpu":
			ticks, err := strconv.ParseInt(f[8], 10, 64)
			if err != nil {
				return 0, 0, false
			}
			steal, ok = time.Duration(ticks)*10*time.Millisecond, true
		case len(f) > 0 && strings.HasPrefix(f[0], "cpu"):
			cpus++
		}
	}
	return steal, cpus, ok
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sqlite3Peer is the sqlite3 shell reading e's vault, or nil (with a note)
// when it is not installed. It opens the vault -readonly, as tokentop's
// reading commands do: opened read-write, the shell is the last connection
// when it exits, so it checkpoints and deletes the write-ahead log and its
// index, which tokentop keeps so that a reader writes nothing; each tokentop
// call after it then made them again, which no call does in use.
// TOKENTOP_BENCH_SQLITE3_RW=1 times the read-write shell instead.
func sqlite3Peer(b *testing.B, e *env, query string) func() *exec.Cmd {
	sqlite, err := exec.LookPath("sqlite3")
	if err != nil {
		b.Log("sqlite3 not installed (apt-get install sqlite3): tokentop timed alone")
		return nil
	}
	if os.Getenv("TOKENTOP_BENCH_SQLITE3_RW") == "1" {
		return func() *exec.Cmd { return exec.Command(sqlite, e.vault, query) }
	}
	return func() *exec.Cmd { return exec.Command(sqlite, "-readonly", e.vault, query) }
}

// BenchmarkCLIList: `tokentop ls` at 10,000 sessions into a pipe, against
// sqlite3 selecting the same plain columns. Target: within 3× of sqlite3.
func BenchmarkCLIList(b *testing.B) {
	e := newEnv(b)
	benchVault(b, e, 10000)
	tokentopBinary(b) // built before the clock runs, not in the first iteration
	againstPeer(b, func() *exec.Cmd { return e.command("", "ls") },
		sqlite3Peer(b, e, "select label, provider, expires_at, last_refresh_at, last_status, needs_login from sessions order by label"))
}

// BenchmarkCLIToken: `tokentop token LABEL` on a fresh session, against
// sqlite3 reading that session's row. Target: within 2× of sqlite3. The
// bare start of a process (`true`) is BenchmarkProcessStart, for scale.
func BenchmarkCLIToken(b *testing.B) {
	e := newEnv(b)
	benchVault(b, e, 10)
	tokentopBinary(b) // built before the clock runs, not in the first iteration
	againstPeer(b, func() *exec.Cmd { return e.command("", "token", "session-00003") },
		sqlite3Peer(b, e, "select access_token, expires_at from sessions where label = 'session-00003'"))
}

// BenchmarkProcessStart: `true`, the cost of starting any process here.
func BenchmarkProcessStart(b *testing.B) {
	for b.Loop() {
		runPeer(b, exec.Command("true"))
	}
}
