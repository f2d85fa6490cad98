package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

// credentialHelperInput is what `tokentop credential-helper get` needs.
type credentialHelperInput struct {
	label    string // chosen by --label; otherwise the URI picks the session
	minValid time.Duration
}

// helperRequest and helperResponse are the credential-helper protocol's
// messages (Bazel's --credential_helper, EngFlow's credential-helper spec).
type helperRequest struct {
	URI string `json:"uri"`
}

type helperResponse struct {
	Headers map[string][]string `json:"headers"`
	Expires *string             `json:"expires,omitempty"`
}

func (a *app) credentialHelperCommand() *cobra.Command {
	var in credentialHelperInput
	cmd := &cobra.Command{
		Use:   "credential-helper get",
		Short: "Answer credential-helper requests (Bazel and others) with a fresh token",
		Long: `Speak the credential-helper protocol of Bazel's --credential_helper: read
{"uri": "https://host/path"} on stdin and print the headers to send,
{"headers": {"Authorization": ["Bearer …"]}, "expires": "…"} (PathStack
sessions add X-Api-Version).

The session is the one whose base URL has the URI's scheme, host and port and
the longest path that is a prefix of the URI's; --label chooses one instead.
Its token is refreshed first when less than --min-valid is left. Bazel runs
the helper with "get" only: put other flags in a wrapper script.`,
		Example: `  echo '{"uri": "https://api.pathstack.io/v1/me"}' | tokentop credential-helper get

  # .bazelrc
  common --credential_helper=*.example.com=%workspace%/tools/tokentop-helper
  # tools/tokentop-helper (executable)
  #!/bin/sh
  exec tokentop credential-helper --label prod "$@"`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef("credential-helper takes one command, get (got %d arguments)", len(args))
			}
			if args[0] != "get" {
				return usagef("credential-helper: unknown command %q (only get is supported)", providers.SafeText(args[0]))
			}
			return nil
		},
		ValidArgs: []cobra.Completion{"get"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.credentialHelperGet(cmd, in)
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.label, "label", "", "the session to answer with, whatever the URI")
	f.DurationVar(&in.minValid, "min-valid", 60*time.Second, "refresh first when less than this is left")
	bindEnv(f, "min-valid", envMinValid)
	return cmd
}

// credentialHelperGet answers one get request.
func (a *app) credentialHelperGet(cmd *cobra.Command, in credentialHelperInput) error {
	// One JSON value, not all of stdin: a caller that keeps stdin open
	// still gets its answer.
	var req helperRequest
	if err := json.NewDecoder(io.LimitReader(a.io.in, 1<<20)).Decode(&req); err != nil {
		why := jsonErrorNoInput(err)
		if errors.Is(err, io.EOF) {
			why = "stdin is empty"
		}
		return usagef("credential-helper: the request on stdin is not JSON like {\"uri\": \"https://…\"}: %s", why)
	}
	var (
		s   vault.Session
		err error
	)
	if in.label != "" {
		s, err = a.freshSession(cmd, "credential-helper", in.label, in.minValid)
	} else {
		s, err = a.sessionForURI(cmd, req.URI, in.minValid)
	}
	if err != nil {
		return err
	}
	resp := helperResponse{Headers: map[string][]string{}, Expires: rfc3339(s.ExpiresAt)}
	for _, h := range authHeaders(s) {
		resp.Headers[http.CanonicalHeaderKey(h.name)] = []string{h.value}
	}
	return writeJSON(a.io.out, resp)
}

// sessionForURI picks the session whose base URL matches uri (scheme, host
// and port; the longest path prefix) and makes its token fresh.
func (a *app) sessionForURI(cmd *cobra.Command, uri string, minValid time.Duration) (vault.Session, error) {
	if minValid < 0 {
		return vault.Session{}, usagef("%s: --min-valid must not be negative", a.flagSource(cmd, "min-valid"))
	}
	u, err := url.Parse(uri)
	if uri == "" || err != nil || u.Scheme == "" || u.Host == "" {
		return vault.Session{}, usagef("credential-helper: the request's uri %q is not an absolute URL", providers.SafeText(uri))
	}
	st, err := a.openVault(cmd.Context())
	if err != nil {
		return vault.Session{}, err
	}
	sessions, err := st.ListSessions(cmd.Context()) // no tokens unsealed
	if err != nil {
		return vault.Session{}, err
	}
	var best []vault.Session
	bestLen := -1
	for _, s := range sessions {
		n, ok := baseURLMatch(s.BaseURL, u)
		switch {
		case !ok || n < bestLen:
		case n > bestLen:
			best, bestLen = []vault.Session{s}, n
		default:
			best = append(best, s)
		}
	}
	switch len(best) {
	case 0:
		return vault.Session{}, fmt.Errorf("credential-helper: no session's base URL matches %s://%s%s (choose one with --label)",
			u.Scheme, u.Host, providers.SafeText(u.EscapedPath()))
	case 1:
	default:
		labels := make([]string, len(best))
		for i, s := range best {
			labels[i] = fmt.Sprintf("%q", s.Label)
		}
		return vault.Session{}, fmt.Errorf("credential-helper: sessions %s all match %s://%s%s equally well: choose one with --label",
			providers.SafeText(strings.Join(labels, ", ")), u.Scheme, u.Host, providers.SafeText(u.EscapedPath()))
	}
	s, err := st.GetSession(cmd.Context(), best[0].ID)
	if err != nil {
		return vault.Session{}, fmt.Errorf("credential-helper %q: %w", best[0].Label, err)
	}
	return a.ensureFresh(cmd, "credential-helper", s, minValid)
}

// baseURLMatch reports whether a session's base URL covers u: same scheme,
// host and port (default ports made explicit), and a path that is u's or a
// whole-segment prefix of it. n is the length of the base path, so that the
// longest match wins.
func baseURLMatch(base string, u *url.URL) (n int, ok bool) {
	b, err := url.Parse(base)
	if err != nil || !strings.EqualFold(b.Scheme, u.Scheme) || hostPort(b) != hostPort(u) {
		return 0, false
	}
	bp := strings.TrimSuffix(b.EscapedPath(), "/")
	up := u.EscapedPath()
	if bp != "" && up != bp && !strings.HasPrefix(up, bp+"/") {
		return 0, false
	}
	return len(bp), true
}

// hostPort is u's host and port, lower case, with the scheme's default port
// when none is given.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
