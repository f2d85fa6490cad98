package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// tokenJSON is one decoded token in `show --json` and `decode --json`.
type tokenJSON struct {
	Opaque    bool           `json:"opaque"`
	Header    map[string]any `json:"header"`
	Claims    map[string]any `json:"claims"`
	IssuedAt  *string        `json:"issued_at"`
	NotBefore *string        `json:"not_before"`
	ExpiresAt *string        `json:"expires_at"`
	AlgNone   bool           `json:"alg_none,omitempty"`
	Verified  bool           `json:"verified"` // always false: claims are decoded, not verified
	Raw       string         `json:"raw,omitempty"`
}

func newTokenJSON(t *vault.Token, fallbackExp time.Time, reveal bool) *tokenJSON {
	out := &tokenJSON{
		Opaque: t.Opaque, Header: t.Header, Claims: t.Claims, AlgNone: t.Unsigned,
		IssuedAt: rfc3339(t.IssuedAt), NotBefore: rfc3339(t.NotBefore), ExpiresAt: rfc3339(t.ExpiresAt),
	}
	if out.ExpiresAt == nil {
		out.ExpiresAt = rfc3339(fallbackExp)
	}
	if reveal {
		out.Raw = t.Raw
	}
	return out
}

func (a *app) showCommand() *cobra.Command {
	var asJSON, reveal bool
	cmd := &cobra.Command{
		Use:   "show LABEL",
		Short: "Show a session with both tokens decoded",
		Example: `  tokentop show prod
  tokentop show prod --json | jq .access_token.claims
  tokentop show prod --reveal   # include the raw tokens`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: a.completeLabels(false),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, s, err := a.sessionByLabel(cmd.Context(), "show", args[0])
			if err != nil {
				return err
			}
			now := a.io.now()
			out := newSessionJSON(s, now)
			at, aerr := vault.DecodeToken(s.AccessToken)
			rt, rerr := vault.DecodeToken(s.RefreshToken)
			if aerr == nil {
				out.Access = newTokenJSON(at, s.ExpiresAt, reveal)
			}
			if rerr == nil {
				out.Refresh = newTokenJSON(rt, s.RefreshExpiresAt, reveal)
			}
			if asJSON {
				return writeJSON(a.io.out, out)
			}
			w := a.io.out
			fmt.Fprintf(w, "%s · %s · %s · %s\n", providers.SafeText(s.Label), s.Provider, s.State(now), describeExpiry(s, now))
			row(w, "base url", s.BaseURL)
			if s.Provider == vault.ProviderPathStack {
				row(w, "sub", s.Sub)
				row(w, "api version", s.APIVersion)
			}
			row(w, "token type", s.TokenType)
			row(w, "created", stamp(s.CreatedAt, now))
			row(w, "last refresh", stamp(s.LastRefreshAt, now)+statusSuffix(s.LastStatus))
			if s.LoginRemembered != "" {
				row(w, "login", "remembered ("+describeLogin(s.LoginRemembered, s.LoginUser)+")")
			}
			printRecoveryHint(cmd.Context(), w, st, s)
			fmt.Fprintln(w)
			printToken(w, "access token", at, aerr, now, reveal)
			fmt.Fprintln(w)
			printToken(w, "refresh token", rt, rerr, now, reveal)
			return nil
		},
	}
	jsonFlag(cmd, &asJSON, "print JSON")
	cmd.Flags().BoolVar(&reveal, "reveal", false, "include the raw tokens")
	return cmd
}

func statusSuffix(status string) string {
	if status == "" {
		return ""
	}
	return " (" + status + ")"
}

func row(w io.Writer, k, v string) {
	if v == "" {
		v = "-"
	}
	fmt.Fprintf(w, "  %-13s %s\n", k, providers.SafeText(v))
}

func stamp(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05") + " (" + relative(t, now) + ")"
}

// printToken writes one decoded token for humans.
func printToken(w io.Writer, name string, t *vault.Token, err error, now time.Time, reveal bool) {
	switch {
	case err != nil:
		fmt.Fprintf(w, "%s: cannot decode: %v\n", name, err)
		return
	case t.Opaque:
		fmt.Fprintf(w, "%s: opaque (not a JWT, %d chars)\n", name, len(t.Raw))
	default:
		flag := ""
		if t.Unsigned {
			flag = " · alg none: UNSIGNED"
		}
		fmt.Fprintf(w, "%s (JWT, claims unverified%s)\n", name, flag)
		row(w, "header", compactJSON(t.Header))
		row(w, "issued", stamp(t.IssuedAt, now))
		if !t.NotBefore.IsZero() {
			nb := stamp(t.NotBefore, now)
			if t.NotBefore.After(now) {
				nb += " · NOT YET VALID"
			}
			row(w, "not before", nb)
		}
		row(w, "expires", stamp(t.ExpiresAt, now))
		if f := t.FractionLeft(now); f >= 0 {
			row(w, "left", fmt.Sprintf("%.0f%% of %s", f*100, humanDuration(t.Lifetime())))
		}
		b, _ := json.MarshalIndent(t.Claims, "  ", "  ")
		fmt.Fprintf(w, "  claims        %s\n", providers.SafeJSON(b))
	}
	if reveal {
		row(w, "raw", t.Raw)
	}
}

func compactJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	return string(providers.SafeJSON(b))
}

func (a *app) decodeCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "decode [TOKEN|-]",
		Short: "Decode any token (JWT header and claims, unverified)",
		Long: `Decode a token: a JWT's header and claims (not verified), or "opaque".
The token may come as pasted from a request: "Bearer eyJ…" or
"Authorization: Bearer eyJ…".`,
		Example: `  tokentop decode eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln
  tokentop decode "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
  pbpaste | tokentop decode --json`,
		Args: cobra.ArbitraryArgs, // "Bearer eyJ…" unquoted is two
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				args = []string{strings.Join(args, " ")}
			}
			raw, err := a.tokenArg(args)
			if err != nil {
				return err
			}
			t, err := vault.DecodeToken(stripBearer(raw))
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.io.out, newTokenJSON(t, time.Time{}, false))
			}
			printToken(a.io.out, "token", t, nil, a.io.now(), false)
			return nil
		},
	}
	jsonFlag(cmd, &asJSON, "print JSON")
	return cmd
}

// stripBearer takes the token out of what is often pasted instead:
// "Bearer eyJ…", "Authorization: Bearer eyJ…", with quotes around it.
func stripBearer(s string) string {
	s = strings.Trim(strings.TrimSpace(s), `"'`)
	if name, rest, ok := strings.Cut(s, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "authorization") {
		s = strings.TrimSpace(rest)
	}
	if scheme, rest, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "bearer") {
		s = strings.TrimSpace(rest)
	}
	return s
}

// tokenArg takes the token from the argument, or stdin for "-" or none.
func (a *app) tokenArg(args []string) (string, error) {
	if len(args) == 1 && args[0] != "-" {
		return strings.TrimSpace(args[0]), nil
	}
	if len(args) == 0 && a.io.tty != nil {
		return "", usagef("give a token as argument or on stdin")
	}
	b, err := io.ReadAll(io.LimitReader(a.io.in, 16<<20))
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
