package cli

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// crashProbe wraps a fake server's handler and tells when each auth request
// arrived and when its answer had been written, so that a kill can be
// placed: before anything was sent, while the server holds an answer it has
// already rotated, or after the answer went out.
type crashProbe struct {
	mu       sync.Mutex
	arrived  []time.Time
	answered []time.Time // zero while the handler runs
}

func (p *crashProbe) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_fake/") {
			h.ServeHTTP(w, r)
			return
		}
		p.mu.Lock()
		i := len(p.arrived)
		p.arrived = append(p.arrived, time.Now())
		p.answered = append(p.answered, time.Time{})
		p.mu.Unlock()
		h.ServeHTTP(w, r)
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		p.mu.Lock()
		p.answered[i] = time.Now()
		p.mu.Unlock()
	})
}

// since returns what happened to requests number from and later at time at:
// none arrived, one arrived and is unanswered, or one was answered.
func (p *crashProbe) where(from int, at time.Time) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	where := "before sending"
	for i := from; i < len(p.arrived); i++ {
		switch {
		case p.arrived[i].After(at):
		case p.answered[i].IsZero() || p.answered[i].After(at):
			where = "server holds the answer"
		default:
			where = "after the answer"
		}
	}
	return where
}

// heldAt counts the requests numbered from or later that the server had
// committed to when a kill landed at at, give or take slack: arrived by
// at+slack (a request still on the wire arrives after the kill) and not
// answered by at-slack (an answer written just before may still have been
// on its way to the vault).
func (p *crashProbe) heldAt(from int, at time.Time, slack time.Duration) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for i := from; i < len(p.arrived); i++ {
		if !p.arrived[i].After(at.Add(slack)) && (p.answered[i].IsZero() || p.answered[i].After(at.Add(-slack))) {
			n++
		}
	}
	return n
}

// answeredAll: a request numbered from or later arrived, and all are answered.
func (p *crashProbe) answeredAll(from int) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.arrived) <= from {
		return false
	}
	for _, a := range p.answered[from:] {
		if a.IsZero() {
			return false
		}
	}
	return true
}

func (p *crashProbe) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arrived)
}

// killTally is one row per place a kill landed.
type killTally struct {
	kills, lost, explained int
}

