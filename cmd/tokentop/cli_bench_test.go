package main

import (
	"context"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// The CLI's cost per call against its floor, measured in one run: the built
// binary against the sqlite3 shell reading the same plain columns of the
// same vault (the peer a script would use; skipped when sqlite3 is missing).

// benchVault fills e's vault with n sessions in one transaction.
func benchVault(b *testing.B, e *env, n int) {
	b.Helper()
	st, err := vault.Open(context.Background(), vault.Options{Path: e.vault, KeyFile: e.key})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	exp := time.Now().Add(time.Hour)
	sessions := make([]vault.Session, n)
	for i := range sessions {
		sessions[i] = vault.Session{
			Provider: vault.ProviderPathStack, Label: fmt.Sprintf("session-%05d", i), BaseURL: "https://api.pathstack.io",
			Sub: "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11", AccessToken: fmt.Sprintf("opaque-access-%05d", i),
			RefreshToken: fmt.Sprintf("opaque-refresh-%05d", i), TokenType: "Bearer", ExpiresAt: exp,
		}
	}
	if err := st.ImportSessions(context.Background(), sessions, false); err != nil {
		b.Fatal(err)
	}
}

// runPeer runs one command to completion, output discarded.
func runPeer(b *testing.B, cmd *exec.Cmd) {
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%v: %v\n%s", cmd.Args, err, out)
	}
}

// BenchmarkCLIList: `tokentop ls` at 10,000 sessions into a pipe, against
// sqlite3 selecting the same plain columns. Target: within 3× of sqlite3.
func BenchmarkCLIList(b *testing.B) {
	e := newEnv(b)
	benchVault(b, e, 10000)
	tokentopBinary(b) // built before the clock runs, not in the first iteration
	b.Run("tokentop", func(b *testing.B) {
		for b.Loop() {
			runPeer(b, e.command("", "ls"))
		}
	})
	b.Run("sqlite3", func(b *testing.B) {
		sqlite, err := exec.LookPath("sqlite3")
		if err != nil {
			b.Skip("sqlite3 not installed: apt-get install sqlite3")
		}
		for b.Loop() {
			runPeer(b, exec.Command(sqlite, e.vault,
				"select label, provider, expires_at, last_refresh_at, last_status, needs_login from sessions order by label"))
		}
	})
}

// BenchmarkCLIToken: `tokentop token LABEL` on a fresh session, against
// sqlite3 reading that session's row. Target: within 2× of sqlite3.
func BenchmarkCLIToken(b *testing.B) {
	e := newEnv(b)
	benchVault(b, e, 10)
	tokentopBinary(b) // built before the clock runs, not in the first iteration
	b.Run("tokentop", func(b *testing.B) {
		for b.Loop() {
			runPeer(b, e.command("", "token", "session-00003"))
		}
	})
	b.Run("sqlite3", func(b *testing.B) {
		sqlite, err := exec.LookPath("sqlite3")
		if err != nil {
			b.Skip("sqlite3 not installed: apt-get install sqlite3")
		}
		for b.Loop() {
			runPeer(b, exec.Command(sqlite, e.vault, "select access_token, expires_at from sessions where label = 'session-00003'"))
		}
	})
	b.Run("true", func(b *testing.B) { // the bare process start, for scale
		for b.Loop() {
			runPeer(b, exec.Command("true"))
		}
	})
}
