package vault

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/tokentop/tokentop/vault/internal/pgdriver"
)

// ChangePoll is how often Changes looks when it cannot be told: the stats
// of a SQLite vault's files, or a PostgreSQL vault whose LISTEN connection
// is down.
const ChangePoll = 2 * time.Second

// Changes returns a channel that receives when another process may have
// changed the vault, until ctx ends (the channel is then closed). Signals
// coalesce: one pending at most. On PostgreSQL it is fed by LISTEN on the
// vault's channel, which every write transaction NOTIFYs as it commits
// (this Store's own writes are left out); while the listening connection
// is down it signals every ChangePoll, and once when it is back. On SQLite
// it compares the stats of the vault file and its write-ahead log every
// ChangePoll (any process's writes, this one's included).
func (s *Store) Changes(ctx context.Context) <-chan struct{} {
	ch := make(chan struct{}, 1)
	if s.d.name == BackendPostgres {
		go s.listen(ctx, ch)
	} else {
		go s.pollFiles(ctx, ch)
	}
	return ch
}

// Notifies reports whether Changes is told of changes as they commit
// (PostgreSQL), rather than finding them by looking every ChangePoll.
func (s *Store) Notifies() bool { return s.d.name == BackendPostgres }

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleepCtx waits d or until ctx ends; false when ctx ended.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// listen holds a dedicated connection (not one of the pool's: LISTEN is
// per connection) listening on the vault's channel, reconnecting when it
// drops.
func (s *Store) listen(ctx context.Context, ch chan struct{}) {
	defer close(ch)
	first := true
	for ctx.Err() == nil {
		conn, err := pgdriver.Listen(ctx, s.connURL, s.channel)
		if err != nil {
			// No notifications: fall back to looking every ChangePoll.
			signal(ch)
			first = false
			if !sleepCtx(ctx, ChangePoll) {
				return
			}
			continue
		}
		if !first {
			signal(ch) // changes made while we were not listening
		}
		first = false
		for {
			payload, err := conn.Wait(ctx)
			if err != nil {
				break
			}
			if payload != s.tag {
				signal(ch)
			}
		}
		conn.Close()
	}
}

// pollFiles compares the stats of the vault file and its WAL every ChangePoll.
func (s *Store) pollFiles(ctx context.Context, ch chan struct{}) {
	defer close(ch)
	last := fileStamps(s.path)
	for sleepCtx(ctx, ChangePoll) {
		if now := fileStamps(s.path); now != last {
			last = now
			signal(ch)
		}
	}
}

type fileStamp struct {
	size  int64
	mtime int64
	err   bool
}

func fileStamps(path string) [2]fileStamp {
	var out [2]fileStamp
	for i, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			out[i].err = true
		default:
			out[i] = fileStamp{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
		}
	}
	return out
}
