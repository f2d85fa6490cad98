package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// rotatedAway refreshes session label behind the vault's back (as a refresh
// whose answer could not be saved did) and keeps the new tokens in
// recovery, in a row, or in a recovery file when toFile. The session still
// holds the spent refresh token; the fake server accepts only the new one.
func (e *env) rotatedAway(label, reason string, toFile bool) (spent, live vault.TokenUpdate, where string) {
	e.t.Helper()
	ctx := context.Background()
	st := e.openStore()
	defer st.Close()
	sess, err := st.GetSessionByLabel(ctx, label)
	if err != nil {
		e.t.Fatal(err)
	}
	res, _, err := pathstack.New(providers.NewHTTPClient(providers.ClientOptions{}), nil).Refresh(ctx, sess)
	if err != nil || res.RefreshToken == "" || res.RefreshToken == sess.RefreshToken {
		e.t.Fatalf("refresh behind the vault's back: %v (rotated: %v)", err, res.RefreshToken != "")
	}
	live = vault.TokenUpdate{AccessToken: res.AccessToken, RefreshToken: res.RefreshToken, TokenType: res.TokenType, ExpiresAt: res.ExpiresAt}
	saveCtx := ctx
	if toFile { // the recovery table cannot be written either: the sealed file beside the vault
		cancelled, cancel := context.WithCancel(ctx)
		cancel()
		saveCtx = cancelled
	}
	if where, err = st.SaveRecovery(saveCtx, sess.ID, sess.RefreshToken, live, reason); err != nil {
		e.t.Fatal(err)
	}
	return vault.TokenUpdate{AccessToken: sess.AccessToken, RefreshToken: sess.RefreshToken}, live, where
}

// noTokenIn fails when any output holds one of the tokens in clear.
func noTokenIn(t *testing.T, outputs []string, tokens ...vault.TokenUpdate) {
	t.Helper()
	for _, out := range outputs {
		for _, tok := range tokens {
			for _, s := range []string{tok.AccessToken, tok.RefreshToken} {
				if s != "" && strings.Contains(out, s) {
					t.Fatalf("a token in clear in output:\n%s", out)
				}
			}
		}
	}
}

