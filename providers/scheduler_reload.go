package providers

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/tokentop/tokentop/vault"
)

// The Scheduler's view of the vault: what it reads, and the cheap look
// (two stats) that tells it when to read again.

func (s *Scheduler) reloadOrReport(ctx context.Context) {
	if err := s.reload(ctx); err != nil && ctx.Err() == nil {
		s.reportError(fmt.Errorf("reload schedules: %w", err))
	}
}

// reload re-reads the schedules, and the sessions' plain columns when any
// schedule is enabled (ListSessions never unseals: about 2 ms for 1,000
// sessions).
func (s *Scheduler) reload(ctx context.Context) error {
	s.reloads.Add(1)
	// Stamp the files before reading them: a write after the stamp shows at
	// the next look even when this read already saw it.
	stamp, stampOK := s.stampVault()
	s.mu.Lock()
	started := s.seq
	s.stamped = false // until this read succeeds
	s.mu.Unlock()

	schedules, err := s.store.ListSchedules(ctx)
	if err != nil {
		return err
	}
	sessions := map[int64]vault.Session{}
	for _, sch := range schedules {
		if !sch.Enabled {
			continue
		}
		list, err := s.store.ListSessions(ctx)
		if err != nil {
			return err
		}
		for _, sess := range list {
			sessions[sess.ID] = sess
		}
		break
	}

	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stamp, s.stamped = stamp, stampOK
	seen := make(map[int64]bool, len(schedules))
	for _, sch := range schedules {
		sess, ok := sessions[sch.SessionID]
		if sch.Enabled && !ok {
			continue // deleted between the two reads; its schedule went with it
		}
		seen[sch.SessionID] = true
		e := s.entries[sch.SessionID]
		if e == nil {
			e = &entry{}
			s.entries[sch.SessionID] = e
		}
		if e.running || e.seq > started {
			continue // a refresh knows better
		}
		e.sch, e.sess = sch, sess
		e.due = NextDue(sch, sess, now)
	}
	for id, e := range s.entries {
		if !seen[id] && !e.running {
			delete(s.entries, id)
		}
	}
	return nil
}

// fileStamp is what a stat says about one file: enough to notice a write.
type fileStamp struct {
	exists bool
	size   int64
	mtime  int64 // Unix nanoseconds
}

// vaultStamp is the state of the vault file and of its write-ahead log,
// where every commit lands first (as appended frames, or rewritten ones
// after a checkpoint: the size or the modification time changes).
type vaultStamp struct{ db, wal fileStamp }

// stampVault stats the vault's files; false when they cannot be told apart
// from a changed vault (no path, a stat error).
func (s *Scheduler) stampVault() (vaultStamp, bool) {
	if s.store.Notifies() {
		return vaultStamp{}, true // no files: Store.Changes tells of changes
	}
	path := s.store.Path()
	if path == "" {
		return vaultStamp{}, false
	}
	db, ok := s.stampFile(path)
	if !ok || !db.exists {
		return vaultStamp{}, false
	}
	wal, ok := s.stampFile(path + "-wal")
	return vaultStamp{db: db, wal: wal}, ok
}

func (s *Scheduler) stampFile(name string) (fileStamp, bool) {
	fi, err := s.opts.Stat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fileStamp{}, true
	case err != nil:
		return fileStamp{}, false
	}
	return fileStamp{exists: true, size: fi.Size(), mtime: fi.ModTime().UnixNano()}, true
}

// vaultChanged is the periodic look: whether the vault's files changed since
// the last reload (or cannot be stat'ed, or that reload failed).
func (s *Scheduler) vaultChanged() bool {
	stamp, ok := s.stampVault()
	s.mu.Lock()
	defer s.mu.Unlock()
	return !ok || !s.stamped || stamp != s.stamp
}
