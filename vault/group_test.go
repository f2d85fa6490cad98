package vault

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// putMeta is a write transaction's body: key = value in meta.
func putMeta(ctx context.Context, tx *rtx, key, value string) error {
	_, err := tx.ExecContext(ctx, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", key, []byte(value))
	return err
}

func metaValue(t *testing.T, s *Store, key string) (string, bool) {
	t.Helper()
	var v []byte
	err := s.db.QueryRowContext(ctxb(), "SELECT value FROM meta WHERE key = ?", key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(v), true
}

// queued waits until n requests wait behind the running batch.
func queued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.group.mu.Lock()
		got := len(s.group.queue)
		s.group.mu.Unlock()
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued, want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// holdLead starts a transaction that leads until release is closed, and
// returns once its function runs (its batch taken: whatever queues now
// waits for the next); first gets its error.
func holdLead(t *testing.T, s *Store) (release chan struct{}, first chan error) {
	t.Helper()
	release, first = make(chan struct{}), make(chan error, 1)
	running := make(chan struct{})
	go func() {
		first <- s.tx(ctxb(), func(tx *rtx) error { close(running); <-release; return nil })
	}()
	<-running
	return release, first
}

// batchOf runs fns as one batch: a first transaction holds the lead until
// all of fns are queued behind it, so that the next leader takes them
// together. It returns each one's error.
func batchOf(t *testing.T, s *Store, fns ...func(*rtx) error) []error {
	t.Helper()
	release, first := holdLead(t, s)
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.tx(ctxb(), fn) }()
		queued(t, s, i+1) // in this order
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	return errs
}

// await is what ch gives; the test fails with stuck when ch gives nothing
// for 10 seconds.
func await[T any](t *testing.T, ch <-chan T, stuck string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal(stuck)
		panic("unreachable")
	}
}

func TestGroupCommitRunsQueuedTransactionsTogether(t *testing.T) {
	s := newTestEnv(t).open(t)
	var mu sync.Mutex
	seen := map[*sql.Tx]int{}
	fn := func(key string) func(*rtx) error {
		return func(tx *rtx) error {
			mu.Lock()
			seen[tx.Tx]++
			mu.Unlock()
			return putMeta(ctxb(), tx, key, "v-"+key)
		}
	}
	before := Stats()
	errs := batchOf(t, s, fn("a"), fn("b"), fn("c"), fn("d"))
	after := Stats()
	// The request holding the lead, then the four: two commits, both synced.
	if n, c, sy := after.Transactions-before.Transactions, after.Commits-before.Commits, after.Synced-before.Synced; n != 5 || c != 2 || sy != 2 {
		t.Errorf("stats: %d transactions, %d commits, %d synced; want 5, 2, 2", n, c, sy)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	if len(seen) != 1 {
		t.Errorf("4 queued requests ran in %d transactions, want 1", len(seen))
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		if v, ok := metaValue(t, s, k); !ok || v != "v-"+k {
			t.Errorf("%s = %q, %v", k, v, ok)
		}
	}
}

func TestGroupCommitFailingRequestIsRolledBackAlone(t *testing.T) {
	s := newTestEnv(t).open(t)
	boom := errors.New("boom")
	errs := batchOf(t, s,
		func(tx *rtx) error { return putMeta(ctxb(), tx, "a", "1") },
		func(tx *rtx) error {
			if err := putMeta(ctxb(), tx, "b", "1"); err != nil {
				return err
			}
			return boom
		},
		func(tx *rtx) error {
			// Sees a's write, not b's.
			if _, ok := txMeta(tx, "b"); ok {
				return errors.New("b's rolled-back write is visible")
			}
			if v, ok := txMeta(tx, "a"); !ok || v != "1" {
				return errors.New("a's write is not visible to the next request")
			}
			return putMeta(ctxb(), tx, "c", "1")
		})
	if errs[0] != nil || !errors.Is(errs[1], boom) || errs[2] != nil {
		t.Fatalf("errors %v", errs)
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, ok := metaValue(t, s, k); ok != want {
			t.Errorf("%s written: %v, want %v", k, ok, want)
		}
	}
}

func txMeta(tx *rtx, key string) (string, bool) {
	var v []byte
	if err := tx.QueryRowContext(ctxb(), "SELECT value FROM meta WHERE key = ?", key).Scan(&v); err != nil {
		return "", false
	}
	return string(v), true
}

// When SQLite rolls the whole transaction back under a request (as some
// I/O errors do), the batch must neither go on outside a transaction nor
// fail the others: they run again, each alone.
func TestGroupCommitLostTransactionRunsTheOthersAlone(t *testing.T) {
	s := newTestEnv(t).open(t)
	var mu sync.Mutex
	runs := map[string]int{}
	count := func(k string) {
		mu.Lock()
		runs[k]++
		mu.Unlock()
	}
	errs := batchOf(t, s,
		func(tx *rtx) error { count("a"); return putMeta(ctxb(), tx, "a", "1") },
		func(tx *rtx) error {
			count("b")
			if err := putMeta(ctxb(), tx, "b", "1"); err != nil {
				return err
			}
			if _, err := tx.Tx.ExecContext(ctxb(), "ROLLBACK"); err != nil { // what SQLite does on SQLITE_FULL
				return err
			}
			return errors.New("disk full")
		},
		func(tx *rtx) error { count("c"); return putMeta(ctxb(), tx, "c", "1") })
	if errs[0] != nil || errs[1] == nil || errs[1].Error() != "disk full" || errs[2] != nil {
		t.Fatalf("errors %v", errs)
	}
	for k, want := range map[string]bool{"a": true, "b": false, "c": true} {
		if _, ok := metaValue(t, s, k); ok != want {
			t.Errorf("%s written: %v, want %v", k, ok, want)
		}
	}
	// a ran in the lost batch and again alone; c only alone (the batch
	// stopped at b); b never again.
	if runs["a"] != 2 || runs["b"] != 1 || runs["c"] != 1 {
		t.Errorf("runs %v", runs)
	}
}

func TestGroupCommitWithdrawsACancelledWaiter(t *testing.T) {
	s := newTestEnv(t).open(t)
	release, first := holdLead(t, s)
	ctx, cancel := context.WithCancel(ctxb())
	ran := false
	second := make(chan error, 1)
	go func() {
		second <- s.tx(ctx, func(tx *rtx) error { ran = true; return putMeta(ctx, tx, "late", "1") })
	}()
	queued(t, s, 1)
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled waiter: %v", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if ran {
		t.Error("a withdrawn request ran")
	}
	if _, ok := metaValue(t, s, "late"); ok {
		t.Error("a withdrawn request wrote")
	}
}