func TestRecoverListRestoreRefresh(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	spent, live, _ := e.rotatedAway("prod", "session changed meanwhile (version conflict)\n\x1b]0;owned\x07", false)
	// A stale entry (bought with a token the session no longer holds) and
	// one whose session is gone.
	stale := vault.TokenUpdate{AccessToken: "MRK-stale-access-0123456789", RefreshToken: "MRK-stale-refresh-0123456789"}
	st := e.openStore()
	prod, _ := st.GetSessionByLabel(context.Background(), "prod")
	if _, err := st.SaveRecovery(context.Background(), prod.ID, "MRK-older-spent-token", stale, "older"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.SaveRecovery(context.Background(), 999, "x", stale, "gone"); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var outputs []string
	keep := func(r result) result { outputs = append(outputs, r.out, r.err); return r }

	list := keep(e.run("", "recover")).out
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) < 4 || !strings.HasPrefix(lines[0], "ID") {
		t.Fatalf("recover list:\n%s", list)
	}
	var appliesLine string
	for _, l := range lines[1:4] {
		if strings.Contains(l, " applies ") {
			appliesLine = l
		}
	}
	if !strings.Contains(appliesLine, "prod") || !strings.Contains(appliesLine, providers.Mask(live.RefreshToken)) ||
		!strings.Contains(appliesLine, vault.Fingerprint(live.RefreshToken)) || !strings.Contains(appliesLine, "version conflict) \\x1b]0;owned\\x07") {
		t.Fatalf("the applicable entry is not listed as such:\n%s", list)
	}
	if !strings.Contains(list, "#999 (deleted)") || strings.Count(list, "  stale  ") != 2 || strings.ContainsRune(list, '\x1b') {
		t.Fatalf("recover list:\n%s", list)
	}

	var entries []recoveryJSON
	if err := json.Unmarshal([]byte(keep(e.run("", "recover", "--json")).out), &entries); err != nil || len(entries) != 3 {
		t.Fatalf("recover --json: %v %d", err, len(entries))
	}
	applies := 0
	for _, j := range entries {
		if j.Status == keptApplies {
			applies++
			if j.Label == nil || *j.Label != "prod" || j.ID == nil || j.Path != nil || j.RefreshToken == nil ||
				j.RefreshToken.Fingerprint != vault.Fingerprint(live.RefreshToken) || j.RefreshToken.Raw != "" {
				t.Errorf("applicable entry: %+v", j)
			}
		}
	}
	if applies != 1 {
		t.Errorf("%d entries apply, want 1", applies)
	}
	if revealed := e.mustRun("", "recover", "--json", "--reveal"); !strings.Contains(revealed, live.RefreshToken) {
		t.Error("recover --json --reveal does not hold the kept refresh token")
	}
	if r := keep(e.run("", "recover", "--reveal")); r.code != exitUsage {
		t.Errorf("--reveal without --json: %+v", r)
	}

	// ls and show say that something waits.
	var ls []sessionJSON
	if err := json.Unmarshal([]byte(keep(e.run("", "ls", "--json")).out), &ls); err != nil || len(ls) != 1 || ls[0].Recovery != 2 {
		t.Fatalf("ls --json: %v %+v", err, ls)
	}
	if out := keep(e.run("", "ls")).out; !strings.Contains(out, "recovery") {
		t.Errorf("ls has no recovery mark:\n%s", out)
	}
	if out := keep(e.run("", "show", "prod")).out; !strings.Contains(out, "1 rotated token set waiting") || !strings.Contains(out, "tokentop recover prod") {
		t.Errorf("show says nothing of recovery:\n%s", out)
	}

	r := keep(e.run("", "recover", "prod"))
	if r.code != 0 || !strings.Contains(r.out, "restored the rotated refresh token kept at ") || !strings.Contains(r.out, ": prod now holds it") {
		t.Fatalf("recover prod: %+v", r)
	}
	before := srv.Stats()
	if r := keep(e.run("", "refresh", "prod")); r.code != 0 {
		t.Fatalf("refresh after recover: %+v", r)
	}
	if s := srv.Stats(); s.ReuseDetections != 0 || s.Refreshes != before.Refreshes+1 {
		t.Fatalf("fake server after refresh: %+v", s)
	}
	var hist []struct {
		Outcome    string `json:"outcome"`
		SentFP     string `json:"refresh_token_sent"`
		ReceivedFP string `json:"refresh_token_received"`
		Owner      string `json:"owner"`
	}
	if err := json.Unmarshal([]byte(keep(e.run("", "history", "prod", "--json")).out), &hist); err != nil || len(hist) < 2 {
		t.Fatalf("history: %v %+v", err, hist)
	}
	if hist[0].Outcome != "ok" || hist[0].SentFP != vault.Fingerprint(live.RefreshToken) ||
		hist[1].Outcome != "recovered" || hist[1].Owner == "" || hist[1].ReceivedFP != vault.Fingerprint(live.RefreshToken) {
		t.Fatalf("history: %+v", hist[:2])
	}
	if out := keep(e.run("", "history", "prod")).out; !strings.Contains(out, "recovered") || !strings.Contains(out, "(by "+hist[1].Owner+")") {
		t.Errorf("history does not show the restore and who made it:\n%s", out)
	}

	// Nothing applies any more: exit 1, one line, the stale count.
	r = keep(e.run("", "recover", "prod"))
	if r.code != exitFailed || r.out != "" || strings.Count(r.err, "\n") != 1 || !strings.Contains(r.err, "nothing in recovery applies") || !strings.Contains(r.err, "1 stale entry") {
		t.Fatalf("recover with nothing applicable: %+v", r)
	}
	// Stale entries are dropped: --yes off a terminal.
	var id int64
	for _, j := range entries {
		if j.Label != nil && *j.Label == "prod" && j.Status == keptStale {
			id = *j.ID
		}
	}
	if r := keep(e.run("", "recover", "--drop", strconv.FormatInt(id, 10))); r.code != exitUsage || !strings.Contains(r.err, "--yes") {
		t.Fatalf("drop off a terminal without --yes: %+v", r)
	}
	if r := keep(e.run("", "recover", "--drop", strconv.FormatInt(id, 10), "--yes")); r.code != 0 || !strings.Contains(r.out, "dropped recovery row") {
		t.Fatalf("drop: %+v", r)
	}
	if r := keep(e.run("", "recover", "--drop", strconv.FormatInt(id, 10), "--yes")); r.code != exitFailed {
		t.Fatalf("drop again: %+v", r)
	}
	if list := keep(e.run("", "recover")).out; strings.Contains(list, "prod") || !strings.Contains(list, "#999 (deleted)") {
		t.Fatalf("after drop:\n%s", list)
	}
	noTokenIn(t, outputs, spent, live, stale)
}

