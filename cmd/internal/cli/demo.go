package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

func (a *app) demoCommand() *cobra.Command {
	return annotate(&cobra.Command{
		Use:   "demo",
		Short: "Open the dashboard on fake local servers and a throwaway vault",
		Long: `Start fake PathStack and Galileo servers on 127.0.0.1, fill a throwaway vault
through real logins and refreshes against them, and open the dashboard on it.
The vault is removed on exit unless --vault is given. Nothing outside the
machine is contacted.

Sessions: demo-pathstack (valid), demo-expiring (a 90 s access token),
demo-galileo (valid), demo-revoked (its refresh token was revoked: 401),
demo-invalid (the server answers 422 with field errors), demo-down (nothing
listens at its URL). In the dashboard, l logs a session in again: the fake
servers' account is filled in.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if a.io.dashboard == nil {
				return a.execProgram(forDashboard)
			}
			// SIGINT, SIGTERM and SIGHUP cancel ctx (Main, handleSignals):
			// whenever one comes, the demo ends through the defers below,
			// its files removed.
			ctx := cmd.Context()
			a.demo = true
			if a.vaultPath == "" { // throwaway vault and key, removed on exit
				dir, err := os.MkdirTemp("", "tokentop-demo-")
				if err != nil {
					return err
				}
				defer a.removeDemoVault(dir)
				a.vaultPath = filepath.Join(dir, "vault.db")
				a.keyFile = filepath.Join(dir, "key")
			}
			ps, gl, err := startFakes("127.0.0.1:0", time.Hour)
			if err != nil {
				return err
			}
			defer ps.Close()
			defer gl.Close()
			// Before the fakes close: a refresh whose caller gave up still
			// gets its answer and saves it.
			defer a.finishRefreshes()
			if err := a.seedDemo(ctx, ps, gl); err != nil {
				if ctx.Err() != nil {
					return nil // stopped by a signal while setting up
				}
				return fmt.Errorf("demo: %w", err)
			}
			return a.openDashboard(ctx, demoLoginHint(ps, gl))
		},
	}, annotationDashboard)
}

// removeDemoVault closes the throwaway vault, then removes it and its key.
func (a *app) removeDemoVault(dir string) {
	_ = a.closeVault() // thrown away: nothing to report
	_ = os.RemoveAll(dir)
}

// demoLoginHint fills in the fakes' account in the dashboard's login form:
// its password is random per run, and without it demo-revoked (or any
// session after a 401) could never log in again.
func demoLoginHint(fakes ...*fake.Server) func(provider, baseURL string) (string, string) {
	return func(provider, baseURL string) (string, string) {
		for _, f := range fakes {
			if provider == f.Provider() && strings.TrimRight(baseURL, "/") == f.URL {
				return f.Username(), f.Password()
			}
		}
		return "", ""
	}
}

// demoLabels are the sessions the demo creates, in the order it creates them.
var demoLabels = []string{"demo-pathstack", "demo-expiring", "demo-galileo", "demo-revoked", "demo-invalid", "demo-down"}

// seedDemo fills the vault through real logins and refreshes against the fakes.
func (a *app) seedDemo(ctx context.Context, ps, gl *fake.Server) error {
	st, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	now := a.io.now
	for _, l := range demoLabels { // a reused --vault: start again from a clean slate
		if s, err := st.GetSessionByLabel(ctx, l); err == nil {
			if err := st.DeleteSession(ctx, s.ID); err != nil {
				return err
			}
		}
	}
	psURL, glURL := ps.URL, gl.URL

	// demo-pathstack: a real /token login.
	res, _, err := pathstack.New(a.httpClient(), now).Login(ctx, providers.LoginTarget{BaseURL: psURL},
		providers.Credentials{Method: providers.LoginPassword, Username: ps.Username(), Password: ps.Password()})
	if err != nil {
		return fmt.Errorf("log in to the fake PathStack: %w", err)
	}
	demo := res.Session(vault.ProviderPathStack, "demo-pathstack", psURL, vault.DefaultPathStackAPIVersion)
	if err := st.CreateSession(ctx, &demo); err != nil {
		return err
	}

	mint := func(srv *fake.Server, ttl time.Duration, s vault.Session) (vault.Session, error) {
		t, err := srv.Mint(ttl)
		if err != nil {
			return s, err
		}
		s.AccessToken, s.RefreshToken = t.AccessToken, t.RefreshToken
		if s.Provider == vault.ProviderPathStack && s.Sub == "" {
			s.Sub = t.Sub
		}
		return s, st.CreateSession(ctx, &s)
	}
	ref, err := a.refresher(ctx)
	if err != nil {
		return err
	}
	refreshNow := func(s vault.Session) error {
		rep, err := ref.Refresh(ctx, s.ID, vault.TriggerCLI)
		if err != nil {
			return err
		}
		if rep.Outcome != providers.OutcomeOK {
			return fmt.Errorf("refresh %s: %v", s.Label, rep.Err)
		}
		return nil
	}
	pathstackSession := func(label string) vault.Session {
		return vault.Session{Provider: vault.ProviderPathStack, Label: label, BaseURL: psURL, APIVersion: vault.DefaultPathStackAPIVersion, TokenType: "Bearer"}
	}

	// demo-expiring: a family whose access tokens live 90 s, refreshed once for real.
	s, err := mint(ps, 90*time.Second, pathstackSession("demo-expiring"))
	if err == nil {
		err = refreshNow(s)
	}
	if err != nil {
		return err
	}
	// demo-galileo: a Galileo session, refreshed once (the refresh token rotates by cookie).
	s, err = mint(gl, 0, vault.Session{Provider: vault.ProviderGalileo, Label: "demo-galileo", BaseURL: glURL, TokenType: "bearer"})
	if err == nil {
		err = refreshNow(s)
	}
	if err != nil {
		return err
	}
	// demo-revoked: refreshed once, then its token family revoked by the server.
	if s, err = mint(ps, 0, pathstackSession("demo-revoked")); err != nil {
		return err
	}
	if err := refreshNow(s); err != nil {
		return err
	}
	if s, err = st.GetSession(ctx, s.ID); err != nil {
		return err
	}
	ps.Revoke(s.RefreshToken)
	// demo-invalid: a sub the server's validation refuses (422 with field errors).
	inv := pathstackSession("demo-invalid")
	inv.Sub = "not-a-uuid"
	if _, err := mint(ps, 0, inv); err != nil {
		return err
	}
	// demo-down: nothing listens at its URL.
	down, err := closedPortURL()
	if err != nil {
		return err
	}
	dn := pathstackSession("demo-down")
	dn.BaseURL = down
	_, err = mint(ps, 0, dn)
	return err
}

// closedPortURL is an http URL on loopback where nothing listens.
func closedPortURL() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr, nil
}
