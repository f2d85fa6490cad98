package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// exportFormat versions the export file: 2 added needs_login, the refresh
// state and the schedule; import reads 1 and 2.
const (
	exportFormat      = 2
	exportFormatFirst = 1
)

// exportFile is what `export` writes and `import` reads.
type exportFile struct {
	Format     int             `json:"tokentop_export"`
	ExportedAt string          `json:"exported_at"`
	Secrets    bool            `json:"with_secrets"`
	Sessions   []exportSession `json:"sessions"`
}

type exportSession struct {
	Label            string          `json:"label"`
	Provider         string          `json:"provider"`
	BaseURL          string          `json:"base_url"`
	APIVersion       string          `json:"api_version,omitempty"`
	Sub              string          `json:"sub,omitempty"`
	TokenType        string          `json:"token_type,omitempty"`
	IssuedAt         *string         `json:"issued_at"`
	ExpiresAt        *string         `json:"expires_at"`
	RefreshExpiresAt *string         `json:"refresh_expires_at"`
	CreatedAt        *string         `json:"created_at,omitempty"`      // format 2
	LastRefreshAt    *string         `json:"last_refresh_at,omitempty"` // format 2
	LastStatus       string          `json:"last_status,omitempty"`     // format 2
	NeedsLogin       bool            `json:"needs_login,omitempty"`     // format 2
	Schedule         *exportSchedule `json:"schedule,omitempty"`        // format 2; none: not scheduled
	AccessToken      string          `json:"access_token,omitempty"`
	RefreshToken     string          `json:"refresh_token,omitempty"`
}

// exportSchedule is a session's schedule as `tokentop schedule` sets it;
// its run state (next due, failures, backoff) starts afresh on import.
type exportSchedule struct {
	Spec    string `json:"spec"` // "before-expiry", "before-expiry 2m", "every 30m"
	Enabled bool   `json:"enabled"`
}

// exportWarning is printed on stderr by export --with-secrets.
const exportWarning = `tokentop: warning: the export holds plaintext tokens: keep it private.
tokentop: a rotating refresh token can live in one place only: once this vault or a copy imported
tokentop: from the export refreshes a session, the other one's refresh token is dead.
`

func (a *app) exportCommand() *cobra.Command {
	var withSecrets bool
	var output string
	cmd := &cobra.Command{
		Use:   "export [--with-secrets] [-o FILE]",
		Short: "Write sessions and their schedules as JSON (no tokens unless --with-secrets)",
		Long: `Write every session (labels, URLs, expiry, state, schedule) as JSON, to stdout
or with -o to FILE, created 0600 and written whole (a temporary file renamed
into place). --with-secrets adds the access and refresh tokens in plaintext,
which "tokentop import" needs. A rotating refresh token can then live in one
place only: once either copy refreshes, the other copy's token is spent.`,
		Example: `  tokentop export > sessions.json                  # labels, URLs, expiry: no tokens
  tokentop export --with-secrets -o backup.json      # everything, in a 0600 file: guard it`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			out, err := a.export(cmd.Context(), st, withSecrets)
			if err != nil {
				return err
			}
			if withSecrets {
				fmt.Fprint(a.io.err, exportWarning)
			}
			if output == "" || output == "-" {
				return writeJSON(a.io.out, out)
			}
			var buf bytes.Buffer
			if err := writeJSON(&buf, out); err != nil {
				return err
			}
			if err := writeFilePrivate(output, buf.Bytes()); err != nil {
				return fmt.Errorf("export: %w", err)
			}
			what := "without tokens"
			if withSecrets {
				what = "with plaintext tokens"
			}
			fmt.Fprintf(a.io.out, "exported %d sessions %s to %s (mode 0600)\n", len(out.Sessions), what, output)
			return nil
		},
	}
	cmd.Flags().BoolVar(&withSecrets, "with-secrets", false, "include access and refresh tokens in plaintext")
	cmd.Flags().StringVarP(&output, "output", "o", "", "write to `FILE` (created 0600, replaced whole) instead of stdout")
	return cmd
}

// export reads every session, with its schedule, into an export.
func (a *app) export(ctx context.Context, st *vault.Store, withSecrets bool) (exportFile, error) {
	out := exportFile{Format: exportFormat, ExportedAt: a.io.now().UTC().Format(time.RFC3339), Secrets: withSecrets, Sessions: []exportSession{}}
	list, err := st.ListSessions(ctx)
	if err != nil {
		return out, err
	}
	schedules, err := st.ListSchedules(ctx)
	if err != nil {
		return out, err
	}
	bySession := make(map[int64]vault.Schedule, len(schedules))
	for _, sch := range schedules {
		bySession[sch.SessionID] = sch
	}
	for _, s := range list {
		if withSecrets { // listing never unseals; fetch the tokens only when asked
			full, err := st.GetSession(ctx, s.ID)
			if err != nil {
				return out, fmt.Errorf("export %q: %w", s.Label, err)
			}
			s = full
		}
		e := toExport(s, withSecrets)
		if sch, ok := bySession[s.ID]; ok {
			e.Schedule = &exportSchedule{Spec: providers.FormatScheduleSpec(sch), Enabled: sch.Enabled}
		}
		out.Sessions = append(out.Sessions, e)
	}
	return out, nil
}

