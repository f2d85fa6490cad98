package providers_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
	"github.com/tokentop/tokentop/vault/pgtest"
)

// A team vault on PostgreSQL shared by several "machines": each machine is
// a vault.Store of its own (own connection pool, own copy of the key file,
// own Process host, so that no same-host takeover applies) with its own
// Refresher, against the fake PathStack, which counts every reuse of a
// rotated refresh token.

// pgMachines opens n Stores on one fresh schema, as n machines would.
func pgMachines(t *testing.T, n int) (stores []*vault.Store, schema string) {
	t.Helper()
	url, schema := pgtest.Schema(t)
	dir := t.TempDir()
	for i := range n {
		keyFile := filepath.Join(dir, fmt.Sprintf("machine-%d", i), "key")
		if i > 0 { // the team's key, handed out
			key, err := os.ReadFile(filepath.Join(dir, "machine-0", "key"))
			if err != nil {
				t.Fatal(err)
			}
			os.MkdirAll(filepath.Dir(keyFile), 0o700)
			if err := os.WriteFile(keyFile, key, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		st, err := vault.Open(context.Background(), vault.Options{
			Path: url, KeyFile: keyFile, RecoveryDir: filepath.Join(dir, fmt.Sprintf("machine-%d", i), "recovery"),
			Process: &vault.Process{Host: fmt.Sprintf("machine-%d", i), PID: 4000 + i, Start: 1},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	return stores, schema
}

func pgRefresher(st *vault.Store, owner string) *providers.Refresher {
	hc := providers.NewHTTPClient(providers.ClientOptions{})
	return providers.NewRefresher(st, providers.NewRegistry(pathstack.New(hc, nil)), providers.RefresherOptions{Owner: owner})
}

// mintSession stores a session of the fake with a fresh token family.
func mintSession(t testing.TB, st *vault.Store, srv *fake.Server, label string, ttl time.Duration) vault.Session {
	t.Helper()
	tok, err := srv.Mint(ttl)
	if err != nil {
		t.Fatal(err)
	}
	s := vault.Session{Provider: vault.ProviderPathStack, Label: label, BaseURL: srv.URL, Sub: tok.Sub,
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: "Bearer"}
	if err := st.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// refreshHeld starts a CLI refresh of session id whose answer the fake
// holds back for delayMS after rotating, and returns once the fake has
// counted it (or after 5 s: the caller checks); the refresh's error comes on
// the channel.
func refreshHeld(r *providers.Refresher, srv *fake.Server, id int64, delayMS int) <-chan error {
	srv.QueueFault(fake.Fault{DelayAfterMS: delayMS})
	done := make(chan error, 1)
	go func() {
		_, err := r.Refresh(context.Background(), id, vault.TriggerCLI)
		done <- err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for srv.Stats().Refreshes == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return done
}

// TestPostgresThreeMachinesRefreshOneSession: 3 machines × 50 refreshes of
// one session at once: the rotating refresh token is never spent twice.
func TestPostgresThreeMachinesRefreshOneSession(t *testing.T) {
	t.Parallel()
	const machines, each = 3, 50
	stores, _ := pgMachines(t, machines)
	srv := startFakePathStack(t, fake.Options{})
	sess := mintSession(t, stores[0], srv, "shared", 0)

	var wg sync.WaitGroup
	errs := make(chan error, machines*each)
	shared := make([]int, machines)
	start := time.Now()
	for m := range machines {
		r := pgRefresher(stores[m], fmt.Sprintf("machine-%d", m))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				rep, err := r.Refresh(context.Background(), sess.ID, vault.TriggerCLI)
				if err != nil || rep.Outcome != providers.OutcomeOK {
					errs <- fmt.Errorf("machine %d: %v", m, err)
					continue
				}
				if rep.Shared {
					shared[m]++
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	st := srv.Stats()
	t.Logf("%d machines × %d refreshes in %v: %d refreshes reached the server (%.0f/s), %d shared another machine's; reuse detections %d, rejections %d",
		machines, each, elapsed.Round(time.Millisecond), st.Refreshes, float64(st.Refreshes)/elapsed.Seconds(), shared[0]+shared[1]+shared[2],
		st.ReuseDetections, st.Rejections)
	if st.ReuseDetections != 0 || st.Rejections != 0 {
		t.Fatalf("a refresh token was spent twice: %+v", st)
	}
	after, err := stores[2].GetSession(context.Background(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	if after.Version != int64(st.Refreshes)+1 {
		t.Errorf("version %d after %d rotations", after.Version, st.Refreshes)
	}
	// The token the vault holds is the live one.
	r := pgRefresher(stores[1], "check")
	if rep, err := r.Refresh(context.Background(), sess.ID, vault.TriggerCLI); err != nil || rep.Shared {
		t.Fatalf("refresh after the race: %v (shared %v)", err, rep != nil && rep.Shared)
	}
}

// TestPostgresTwoWatchersDoEachRefreshOnce: two Schedulers (two `tokentop
// watch` on two machines) run the same every-5s schedules: each due refresh
// is done once, by one of them. 30 s (10 s with -short).
func TestPostgresTwoWatchersDoEachRefreshOnce(t *testing.T) {
	t.Parallel()
	run := 30 * time.Second
	if testing.Short() {
		run = 10 * time.Second
	}
	const sessions = 4
	stores, _ := pgMachines(t, 2)
	srv := startFakePathStack(t, fake.Options{})
	var ids []int64
	for i := range sessions {
		s := mintSession(t, stores[0], srv, fmt.Sprintf("s%d", i), time.Hour)
		ids = append(ids, s.ID)
		if err := stores[0].PutSchedule(context.Background(), vault.Schedule{SessionID: s.ID, Mode: vault.ScheduleEvery,
			Interval: providers.MinInterval, Enabled: true}); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), run)
	defer cancel()
	var wg sync.WaitGroup
	for m, st := range stores {
		r := pgRefresher(st, fmt.Sprintf("watch-%d", m))
		sched := providers.NewScheduler(st, r, providers.SchedulerOptions{
			OnError: func(err error) { t.Errorf("watch %d: %v", m, err) },
		})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := sched.Run(ctx); err != nil {
				t.Errorf("watch %d: %v", m, err)
			}
			r.Wait(context.Background())
		}()
	}
	wg.Wait()

	byOwner := map[string]int{}
	for _, id := range ids {
		attempts, err := stores[1].ListAttempts(context.Background(), id, 0)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		for _, a := range attempts {
			if a.Outcome != vault.OutcomeOK {
				t.Errorf("session %d: attempt %s (%s)", id, a.Outcome, a.Error)
			}
			byOwner[a.Owner]++
			times = append(times, a.StartedAt)
		}
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < providers.MinInterval-time.Second {
				t.Errorf("session %d refreshed twice within %v (at %v and %v): a due refresh was done twice", id, gap, times[i-1], times[i])
			}
		}
		if max := int(run/providers.MinInterval) + 1; len(times) > max || len(times) < 2 {
			t.Errorf("session %d: %d refreshes in %v, want 2..%d", id, len(times), run, max)
		}
	}
	st := srv.Stats()
	t.Logf("2 watchers, %d sessions every %v for %v: %d refreshes (by owner %v); reuse detections %d",
		sessions, providers.MinInterval, run, st.Refreshes, byOwner, st.ReuseDetections)
	if st.ReuseDetections != 0 || st.Rejections != 0 {
		t.Fatalf("a refresh token was spent twice: %+v", st)
	}
}

// TestPostgresConnectionKilledMidRefresh: while the fake holds its answer
// (the refresh token is already rotated on its side), every connection of
// the refresher's Store is killed with pg_terminate_backend. The rotated
// token is not lost: it is in the session (the write ran again on a new
// connection) or in recovery, and the next refresh spends it without any
// reuse detection.
func TestPostgresConnectionKilledMidRefresh(t *testing.T) {
	t.Parallel()
	stores, schema := pgMachines(t, 1)
	st := stores[0]
	srv := startFakePathStack(t, fake.Options{})
	sess := mintSession(t, st, srv, "killed", 0)
	r := pgRefresher(st, "victim")

	done := refreshHeld(r, srv, sess.ID, 1500)
	if srv.Stats().Refreshes != 1 {
		t.Fatal("the refresh never reached the fake")
	}
	killed := pgtest.Terminate(t, schema)
	err := <-done
	after, gerr := st.GetSession(context.Background(), sess.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	t.Logf("killed %d connections mid-refresh; refresh: %v; session version %d, recovery entries %d", killed, err, after.Version, after.Recovery)
	if killed == 0 {
		t.Fatal("no connection was killed")
	}
	if after.Version == sess.Version && after.Recovery == 0 {
		t.Fatal("the rotated token is neither in the session nor in recovery")
	}
	// The next refresh uses the rotated token (from the session or recovery).
	if _, err := r.Refresh(context.Background(), sess.ID, vault.TriggerCLI); err != nil {
		t.Fatalf("next refresh: %v", err)
	}
	if st := srv.Stats(); st.ReuseDetections != 0 || st.Rejections != 0 || st.Refreshes != 2 {
		t.Fatalf("after the kill: %+v", st)
	}
}

// TestPostgresWriteFailsMidRefreshRecovered: the sessions table cannot be
// written when the answer arrives (renamed away meanwhile, as a stand-in
// for any failure the retry cannot cure): the rotated tokens go to a
// recovery row, and once the table is back the next refresh (on another
// machine) spends the recovered refresh token, not the spent one.
func TestPostgresWriteFailsMidRefreshRecovered(t *testing.T) {
	t.Parallel()
	stores, schema := pgMachines(t, 2)
	st := stores[0]
	srv := startFakePathStack(t, fake.Options{})
	sess := mintSession(t, st, srv, "lost", 0)
	r := pgRefresher(st, "victim")

	done := refreshHeld(r, srv, sess.ID, 1000)
	pgtest.Exec(t, "ALTER TABLE "+schema+".sessions RENAME TO sessions_away")
	err := <-done
	pgtest.Exec(t, "ALTER TABLE "+schema+".sessions_away RENAME TO sessions")
	if err == nil {
		t.Fatal("the refresh reported success while its tokens could not be written")
	}
	t.Logf("refresh with the table away: %v", err)
	after, gerr := st.GetSession(context.Background(), sess.ID)
	if gerr != nil {
		t.Fatal(gerr)
	}
	if after.Version != sess.Version || after.Recovery != 1 {
		t.Fatalf("version %d, recovery entries %d: want the tokens in recovery", after.Version, after.Recovery)
	}
	// Another machine: it knows nothing of the first one's memory of the
	// tokens, only the recovery row. (The first machine's lease, left when
	// the table was away, lapses first.)
	other := providers.NewRefresher(stores[1], providers.NewRegistry(pathstack.New(providers.NewHTTPClient(providers.ClientOptions{}), nil)),
		providers.RefresherOptions{Owner: "other", LeaseTTL: time.Second})
	if err := stores[1].ReleaseLease(context.Background(), sess.ID, "victim"); err != nil {
		t.Fatal(err)
	}
	rep, err := other.Refresh(context.Background(), sess.ID, vault.TriggerCLI)
	if err != nil {
		t.Fatalf("next refresh: %v", err)
	}
	if st := srv.Stats(); st.ReuseDetections != 0 || st.Rejections != 0 {
		t.Fatalf("the spent token was sent again: %+v (report %+v)", st, rep.Outcome)
	}
	final, _ := st.GetSession(context.Background(), sess.ID)
	t.Logf("after the next refresh, on another machine: version %d, recovery entries %d, fake %+v", final.Version, final.Recovery, srv.Stats())
	if final.Version != sess.Version+2 || final.Recovery != 0 {
		t.Errorf("version %d, recovery entries %d: want the recovery applied (+1) and a refresh (+1), none left", final.Version, final.Recovery)
	}
}
