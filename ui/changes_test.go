package ui

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/tokentop/tokentop/vault"
	"github.com/tokentop/tokentop/vault/pgtest"
)

// With a change signal (Deps.Changes) the dashboard re-reads the vault
// when it fires, and has no periodic reload at all.
func TestChangeSignalReloadsInsteadOfTheTick(t *testing.T) {
	ch := make(chan struct{}, 1)
	m := New(Deps{Changes: ch})
	ch <- struct{}{}
	msg := waitChangesCmd(ch)()
	if msg != (VaultChangedMsg{}) {
		t.Fatalf("message %#v", msg)
	}
	close(ch)
	if msg := waitChangesCmd(ch)(); msg != (VaultChangedMsg{Closed: true}) {
		t.Fatalf("closed signal: %#v", msg)
	}
	// Closed: back to the periodic reload.
	if _, cmd := m.onVaultChanged(VaultChangedMsg{Closed: true}); cmd == nil {
		t.Fatal("no fallback reload after the signal closed")
	} else if _, ok := cmd().(ReloadTickMsg); !ok {
		t.Fatal("the fallback is not the reload tick")
	}
}

// On a PostgreSQL vault the dashboard sees a session another machine adds
// through LISTEN/NOTIFY: it has no periodic reload then, so the session can
// only come from the notification.
func TestDashboardSeesAnotherMachinesSessionOnPostgres(t *testing.T) {
	url, _ := pgtest.Schema(t)
	key := filepath.Join(t.TempDir(), "key")
	open := func(host string) *vault.Store {
		st, err := vault.Open(context.Background(), vault.Options{Path: url, KeyFile: key,
			Process: &vault.Process{Host: host, PID: 4242, Start: 1}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	here, there := open("here"), open("there")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	deps := Deps{Store: here, Changes: here.Changes(ctx), Location: time.UTC, Title: "tokentop test", NoScheduler: true}
	tm := teatest.NewTestModel(t, New(deps), teatest.WithInitialTermSize(100, 30))
	t.Cleanup(func() { tm.Send(tea.Quit()) })
	sw := watch(tm)
	sw.waitFor(t, "Your vault is empty")

	s := vault.Session{Provider: vault.ProviderPathStack, Label: "from-elsewhere", BaseURL: "https://api.pathstack.io",
		Sub: "8c1e4a52-6d0b-4c1f-9a57-3f0e2b7d9c11", AccessToken: "opaque-access-1", RefreshToken: "opaque-refresh-1"}
	if err := there.CreateSession(context.Background(), &s); err != nil {
		t.Fatal(err)
	}
	sw.waitFor(t, "from-elsewhere")
}
