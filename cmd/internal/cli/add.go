package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/vault"
)

// addInput is what `tokentop add` needs; secrets are never flags.
type addInput struct {
	provider      string
	label         string
	baseURL       string
	sub           string
	apiVersion    string
	loginResponse string // FILE or "-"
	replace       bool   // replace the tokens of a session with this label
}

// defaultPathStackURL is PathStack's production API.
const defaultPathStackURL = "https://api.pathstack.io"

func (a *app) addCommand() *cobra.Command {
	var in addInput
	cmd := &cobra.Command{
		Use:   "add pathstack|galileo --label L [--base-url URL] [--sub SUB]",
		Short: "Add a session (tokens prompted for, or two lines on stdin)",
		Long: `Add a session. Secrets are never taken from the command line: on a terminal
they are prompted for without echo; otherwise stdin gives two lines, the access
token and then the refresh token. --login-response takes a PathStack /token or
/refresh response body instead and fills token, expiry and sub from it.`,
		Example: `  tokentop add pathstack --label prod --sub 8c1e5b9e-1f0a-4c59-9a57-2f4f3e7d1a01
  printf '%s\n%s\n' "$ACCESS" "$REFRESH" | tokentop add galileo --label acme --base-url https://api.acme.rungalileo.io
  tokentop add pathstack --label prod --login-response token.json
  tokentop add galileo --label acme --base-url https://api.acme.rungalileo.io --replace   # new tokens, same session`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in.provider = args[0]
			return a.add(cmd, in)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.label, "label", "", "unique name of the session (required)")
	f.StringVar(&in.baseURL, "base-url", "", "API base URL (PathStack default "+defaultPathStackURL+"; Galileo: required)")
	f.StringVar(&in.sub, "sub", "", "PathStack user id (uuid) sent with every refresh")
	f.StringVar(&in.apiVersion, "api-version", vault.DefaultPathStackAPIVersion, "PathStack x-api-version header")
	bindEnv(f, "api-version", envAPIVersion)
	f.StringVar(&in.loginResponse, "login-response", "", "read tokens from a PathStack /token or /refresh response body (FILE or -)")
	f.BoolVar(&in.replace, "replace", false, "replace the session with this label (same provider; keeps its history), e.g. after it needs login")
	return cmd
}

func (a *app) add(cmd *cobra.Command, in addInput) error {
	sess, err := a.sessionFromInput(in)
	if err != nil {
		return err
	}
	st, err := a.createVault(cmd.Context())
	if err != nil {
		return err
	}
	if in.replace {
		if err := refuseOtherProvider(cmd.Context(), st, sess.Label, sess.Provider); err != nil {
			return err
		}
	}
	if err := st.PutSession(cmd.Context(), &sess, in.replace); err != nil {
		return fmt.Errorf("add %q: %w", sess.Label, err)
	}
	fmt.Fprintf(a.io.out, "added %s session %q (%s)\n", sess.Provider, sess.Label, describeExpiry(sess, a.io.now()))
	return nil
}

// sessionFromInput checks the flags and reads the secrets, before the vault
// is touched, so that bad input never opens (or creates) it.
func (a *app) sessionFromInput(in addInput) (vault.Session, error) {
	sess := vault.Session{Provider: in.provider, Label: in.label, BaseURL: in.baseURL, Sub: in.sub}
	switch in.provider {
	case vault.ProviderPathStack:
		sess.APIVersion = in.apiVersion
		if sess.BaseURL == "" {
			sess.BaseURL = defaultPathStackURL
		}
	case vault.ProviderGalileo:
		if sess.BaseURL == "" {
			return sess, usagef("galileo needs --base-url (the tenant's API, e.g. https://api.acme.rungalileo.io)")
		}
		if in.sub != "" || in.loginResponse != "" {
			return sess, usagef("--sub and --login-response are for pathstack sessions")
		}
	default:
		return sess, usagef("unknown provider %q (want pathstack or galileo)", in.provider)
	}
	if in.label == "" {
		return sess, usagef("--label is required")
	}
	if in.loginResponse != "" {
		if err := a.fillFromLoginResponse(&sess, in.loginResponse); err != nil {
			return sess, err
		}
	} else {
		if sess.Provider == vault.ProviderPathStack && sess.Sub == "" {
			return sess, usagef("pathstack needs --sub (the user id that /refresh requires)")
		}
		toks, err := a.secrets("access token", "refresh token")
		if err != nil {
			return sess, err
		}
		sess.AccessToken, sess.RefreshToken = toks[0], toks[1]
	}
	sess.TokenType = firstNonEmpty(sess.TokenType, "Bearer")
	return sess, nil
}

// loginResponse is PathStack's /token and /refresh 200 body.
type loginResponse struct {
	Data *struct {
		TokenType    string `json:"token_type"`
		ExpiresIn    *int64 `json:"expires_in"`
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		Sub          string `json:"sub"`
	} `json:"data"`
}

func (a *app) fillFromLoginResponse(sess *vault.Session, src string) error {
	var r io.Reader = a.io.in
	if src != "-" {
		f, err := os.Open(src)
		if err != nil {
			return fmt.Errorf("read login response: %w", err)
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, 4<<20))
	if err != nil {
		return fmt.Errorf("read login response: %w", err)
	}
	var lr loginResponse
	if err := json.Unmarshal(body, &lr); err != nil {
		return fmt.Errorf("login response is not JSON: %v", jsonErrorNoInput(err))
	}
	d := lr.Data
	switch {
	case d == nil:
		return errors.New(`login response has no "data" object (want a PathStack /token or /refresh 200 body)`)
	case d.AccessToken == "":
		return errors.New("login response has no data.access_token")
	case d.RefreshToken == "":
		return errors.New("login response has no data.refresh_token (a /refresh body without rotation: add with tokens on stdin instead)")
	}
	if sess.Sub != "" && d.Sub != "" && sess.Sub != d.Sub {
		return usagef("--sub %s differs from the response's data.sub %s", sess.Sub, d.Sub)
	}
	sess.Sub = firstNonEmpty(sess.Sub, d.Sub)
	if sess.Sub == "" {
		return usagef("login response has no data.sub: give --sub")
	}
	sess.AccessToken, sess.RefreshToken, sess.TokenType = d.AccessToken, d.RefreshToken, d.TokenType
	if d.ExpiresIn != nil {
		// As the PathStack client reads it: negative is refused, a huge
		// value is capped at ten years (time.Duration would overflow into
		// an expiry in the past).
		if *d.ExpiresIn < 0 {
			return errors.New("login response has a negative data.expires_in")
		}
		now := a.io.now()
		sess.IssuedAt = now
		sess.ExpiresAt = now.Add(time.Duration(min(*d.ExpiresIn, maxLoginExpiresIn)) * time.Second)
	}
	return nil
}

// maxLoginExpiresIn caps a login response's expires_in, in seconds: ten years.
const maxLoginExpiresIn = 10 * 365 * 24 * 60 * 60

// jsonErrorNoInput keeps json's position but never echoes the input (which
// may hold a token).
func jsonErrorNoInput(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf("field %q has the wrong type", te.Field)
	}
	return strings.SplitN(err.Error(), ":", 2)[0]
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
