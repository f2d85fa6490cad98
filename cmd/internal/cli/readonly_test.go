package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// fileState is what a command that only reads must leave as it was.
type fileState struct {
	size  int64
	mtime time.Time
	ino   uint64
}

// folderState lists the vault folder's files with their sizes, times and inodes.
func folderState(t *testing.T, dir string) map[string]fileState {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fileState{}
	for _, de := range entries {
		fi, err := de.Info()
		if err != nil {
			t.Fatal(err)
		}
		st := fileState{size: fi.Size(), mtime: fi.ModTime()}
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			st.ino = sys.Ino
		}
		out[de.Name()] = st
	}
	return out
}

// TestReadingCommandsWriteNothing: ls, show, history and token of a session
// that needs no refresh, run as the real binary, leave every file of the
// vault folder as it was: same names (no -wal or -shm made or removed),
// sizes, modification times and inodes, and the same bytes in vault.db.
func TestReadingCommandsWriteNothing(t *testing.T) {
	e := newEnv(t)
	st := e.openStore()
	sess := vault.Session{Provider: vault.ProviderPathStack, Label: "prod", Sub: "8c1e4a52",
		AccessToken: "opaque-access", RefreshToken: "opaque-refresh", TokenType: "Bearer",
		ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.CreateSession(context.Background(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(e.vault)
	before, data := folderState(t, dir), e.vaultBytes()
	if _, ok := before["vault.db-wal"]; !ok {
		t.Fatalf("a closed vault keeps its write-ahead log for read-only opens; folder: %v", before)
	}
	time.Sleep(20 * time.Millisecond) // a write now would show in the times
	for _, args := range [][]string{{"ls"}, {"ls", "--json"}, {"show", "prod"}, {"history", "prod"}, {"token", "prod"}} {
		out, err := e.command("", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("tokentop %v: %v\n%s", args, err, out)
		}
		after := folderState(t, dir)
		if len(after) != len(before) {
			t.Errorf("tokentop %v: folder %v, was %v", args, after, before)
		}
		for name, was := range before {
			if now, ok := after[name]; !ok || !now.mtime.Equal(was.mtime) || now.size != was.size || now.ino != was.ino {
				t.Errorf("tokentop %v changed %s: %+v, was %+v", args, name, now, was)
			}
		}
		if !bytes.Equal(e.vaultBytes(), data) {
			t.Errorf("tokentop %v changed vault.db's bytes", args)
		}
	}
}