func TestRecoverFromFile(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	spent, live, where := e.rotatedAway("prod", "database is locked", true)
	if filepath.Dir(where) != filepath.Dir(e.vault) || !strings.Contains(filepath.Base(where), ".recovery-") {
		t.Fatalf("not a recovery file: %s", where)
	}
	var outputs []string
	keep := func(r result) result { outputs = append(outputs, r.out, r.err); return r }

	list := keep(e.run("", "recover")).out
	if !strings.Contains(list, filepath.Base(where)) || !strings.Contains(list, " applies ") || !strings.Contains(list, "database is locked") {
		t.Fatalf("recover list:\n%s", list)
	}
	var entries []recoveryJSON
	if err := json.Unmarshal([]byte(keep(e.run("", "recover", "--json")).out), &entries); err != nil || len(entries) != 1 ||
		entries[0].Path == nil || *entries[0].Path != where || entries[0].ID != nil || entries[0].Status != keptApplies {
		t.Fatalf("recover --json: %v %+v", err, entries)
	}
	// The entry holds the live refresh token: not dropped, restored.
	if r := keep(e.run("", "recover", "--drop", filepath.Base(where), "--yes")); r.code != exitFailed || !strings.Contains(r.err, "tokentop recover prod") {
		t.Fatalf("drop of the applicable entry: %+v", r)
	}
	var restored []restoredJSON
	if err := json.Unmarshal([]byte(keep(e.run("", "recover", "--all", "--json")).out), &restored); err != nil || len(restored) != 1 ||
		!restored[0].Restored || restored[0].Label != "prod" || restored[0].RefreshToken.Fingerprint != vault.Fingerprint(live.RefreshToken) {
		t.Fatalf("recover --all --json: %v %+v", err, restored)
	}
	if _, err := os.Stat(where); !os.IsNotExist(err) {
		t.Errorf("recovery file left after restore: %v", err)
	}
	if r := keep(e.run("", "refresh", "prod")); r.code != 0 {
		t.Fatalf("refresh after recover: %+v", r)
	}
	if s := srv.Stats(); s.ReuseDetections != 0 {
		t.Fatalf("fake server saw the spent token again: %+v", s)
	}
	if r := keep(e.run("", "recover", "--all")); r.code != 0 || !strings.Contains(r.out, "nothing in recovery applies to any session (none kept)") {
		t.Fatalf("recover --all with nothing kept: %+v", r)
	}
	noTokenIn(t, outputs, spent, live)
}

// TestRecoverDropAsksOnATerminal: on a terminal, --drop asks first and
// shows what the entry holds, masked.
func TestRecoverDropAsksOnATerminal(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	st := e.openStore()
	prod, _ := st.GetSessionByLabel(context.Background(), "prod")
	stale := vault.TokenUpdate{AccessToken: "MRK-stale-access-0123456789", RefreshToken: "MRK-stale-refresh-0123456789"}
	if _, err := st.SaveRecovery(context.Background(), prod.ID, "MRK-older-spent-token", stale, "older"); err != nil {
		t.Fatal(err)
	}
	st.Close()

	for _, answer := range []string{"n", "y"} {
		s := startScreen(t, e.command("", "recover", "--drop", "1"), 160, 20)
		s.waitFor("the question", 20*time.Second, "Drop recovery row 1 of prod", "stale", providers.Mask(stale.RefreshToken), "[y/N]")
		s.press(answer + "\r")
		err := s.wait(10 * time.Second)
		txt := s.text()
		if answer == "n" && (err == nil || !strings.Contains(txt, "not dropped")) || answer == "y" && (err != nil || !strings.Contains(txt, "dropped recovery row 1 of prod")) {
			t.Fatalf("answer %s: %v\n%s", answer, err, txt)
		}
		if raw := string(s.rawOutput()); strings.Contains(raw, stale.RefreshToken) || strings.Contains(raw, stale.AccessToken) {
			t.Fatalf("a kept token in clear on the terminal:\n%s", raw)
		}
	}
	if out := e.mustRun("", "recover"); out != "nothing kept in recovery\n" {
		t.Fatalf("after drop: %q", out)
	}
}

// TestFindKeptByName: `recover --drop NAME` finds a recovery file by the
// name `recover` lists, wherever the vault keeps them (beside a SQLite
// vault; in the data folder for a PostgreSQL one, whose Path is a URL), and
// a path finds it only when it is that file.
func TestFindKeptByName(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "recovery", "tokentop.recovery-3-1700000000000.json")
	entries := []keptEntry{{rec: vault.Recovery{ID: 7}}, {rec: vault.Recovery{Path: file}}}
	if e, ok := findKept(entries, "7"); !ok || e.rec.ID != 7 {
		t.Errorf("by row id: %+v %v", e, ok)
	}
	if e, ok := findKept(entries, filepath.Base(file)); !ok || e.rec.Path != file {
		t.Errorf("by name: %+v %v", e, ok)
	}
	if e, ok := findKept(entries, file); !ok || e.rec.Path != file {
		t.Errorf("by path: %+v %v", e, ok)
	}
	for _, ref := range []string{filepath.Join(dir, "elsewhere", filepath.Base(file)), "8", "other.json"} {
		if e, ok := findKept(entries, ref); ok {
			t.Errorf("%q found %+v", ref, e)
		}
	}
}
