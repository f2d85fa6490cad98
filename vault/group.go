package vault

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// Group commit for SQLite vaults.
//
// SQLite has one writer at a time, and with synchronous=FULL every commit
// syncs the write-ahead log: a commit, not a statement, is what a write
// costs. So the write transactions a Store's goroutines ask for at the same
// moment (a scheduler's refreshes, say) are run together, one after the
// other, in ONE transaction with one commit and one sync, each inside a
// savepoint of its own:
//
//   - a function that fails is rolled back to its savepoint and gets its
//     error; the others go on;
//   - every caller returns only once the commit that holds its writes is
//     durable, and a failed commit fails every caller whose writes it held
//     (as a lone transaction's would);
//   - when the transaction itself is lost halfway (SQLite rolls the whole
//     transaction back on some I/O errors, a full disk say), nothing of the
//     batch is written: the functions that had not failed run again, each
//     in a transaction of its own, so that one caller's trouble is never
//     another's error.
//
// The order is the order of arrival, and each function sees the writes of
// those before it, so a batch is exactly as if they had run one by one.
// There is no waiting for company: the first caller leads, runs what is
// queued when it starts, and hands the lead to the first caller that queued
// meanwhile. A lone writer pays only the mutex.
type group struct {
	mu      sync.Mutex
	queue   []*groupReq
	running bool // a leader is running a batch or about to
}

type groupReq struct {
	ctx  context.Context
	fn   func(*rtx) error
	lazy bool // need not be durable at once (see lazyTx)
	err  error
	done bool          // err is final: committed (nil) or failed for good
	lead bool          // set (under mu) when this caller is to lead the next batch
	wake chan struct{} // closed when err is set, or lead
}

// errBatchLost marks the requests of a batch whose transaction was lost
// before they were committed: they run again on their own.
var errBatchLost = errors.New("batch transaction lost")

// groupTx runs fn in a write transaction shared with the other callers of
// the moment (see group). Cancelling ctx while the request waits for its
// turn withdraws it; once its turn has come, fn runs to its end (on a
// context that is not cancelled, so that one caller's cancellation cannot
// interrupt the shared transaction). A panic in a request's function
// reaches the goroutine that led the batch (its own caller's, or another's);
// the others get an error.
func (s *Store) groupTx(ctx context.Context, fn func(*rtx) error, lazy bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	g := &s.group
	req := &groupReq{ctx: ctx, fn: fn, lazy: lazy, wake: make(chan struct{})}
	writeStats.transactions.Add(1)
	g.mu.Lock()
	g.queue = append(g.queue, req)
	lead := !g.running
	g.running = true
	g.mu.Unlock()
	if !lead {
		select {
		case <-req.wake:
		case <-ctx.Done():
			g.mu.Lock()
			if i := slices.Index(g.queue, req); i >= 0 && !req.lead {
				g.queue = slices.Delete(g.queue, i, i+1)
				g.mu.Unlock()
				return ctx.Err()
			}
			g.mu.Unlock()
			<-req.wake // taken into a batch already, or chosen to lead
		}
		if !req.lead {
			return req.err
		}
	}

	g.mu.Lock()
	batch := g.queue // req is in it
	g.queue = nil
	g.mu.Unlock()

	defer func() {
		if p := recover(); p != nil {
			// A function panicked (its transaction was rolled back): the
			// others of the batch must not wait for ever, nor the next.
			for _, r := range batch {
				if !r.done { // committed or failed already: its answer stands
					r.err = fmt.Errorf("vault write abandoned: another write in its transaction panicked: %v", p)
				}
			}
			s.endBatch(batch, req)
			panic(p)
		}
	}()
	s.runBatch(batch)
	s.endBatch(batch, req)
	return req.err
}

// endBatch hands the lead to the first request queued meanwhile (or drops
// it) and wakes the batch's requests but req, the leader's own.
func (s *Store) endBatch(batch []*groupReq, req *groupReq) {
	g := &s.group
	g.mu.Lock()
	if len(g.queue) > 0 {
		next := g.queue[0]
		next.lead = true
		close(next.wake)
	} else {
		g.running = false
	}
	g.mu.Unlock()
	for _, r := range batch {
		if r != req {
			close(r.wake)
		}
	}
}

// runBatch runs the requests of one batch and sets each one's err.
func (s *Store) runBatch(batch []*groupReq) {
	lazy := true
	for _, r := range batch {
		lazy = lazy && r.lazy
	}
	if len(batch) == 1 && !lazy {
		r := batch[0]
		r.err = s.txAlone(r.ctx, r.fn)
		r.done = true
		return
	}
	err := s.batchOnce(batch, lazy)
	for _, r := range batch {
		r.done = !errors.Is(r.err, errBatchLost)
	}
	if err == nil {
		return
	}
	for _, r := range batch {
		if !r.done {
			r.err = s.txAlone(r.ctx, r.fn)
			r.done = true
		}
	}
}

