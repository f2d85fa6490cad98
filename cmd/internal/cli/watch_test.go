package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"runtime/metrics"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// syncBuffer is a bytes.Buffer safe to read while a command writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start runs tokentop in-process until ctx is done; the exit code arrives
// on the channel.
func (e *env) start(ctx context.Context, args ...string) (out, errOut *syncBuffer, code <-chan int) {
	out, errOut = &syncBuffer{}, &syncBuffer{}
	io := e.stdio("", out, errOut)
	done := make(chan int, 1)
	go func() { done <- run(ctx, args, io) }()
	return out, errOut, done
}

// watchLines parses `watch --json` output.
func watchLines(t *testing.T, out string) []watchLineJSON {
	t.Helper()
	var lines []watchLineJSON
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var l watchLineJSON
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("not one JSON object per line: %q: %v", sc.Text(), err)
		}
		lines = append(lines, l)
	}
	return lines
}

// TestWatchLogsFailuresAndTurnsOffRevoked: a server error backs off, a
// revoked refresh token turns its schedule off; on cancel watch exits 0.
func TestWatchLogsFailuresAndTurnsOffRevoked(t *testing.T) {
	e := newEnv(t)
	down, revoking := startFake(t, fake.Options{}), startFake(t, fake.Options{})
	e.addMinted(down, "flaky")
	e.addMinted(revoking, "revoked")
	var shown struct {
		Refresh tokenJSON `json:"refresh_token"`
		Access  tokenJSON `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(e.mustRun("", "show", "revoked", "--json", "--reveal")), &shown); err != nil {
		t.Fatal(err)
	}
	revoking.Revoke(shown.Refresh.Raw)
	down.QueueFault(fake.Fault{Status: 500, Count: -1})
	for _, l := range []string{"flaky", "revoked"} {
		e.mustRun("", "schedule", l, "--before-expiry", "2h") // 1 h tokens: due at once
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errOut, code := e.start(ctx, "watch", "--json")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(out.String(), "\n") < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no refresh logged:\nstdout %s\nstderr %s", out, errOut)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Fatalf("exit %d: %s", c, errOut)
	}
	if s := errOut.String(); !strings.Contains(s, "watching 2 scheduled sessions") || !strings.Contains(s, "stopped after 2 refreshes (2 failed)") {
		t.Errorf("stderr: %q", s)
	}
	byLabel := map[string]watchLineJSON{}
	for _, l := range watchLines(t, out.String()) {
		byLabel[l.Label] = l
	}
	f, r := byLabel["flaky"], byLabel["revoked"]
	if f.Outcome != "server_error" || f.Status != 500 || f.Failures != 1 || f.Disabled || f.Trigger != "scheduled" ||
		!strings.Contains(f.Error, "500") || f.NextDue == nil {
		t.Errorf("flaky: %+v", f)
	} else if due := parseTime(t, f.NextDue); due.Before(e.now.Add(4*time.Second)) || due.After(e.now.Add(6*time.Second)) {
		t.Errorf("flaky retries at %v, want 5 s ± 20%% after %v", due, e.now)
	}
	if r.Outcome != "rejected" || r.Status != 401 || !r.Disabled || r.NextDue != nil {
		t.Errorf("revoked: %+v", r)
	}
	list := e.scheduleList()
	if s := list["revoked"]; s.Enabled || !strings.Contains(s.LastError, "needs a login") || !s.NeedsLogin {
		t.Errorf("revoked schedule: %+v", s)
	}
	if s := list["flaky"]; !s.Enabled || s.Failures != 1 || s.BackoffUntil == nil {
		t.Errorf("flaky schedule: %+v", s)
	}
	for _, secret := range []string{shown.Refresh.Raw, shown.Access.Raw} {
		if secret == "" || strings.Contains(out.String()+errOut.String(), secret) {
			t.Fatal("a token was printed (or not read)")
		}
	}
}

// TestWatchTwoProcessesKeepSessionsFresh runs two real `tokentop watch`
// processes on one vault, until their output shows every session refreshed
// at least 3 times, with three sessions of 6 s tokens,
// scheduled 2 s before expiry: every session is refreshed again and again,
// never twice for one due time, never with a spent refresh token, and never
// left expired for more than a second; both exit 0 on SIGTERM.
func TestWatchTwoProcessesKeepSessionsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("20 s end to end")
	}
	const ttl = 6 * time.Second
	e := newEnv(t)
	srv := startFake(t, fake.Options{AccessTTL: ttl})
	labels := []string{"alpha", "bravo", "charlie"}
	for _, l := range labels {
		e.addMinted(srv, l)
		e.mustRun("", "schedule", l, "--before-expiry", "2s")
	}
	firstExpiry := map[string]time.Time{}
	for _, l := range labels {
		firstExpiry[l] = e.sessionExpiry(l)
	}

	type proc struct {
		cmd         *exec.Cmd
		out, errOut syncBuffer
	}
	procs := []*proc{{}, {}}
	for i, p := range procs {
		args := []string{"watch"}
		if i == 1 {
			args = append(args, "--json")
		}
		p.cmd = e.command("", args...)
		p.cmd.Stdout, p.cmd.Stderr = &p.out, &p.errOut
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
	}
	// Wait on what the processes report, not a fixed time: every session
	// refreshed at least 3 times by one or the other (each line is one
	// refresh made or found done), within a generous bound for a loaded machine.
	refreshedEnough := func() bool {
		n := map[string]int{}
		complete := func(s string) string { return s[:strings.LastIndexByte(s, '\n')+1] }
		for _, l := range watchLines(t, complete(procs[1].out.String())) {
			if !l.Shared {
				n[l.Label]++
			}
		}
		for _, line := range strings.Split(complete(procs[0].out.String()), "\n") {
			if line == "" || strings.Contains(line, "refreshed by another tokentop") {
				continue
			}
			for _, l := range labels {
				if strings.Contains(line, " "+l+" [") {
					n[l]++
				}
			}
		}
		for _, l := range labels {
			if n[l] < 3 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(90 * time.Second)
	for !refreshedEnough() {
		if time.Now().After(deadline) {
			t.Fatalf("sessions not refreshed 3 times each in 90 s\nwatch 0: %s%s\nwatch 1: %s%s",
				procs[0].out.String(), procs[0].errOut.String(), procs[1].out.String(), procs[1].errOut.String())
		}
		time.Sleep(50 * time.Millisecond) // polling the processes' output
	}
	for _, p := range procs {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range procs {
		if err := waitExit(t, p.cmd, 20*time.Second, "watch %d did not stop on SIGTERM", i); err != nil {
			t.Errorf("watch %d: %v\nstderr: %s", i, err, p.errOut.String())
		}
		if !strings.Contains(p.errOut.String(), "watching 3 scheduled sessions") || !strings.Contains(p.errOut.String(), "stopped after") {
			t.Errorf("watch %d stderr: %s", i, p.errOut.String())
		}
	}

	if st := srv.Stats(); st.ReuseDetections != 0 || st.Rejections != 0 {
		t.Errorf("server stats %+v", st)
	}
	st := e.openStore()
	defer st.Close()
	made := 0 // refreshes the two processes say they made themselves
	for _, l := range watchLines(t, procs[1].out.String()) {
		if !l.Shared {
			made++
		}
	}
	made += strings.Count(procs[0].out.String(), "\n") - strings.Count(procs[0].out.String(), "refreshed by another tokentop")
	total := 0
	for _, l := range labels {
		s, err := st.GetSessionByLabel(context.Background(), l)
		if err != nil {
			t.Fatal(err)
		}
		attempts, err := st.ListAttempts(context.Background(), s.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		total += len(attempts)
		if len(attempts) < 3 {
			t.Errorf("%s: refreshed %d times in 20 s, want at least 3", l, len(attempts))
		}
		sort.Slice(attempts, func(i, j int) bool { return attempts[i].StartedAt.Before(attempts[j].StartedAt) })
		expires := firstExpiry[l]
		worst := -time.Hour
		for i, a := range attempts {
			worst = max(worst, a.StartedAt.Sub(expires))
			if a.Outcome != "ok" || a.Trigger != vault.TriggerScheduled {
				t.Errorf("%s attempt %d: %s %s %s", l, i, a.Trigger, a.Outcome, a.Error)
			}
			if late := a.StartedAt.Sub(expires); late > time.Second {
				t.Errorf("%s attempt %d started %v after the token expired", l, i, late)
			}
			// The fake stamps exp in whole seconds at about StartedAt: this
			// is the earliest the new token can expire.
			expires = a.StartedAt.Add(ttl).Truncate(time.Second)
		}
		t.Logf("%s: %d refreshes, the latest %v before expiry", l, len(attempts), -worst)
	}
	if made != total {
		t.Errorf("the processes logged %d refreshes of their own, the vault has %d attempts", made, total)
	}
}

// gcPercent is the collector's current target (GOGC), read without setting it.
func gcPercent(t *testing.T) int64 {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatalf("/gc/gogc:percent: kind %v", s[0].Value.Kind())
	}
	return int64(s[0].Value.Uint64())
}

// TestWatchRaisesGCPercent: watch runs with GOGC=400 (see watchGCPercent)
// and puts the process's setting back when it returns; a GOGC in the
// environment is the user's choice and stays.
func TestWatchRaisesGCPercent(t *testing.T) {
	for _, tc := range []struct {
		gogc string
		want func(before int64) int64
	}{
		{"", func(int64) int64 { return watchGCPercent }},
		{"150", func(before int64) int64 { return before }}, // the runtime read GOGC at start; watch leaves it
	} {
		t.Run("GOGC="+tc.gogc, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			e := newEnv(t)
			st := e.openStore()
			st.Close() // an empty vault: watch waits for schedules
			before := gcPercent(t)
			if before == watchGCPercent {
				t.Skipf("the test process runs at GOGC=%d already (GOGC in its environment): watch's change cannot be seen", before)
			}
			ctx, cancel := context.WithCancel(context.Background())
			_, errOut, code := e.start(ctx, "watch")
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(errOut.String(), "Ctrl-C to stop") {
				if time.Now().After(deadline) {
					t.Fatalf("no banner; stderr: %q", errOut.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
			during := gcPercent(t)
			cancel()
			if c := <-code; c != 0 {
				t.Fatalf("watch exited %d; stderr: %s", c, errOut.String())
			}
			if want := tc.want(before); during != want {
				t.Errorf("during watch GOGC=%d, want %d", during, want)
			}
			if after := gcPercent(t); after != before {
				t.Errorf("after watch GOGC=%d, want %d as before", after, before)
			}
		})
	}
}
