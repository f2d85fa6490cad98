package vault

import (
	"context"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/vault/pgtest"
)

// PostgreSQL-only tests: what a file-based test checks on SQLite (the raw
// file, its header, a newer user_version) checked on the server. The shared
// behaviour runs on both backends through forEachBackend.

// TestPostgresNoPlaintextTokens reads every row of the vault's tables as
// text, as a dump would, and finds no token, secret or key in it.
func TestPostgresNoPlaintextTokens(t *testing.T) {
	env := newPostgresEnv(t)
	st := env.open(t)
	sess := pathstackSession("MARKERLABEL")
	sess.AccessToken, sess.RefreshToken = "MARKER-ACCESS-1", "MARKER-REFRESH-1"
	if err := st.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordRefresh(ctxb(), sess.ID, sess.Version,
		&TokenUpdate{AccessToken: "MARKER-ACCESS-2", RefreshToken: "MARKER-REFRESH-2"}, &Attempt{Outcome: OutcomeOK}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveRecovery(ctxb(), sess.ID, "MARKER-REFRESH-2",
		TokenUpdate{AccessToken: "MARKER-ACCESS-3", RefreshToken: "MARKER-REFRESH-3"}, "test"); err != nil {
		t.Fatal(err)
	}
	if err := st.RememberLogin(ctxb(), sess.ID, RememberedLogin{Method: LoginMethodPassword, Username: "u", Secret: "MARKER-SECRET"}); err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, table := range []string{"sessions", "attempts", "recovery", "meta", "schedules", "schema_version"} {
		rows, err := pgtest.DB(t).QueryContext(ctxb(), "SELECT t::text FROM "+env.schema+"."+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(line + "\n")
		}
		rows.Close()
	}
	// pg_dump too, where the machine has it.
	if pgDump, err := exec.LookPath("pg_dump"); err == nil {
		out, err := exec.Command(pgDump, "--data-only", "--inserts", "--schema="+env.schema, os.Getenv(pgtest.EnvVar)).Output()
		if err != nil {
			t.Logf("pg_dump: %v (rows checked only)", err)
		}
		dump.Write(out)
	}
	text := dump.String()
	if !strings.Contains(text, "MARKERLABEL") {
		t.Fatalf("the dump misses the label: it read nothing?\n%s", text)
	}
	key := readFile(t, env.keyFile)
	for _, secret := range []string{"MARKER-ACCESS", "MARKER-REFRESH", "MARKER-SECRET"} {
		if strings.Contains(text, secret) || strings.Contains(strings.ToLower(text), hex.EncodeToString([]byte(secret))) {
			t.Errorf("%s found in the database", secret)
		}
	}
	if strings.Contains(text, hex.EncodeToString(key)) {
		t.Error("the key is in the database")
	}
}

// TestPostgresNewerSchemaRefusedUntouched: a schema_version from a newer
// tokentop is refused before anything is written.
func TestPostgresNewerSchemaRefusedUntouched(t *testing.T) {
	env := newPostgresEnv(t)
	env.seed(t, "prod")
	pgtest.Exec(t, "UPDATE "+env.schema+".schema_version SET version = 99")
	snapshot := func() string {
		var s string
		err := pgtest.DB(t).QueryRowContext(ctxb(), `SELECT (SELECT string_agg(t::text, ',') FROM `+env.schema+`.sessions t) ||
			(SELECT string_agg(table_name::text, ',' ORDER BY table_name) FROM information_schema.columns WHERE table_schema = $1)`, env.schema).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := snapshot()
	if _, err := Open(ctxb(), env.options()); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open of a newer vault: %v, want ErrNewerSchema", err)
	}
	if snapshot() != before {
		t.Error("the refused vault was changed")
	}
}

// TestPostgresKeys: a wrong key file is refused; a passphrase vault opens
// with its passphrase only; a missing vault is not created when it must exist;
// foreign tables are not taken for a vault.
func TestPostgresKeys(t *testing.T) {
	env := newPostgresEnv(t)
	env.open(t).Close()
	other := env.options()
	other.KeyFile = filepath.Join(env.dir, "other-key")
	if err := os.WriteFile(other.KeyFile, make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctxb(), other); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong key: %v, want ErrWrongKey", err)
	}

	pass := newPostgresEnv(t)
	opts := pass.options()
	opts.Passphrase = "correct horse"
	st := pass.openWith(t, opts)
	st.Close()
	if _, err := os.Stat(pass.keyFile); err == nil {
		t.Error("a passphrase vault made a key file")
	}
	opts.Passphrase = "wrong"
	if _, err := Open(ctxb(), opts); !errors.Is(err, ErrWrongKey) {
		t.Errorf("wrong passphrase: %v", err)
	}

	empty := newPostgresEnv(t)
	opts = empty.options()
	opts.MustExist = true
	if _, err := Open(ctxb(), opts); !errors.Is(err, ErrNoVault) {
		t.Errorf("MustExist on an empty schema: %v", err)
	}
	var tables int
	pgtest.DB(t).QueryRowContext(ctxb(), "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1", empty.schema).Scan(&tables)
	if tables != 0 {
		t.Errorf("MustExist created %d tables", tables)
	}

	pgtest.Exec(t, "CREATE TABLE "+empty.schema+".sessions (x int)")
	if _, err := Open(ctxb(), empty.options()); !errors.Is(err, ErrNotVault) {
		t.Errorf("foreign tables: %v, want ErrNotVault", err)
	}
}

