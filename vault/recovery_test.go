package vault

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// failDB is a context under which every database write fails, so that
// SaveRecovery falls back to a recovery file.
func failDB() context.Context {
	ctx, cancel := context.WithCancel(ctxb())
	cancel()
	return ctx
}

// recoveryEnv is a vault with session "prod" and "other".
func recoveryEnv(t *testing.T) (*testEnv, *Store, Session) { return recoveryEnvOn(t, newTestEnv(t)) }

// recoveryEnvOn is recoveryEnv on env's backend.
func recoveryEnvOn(t *testing.T, env *testEnv) (*testEnv, *Store, Session) {
	st := env.open(t)
	sess := pathstackSession("prod")
	other := pathstackSession("other")
	if err := st.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctxb(), &other); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetSession(ctxb(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	return env, st, got
}

func counts(t *testing.T, st *Store, sess Session) (get, list int) {
	t.Helper()
	got, err := st.GetSession(ctxb(), sess.ID)
	if err != nil {
		t.Fatal(err)
	}
	all, err := st.ListSessions(ctxb())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.ID == sess.ID {
			list = s.Recovery
		} else if s.Recovery != 0 {
			t.Errorf("session %s counts %d recovery entries, want 0", s.Label, s.Recovery)
		}
	}
	return got.Recovery, list
}

// TestPendingRecoveryRowApplied: tokens kept in a recovery row for the
// refresh token the session holds are found and written back, once.
func TestPendingRecoveryRowApplied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, st, sess := recoveryEnvOn(t, env)
		if rec, err := st.PendingRecovery(ctxb(), sess); err != nil || rec != nil {
			t.Fatalf("pending recovery of a clean session: %+v %v", rec, err)
		}
		rescued := TokenUpdate{AccessToken: "access-rescued", RefreshToken: "refresh-rescued", TokenType: "Bearer",
			ExpiresAt: env.clock.Now().Add(time.Hour)}
		// Not pending: bought with another refresh token, or carrying none.
		if _, err := st.SaveRecovery(ctxb(), sess.ID, "an-older-token", rescued, "stale"); err != nil {
			t.Fatal(err)
		}
		if _, err := st.SaveRecovery(ctxb(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "access-only"}, "no refresh"); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Second)
		if _, err := st.SaveRecovery(ctxb(), sess.ID, sess.RefreshToken, rescued, "disk full"); err != nil {
			t.Fatal(err)
		}
		if get, list := counts(t, st, sess); get != 3 || list != 3 {
			t.Errorf("recovery counts %d (get) %d (list), want 3", get, list)
		}

		rec, err := st.PendingRecovery(ctxb(), sess)
		if err != nil || rec == nil {
			t.Fatalf("pending recovery: %v %v", rec, err)
		}
		sum := sha256.Sum256([]byte(sess.RefreshToken))
		if rec.ID == 0 || rec.Path != "" || rec.Reason != "disk full" || rec.SpentHash != hex.EncodeToString(sum[:]) ||
			rec.Tokens.RefreshToken != "refresh-rescued" || rec.Tokens.AccessToken != "access-rescued" {
			t.Fatalf("pending recovery = %+v", rec)
		}

		// A stale version writes nothing.
		if _, err := st.ApplyRecovery(ctxb(), *rec, sess.Version+1, &Attempt{Outcome: "recovered"}); !errors.Is(err, ErrVersionConflict) {
			t.Fatalf("stale apply: %v", err)
		}
		a := &Attempt{Outcome: "recovered", Owner: "me"}
		after, err := st.ApplyRecovery(ctxb(), *rec, sess.Version, a)
		if err != nil {
			t.Fatal(err)
		}
		if after.RefreshToken != "refresh-rescued" || after.AccessToken != "access-rescued" || after.Version != sess.Version+1 ||
			after.Recovery != 2 || a.ID == 0 {
			t.Errorf("after apply: %+v (attempt %d)", after, a.ID)
		}
		if attempts, _ := st.ListAttempts(ctxb(), sess.ID, 0); len(attempts) != 1 || attempts[0].Owner != "me" {
			t.Errorf("attempts after apply: %+v", attempts)
		}
		if again, err := st.PendingRecovery(ctxb(), after); err != nil || again != nil {
			t.Errorf("still pending after apply: %+v %v", again, err)
		}
		if all, _ := st.ListRecovery(ctxb()); len(all) != 2 {
			t.Errorf("%d recovery entries left, want 2 (the applied row deleted)", len(all))
		}
		// Applying it again (the session has moved on) is refused.
		if _, err := st.ApplyRecovery(ctxb(), *rec, after.Version, nil); !errors.Is(err, ErrVersionConflict) {
			t.Errorf("second apply: %v, want ErrVersionConflict", err)
		}
	})
}

