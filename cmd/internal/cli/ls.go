package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// sessionJSON is one session in `ls --json` (and the head of `show --json`).
type sessionJSON struct {
	Label            string      `json:"label"`
	Provider         string      `json:"provider"`
	BaseURL          string      `json:"base_url"`
	APIVersion       string      `json:"api_version,omitempty"`
	Sub              string      `json:"sub"`
	State            vault.State `json:"state"`
	ExpiresAt        *string     `json:"expires_at"`
	RefreshExpiresAt *string     `json:"refresh_expires_at"`
	LastRefreshAt    *string     `json:"last_refresh_at"`
	LastStatus       string      `json:"last_status"`
	CreatedAt        *string     `json:"created_at"`
	UpdatedAt        *string     `json:"updated_at"`
	Access           *tokenJSON  `json:"access_token,omitempty"`
	Refresh          *tokenJSON  `json:"refresh_token,omitempty"`
	Recovery         int         `json:"recovery"`                   // token sets kept in recovery for it (see `tokentop recover`)
	LoginRemembered  string      `json:"login_remembered,omitempty"` // "password" or "api_key": kept for automatic re-login
	LoginUser        string      `json:"login_user,omitempty"`       // the remembered password login's username
}

func newSessionJSON(s vault.Session, now time.Time) sessionJSON {
	return sessionJSON{
		Label: s.Label, Provider: s.Provider, BaseURL: s.BaseURL, APIVersion: s.APIVersion, Sub: s.Sub,
		State: s.State(now), ExpiresAt: rfc3339(s.ExpiresAt), RefreshExpiresAt: rfc3339(s.RefreshExpiresAt),
		LastRefreshAt: rfc3339(s.LastRefreshAt), LastStatus: s.LastStatus,
		CreatedAt: rfc3339(s.CreatedAt), UpdatedAt: rfc3339(s.UpdatedAt), Recovery: s.Recovery,
		LoginRemembered: s.LoginRemembered, LoginUser: s.LoginUser,
	}
}

func (a *app) lsCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:        "ls",
		Short:      "List sessions with their state and time left",
		Example:    "  tokentop ls\n  tokentop ls --json | jq -r '.[] | select(.state==\"expired\") | .label'",
		Args:       cobra.NoArgs,
		SuggestFor: []string{"list"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := a.openVault(cmd.Context())
			if err != nil {
				return err
			}
			sessions, err := st.ListSessions(cmd.Context())
			if err != nil {
				return err
			}
			now := a.io.now()
			if asJSON {
				out := make([]sessionJSON, 0, len(sessions))
				for _, s := range sessions {
					out = append(out, newSessionJSON(s, now))
				}
				return writeJSON(a.io.out, out)
			}
			if len(sessions) == 0 {
				fmt.Fprintln(a.io.out, "no sessions yet: add one with `tokentop add` or `tokentop login pathstack`, or try `tokentop demo`")
				return nil
			}
			rows := make([][lsColumns]string, 0, len(sessions)+1)
			rows = append(rows, [lsColumns]string{"LABEL", "PROVIDER", "STATE", "LEFT", "LAST REFRESH"})
			for _, s := range sessions {
				last := "-"
				if !s.LastRefreshAt.IsZero() {
					last = relative(s.LastRefreshAt, now)
				}
				if s.LastStatus != "" && s.LastStatus != "ok" {
					last = s.LastStatus
				}
				state := string(s.State(now))
				if s.Recovery > 0 { // tokens kept in recovery: `tokentop recover`
					state += " ⤺ recovery"
				}
				rows = append(rows, [lsColumns]string{s.Label, s.Provider, state, timeLeft(s, now), last})
			}
			_, err = a.io.out.Write(appendTable(nil, rows))
			return err
		},
	}
	jsonFlag(cmd, &asJSON, "print JSON")
	return cmd
}

// lsColumns is the number of columns of ls.
const lsColumns = 5

// appendTable lays rows out as text/tabwriter did for ls (padding 2, spaces,
// widths in runes, the last column unpadded) in one buffer: tabwriter took
// a fifth of a 10,000-session ls, cell by cell.
func appendTable(b []byte, rows [][lsColumns]string) []byte {
	var widths [lsColumns - 1]int
	size := 0
	for _, r := range rows {
		for i, c := range r {
			size += len(c)
			if i < len(widths) {
				widths[i] = max(widths[i], utf8.RuneCountInString(c))
			}
		}
	}
	pad := 0
	for _, w := range widths {
		pad += w + 2
	}
	if b == nil {
		b = make([]byte, 0, size+len(rows)*(pad+1))
	}
	for _, r := range rows {
		for i, c := range r[:len(widths)] {
			b = append(b, c...)
			for n := widths[i] + 2 - utf8.RuneCountInString(c); n > 0; n-- {
				b = append(b, ' ')
			}
		}
		b = append(append(b, r[len(widths)]...), '\n')
	}
	return b
}

// jsonFlag adds --json (env TOKENTOP_JSON) to cmd.
func jsonFlag(cmd *cobra.Command, v *bool, usage string) {
	cmd.Flags().BoolVar(v, "json", false, usage)
	bindEnv(cmd.Flags(), "json", envJSON)
}

// writeJSON writes v as indented JSON. Control and bidi characters that
// encoding/json leaves raw (DEL, C1, U+202E…) are escaped (providers.SafeJSON):
// a hostile claim or server text cannot reach a terminal through --json.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(providers.SafeJSON(buf.Bytes()))
	return err
}
