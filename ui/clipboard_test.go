package ui

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
)

// memClipboard is an in-memory native clipboard.
type memClipboard struct {
	text     string
	writeErr error
}

func (c *memClipboard) ReadAll() (string, error) { return c.text, nil }
func (c *memClipboard) WriteAll(s string) error {
	if c.writeErr != nil {
		return c.writeErr
	}
	c.text = s
	return nil
}

func oscSeq(text string) string {
	return "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(text)) + "\x07"
}

func TestClipboardCopyAndClear(t *testing.T) {
	var out bytes.Buffer
	native := &memClipboard{}
	c := NewClipboard(&out, WithNativeClipboard(native), WithEnv(func(string) string { return "" }))

	ok, err := c.Copy("secret-token")
	if err != nil || !ok {
		t.Fatalf("Copy = %v, %v", ok, err)
	}
	if native.text != "secret-token" || out.String() != oscSeq("secret-token") {
		t.Fatalf("native %q, osc52 %q", native.text, out.String())
	}
	out.Reset()
	cleared, err := c.Clear()
	if err != nil || !cleared || native.text != "" {
		t.Fatalf("Clear = %v, %v; native %q", cleared, err, native.text)
	}
	if out.String() != "\x1b]52;c;\x07" {
		t.Fatalf("clear wrote %q, want an empty OSC 52", out.String())
	}
}

func TestClipboardLeavesWhatTheUserCopiedSince(t *testing.T) {
	var out bytes.Buffer
	native := &memClipboard{}
	c := NewClipboard(&out, WithNativeClipboard(native), WithEnv(func(string) string { return "" }))
	if _, err := c.Copy("secret-token"); err != nil {
		t.Fatal(err)
	}
	native.text = "something the user copied"
	out.Reset()
	cleared, err := c.Clear()
	if err != nil || cleared {
		t.Fatalf("Clear = %v, %v: must not clear", cleared, err)
	}
	if native.text != "something the user copied" || out.Len() != 0 {
		t.Fatalf("clear touched the clipboard: native %q, osc52 %q", native.text, out.String())
	}
}

func TestClipboardNativeFailureIsSilent(t *testing.T) {
	var out bytes.Buffer
	c := NewClipboard(&out, WithNativeClipboard(&memClipboard{writeErr: errors.New("no display")}), WithEnv(func(string) string { return "" }))
	ok, err := c.Copy("tok")
	if err != nil || ok {
		t.Fatalf("Copy = %v, %v: native failure must be silent", ok, err)
	}
	if out.String() != oscSeq("tok") {
		t.Fatalf("OSC 52 not written: %q", out.String())
	}
}

func TestClipboardInsideTmux(t *testing.T) {
	var out bytes.Buffer
	env := map[string]string{"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen-256color"}
	c := NewClipboard(&out, WithNativeClipboard(nil), WithEnv(func(k string) string { return env[k] }))
	if _, err := c.Copy("tok"); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	wrapped := "\x1bPtmux;\x1b\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte("tok")) + "\x07\x1b\\"
	if !strings.HasPrefix(s, oscSeq("tok")) || !strings.HasSuffix(s, wrapped) {
		t.Fatalf("inside tmux want plain and passthrough sequences, got %q", s)
	}
}