// TestPostgresConnectionErrorOneLine: a server that is not there is one
// line naming the host, never the password. Needs no server.
func TestPostgresConnectionErrorOneLine(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // now nothing listens there
	dir := t.TempDir()
	for _, u := range []string{
		"postgres://tokentop:s3cr3t-pw@127.0.0.1:" + strconv.Itoa(port) + "/team?sslmode=disable",
		"postgresql://tokentop@127.0.0.1:" + strconv.Itoa(port) + "/team?sslmode=disable&password=s3cr3t-pw",
		"postgres://tokentop:s3cr3t-pw@127.0.0.1:" + strconv.Itoa(port) + "/team", // sslmode=prefer: two tries

	} {
		_, err := Open(ctxb(), Options{Path: u, KeyFile: filepath.Join(dir, "key"), RecoveryDir: dir})
		if err == nil {
			t.Fatal("Open of a closed port succeeded")
		}
		msg := err.Error()
		scheme := u[:strings.Index(u, ":")]
		want := "open vault " + scheme + "://tokentop@127.0.0.1:" + strconv.Itoa(port) + "/team: "
		if !strings.HasPrefix(msg, want) || !strings.Contains(msg, "connection refused") || strings.Contains(msg, "\n") {
			t.Errorf("error %q, want %q…connection refused on one line", msg, want)
		}
		if strings.Contains(msg, "s3cr3t") {
			t.Errorf("error shows the password: %q", msg)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "key")); err == nil {
		t.Error("a failed Open made a key file")
	}
}

// TestPostgresChanges: a write by another Store is signalled at once
// through LISTEN/NOTIFY; a Store's own writes are not news to it.
func TestPostgresChanges(t *testing.T) {
	env := newPostgresEnv(t)
	a, b := env.open(t), env.open(t)
	if !a.Notifies() {
		t.Fatal("a PostgreSQL Store does not notify")
	}
	ctx, cancel := context.WithCancel(ctxb())
	defer cancel()
	changes := a.Changes(ctx)
	time.Sleep(300 * time.Millisecond) // let LISTEN start: a write before it would be caught up by polling only

	sess := pathstackSession("prod")
	if err := a.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Fatal("a Store's own write was signalled")
	case <-time.After(500 * time.Millisecond):
	}
	start := time.Now()
	if err := b.PutSchedule(ctxb(), Schedule{SessionID: sess.ID, Mode: ScheduleEvery, Interval: time.Hour, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
		t.Logf("another Store's write signalled after %v", time.Since(start))
		if time.Since(start) >= ChangePoll {
			t.Error("signalled no sooner than polling would")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("another Store's write not signalled")
	}

	// The listening connection is killed: it reconnects, and says so.
	pgtest.Terminate(t, env.schema)
	select {
	case <-changes:
	case <-time.After(10 * time.Second):
		t.Fatal("no signal after the listening connection was killed")
	}
	if err := b.DeleteSchedule(ctxb(), sess.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-changes:
	case <-time.After(5 * time.Second):
		t.Fatal("a write after reconnecting not signalled")
	}
	cancel()
	for range changes { // closed once ctx ends
	}
}

// TestPostgresLeaseHeldFromAnotherMachine: a lease whose holder has this
// host's name but runs on another machine (another boot id) is never taken
// over, even when its PID does not exist here; it is waited out.
func TestPostgresLeaseHeldFromAnotherMachine(t *testing.T) {
	env := newPostgresEnv(t)
	me := env.open(t)
	if !strings.Contains(me.proc().Host, "/boot:") {
		t.Skip("no boot id on this system: no lease is judged dead at all")
	}
	sess := pathstackSession("prod")
	if err := me.CreateSession(ctxb(), &sess); err != nil {
		t.Fatal(err)
	}
	host, _, _ := strings.Cut(me.proc().Host, "/boot:")
	twin := env.as(t, Process{Host: host + "/boot:00000000-0000-4000-8000-000000000000", PID: deadPID(t), Start: 1})
	if !mustTake(t, twin, sess.ID, "twin") {
		t.Fatal("free lease not taken")
	}
	if mustTake(t, me, sess.ID, "me") {
		t.Fatal("the lease of a holder on another machine was taken over")
	}
}
