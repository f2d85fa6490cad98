package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// recoverInput is what `tokentop recover` needs.
type recoverInput struct {
	label  string // restore this session's entry
	all    bool   // restore every session's
	drop   string // drop this entry: a row id or a recovery file
	yes    bool
	asJSON bool
	reveal bool
}

// Entry statuses in `recover` (recoveryJSON.Status).
const (
	// keptApplies: bought with the refresh token the session holds, so that
	// token is spent and this entry holds the live one (PendingRecovery's pick).
	keptApplies = "applies"
	// keptStale: the session holds another refresh token now (or is gone),
	// or a newer entry applies instead.
	keptStale = "stale"
	// keptUnreadable: a recovery file that cannot be read or unsealed.
	keptUnreadable = "unreadable"
)

// recoveryJSON is one entry in `recover --json`. Every key is always there.
type recoveryJSON struct {
	ID           *int64         `json:"id"`   // recovery row, null for a file
	Path         *string        `json:"path"` // recovery file, null for a row
	SessionID    int64          `json:"session_id"`
	Label        *string        `json:"label"` // null when the session is gone
	KeptAt       *string        `json:"kept_at"`
	Reason       string         `json:"reason"`
	Status       string         `json:"status"` // applies | stale | unreadable
	AccessToken  *keptTokenJSON `json:"access_token"`
	RefreshToken *keptTokenJSON `json:"refresh_token"`
	ExpiresAt    *string        `json:"expires_at"` // the kept access token's
}

// keptTokenJSON is a kept token: masked, its fingerprint (as in history),
// and the token itself only with --reveal.
type keptTokenJSON struct {
	Masked      string `json:"masked"`
	Fingerprint string `json:"fingerprint"`
	Raw         string `json:"raw,omitempty"`
}

// restoredJSON is one session in `recover LABEL --json` and `recover --all --json`.
type restoredJSON struct {
	Label        string         `json:"label"`
	Restored     bool           `json:"restored"`
	KeptAt       *string        `json:"kept_at"`
	RefreshToken *keptTokenJSON `json:"refresh_token"`
	ExpiresAt    *string        `json:"expires_at"`
	Stale        int            `json:"stale"` // entries left that do not apply
	Error        string         `json:"error,omitempty"`
}

func (a *app) recoverCommand() *cobra.Command {
	var in recoverInput
	cmd := &cobra.Command{
		Use:   "recover [LABEL | --all | --drop ID|FILE]",
		Short: "List or restore rotated tokens kept in recovery",
		Long: `When a refresh receives new tokens but cannot write them to the session
(a vault error, the session changed meanwhile), they are kept sealed in the
vault's recovery table, or as a last resort in a sealed file beside the vault.
The next refresh takes them back on its own; this command shows and restores
them now.

Without LABEL it lists every entry: its session, when and why it was kept,
what it holds (masked) and whether it applies, i.e. was bought with the
refresh token the session still holds (that token is then spent, and the
entry holds the live one), or is stale. With LABEL it restores the entry that
applies (under the session's refresh lease; nothing is sent), and exits 1 if
none does; --all restores every session's. --drop removes a stale entry.`,
		Example: `  tokentop recover
  tokentop recover prod
  tokentop recover --all
  tokentop recover --drop 3 --yes
  tokentop recover --json | jq '.[] | select(.status=="applies") | .label'`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				in.label = args[0]
			}
			return a.recover(cmd.Context(), in)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&in.all, "all", false, "restore every session's applicable entry")
	f.StringVar(&in.drop, "drop", "", "drop the entry with this row `ID` or recovery file")
	f.BoolVarP(&in.yes, "yes", "y", false, "drop without asking")
	jsonFlag(cmd, &in.asJSON, "print JSON")
	f.BoolVar(&in.reveal, "reveal", false, "include the kept tokens in the JSON list")
	return cmd
}

