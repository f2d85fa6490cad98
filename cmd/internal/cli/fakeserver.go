package cli

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tokentop/tokentop/providers/fake"
)

func (a *app) fakeServerCommand() *cobra.Command {
	var addr string
	var accessTTL time.Duration
	cmd := &cobra.Command{
		Use:   "fake-server",
		Short: "Run local fake PathStack and Galileo servers (for trying tokentop and for tests)",
		Long: `Start fake PathStack and Galileo auth servers on loopback. When they are ready,
one JSON line on stdout gives their URLs, the one account both accept (PathStack
POST /token, Galileo POST /login) and a Galileo API key (POST /login/api_key). They serve until interrupted (SIGINT or SIGTERM).`,
		Example: `  tokentop fake-server --access-ttl 2m
  tokentop fake-server > fake.json &    # then: jq -r .pathstack_url fake.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, gl, err := startFakes(addr, accessTTL)
			if err != nil {
				return err
			}
			defer ps.Close()
			defer gl.Close()
			line, err := json.Marshal(map[string]string{
				"pathstack_url": ps.URL, "galileo_url": gl.URL,
				"username": ps.Username(), "password": ps.Password(), "galileo_api_key": gl.IssueAPIKey(),
			})
			if err != nil {
				return err
			}
			fmt.Fprintln(a.io.out, string(line))
			<-cmd.Context().Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:0", "listen address (host:port; the Galileo server takes the next free port)")
	cmd.Flags().DurationVar(&accessTTL, "access-ttl", time.Hour, "lifetime of issued access tokens")
	bindEnv(cmd.Flags(), "addr", "TOKENTOP_FAKE_ADDR")
	bindEnv(cmd.Flags(), "access-ttl", "TOKENTOP_FAKE_ACCESS_TTL")
	return cmd
}

// startFakes starts both fake servers on loopback, with the same account.
func startFakes(addr string, accessTTL time.Duration) (*fake.Server, *fake.Server, error) {
	ps, err := fake.StartPathStack(fake.Options{Addr: addr, AccessTTL: accessTTL})
	if err != nil {
		return nil, nil, fmt.Errorf("start fake PathStack: %w", err)
	}
	glAddr := "127.0.0.1:0"
	gl, err := fake.StartGalileo(fake.Options{Addr: glAddr, AccessTTL: accessTTL, Username: ps.Username(), Password: ps.Password()})
	if err != nil {
		ps.Close()
		return nil, nil, fmt.Errorf("start fake Galileo: %w", err)
	}
	return ps, gl, nil
}