// TestPendingRecoveryFile: tokens that went to a recovery file are found
// (newer than a row), counted, listed, applied, and the file removed.
func TestPendingRecoveryFile(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		env, st, sess := recoveryEnvOn(t, env)
		if _, err := st.SaveRecovery(ctxb(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "a-row", RefreshToken: "r-row"}, "row"); err != nil {
			t.Fatal(err)
		}
		env.clock.Advance(time.Second)
		path, err := st.SaveRecovery(failDB(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "a-file", RefreshToken: "r-file"}, "file")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(path), filepath.Base(st.recoveryBase())+".recovery-") {
			t.Fatalf("recovery went to %q, want a file", path)
		}
		if get, list := counts(t, st, sess); get != 2 || list != 2 {
			t.Errorf("recovery counts %d (get) %d (list), want 2", get, list)
		}
		all, err := st.ListRecovery(ctxb())
		if err != nil || len(all) != 2 {
			t.Fatalf("ListRecovery: %v %d", err, len(all))
		}
		if all[0].Path != path || all[0].ID != 0 || all[1].Path != "" || all[1].ID == 0 {
			t.Errorf("ListRecovery not newest first, files with their path: %+v", all)
		}
		rec, err := st.PendingRecovery(ctxb(), sess)
		if err != nil || rec == nil || rec.Path != path || rec.Tokens.RefreshToken != "r-file" || rec.SpentHash == "" {
			t.Fatalf("pending recovery = %+v %v, want the newer file", rec, err)
		}
		after, err := st.ApplyRecovery(ctxb(), *rec, sess.Version, nil)
		if err != nil {
			t.Fatal(err)
		}
		if after.RefreshToken != "r-file" || after.Recovery != 1 {
			t.Errorf("after apply: refresh %q, recovery %d", after.RefreshToken, after.Recovery)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("applied recovery file still there: %v", err)
		}
	})
}

// TestRecoveryFileSpentHashSealed: the spent hash in a file is bound to the
// sealed tokens: a file edited to claim another spent token does not open.
func TestRecoveryFileSpentHashSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		_, st, sess := recoveryEnvOn(t, env)
		path, err := st.SaveRecovery(failDB(), sess.ID, "some-other-token", TokenUpdate{AccessToken: "a", RefreshToken: "r"}, "file")
		if err != nil {
			t.Fatal(err)
		}
		raw := string(readFile(t, path))
		sum := sha256.Sum256([]byte("some-other-token"))
		mine := sha256.Sum256([]byte(sess.RefreshToken))
		if !strings.Contains(raw, `"spent_hash": "`+hex.EncodeToString(sum[:])+`"`) {
			t.Fatalf("recovery file without its spent hash:\n%s", raw)
		}
		edited := strings.Replace(raw, hex.EncodeToString(sum[:]), hex.EncodeToString(mine[:]), 1)
		if err := os.WriteFile(path, []byte(edited), 0o600); err != nil {
			t.Fatal(err)
		}
		if rec, err := st.PendingRecovery(ctxb(), sess); err != nil || rec != nil {
			t.Errorf("edited recovery file taken as pending: %+v %v", rec, err)
		}
	})
}