func TestCopyAccessTokenShowsToastAndSchedulesClear(t *testing.T) {
	var out bytes.Buffer
	deps := testDeps(&out)
	deps.Clipboard = NewClipboard(&out, WithNativeClipboard(nil), WithEnv(func(string) string { return "" }), WithClearAfter(45*time.Second))
	m := loadedModelWith(t, deps, 100, 30)
	ss := fixtureSessions(t)
	m, _ = press(t, m, "j", "j") // prod-eu
	m, cmd := press(t, m, "c")
	msgs := collect(cmd)
	if len(msgs) != 1 {
		t.Fatalf("c produced %v", msgs)
	}
	copied, ok := msgs[0].(CopiedMsg)
	if !ok || copied.Err != nil || copied.Warning != "" {
		t.Fatalf("c produced %#v", msgs[0])
	}
	if out.String() != oscSeq(ss[0].AccessToken) {
		t.Fatalf("OSC 52 does not carry the access token: %q", out.String())
	}
	m, cmd = update(t, m, copied)
	if cmd == nil {
		t.Fatal("no clear timer after a copy")
	}
	requireScreenContains(t, m, "Copied access token · clipboard clears in 45s")

	// The clear timer fires: the clipboard is cleared.
	out.Reset()
	m, cmd = update(t, m, ClipboardClearDueMsg{Gen: m.clipGen})
	msgs = collect(cmd)
	if len(msgs) != 1 || out.String() != "\x1b]52;c;\x07" {
		t.Fatalf("clear due: msgs %v, wrote %q", msgs, out.String())
	}
	m, _ = update(t, m, msgs[0])
	requireScreenContains(t, m, "Clipboard cleared")

	// A timer from an older copy does nothing.
	_, cmd = update(t, m, ClipboardClearDueMsg{Gen: m.clipGen - 1})
	if cmd != nil {
		t.Fatal("a stale clear timer must not clear")
	}
}

func TestCopyVariants(t *testing.T) {
	var out bytes.Buffer
	m := loadedModelWith(t, testDeps(&out), 100, 30)
	ss := fixtureSessions(t)
	// acme is selected: an expired Galileo session.
	out.Reset()
	_, cmd := press(t, m, "b")
	c := collect(cmd)[0].(CopiedMsg)
	if out.String() != oscSeq("Authorization: Bearer "+ss[2].AccessToken) {
		t.Fatalf("b copied %q", out.String())
	}
	if c.Warning != "this access token expired 1h ago" {
		t.Fatalf("expired token warning = %q", c.Warning)
	}
	m2, _ := update(t, m, c)
	requireScreenContains(t, m2, `⚠ Copied "Authorization: Bearer …" · clipboard clears in 45s · this access token expired 1h ago`)
	if n := strings.Count(m2.status.Text(), "⚠"); n != 1 {
		t.Fatalf("the warning toast shows %d ⚠: %q", n, m2.status.Text())
	}

	out.Reset()
	_, cmd = press(t, m, "u")
	collect(cmd)
	want := "curl -sS -g -H 'Authorization: Bearer " + ss[2].AccessToken + "' --url 'https://api.acme.rungalileo.io/'"
	if out.String() != oscSeq(want) {
		t.Fatalf("u copied %q", out.String())
	}

	// C asks first: n copies nothing, y copies the refresh token.
	out.Reset()
	m, cmd = press(t, m, "C")
	if cmd != nil || m.overlay != overlayConfirm {
		t.Fatal("C must ask before copying")
	}
	requireScreenContains(t, m, "Copy the refresh token of acme?", "y yes", "n no")
	m, cmd = press(t, m, "n")
	if cmd != nil || m.overlay != overlayNone || out.Len() != 0 {
		t.Fatal("n must copy nothing")
	}
	m, _ = press(t, m, "C")
	_, cmd = press(t, m, "y")
	collect(cmd)
	if out.String() != oscSeq(ss[2].RefreshToken) {
		t.Fatalf("C, y copied %q", out.String())
	}
}

func TestCopyLoadsTokensFirst(t *testing.T) {
	var out bytes.Buffer
	m := New(testDeps(&out))
	m, _ = update(t, m, tea.WindowSizeMsg{Width: 100, Height: 30})
	ss := fixtureSessions(t)
	m, _ = update(t, m, SessionsLoadedMsg{Sessions: listed(ss)})
	m, _ = press(t, m, "c") // acme's tokens are not loaded yet
	if m.pendingCopy == nil || out.Len() != 0 {
		t.Fatal("c before the tokens are loaded must wait for them")
	}
	requireScreenContains(t, m, "loading the session's tokens…")
	m, cmd := update(t, m, SessionLoadedMsg{ID: 3, Session: ss[2]})
	collect(cmd)
	if out.String() != oscSeq(ss[2].AccessToken) {
		t.Fatalf("copy after load wrote %q", out.String())
	}
	if m.pendingCopy != nil {
		t.Fatal("pending copy not cleared")
	}
}