// TestCrashRefreshKilledAtRandomMoments runs 100 `tokentop refresh`
// processes, each on a session of its own, and SIGKILLs each at a random
// moment while the server holds every answer for 150 ms after rotating.
// Then a plain `tokentop refresh` of the session must either work (nothing
// lost) or, only when the kill landed after the request reached the server,
// fail with the loss explained in history. A kill before sending never costs
// a session, and the next refresh never waits for the dead process's lease.
func TestCrashRefreshKilledAtRandomMoments(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: 100 processes killed (run by .ci/run)")
	}
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	probe := &crashProbe{}
	hs := httptest.NewServer(probe.wrap(srv.Handler()))
	t.Cleanup(hs.Close)

	const n = 100
	for i := range n {
		e.addMintedAt(srv, hs.URL, fmt.Sprintf("s%03d", i))
	}
	e.mustRunBinary("refresh", "s000") // warm up: the first run of a binary is slower

	// A third of the kills aim before sending (a random moment within the
	// usual time to the request), a third at the server holding its answer
	// (a random moment in the 150 ms hold), a third just after the answer
	// was written. Where each really landed is what the probe saw.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	tally := map[string]*killTally{}
	var slowest, toRequest time.Duration = 0, 20 * time.Millisecond
	waitFor := func(cond func() bool) {
		for deadline := time.Now().Add(10 * time.Second); !cond() && time.Now().Before(deadline); {
			time.Sleep(200 * time.Microsecond)
		}
	}
	for i := 1; i < n; i++ {
		label := fmt.Sprintf("s%03d", i)
		srv.QueueFault(fake.Fault{DelayAfterMS: 150})
		from := probe.count()
		cmd := e.command("", "refresh", label)
		started := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		switch i % 3 {
		case 0:
			time.Sleep(time.Duration(rng.Int64N(int64(toRequest))))
		case 1:
			waitFor(func() bool { return probe.count() > from })
			toRequest = (toRequest + time.Since(started)) / 2
			time.Sleep(time.Duration(rng.Int64N(int64(140 * time.Millisecond))))
		case 2:
			waitFor(func() bool { return probe.answeredAll(from) })
			time.Sleep(time.Duration(rng.Int64N(int64(30 * time.Millisecond))))
		}
		killedAt := time.Now()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		where := probe.where(from, killedAt)
		if where == "before sending" {
			// A request the process wrote just before it died may still be
			// on its way: give it time to arrive, then ask the server.
			time.Sleep(50 * time.Millisecond)
			switch {
			case probe.count() > from:
				where = "on the wire (reached the server after the kill)"
			case e.session(label).SentFP != "":
				where = "marked as sent, never reached the server"
			}
		}
		if where == "after the answer" {
			// Did the process save it before it died? The intent mark says.
			if sess := e.session(label); sess.SentFP != "" {
				where = "answer sent, not yet saved"
			} else {
				where = "after the answer was saved"
			}
		}
		srv.ClearFaults()
		if tally[where] == nil {
			tally[where] = &killTally{}
		}
		tally[where].kills++

		began := time.Now()
		out, errOut, err := e.runBinary("refresh", label)
		slowest = max(slowest, time.Since(began))
		if err == nil {
			continue
		}
		tally[where].lost++
		hist, _, _ := e.runBinary("history", label)
		if strings.Contains(hist, "answer was lost") && strings.Contains(out+errOut, "answer was lost") {
			tally[where].explained++
		} else {
			t.Errorf("%s (killed %s): lost without explanation\nrefresh: %s%s\nhistory:\n%s", label, where, out, errOut, hist)
		}
		if where == "before sending" || where == "marked as sent, never reached the server" || where == "after the answer was saved" {
			t.Errorf("%s: a kill %s lost the session: %s", label, where, errOut)
		}
	}
	recovered := recoveredCount(t, e)
	st := srv.Stats()
	t.Logf("kills where they landed (lost = the session's next refresh was refused):")
	for _, where := range []string{"before sending", "marked as sent, never reached the server", "on the wire (reached the server after the kill)",
		"server holds the answer", "answer sent, not yet saved", "after the answer was saved"} {
		if k := tally[where]; k != nil {
			t.Logf("  %-48s kills %3d  lost %3d  explained in history %3d", where, k.kills, k.lost, k.explained)
		}
	}
	t.Logf("reuse detections by the server: %d; sessions with tokens in recovery: %d; slowest refresh after a kill: %v",
		st.ReuseDetections, recovered, slowest.Round(time.Millisecond))
	if slowest > 10*time.Second {
		t.Errorf("a refresh after a kill took %v: it waited for the dead process's lease", slowest)
	}
	lost := 0
	for _, k := range tally {
		lost += k.lost
	}
	if st.ReuseDetections != lost {
		t.Errorf("server saw %d reuses, %d sessions were lost", st.ReuseDetections, lost)
	}
}