// One caller's cancellation, once its turn has come, interrupts neither its
// own statements nor the transaction it shares.
func TestGroupCommitCancellationDoesNotInterruptTheBatch(t *testing.T) {
	s := newTestEnv(t).open(t)
	ctx, cancel := context.WithCancel(ctxb())
	errs := batchOf(t, s,
		func(tx *rtx) error { return putMeta(ctxb(), tx, "a", "1") },
		func(tx *rtx) error {
			cancel()
			return putMeta(ctx, tx, "b", "1")
		},
		func(tx *rtx) error { return putMeta(ctxb(), tx, "c", "1") })
	for i, err := range errs {
		if err != nil {
			t.Errorf("request %d: %v", i, err)
		}
	}
	for _, k := range []string{"a", "b", "c"} {
		if _, ok := metaValue(t, s, k); !ok {
			t.Errorf("%s not written", k)
		}
	}
}

// Read-modify-write from many goroutines at once: batched or not, every
// increment lands exactly once.
func TestGroupCommitConcurrentIncrements(t *testing.T) {
	s := newTestEnv(t).open(t)
	const workers, each = 24, 25
	if _, err := s.db.ExecContext(ctxb(), "INSERT INTO meta (key, value) VALUES ('n', 0)"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				fail := (w+i)%7 == 0 // some fail after writing: none of theirs may land
				err := s.tx(ctxb(), func(tx *rtx) error {
					var n int
					if err := tx.QueryRowContext(ctxb(), "SELECT value FROM meta WHERE key = 'n'").Scan(&n); err != nil {
						return err
					}
					if _, err := tx.ExecContext(ctxb(), "UPDATE meta SET value = ? WHERE key = 'n'", n+1); err != nil {
						return err
					}
					if fail {
						return fmt.Errorf("fail %d/%d", w, i)
					}
					return nil
				})
				if (err != nil) != fail {
					errs <- fmt.Errorf("worker %d #%d: %v", w, i, err)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	want := 0
	for w := range workers {
		for i := range each {
			if (w+i)%7 != 0 {
				want++
			}
		}
	}
	var n int
	if err := s.db.QueryRowContext(ctxb(), "SELECT value FROM meta WHERE key = 'n'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Errorf("counter %d, want %d", n, want)
	}
}

// A lazy commit (a lease) is seen at once by another Store on the file, is
// still there after a reopen, and leaves every connection of the pool back
// at synchronous=FULL.
func TestLazyCommitIsVisibleAndLeavesThePoolDurable(t *testing.T) {
	env, a, id := leaseEnv(t)
	before := Stats()
	if ok, err := a.TakeLease(ctxb(), id, "owner-a", time.Minute); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if after := Stats(); after.Commits-before.Commits != 1 || after.Synced != before.Synced {
		t.Errorf("taking a lease: %d commits, %d synced; want 1, 0", after.Commits-before.Commits, after.Synced-before.Synced)
	}
	b := env.open(t)
	if owner, _, _, err := b.LeaseHolder(ctxb(), id); err != nil || owner != "owner-a" {
		t.Errorf("other store sees lease owner %q, %v", owner, err)
	}
	// Hold many connections at once: each must be at FULL (2).
	var conns []*sql.Conn
	for range 8 {
		c, err := a.db.Conn(ctxb())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var level int
		if err := c.QueryRowContext(ctxb(), "PRAGMA synchronous").Scan(&level); err != nil {
			t.Fatal(err)
		}
		if level != 2 {
			t.Errorf("connection %d: synchronous = %d, want 2 (FULL)", i, level)
		}
		c.Close()
	}
	a.Close()
	c := env.open(t)
	if owner, _, _, err := c.LeaseHolder(ctxb(), id); err != nil || owner != "owner-a" {
		t.Errorf("after reopening: lease owner %q, %v", owner, err)
	}
}

// A function that panics takes its own caller down, not the vault: the
// other requests of its batch get an error, the next batch runs, and the
// write lock is not left held.
func TestGroupCommitSurvivesAPanic(t *testing.T) {
	s := newTestEnv(t).open(t)
	release, first := holdLead(t, s)
	panicked := make(chan any, 1)
	otherErr := make(chan error, 1)
	go func() {
		defer func() { panicked <- recover() }()
		_ = s.tx(ctxb(), func(tx *rtx) error {
			if err := putMeta(ctxb(), tx, "p", "1"); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	queued(t, s, 1)
	go func() { otherErr <- s.tx(ctxb(), func(tx *rtx) error { return putMeta(ctxb(), tx, "q", "1") }) }()
	queued(t, s, 2)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The panicking request leads the batch of the two; its panic reaches
	// its own caller, and the other learns its write was abandoned.
	if p := <-panicked; p != "boom" {
		t.Fatalf("recovered %v, want boom", p)
	}
	if err := await(t, otherErr, "the other request of the batch waits for ever"); err == nil || !strings.Contains(err.Error(), "panicked") {
		t.Errorf("the other request of the batch: %v", err)
	}
	// The vault goes on: a new write commits, nothing of the batch did.
	done := make(chan error, 1)
	go func() { done <- s.tx(ctxb(), func(tx *rtx) error { return putMeta(ctxb(), tx, "after", "1") }) }()
	if err := await(t, done, "a write after the panic never ran"); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]bool{"p": false, "q": false, "after": true} {
		if _, ok := metaValue(t, s, k); ok != want {
			t.Errorf("%s written: %v, want %v", k, ok, want)
		}
	}
}

// A panic while the requests of a lost batch run again alone reaches the
// goroutine leading the batch, and leaves the answers of the requests
// already committed as they are.
func TestGroupCommitPanicAfterARerunKeepsItsAnswer(t *testing.T) {
	s := newTestEnv(t).open(t)
	release, first := holdLead(t, s)
	panicked := make(chan any, 1)
	go func() { // queued first: it leads the next batch, so the panic lands here
		defer func() { panicked <- recover() }()
		_ = s.tx(ctxb(), func(tx *rtx) error { return putMeta(ctxb(), tx, "lead", "1") })
	}()
	queued(t, s, 1)
	aErr := make(chan error, 1)
	go func() { aErr <- s.tx(ctxb(), func(tx *rtx) error { return putMeta(ctxb(), tx, "a", "1") }) }()
	queued(t, s, 2)
	go func() {
		_ = s.tx(ctxb(), func(tx *rtx) error {
			if _, err := tx.Tx.ExecContext(ctxb(), "ROLLBACK"); err != nil { // the batch is lost
				return err
			}
			return errors.New("disk full")
		})
	}()
	queued(t, s, 3)
	go func() { _ = s.tx(ctxb(), func(tx *rtx) error { panic("boom") }) }()
	queued(t, s, 4)
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if p := await(t, panicked, "the leader never returned"); p != "boom" {
		t.Fatalf("the leader recovered %v, want boom", p)
	}
	// lead and a ran again alone and were committed before the panic.
	if err := await(t, aErr, "a's caller waits for ever"); err != nil {
		t.Errorf("a was committed alone, but its caller was told %v", err)
	}
	for _, k := range []string{"lead", "a"} {
		if _, ok := metaValue(t, s, k); !ok {
			t.Errorf("%s not written", k)
		}
	}
}