// batchOnce runs batch in one transaction, committed without waiting for
// the disk when lazy (every request is). When the transaction is lost
// before its commit it returns an error, and the requests that had not
// failed on their own have errBatchLost (nothing of theirs was written).
func (s *Store) batchOnce(batch []*groupReq, lazy bool) error {
	bg := context.Background() // see groupTx: no caller can interrupt the batch
	var (
		sqlTx *sql.Tx
		err   error
	)
	if lazy {
		var conn *sql.Conn
		if conn, err = s.lazyConn(bg); err == nil {
			defer s.endLazy(bg, conn)
			sqlTx, err = conn.BeginTx(bg, nil)
		}
	} else {
		sqlTx, err = s.db.BeginTx(bg, nil)
	}
	if err != nil {
		// Nothing began: every request may run again on its own (BEGIN
		// failed for all alike, busy say, and will tell each one so).
		for _, r := range batch {
			r.err = errBatchLost
		}
		return err
	}
	tx := &rtx{Tx: sqlTx, d: s.d, db: s.db, ctx: bg}
	defer func() {
		if p := recover(); p != nil {
			tx.Rollback() // never leave the connection in a transaction
			panic(p)
		}
	}()
	lost := func(err error) error {
		tx.Rollback()
		for _, r := range batch {
			if r.err == nil || errors.Is(r.err, errBatchLost) {
				r.err = errBatchLost
			}
		}
		return err
	}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // withdrawn before its turn: nothing ran
			continue
		}
		if _, err := tx.ExecContext(bg, "SAVEPOINT batch_item"); err != nil {
			return lost(err)
		}
		if err := r.fn(tx); err != nil {
			r.err = err
			// When SQLite has rolled the whole transaction back (some I/O
			// errors do), the savepoint is gone and this fails: the batch
			// is lost, and must not go on outside a transaction.
			if _, rerr := tx.ExecContext(bg, "ROLLBACK TO batch_item"); rerr != nil {
				return lost(rerr)
			}
		}
		if _, err := tx.ExecContext(bg, "RELEASE batch_item"); err != nil {
			return lost(err)
		}
	}
	countCommit(!lazy)
	if err := tx.Commit(); err != nil {
		// The commit may or may not have reached the disk: nothing runs
		// again, and every request that wrote gets the error.
		for _, r := range batch {
			if r.err == nil {
				r.err = err
			}
		}
	}
	return nil
}

// lazyTx runs fn in a write transaction whose commit need not reach the disk
// before it returns (synchronous=NORMAL in the write-ahead log): for writes
// that cost nothing when a power cut takes them back, such as taking or
// dropping a lease. It is durable once any later transaction commits, since
// that one syncs the log up to its own end. A process that dies keeps it:
// it is in the log, which other processes read. On PostgreSQL it is tx.
func (s *Store) lazyTx(ctx context.Context, fn func(*rtx) error) error {
	if s.d.groupCommit {
		return s.groupTx(ctx, fn, true)
	}
	return s.tx(ctx, fn)
}

// lazyConn is a connection of the pool set to commit without syncing.
// synchronous cannot change inside a transaction, and belongs to the
// connection: hence one taken out of the pool, given back by endLazy.
func (s *Store) lazyConn(ctx context.Context) (*sql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = NORMAL"); err != nil {
		s.endLazy(ctx, conn)
		return nil, err
	}
	return conn, nil
}

// endLazy sets conn back to synchronous=FULL and returns it to the pool;
// when that fails, the connection is closed instead of going back
// (database/sql drops a connection whose use returned driver.ErrBadConn).
func (s *Store) endLazy(ctx context.Context, conn *sql.Conn) {
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous = FULL"); err != nil {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// WriteStats counts the write transactions of this process's Stores.
type WriteStats struct {
	// Transactions is how many were asked for.
	Transactions int64
	// Commits is how many commits they took (one per batch on SQLite).
	Commits int64
	// Synced is how many of those waited for the disk: on SQLite each is
	// one fsync of the write-ahead log (a checkpoint, every thousand pages
	// or so, syncs the log and the vault file once more).
	Synced int64
}

var writeStats struct{ transactions, commits, synced atomic.Int64 }

// Stats is the count of write transactions and commits so far in this
// process, over all its Stores (for benchmarks and diagnostics).
func Stats() WriteStats {
	return WriteStats{
		Transactions: writeStats.transactions.Load(),
		Commits:      writeStats.commits.Load(),
		Synced:       writeStats.synced.Load(),
	}
}

func countCommit(synced bool) {
	writeStats.commits.Add(1)
	if synced {
		writeStats.synced.Add(1)
	}
}
