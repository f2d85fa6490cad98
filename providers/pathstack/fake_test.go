package pathstack

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// TestAgainstFake runs login, a rotating refresh and the reuse of the spent
// refresh token against the fake PathStack server.
func TestAgainstFake(t *testing.T) {
	srv, err := fake.StartPathStack(fake.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	c := client()
	ctx := context.Background()

	login, _, err := c.Login(ctx, providers.LoginTarget{BaseURL: srv.URL}, providers.Credentials{Method: providers.LoginPassword, Username: srv.Username(), Password: srv.Password()})
	if err != nil {
		t.Fatal(err)
	}
	if login.RefreshToken == "" || login.Sub == "" || !login.ExpiresAt.Equal(clock.Add(fake.DefaultAccessTTL)) {
		t.Fatalf("login %+v", login)
	}
	s := vault.Session{Provider: vault.ProviderPathStack, BaseURL: srv.URL, Sub: login.Sub, RefreshToken: login.RefreshToken}
	res, ex, err := c.Refresh(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if res.AccessToken == "" || res.RefreshToken == "" || res.RefreshToken == login.RefreshToken {
		t.Errorf("refresh did not rotate: %+v", res)
	}
	raw, _ := ex.MarshalRedacted()
	for _, secret := range []string{login.RefreshToken, res.RefreshToken, res.AccessToken} {
		if strings.Contains(string(raw), secret) {
			t.Error("a token leaked into the redacted exchange")
		}
	}

	// The spent refresh token is refused, as the provider documents.
	_, _, err = c.Refresh(ctx, s)
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Status != 401 || pe.Outcome != providers.OutcomeRejected || pe.Envelope.Shape != providers.ShapePathStack {
		t.Errorf("reuse: %v", err)
	}

	// Wrong password: rejected by the login endpoint.
	if _, _, err := c.Login(ctx, providers.LoginTarget{BaseURL: srv.URL}, providers.Credentials{Method: providers.LoginPassword, Username: srv.Username(), Password: "wrong"}); !errors.As(err, &pe) || pe.Outcome != providers.OutcomeRejected {
		t.Errorf("bad login: %v", err)
	}

	srv.QueueFault(fake.Fault{Status: 502, Body: "<html><head><title>502 Bad Gateway</title></head></html>"})
	s.RefreshToken = res.RefreshToken
	if _, _, err := c.Refresh(ctx, s); err == nil || err.Error() != "server error: 502 Bad Gateway" {
		t.Errorf("502 fault: %v", err)
	}
	srv.QueueFault(fake.Fault{Drop: true})
	if _, _, err := c.Refresh(ctx, s); !errors.As(err, &pe) || pe.Outcome != providers.OutcomeNetworkError {
		t.Errorf("drop fault: %v", err)
	}
	srv.QueueFault(fake.Fault{DelayMS: 2000})
	slow := New(providers.NewHTTPClient(providers.ClientOptions{Timeout: 50 * time.Millisecond}), now)
	if _, _, err := slow.Refresh(ctx, s); !errors.As(err, &pe) || pe.Kind != providers.KindTimeout {
		t.Errorf("slow fault: %v", err)
	}
}