// TestUnreadableRecoveryFileListedAndDeleted: a damaged recovery file is
// listed with the reason, never pending, and can be deleted; DeleteRecovery
// removes nothing but the vault's recovery entries.
func TestUnreadableRecoveryFileListedAndDeleted(t *testing.T) {
	env, st, sess := recoveryEnv(t)
	bad := env.path + ".recovery-1-123.json"
	if err := os.WriteFile(bad, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	all, err := st.ListRecovery(ctxb())
	if err != nil || len(all) != 1 {
		t.Fatalf("ListRecovery: %v %d", err, len(all))
	}
	if all[0].Path != bad || all[0].SessionID != 1 || !strings.HasPrefix(all[0].Reason, "unreadable recovery file: ") {
		t.Errorf("unreadable file listed as %+v", all[0])
	}
	if rec, err := st.PendingRecovery(ctxb(), sess); err != nil || rec != nil {
		t.Errorf("unreadable file pending: %+v %v", rec, err)
	}
	outside := filepath.Join(env.dir, "precious.json")
	if err := os.WriteFile(outside, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteRecovery(ctxb(), Recovery{Path: outside}); err == nil {
		t.Error("DeleteRecovery accepted a file that is not a recovery file")
	}
	if _, err := os.Stat(outside); err != nil {
		t.Errorf("DeleteRecovery removed %s: %v", outside, err)
	}
	if err := st.DeleteRecovery(ctxb(), all[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveRecovery(ctxb(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "a"}, "row"); err != nil {
		t.Fatal(err)
	}
	all, _ = st.ListRecovery(ctxb())
	if len(all) != 1 || all[0].ID == 0 {
		t.Fatalf("ListRecovery: %+v", all)
	}
	if err := st.DeleteRecovery(ctxb(), all[0]); err != nil {
		t.Fatal(err)
	}
	if all, _ := st.ListRecovery(ctxb()); len(all) != 0 {
		t.Errorf("%d recovery entries left after deleting them all", len(all))
	}
}

// TestFailedRecoveryFileWriteLeavesNothing: a short write or a full disk
// while writing the recovery file leaves no file, empty or partial.
func TestFailedRecoveryFileWriteLeavesNothing(t *testing.T) {
	cases := map[string]func(f *os.File, data []byte) (int, error){
		"ENOSPC": func(f *os.File, data []byte) (int, error) {
			n, _ := f.Write(data[:len(data)/2])
			return n, syscall.ENOSPC
		},
		"short write": func(f *os.File, data []byte) (int, error) { return f.Write(data[:10]) },
		"nothing":     func(*os.File, []byte) (int, error) { return 0, syscall.ENOSPC },
	}
	for name, hook := range cases {
		t.Run(name, func(t *testing.T) {
			env, st, sess := recoveryEnv(t)
			st.writeHook = hook
			where, err := st.SaveRecovery(failDB(), sess.ID, sess.RefreshToken, TokenUpdate{AccessToken: "a", RefreshToken: "r"}, "x")
			if err == nil {
				t.Fatalf("SaveRecovery succeeded (%s) although the file write failed", where)
			}
			entries, _ := os.ReadDir(filepath.Dir(env.path))
			for _, e := range entries {
				if strings.Contains(e.Name(), "recovery") {
					t.Errorf("left behind: %s", e.Name())
				}
			}
		})
	}
}

// TestRecoveryFileListingNoticesNewFiles: the kept listing of the recovery
// folder is used again only while the folder is unchanged: a file another
// process puts there is counted at the next read.
func TestRecoveryFileListingNoticesNewFiles(t *testing.T) {
	_, s, sess := recoveryEnv(t)
	fi, err := os.Stat(filepath.Dir(s.recoveryBase()))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(listingSlack(fi.ModTime()) + 50*time.Millisecond) // older than a timestamp tick: the listing is kept
	for range 2 {
		if got, err := s.GetSession(ctxb(), sess.ID); err != nil || got.Recovery != 0 {
			t.Fatalf("before: recovery %d, %v", got.Recovery, err)
		}
	}
	s.recoveryListing.mu.Lock()
	kept := s.recoveryListing.ok
	s.recoveryListing.mu.Unlock()
	if !kept {
		t.Fatal("the listing of an unchanged folder was not kept")
	}
	name := fmt.Sprintf("%s.recovery-%d-%d.json", s.recoveryBase(), sess.ID, time.Now().UnixMilli())
	if err := os.WriteFile(name, []byte("{}"), 0o600); err != nil { // as another process would
		t.Fatal(err)
	}
	if got, err := s.GetSession(ctxb(), sess.ID); err != nil || got.Recovery != 1 {
		t.Errorf("after another process's file: recovery %d, %v; want 1", got.Recovery, err)
	}
}
