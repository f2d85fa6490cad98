package vault

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestOpenCreatesSchemaAndReopens(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)

	var uv int64
	if err := s.db.QueryRow("PRAGMA user_version").Scan(&uv); err != nil {
		t.Fatal(err)
	}
	if uv != schemaVersion() {
		t.Fatalf("user_version = %d, want %d", uv, schemaVersion())
	}
	for _, table := range []string{"sessions", "attempts", "schedules", "recovery", "meta"} {
		var n int
		if err := s.db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = ?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s: count %d, err %v", table, n, err)
		}
	}
	var mode string
	if err := s.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	// The DSN pragmas reach every pooled connection, not just one.
	conns := make([]*sql.Conn, 3)
	for i := range conns {
		c, err := s.db.Conn(ctxb())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	for i, c := range conns {
		var fk, sync, busy int
		if err := c.QueryRowContext(ctxb(), "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctxb(), "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctxb(), "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || sync != 2 || busy != 5000 {
			t.Errorf("conn %d: foreign_keys=%d synchronous=%d busy_timeout=%d, want 1 2 5000", i, fk, sync, busy)
		}
	}
	for _, c := range conns {
		c.Close()
	}

	sess := pathstackSession("prod")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := env.open(t)
	got, err := s2.GetSessionByLabel(ctxb(), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken != sess.AccessToken || got.RefreshToken != sess.RefreshToken {
		t.Errorf("tokens after reopen differ")
	}
	if err := s2.db.QueryRow("PRAGMA user_version").Scan(&uv); err != nil || uv != schemaVersion() {
		t.Errorf("user_version after reopen = %d (%v)", uv, err)
	}
}

func TestOpenRunsPendingMigration(t *testing.T) {
	env := newTestEnv(t)
	env.seed(t, "prod")

	saved := sqliteMigrations
	sqliteMigrations = append(append([]string(nil), saved...), "CREATE TABLE extra (x INTEGER);")
	s2, err := Open(ctxb(), env.options())
	if err != nil {
		sqliteMigrations = saved
		t.Fatal(err)
	}
	var uv int64
	if err := s2.db.QueryRow("PRAGMA user_version").Scan(&uv); err != nil || uv != int64(len(saved)+1) {
		t.Errorf("user_version = %d (%v), want %d", uv, err, len(saved)+1)
	}
	if _, err := s2.db.Exec("INSERT INTO extra (x) VALUES (1)"); err != nil {
		t.Errorf("migrated table missing: %v", err)
	}
	if _, err := s2.GetSessionByLabel(ctxb(), "prod"); err != nil {
		t.Errorf("data lost by migration: %v", err)
	}
	s2.Close()
	sqliteMigrations = saved

	// This build (back to the old list) now meets a newer vault.
	before := readFile(t, env.path)
	_, err = Open(ctxb(), env.options())
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of newer vault: %v, want ErrNewerSchema", err)
	}
	if !bytes.Equal(before, readFile(t, env.path)) {
		t.Error("newer vault was modified")
	}
}

func TestOpenPermissions(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)
	sess := pathstackSession("prod")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	checks := map[string]os.FileMode{
		env.path:                  0o600,
		env.path + "-wal":         0o600,
		filepath.Dir(env.path):    0o700,
		env.keyFile:               0o600,
		filepath.Dir(env.keyFile): 0o700,
	}
	for p, want := range checks {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("%s: %v", p, err)
			continue
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	if key := readFile(t, env.keyFile); len(key) != 32 {
		t.Errorf("key file has %d bytes, want 32", len(key))
	}
}