// writeFilePrivate writes data to path whole: a temporary file beside it,
// created 0600 (never readable by others, not even for a moment), synced,
// then renamed over path.
func writeFilePrivate(path string, data []byte) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp-*") // 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	err = f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil { // the rename itself survives a crash
		_ = d.Sync()
		d.Close()
	}
	return nil
}

func toExport(s vault.Session, withSecrets bool) exportSession {
	e := exportSession{
		Label: s.Label, Provider: s.Provider, BaseURL: s.BaseURL, APIVersion: s.APIVersion, Sub: s.Sub,
		TokenType: s.TokenType, IssuedAt: rfc3339(s.IssuedAt), ExpiresAt: rfc3339(s.ExpiresAt),
		RefreshExpiresAt: rfc3339(s.RefreshExpiresAt), CreatedAt: rfc3339(s.CreatedAt),
		LastRefreshAt: rfc3339(s.LastRefreshAt), LastStatus: s.LastStatus, NeedsLogin: s.NeedsLogin,
	}
	if withSecrets {
		e.AccessToken, e.RefreshToken = s.AccessToken, s.RefreshToken
	}
	return e
}

func (a *app) importCommand() *cobra.Command {
	var replace bool
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Add sessions from an export made with --with-secrets (all or nothing)",
		Long: `Add the sessions of an export made with --with-secrets, all or nothing, with
their schedules and their needs_login state (older exports have neither).
Creates the vault when it does not exist.`,
		Example: `  tokentop import backup.json
  tokentop import --replace - < backup.json   # overwrite sessions with the same label`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			entries, err := a.readImport(args[0])
			if err != nil {
				return err
			}
			st, err := a.createVault(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.Import(cmd.Context(), entries, replace); err != nil {
				return fmt.Errorf("nothing imported: %w", err)
			}
			scheduled, needLogin := 0, 0
			for _, e := range entries {
				if e.Schedule != nil {
					scheduled++
				}
				if e.Session.NeedsLogin {
					needLogin++
				}
			}
			fmt.Fprintf(a.io.out, "imported %d sessions (%d scheduled, %d need login)\n", len(entries), scheduled, needLogin)
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "overwrite sessions whose label exists")
	return cmd
}

// readImport parses and checks the whole file before the vault is opened.
func (a *app) readImport(src string) ([]vault.ImportEntry, error) {
	var r io.Reader = a.io.in
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return nil, fmt.Errorf("import: %w", err)
		}
		defer f.Close()
		r = f
	}
	var file exportFile
	dec := json.NewDecoder(io.LimitReader(r, 256<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); err != nil {
		return nil, fmt.Errorf("import: not a tokentop export: %s", jsonErrorNoInput(err))
	}
	if file.Format < exportFormatFirst || file.Format > exportFormat {
		return nil, fmt.Errorf("import: unsupported export format %d (this tokentop reads %d to %d)", file.Format, exportFormatFirst, exportFormat)
	}
	if len(file.Sessions) == 0 {
		return nil, errors.New("import: the file has no sessions")
	}
	now := a.io.now()
	out := make([]vault.ImportEntry, 0, len(file.Sessions))
	for i, e := range file.Sessions {
		s, err := fromExport(e)
		if err != nil {
			return nil, fmt.Errorf("import: record %d (%q): %w; nothing imported", i+1, e.Label, err)
		}
		// Format 1 knew no schedules: leave a replaced session's own alone.
		entry := vault.ImportEntry{Session: s, DropSchedule: file.Format >= 2}
		if e.Schedule != nil {
			sch, err := providers.ParseScheduleSpec(e.Schedule.Spec)
			if err != nil {
				return nil, fmt.Errorf("import: record %d (%q): schedule: %w; nothing imported", i+1, e.Label, err)
			}
			sch.Enabled = e.Schedule.Enabled
			sch.NextDue = providers.NextDue(sch, s, now)
			entry.Schedule = &sch
		}
		out = append(out, entry)
	}
	return out, nil
}

func fromExport(e exportSession) (vault.Session, error) {
	s := vault.Session{
		Label: e.Label, Provider: e.Provider, BaseURL: e.BaseURL, APIVersion: e.APIVersion, Sub: e.Sub,
		TokenType: e.TokenType, AccessToken: e.AccessToken, RefreshToken: e.RefreshToken,
		LastStatus: e.LastStatus, NeedsLogin: e.NeedsLogin,
	}
	if e.AccessToken == "" || e.RefreshToken == "" {
		return s, errors.New("no tokens (was it exported without --with-secrets?)")
	}
	var err error
	for _, f := range []struct {
		name string
		in   *string
		out  *time.Time
	}{{"issued_at", e.IssuedAt, &s.IssuedAt}, {"expires_at", e.ExpiresAt, &s.ExpiresAt}, {"refresh_expires_at", e.RefreshExpiresAt, &s.RefreshExpiresAt},
		{"created_at", e.CreatedAt, &s.CreatedAt}, {"last_refresh_at", e.LastRefreshAt, &s.LastRefreshAt}} {
		if f.in == nil {
			continue
		}
		if *f.out, err = time.Parse(time.RFC3339, *f.in); err != nil {
			return s, fmt.Errorf("%s is not an RFC 3339 time", f.name)
		}
	}
	return s, nil
}