func (a *app) recover(ctx context.Context, in recoverInput) error {
	switch {
	case in.drop != "" && (in.label != "" || in.all):
		return usagef("--drop removes one entry: give no LABEL or --all with it")
	case in.all && in.label != "":
		return usagef("give a session label or --all, not both")
	case in.reveal && (!in.asJSON || in.label != "" || in.all || in.drop != ""):
		return usagef("--reveal only goes with the JSON list: tokentop recover --json --reveal")
	case in.yes && in.drop == "":
		return usagef("--yes only goes with --drop")
	}
	st, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	switch {
	case in.drop != "":
		return a.dropRecovery(ctx, st, in)
	case in.label != "" || in.all:
		return a.restoreRecovery(ctx, st, in)
	}
	entries, err := keptEntries(ctx, st)
	if err != nil {
		return err
	}
	now := a.io.now()
	if in.asJSON {
		out := make([]recoveryJSON, 0, len(entries))
		for _, e := range entries {
			out = append(out, e.json(in.reveal))
		}
		return writeJSON(a.io.out, out)
	}
	if len(entries) == 0 {
		fmt.Fprintln(a.io.out, "nothing kept in recovery")
		return nil
	}
	tw := tabwriter.NewWriter(a.io.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSESSION\tKEPT\tSTATUS\tHOLDS\tREASON")
	applies, stale := 0, 0
	for _, e := range entries {
		if e.status == keptApplies {
			applies++
		} else {
			stale++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.id(), e.session(), stamp(e.rec.CreatedAt, now), e.status,
			providers.SafeText(holds(e.rec.Tokens)), e.reason())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if applies > 0 {
		fmt.Fprintln(a.io.out, "restore with `tokentop recover LABEL` (the next refresh also does it on its own)")
	}
	if stale > 0 {
		fmt.Fprintln(a.io.out, "drop a stale entry with `tokentop recover --drop ID`")
	}
	return nil
}

// keptEntry is one recovery entry with what `recover` says about it.
type keptEntry struct {
	rec    vault.Recovery
	label  string // "" when the session is gone
	status string
}

// keptEntries lists the recovery entries (rows and files, newest first)
// and tells which one applies to each session: PendingRecovery's pick.
func keptEntries(ctx context.Context, st *vault.Store) ([]keptEntry, error) {
	recs, err := st.ListRecovery(ctx)
	if err != nil {
		return nil, err
	}
	type sessionView struct {
		label   string
		pending *vault.Recovery
	}
	views := map[int64]*sessionView{}
	out := make([]keptEntry, 0, len(recs))
	for _, rec := range recs {
		v, ok := views[rec.SessionID]
		if !ok {
			v = &sessionView{}
			views[rec.SessionID] = v
			s, err := st.GetSession(ctx, rec.SessionID)
			switch {
			case errors.Is(err, vault.ErrNotFound):
			case err != nil:
				return nil, err
			default:
				v.label = s.Label
				if v.pending, err = st.PendingRecovery(ctx, s); err != nil {
					return nil, err
				}
			}
		}
		e := keptEntry{rec: rec, label: v.label, status: keptStale}
		switch {
		case v.pending != nil && v.pending.ID == rec.ID && v.pending.Path == rec.Path:
			e.status = keptApplies
		case rec.Path != "" && strings.HasPrefix(rec.Reason, "unreadable recovery file: "): // ListRecovery's placeholder
			e.status = keptUnreadable
		}
		out = append(out, e)
	}
	return out, nil
}

// id is how `recover --drop` names the entry: its row id, or the file's name.
func (e keptEntry) id() string {
	if e.rec.Path != "" {
		return providers.SafeText(filepath.Base(e.rec.Path))
	}
	return strconv.FormatInt(e.rec.ID, 10)
}

// session is the entry's session label, or "#id (deleted)".
func (e keptEntry) session() string {
	if e.label == "" {
		return fmt.Sprintf("#%d (deleted)", e.rec.SessionID)
	}
	return providers.SafeText(e.label)
}

// reason is why the entry was kept, on one line, safe for a terminal and
// with the kept tokens masked should the error text have quoted one.
func (e keptEntry) reason() string {
	r := maskKept(e.rec.Reason, e.rec.Tokens)
	if r = strings.Join(strings.Fields(r), " "); r == "" {
		r = "-"
	}
	return providers.SafeText(r)
}

// describe names the entry for prompts and messages.
func (e keptEntry) describe() string {
	what := "recovery row " + e.id()
	if e.rec.Path != "" {
		what = "recovery file " + e.id()
	}
	return fmt.Sprintf("%s of %s", what, e.session())
}

func (e keptEntry) json(reveal bool) recoveryJSON {
	j := recoveryJSON{
		SessionID: e.rec.SessionID, KeptAt: rfc3339(e.rec.CreatedAt), Reason: maskKept(e.rec.Reason, e.rec.Tokens), Status: e.status,
		AccessToken: keptToken(e.rec.Tokens.AccessToken, reveal), RefreshToken: keptToken(e.rec.Tokens.RefreshToken, reveal),
		ExpiresAt: rfc3339(e.rec.Tokens.ExpiresAt),
	}
	if e.rec.Path != "" {
		j.Path = &e.rec.Path
	} else {
		j.ID = &e.rec.ID
	}
	if e.label != "" {
		j.Label = &e.label
	}
	return j
}

func keptToken(tok string, reveal bool) *keptTokenJSON {
	if tok == "" {
		return nil
	}
	j := &keptTokenJSON{Masked: providers.Mask(tok), Fingerprint: vault.Fingerprint(tok)}
	if reveal {
		j.Raw = tok
	}
	return j
}

// holds says what an entry keeps, masked: "refresh eyJh…(812)…Q9s [1a2b3c4d],
// access eyJh…(640)…x1Z", with the refresh token's fingerprint as history shows it.
func holds(t vault.TokenUpdate) string {
	var parts []string
	if t.RefreshToken != "" {
		parts = append(parts, fmt.Sprintf("refresh %s [%s]", providers.Mask(t.RefreshToken), vault.Fingerprint(t.RefreshToken)))
	}
	if t.AccessToken != "" {
		parts = append(parts, "access "+providers.Mask(t.AccessToken))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}

// maskKept masks the kept tokens wherever text quotes them.
func maskKept(text string, t vault.TokenUpdate) string {
	for _, tok := range []string{t.RefreshToken, t.AccessToken} {
		if tok != "" {
			text = strings.ReplaceAll(text, tok, providers.Mask(tok))
		}
	}
	return text
}

// restoreRecovery restores the applicable entry of one session (in.label)
// or of every session (in.all). One session with nothing applicable exits 1;
// --all restores what applies and fails only when a restore fails.
func (a *app) restoreRecovery(ctx context.Context, st *vault.Store, in recoverInput) error {
	var sessions []vault.Session
	if in.all {
		all, err := st.ListSessions(ctx)
		if err != nil {
			return err
		}
		for _, s := range all {
			if s.Recovery > 0 {
				sessions = append(sessions, s)
			}
		}
	} else {
		s, err := st.GetSessionByLabel(ctx, in.label)
		if err != nil {
			return fmt.Errorf("recover %q: %w", in.label, err)
		}
		sessions = []vault.Session{s}
	}
	r, err := a.refresher(ctx)
	if err != nil {
		return err
	}
	now := a.io.now()
	out := make([]restoredJSON, 0, len(sessions))
	failed, restored, stale := false, 0, 0
	for _, s := range sessions {
		j := restoredJSON{Label: s.Label}
		res, err := r.Recover(ctx, s.ID, vault.TriggerCLI)
		switch {
		case err == nil:
			restored++
			j.Restored, j.KeptAt, j.ExpiresAt = true, rfc3339(res.Recovery.CreatedAt), rfc3339(res.Session.ExpiresAt)
			j.RefreshToken = keptToken(res.Recovery.Tokens.RefreshToken, false)
			j.Stale = res.Session.Recovery
			if !in.asJSON {
				fmt.Fprintf(a.io.out, "restored the rotated refresh token kept at %s: %s now holds it (%s; access token %s)\n",
					res.Recovery.CreatedAt.Local().Format(time.DateTime), providers.SafeText(s.Label),
					providers.SafeText(providers.Mask(res.Recovery.Tokens.RefreshToken)), describeExpiry(res.Session, now))
			}
		case errors.Is(err, providers.ErrNothingToRecover):
			j.Stale = s.Recovery
			j.Error = fmt.Sprintf("nothing in recovery applies to %s's refresh token (%s)", s.Label, staleCount(s.Recovery))
			if !in.all {
				failed = true
				if !in.asJSON {
					fmt.Fprintf(a.io.err, "tokentop: %s\n", providers.SafeText(j.Error))
				}
			}
		default:
			failed = true
			j.Error = oneLine(err)
			if !in.asJSON {
				fmt.Fprintf(a.io.err, "tokentop: %s\n", providers.SafeText(j.Error))
			}
		}
		stale += j.Stale
		if !in.all || !errors.Is(err, providers.ErrNothingToRecover) { // --all lists what was restored or failed
			out = append(out, j)
		}
	}
	if in.asJSON {
		var err error
		if in.all {
			err = writeJSON(a.io.out, out)
		} else {
			err = writeJSON(a.io.out, out[0])
		}
		if err != nil {
			return err
		}
	} else if in.all && restored == 0 && !failed {
		fmt.Fprintf(a.io.out, "nothing in recovery applies to any session (%s)\n", staleCount(stale))
	}
	if failed {
		return exitError{exitFailed}
	}
	return nil
}

// staleCount says how many entries are left that do not apply.
func staleCount(n int) string {
	switch n {
	case 0:
		return "none kept"
	case 1:
		return "1 stale entry: see `tokentop recover`"
	}
	return fmt.Sprintf("%d stale entries: see `tokentop recover`", n)
}

// dropRecovery removes one entry: a stale one (an applicable entry holds the
// live refresh token, and is restored instead), after asking on a terminal.
func (a *app) dropRecovery(ctx context.Context, st *vault.Store, in recoverInput) error {
	entries, err := keptEntries(ctx, st)
	if err != nil {
		return err
	}
	e, ok := findKept(entries, in.drop)
	if !ok {
		return fmt.Errorf("recover --drop %q: no such recovery entry (`tokentop recover` lists them)", providers.SafeText(in.drop))
	}
	if e.status == keptApplies {
		return fmt.Errorf("recover --drop %q: it holds %s's live refresh token (the session's own is spent): restore it with `tokentop recover %s`",
			providers.SafeText(in.drop), e.session(), e.session())
	}
	if !in.yes {
		if a.io.tty == nil {
			return usagef("recover --drop %q: stdin is not a terminal; pass --yes to drop without asking", providers.SafeText(in.drop))
		}
		ans, err := a.promptLine(fmt.Sprintf("Drop %s, kept %s (%s, %s)? [y/N] ", e.describe(),
			stamp(e.rec.CreatedAt, a.io.now()), e.status, providers.SafeText(holds(e.rec.Tokens))))
		if err != nil {
			return err
		}
		if ans = strings.ToLower(ans); ans != "y" && ans != "yes" {
			fmt.Fprintln(a.io.err, "not dropped")
			return exitError{exitFailed}
		}
	}
	if err := st.DeleteRecovery(ctx, e.rec); err != nil {
		return err
	}
	fmt.Fprintf(a.io.out, "dropped %s\n", e.describe())
	return nil
}

// findKept finds the entry named by ref: a row id, or a recovery file by
// path or by name alone (see below).
func findKept(entries []keptEntry, ref string) (keptEntry, bool) {
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		for _, e := range entries {
			if e.rec.Path == "" && e.rec.ID == id {
				return e, true
			}
		}
		return keptEntry{}, false
	}
	// A bare name, as `recover` lists it: the vault's recovery files all sit
	// in one folder (beside a SQLite vault, in the data folder for a
	// PostgreSQL one), so the name alone picks one.
	match := func(path string) bool { return filepath.Base(path) == ref }
	if strings.ContainsRune(ref, filepath.Separator) {
		want, err := filepath.Abs(ref)
		if err != nil {
			return keptEntry{}, false
		}
		match = func(path string) bool { got, err := filepath.Abs(path); return err == nil && got == want }
	}
	for _, e := range entries {
		if e.rec.Path != "" && match(e.rec.Path) {
			return e, true
		}
	}
	return keptEntry{}, false
}

// printRecoveryHint is show's line about entries waiting for the session.
func printRecoveryHint(ctx context.Context, w io.Writer, st *vault.Store, s vault.Session) {
	if s.Recovery == 0 {
		return
	}
	if rec, err := st.PendingRecovery(ctx, s); err == nil && rec != nil {
		row(w, "recovery", fmt.Sprintf("1 rotated token set waiting, kept %s — run `tokentop recover %s`",
			rec.CreatedAt.Local().Format(time.DateTime), s.Label))
		if s.Recovery > 1 {
			row(w, "", staleCount(s.Recovery-1))
		}
		return
	}
	row(w, "recovery", staleCount(s.Recovery)+" (none applies to its refresh token)")
}