// TestCrashWatchKilledDuringScheduledRefreshes SIGKILLs `tokentop watch` 40
// times while it refreshes 8 sessions of 3 s tokens, restarting it each
// time; the server holds every answer 40 ms, and every other kill is aimed
// at a scheduled refresh the server is answering. A lost session must be
// one whose answer was held when a kill landed, explained in history; it is
// logged in again before the next run.
func TestCrashWatchKilledDuringScheduledRefreshes(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: 40 watch processes killed (run by .ci/run)")
	}
	e := newEnv(t)
	srv := startFake(t, fake.Options{AccessTTL: 3 * time.Second})
	probe := &crashProbe{}
	hs := httptest.NewServer(probe.wrap(srv.Handler()))
	t.Cleanup(hs.Close)
	labels := make([]string, 8)
	for i := range labels {
		labels[i] = fmt.Sprintf("w%d", i)
		e.addMintedAt(srv, hs.URL, labels[i])
		e.mustRun("", "schedule", labels[i], "--before-expiry", "2s")
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 40))
	srv.QueueFault(fake.Fault{DelayAfterMS: 40, Count: -1})
	before := srv.Stats()
	kills, held := 0, 0 // kills that landed while the server held answers it had rotated, and those answers
	lost := 0
	// revive logs lost sessions in again (new tokens, schedule back on) so
	// that every run of watch has all 8 to refresh; each loss must be
	// explained in history first.
	revive := func() {
		for _, l := range labels {
			if !e.session(l).NeedsLogin {
				continue
			}
			lost++
			if hist, _, _ := e.runBinary("history", l, "--limit", "0"); !strings.Contains(hist, "answer was lost") {
				t.Errorf("%s lost without explanation:\n%s", l, hist)
			}
			e.addMintedAt(srv, hs.URL, l, "--replace")
			e.mustRun("", "schedule", l, "--before-expiry", "2s")
		}
	}
	for i := range 40 {
		revive()
		from := probe.count()
		cmd := e.command("", "watch")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		if i%2 == 0 {
			// At a random moment of the run.
			time.Sleep(200*time.Millisecond + time.Duration(rng.Int64N(int64(800*time.Millisecond))))
		} else {
			// Aimed at a scheduled refresh: once the server has one, within its hold.
			for deadline := time.Now().Add(3 * time.Second); probe.count() <= from && time.Now().Before(deadline); {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(time.Duration(rng.Int64N(int64(40 * time.Millisecond))))
		}
		killedAt := time.Now()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		time.Sleep(100 * time.Millisecond) // a request on the wire when the kill landed arrives
		if n := probe.heldAt(from, killedAt, 100*time.Millisecond); n > 0 {
			kills++
			held += n
		}
	}
	srv.ClearFaults()
	for _, l := range labels {
		if out, errOut, err := e.runBinary("refresh", l); err != nil {
			lost++
			// The loss was found by a later watch, whose history says why.
			hist, _, _ := e.runBinary("history", l, "--limit", "0")
			if !strings.Contains(hist, "answer was lost") {
				t.Errorf("%s lost without explanation: %s%s\n%s", l, out, errOut, hist)
			}
		}
	}
	after := srv.Stats() // the final refreshes' reuse detections included
	refreshes := after.Refreshes - before.Refreshes
	t.Logf("watch killed 40 times: %d scheduled refreshes served; %d kills landed while the server held %d rotated answers; %d sessions lost (and logged in again), %d reuse detections",
		refreshes, kills, held, lost, after.ReuseDetections)
	if refreshes < len(labels) {
		t.Errorf("only %d scheduled refreshes in 40 runs of watch", refreshes)
	}
	if lost > held {
		t.Errorf("%d sessions lost, but only %d answers were held (or on the wire) when a kill landed", lost, held)
	}
	// Every loss is the server seeing a spent token (a reuse). A session can
	// show the server its dead token once more when a later watch is killed
	// while that 401 is out (before it is recorded): at most one more per kill.
	if after.ReuseDetections < lost || after.ReuseDetections > lost+kills {
		t.Errorf("server saw %d reuses for %d sessions lost in %d kills during a held answer", after.ReuseDetections, lost, kills)
	}
}

// runBinary runs the built tokentop with e's vault and returns its output.
func (e *env) runBinary(args ...string) (stdout, stderr string, err error) {
	cmd := e.command("", args...)
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

func (e *env) mustRunBinary(args ...string) string {
	e.t.Helper()
	out, errOut, err := e.runBinary(args...)
	if err != nil {
		e.t.Fatalf("tokentop %s: %v\n%s%s", strings.Join(args, " "), err, out, errOut)
	}
	return out
}

// session reads label's session from e's vault.
func (e *env) session(label string) vault.Session {
	e.t.Helper()
	st := e.openStore()
	defer st.Close()
	s, err := st.GetSessionByLabel(context.Background(), label)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

// recoveredCount is how many sessions have tokens waiting in recovery.
func recoveredCount(t *testing.T, e *env) int {
	t.Helper()
	st := e.openStore()
	defer st.Close()
	list, err := st.ListSessions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range list {
		if s.Recovery > 0 {
			n++
		}
	}
	return n
}