// TestOpenEmptyFileRefusedUntouched: an empty file is not a vault (Open
// never leaves one), and is left as it was.
func TestOpenEmptyFileRefusedUntouched(t *testing.T) {
	env := newTestEnv(t)
	if err := os.MkdirAll(filepath.Dir(env.path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(env.path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(env.path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(ctxb(), env.options())
	if !errors.Is(err, ErrNotVault) || !strings.Contains(err.Error(), env.path) {
		t.Fatalf("Open of an empty file: %v, want ErrNotVault naming it", err)
	}
	fi, err := os.Stat(env.path)
	if err != nil || fi.Size() != 0 || fi.Mode().Perm() != 0o644 {
		t.Errorf("empty file altered: %v %v", fi, err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(env.path)); len(entries) != 1 {
		t.Errorf("files made beside it: %d entries", len(entries))
	}
}

// TestOpenNewVaultLeavesNoTemporaryFile: a new vault is built aside and
// linked into place; nothing else is left in the folder but its write-ahead
// log (empty once closed) and log index, which are kept so that read-only
// opens find them and write nothing.
func TestOpenNewVaultLeavesNoTemporaryFile(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(filepath.Dir(env.path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		switch e.Name() {
		case "vault.db", "vault.db-shm":
		case "vault.db-wal":
			if fi, err := e.Info(); err != nil || fi.Size() != 0 {
				t.Errorf("vault.db-wal not empty after Close: %v, %v", fi, err)
			}
		default:
			t.Errorf("left in the vault folder: %s", e.Name())
		}
	}
}

// TestOpenNewVaultConcurrently: processes creating the same vault at once
// all open the one that won.
func TestOpenNewVaultConcurrently(t *testing.T) {
	env := newTestEnv(t)
	const n = 4
	errs := make(chan error, n)
	stores := make(chan *Store, n)
	for range n {
		go func() {
			s, err := Open(ctxb(), env.options())
			errs <- err
			stores <- s
		}()
	}
	var opened []*Store
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
		if s := <-stores; s != nil {
			opened = append(opened, s)
			defer s.Close()
		}
	}
	if len(opened) != n {
		t.Fatalf("%d of %d opened", len(opened), n)
	}
	sess := pathstackSession("prod")
	if err := opened[0].CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	for i, s := range opened {
		if _, err := s.GetSessionByLabel(ctxb(), "prod"); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
}

// TestOpenReadOnlyVaultRefused: a vault file made read-only is refused with
// what to do, not chmod-ed and written (tests run as root: the mode decides).
func TestOpenReadOnlyVaultRefused(t *testing.T) {
	env := newTestEnv(t)
	makeVault(t, env, env.options())
	if err := os.Chmod(env.path, 0o400); err != nil {
		t.Fatal(err)
	}
	before := readFile(t, env.path)
	_, err := Open(ctxb(), env.options())
	if !errors.Is(err, ErrReadOnly) {
		t.Fatalf("Open of a read-only vault: %v, want ErrReadOnly", err)
	}
	want := "vault file " + env.path + " is read-only (mode 0400): make it writable (chmod 600) to use it"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q\nwant it to say %q", err, want)
	}
	fi, _ := os.Stat(env.path)
	if fi.Mode().Perm() != 0o400 || !bytes.Equal(before, readFile(t, env.path)) {
		t.Errorf("read-only vault altered (mode %o)", fi.Mode().Perm())
	}
}

// TestOpenWarnsOfOpenKeyFile: a key file readable by others is used, with a
// warning saying how to fix it; a private one gets none.
func TestOpenWarnsOfOpenKeyFile(t *testing.T) {
	env := newTestEnv(t)
	var warnings []string
	opts := env.options()
	opts.Warn = func(msg string) { warnings = append(warnings, msg) }
	makeVault(t, env, opts)
	if len(warnings) != 0 {
		t.Fatalf("warnings for a private key file: %q", warnings)
	}
	if err := os.Chmod(env.keyFile, 0o644); err != nil {
		t.Fatal(err)
	}
	s := env.openWith(t, opts)
	if _, err := s.GetSessionByLabel(ctxb(), "a"); err != nil {
		t.Fatal(err)
	}
	want := "key file " + env.keyFile + " is readable by others (mode 0644): run chmod 600 " + env.keyFile
	if len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings %q, want [%q]", warnings, want)
	}
	if fi, _ := os.Stat(env.keyFile); fi.Mode().Perm() != 0o644 {
		t.Errorf("key file mode changed to %o", fi.Mode().Perm())
	}
}

// makeVault creates a closed keyfile vault holding a few sessions.
func makeVault(t *testing.T, env *testEnv, opts Options) {
	t.Helper()
	s := env.openWith(t, opts)
	for _, label := range []string{"a", "b", "c", "d"} {
		sess := pathstackSession(label)
		sess.AccessToken = strings.Repeat("x", 3000) + label // spans pages
		if err := s.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenRefusesBadFilesUnchanged: every refused file is left byte for byte.
func TestOpenRefusesBadFilesUnchanged(t *testing.T) {
	cases := []struct {
		name    string
		prepare func(t *testing.T, env *testEnv) Options
		want    error
		msg     string
	}{
		{
			name: "not sqlite",
			prepare: func(t *testing.T, env *testEnv) Options {
				os.MkdirAll(filepath.Dir(env.path), 0o700)
				os.WriteFile(env.path, []byte("this is a shopping list, not a database\n"), 0o600)
				return env.options()
			},
			want: ErrNotVault, msg: "is not a SQLite database",
		},
		{
			name: "truncated",
			prepare: func(t *testing.T, env *testEnv) Options {
				makeVault(t, env, env.options())
				b := readFile(t, env.path)
				os.WriteFile(env.path, b[:len(b)/2], 0o600)
				return env.options()
			},
			want: ErrTruncated, msg: "vault file is truncated",
		},
		{
			name: "shorter than the header",
			prepare: func(t *testing.T, env *testEnv) Options {
				os.MkdirAll(filepath.Dir(env.path), 0o700)
				os.WriteFile(env.path, []byte(sqliteMagic+"abc"), 0o600)
				return env.options()
			},
			want: ErrTruncated, msg: "vault file is truncated",
		},
		{
			name: "newer schema",
			prepare: func(t *testing.T, env *testEnv) Options {
				makeVault(t, env, env.options())
				b := readFile(t, env.path)
				binary.BigEndian.PutUint32(b[60:64], uint32(schemaVersion()+1))
				os.WriteFile(env.path, b, 0o600)
				return env.options()
			},
			want: ErrNewerSchema, msg: "newer tokentop",
		},
		{
			name: "missing key file",
			prepare: func(t *testing.T, env *testEnv) Options {
				makeVault(t, env, env.options())
				os.Remove(env.keyFile)
				return env.options()
			},
			want: ErrKeyFile, msg: "key file missing or unreadable",
		},
		{
			name: "other key file",
			prepare: func(t *testing.T, env *testEnv) Options {
				makeVault(t, env, env.options())
				os.WriteFile(env.keyFile, bytes.Repeat([]byte{7}, 32), 0o600)
				return env.options()
			},
			want: ErrWrongKey, msg: "wrong passphrase or key",
		},
		{
			name: "wrong passphrase",
			prepare: func(t *testing.T, env *testEnv) Options {
				opts := env.options()
				opts.Passphrase = "correct horse battery staple"
				makeVault(t, env, opts)
				opts.Passphrase = "Tr0ub4dor&3"
				return opts
			},
			want: ErrWrongKey, msg: "wrong passphrase or key",
		},
		{
			name: "sqlite database of something else",
			prepare: func(t *testing.T, env *testEnv) Options {
				os.MkdirAll(filepath.Dir(env.path), 0o700)
				db, err := sql.Open("sqlite", env.path)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.Exec("CREATE TABLE recipes (name TEXT); INSERT INTO recipes VALUES ('soup')"); err != nil {
					t.Fatal(err)
				}
				db.Close()
				return env.options()
			},
			want: ErrNotVault, msg: "something else",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			opts := tc.prepare(t, env)
			before := readFile(t, env.path)
			_, keyErr := os.Stat(env.keyFile)

			s, err := Open(ctxb(), opts)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("error %v, want %v", err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			if !bytes.Equal(before, readFile(t, env.path)) {
				t.Error("vault file changed")
			}
			if _, err := os.Stat(env.keyFile); (err == nil) != (keyErr == nil) {
				t.Error("key file created or removed by a refused open")
			}
			if tc.want == ErrKeyFile && !strings.Contains(err.Error(), env.keyFile) {
				t.Errorf("error %q does not name the key file", err)
			}
		})
	}
}

func TestPassphraseVault(t *testing.T) {
	env := newTestEnv(t)
	opts := env.options()
	opts.KeyFile = "" // a passphrase vault needs no key file
	opts.Passphrase = "correct horse battery staple"
	s := env.openWith(t, opts)
	sess := pathstackSession("prod")
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	var kdf string
	if err := s.db.QueryRow("SELECT value FROM meta WHERE key = 'kdf'").Scan(&kdf); err != nil || kdf != kdfArgon2id {
		t.Errorf("kdf = %q (%v)", kdf, err)
	}
	s.Close()

	// No passphrase and no prompt: refused with the sentinel.
	noPass := opts
	noPass.Passphrase = ""
	if _, err := Open(ctxb(), noPass); !errors.Is(err, ErrPassphraseNeeded) {
		t.Errorf("no passphrase: %v, want ErrPassphraseNeeded", err)
	}

	// The prompt supplies it.
	prompted := 0
	withPrompt := noPass
	withPrompt.PromptPassphrase = func() (string, error) { prompted++; return "correct horse battery staple", nil }
	s2 := env.openWith(t, withPrompt)
	got, err := s2.GetSessionByLabel(ctxb(), "prod")
	if err != nil || got.RefreshToken != sess.RefreshToken {
		t.Errorf("after prompt: %v", err)
	}
	if prompted != 1 {
		t.Errorf("prompted %d times, want 1", prompted)
	}
	if _, err := os.Stat(env.keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("passphrase vault created a key file (%v)", err)
	}
}

func TestOpenOddPath(t *testing.T) {
	env := newTestEnv(t)
	env.path = filepath.Join(env.dir, "we?ird #dir%20", "vault 100%?.db")
	env.seed(t, "prod")
	if fi, err := os.Stat(env.path); err != nil || fi.Size() == 0 {
		t.Fatalf("vault not at its literal path: %v", err)
	}
	if _, err := env.open(t).GetSessionByLabel(ctxb(), "prod"); err != nil {
		t.Error(err)
	}
}

func TestOpenWithoutKeyFileCreatesNothing(t *testing.T) {
	env := newTestEnv(t)
	opts := env.options()
	opts.KeyFile = ""
	if _, err := Open(ctxb(), opts); !errors.Is(err, ErrKeyFile) {
		t.Fatalf("no key file: %v, want ErrKeyFile", err)
	}
	if _, err := os.Stat(env.path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("vault file created anyway (%v)", err)
	}
}

// TestOpenReadOnly: a read-only open reads and refuses writes; without the
// write-ahead log files in place (an older vault) it opens writable, and
// leaves them for the next read-only open.
func TestOpenReadOnly(t *testing.T) {
	env := newTestEnv(t)
	sess := env.seed(t, "prod")
	opts := env.options()
	opts.ReadOnly = true

	ro := env.openWith(t, opts)
	if !ro.ReadOnly() {
		t.Error("ReadOnly() = false with the log files in place")
	}
	if got, err := ro.GetSessionByLabel(ctxb(), "prod"); err != nil || got.RefreshToken != sess.RefreshToken {
		t.Errorf("GetSessionByLabel: %+v, %v", got, err)
	}
	if list, err := ro.ListSessions(ctxb()); err != nil || len(list) != 1 {
		t.Errorf("ListSessions: %d, %v", len(list), err)
	}
	if err := ro.DeleteSession(ctxb(), sess.ID); err == nil {
		t.Error("DeleteSession on a read-only Store succeeded")
	}
	ro.Close()

	for _, p := range []string{env.path + "-wal", env.path + "-shm"} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	rw := env.openWith(t, opts)
	if rw.ReadOnly() {
		t.Error("ReadOnly() = true without the log files")
	}
	rw.Close()
	if again := env.openWith(t, opts); !again.ReadOnly() {
		t.Error("the writable open did not leave the log files for the next read-only one")
	} else {
		again.Close()
	}
}

// A current vault answers its schema version and key material in one
// statement (readMetaVersion): the fast path that a fresh process's open
// takes when the header carries a version.
func TestOpenReadsVersionAndMetaTogether(t *testing.T) {
	env := newTestEnv(t)
	env.open(t).Close()
	_, hdr, err := checkFile(env.path)
	if err != nil || hdr.userVersion != schemaVersion() {
		t.Fatalf("header of a current vault: version %d (%v), want %d", hdr.userVersion, err, schemaVersion())
	}
	s := env.open(t)
	defer s.Close()
	conn, err := s.db.Conn(ctxb())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	meta, uv, err := readMetaVersion(ctxb(), conn)
	if err != nil || uv != schemaVersion() || len(meta[metaKDF]) == 0 {
		t.Fatalf("readMetaVersion = %d keys, version %d, %v; want the key material and version %d", len(meta), uv, err, schemaVersion())
	}
	if metaLimit != strconv.Itoa(maxMetaRows+1) {
		t.Errorf("metaLimit %s, want %d", metaLimit, maxMetaRows+1)
	}
}

// A newer schema version that sits only in the write-ahead log (the header
// still says this build's) is refused, and the file is left as it was.
func TestOpenNewerSchemaInWALOnly(t *testing.T) {
	env := newTestEnv(t)
	env.open(t).Close()
	db, err := sql.Open("sqlite", env.path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // one connection, kept open: no checkpoint on close
	if _, err := db.Exec(fmt.Sprintf("PRAGMA wal_autocheckpoint=0; PRAGMA user_version=%d", schemaVersion()+1)); err != nil {
		t.Fatal(err)
	}
	if _, hdr, err := checkFile(env.path); err != nil || hdr.userVersion != schemaVersion() {
		t.Fatalf("the header says version %d (%v): the newer one reached the main file", hdr.userVersion, err)
	}
	s, err := Open(ctxb(), env.options())
	if err == nil {
		s.Close()
		t.Fatal("Open of a vault whose WAL holds a newer schema succeeded")
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
}

// A SQLite file of something else with a meta view that never ends is
// refused without reading it: with version 0 in its header, the version is
// read first; with a version, at most maxMetaRows+1 rows are.
func TestOpenForeignEndlessMeta(t *testing.T) {
	for _, uv := range []int64{0, 1, schemaVersion()} {
		t.Run(fmt.Sprint("version ", uv), func(t *testing.T) {
			env := newTestEnv(t)
			os.MkdirAll(filepath.Dir(env.path), 0o700)
			db, err := sql.Open("sqlite", env.path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := db.Exec(fmt.Sprintf(`CREATE VIEW meta AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x+1 FROM c)
				SELECT x AS key, zeroblob(100) AS value FROM c; PRAGMA user_version=%d`, uv)); err != nil {
				t.Fatal(err)
			}
			db.Close()
			ctx, cancel := context.WithTimeout(ctxb(), 20*time.Second)
			defer cancel()
			s, err := Open(ctx, env.options())
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, ErrNotVault) {
				t.Fatalf("Open: %v, want ErrNotVault", err)
			}
		})
	}
}
