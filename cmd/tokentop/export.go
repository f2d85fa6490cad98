package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/vault"
)

// exportFormat versions the export file.
const exportFormat = 1

// exportFile is what `export` writes and `import` reads.
type exportFile struct {
	Format     int             `json:"tokentop_export"`
	ExportedAt string          `json:"exported_at"`
	Secrets    bool            `json:"with_secrets"`
	Sessions   []exportSession `json:"sessions"`
}

type exportSession struct {
	Label            string  `json:"label"`
	Provider         string  `json:"provider"`
	BaseURL          string  `json:"base_url"`
	APIVersion       string  `json:"api_version,omitempty"`
	Sub              string  `json:"sub,omitempty"`
	TokenType        string  `json:"token_type,omitempty"`
	IssuedAt         *string `json:"issued_at"`
	ExpiresAt        *string `json:"expires_at"`
	RefreshExpiresAt *string `json:"refresh_expires_at"`
	AccessToken      string  `json:"access_token,omitempty"`
	RefreshToken     string  `json:"refresh_token,omitempty"`
}

func (a *app) exportCommand() *cobra.Command {
	var withSecrets bool
	cmd := &cobra.Command{
		Use:   "export [--with-secrets]",
		Short: "Write sessions as JSON to stdout (no tokens unless --with-secrets)",
		Example: `  tokentop export > sessions.json                  # labels, URLs, expiry: no tokens
  tokentop export --with-secrets > backup.json       # everything: guard this file`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			list, err := st.ListSessions(cmd.Context())
			if err != nil {
				return err
			}
			out := exportFile{Format: exportFormat, ExportedAt: a.io.now().UTC().Format(time.RFC3339), Secrets: withSecrets, Sessions: []exportSession{}}
			for _, s := range list {
				if withSecrets { // listing never unseals; fetch the tokens only when asked
					if s, err = st.GetSession(cmd.Context(), s.ID); err != nil {
						return fmt.Errorf("export %q: %w", s.Label, err)
					}
				}
				out.Sessions = append(out.Sessions, toExport(s, withSecrets))
			}
			return writeJSON(a.io.out, out)
		},
	}
	cmd.Flags().BoolVar(&withSecrets, "with-secrets", false, "include access and refresh tokens in plaintext")
	return cmd
}

func toExport(s vault.Session, withSecrets bool) exportSession {
	e := exportSession{
		Label: s.Label, Provider: s.Provider, BaseURL: s.BaseURL, APIVersion: s.APIVersion, Sub: s.Sub,
		TokenType: s.TokenType, IssuedAt: rfc3339(s.IssuedAt), ExpiresAt: rfc3339(s.ExpiresAt),
		RefreshExpiresAt: rfc3339(s.RefreshExpiresAt),
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
		Example: `  tokentop import backup.json
  tokentop import --replace - < backup.json   # overwrite sessions with the same label`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sessions, err := a.readImport(args[0])
			if err != nil {
				return err
			}
			st, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			if err := st.ImportSessions(cmd.Context(), sessions, replace); err != nil {
				return fmt.Errorf("nothing imported: %w", err)
			}
			fmt.Fprintf(a.io.out, "imported %d sessions\n", len(sessions))
			return nil
		},
	}
	cmd.Flags().BoolVar(&replace, "replace", false, "overwrite sessions whose label exists")
	return cmd
}

// readImport parses and checks the whole file before the vault is opened.
func (a *app) readImport(src string) ([]vault.Session, error) {
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
	if file.Format != exportFormat {
		return nil, fmt.Errorf("import: unsupported export format %d (want %d)", file.Format, exportFormat)
	}
	if len(file.Sessions) == 0 {
		return nil, errors.New("import: the file has no sessions")
	}
	out := make([]vault.Session, 0, len(file.Sessions))
	for i, e := range file.Sessions {
		s, err := fromExport(e)
		if err != nil {
			return nil, fmt.Errorf("import: record %d (%q): %w; nothing imported", i+1, e.Label, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func fromExport(e exportSession) (vault.Session, error) {
	s := vault.Session{
		Label: e.Label, Provider: e.Provider, BaseURL: e.BaseURL, APIVersion: e.APIVersion, Sub: e.Sub,
		TokenType: e.TokenType, AccessToken: e.AccessToken, RefreshToken: e.RefreshToken,
	}
	if e.AccessToken == "" || e.RefreshToken == "" {
		return s, errors.New("no tokens (was it exported without --with-secrets?)")
	}
	var err error
	for _, f := range []struct {
		name string
		in   *string
		out  *time.Time
	}{{"issued_at", e.IssuedAt, &s.IssuedAt}, {"expires_at", e.ExpiresAt, &s.ExpiresAt}, {"refresh_expires_at", e.RefreshExpiresAt, &s.RefreshExpiresAt}} {
		if f.in == nil {
			continue
		}
		if *f.out, err = time.Parse(time.RFC3339, *f.in); err != nil {
			return s, fmt.Errorf("%s is not an RFC 3339 time", f.name)
		}
	}
	return s, nil
}
