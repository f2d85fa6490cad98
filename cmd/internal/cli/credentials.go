package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/tokentop/tokentop/vault"
)

// The variables that carry a session's credentials into a process: set by
// tokentop exec, printed by tokentop token --format env.
const (
	envAccessToken   = "TOKENTOP_ACCESS_TOKEN" // renamed by exec --env
	envAuthorization = "TOKENTOP_AUTHORIZATION"
	envExpiresAt     = "TOKENTOP_EXPIRES_AT"
	envPathStackVer  = "PATHSTACK_API_VERSION"
)

// tokenFormats are the shapes of tokentop token's output.
var tokenFormats = []string{"raw", "header", "json", "env"}

// credential is one header to send, in the order it is printed.
type credential struct{ name, value string }

// authHeaders are the headers a request with s's access token sends: the
// Authorization header, and PathStack's x-api-version.
func authHeaders(s vault.Session) []credential {
	h := []credential{{"Authorization", "Bearer " + s.AccessToken}}
	if s.Provider == vault.ProviderPathStack {
		h = append(h, credential{"x-api-version", apiVersion(s)})
	}
	return h
}

// apiVersion is the x-api-version a PathStack session sends.
func apiVersion(s vault.Session) string {
	if s.APIVersion == "" {
		return vault.DefaultPathStackAPIVersion
	}
	return s.APIVersion
}

// tokenVars are the environment variables that carry s's credentials, the
// access token under name.
func tokenVars(s vault.Session, name string) []credential {
	v := []credential{{name, s.AccessToken}, {envAuthorization, "Bearer " + s.AccessToken}}
	if !s.ExpiresAt.IsZero() {
		v = append(v, credential{envExpiresAt, s.ExpiresAt.UTC().Format(time.RFC3339)})
	}
	if s.Provider == vault.ProviderPathStack {
		v = append(v, credential{envPathStackVer, apiVersion(s)})
	}
	return v
}

// tokenJSONOut is tokentop token --format json.
type tokenJSONOut struct {
	AccessToken string            `json:"access_token"`
	TokenType   string            `json:"token_type"`
	ExpiresAt   *string           `json:"expires_at"`
	Headers     map[string]string `json:"headers"`
}

// writeToken prints s's access token in format (see tokenFormats).
func writeToken(w io.Writer, s vault.Session, format string) error {
	switch format {
	case "header":
		_, err := fmt.Fprintf(w, "Authorization: Bearer %s\n", s.AccessToken)
		return err
	case "json":
		out := tokenJSONOut{AccessToken: s.AccessToken, TokenType: firstNonEmpty(s.TokenType, "Bearer"),
			ExpiresAt: rfc3339(s.ExpiresAt), Headers: map[string]string{}}
		for _, h := range authHeaders(s) {
			out.Headers[h.name] = h.value
		}
		return writeJSON(w, out)
	case "env":
		var b strings.Builder
		for _, v := range tokenVars(s, envAccessToken) {
			fmt.Fprintf(&b, "export %s=%s\n", v.name, shellQuote(v.value))
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		_, err := fmt.Fprintln(w, s.AccessToken)
		return err
	}
}

// shellQuote quotes s for a POSIX shell: in single quotes, each quote in s
// closed, escaped and reopened.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
