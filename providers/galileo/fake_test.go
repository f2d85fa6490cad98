package galileo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// TestAgainstFake refreshes against the fake Galileo server: rotation through
// Set-Cookie, the expiry from the access token's exp, reuse refused.
func TestAgainstFake(t *testing.T) {
	srv, err := fake.StartGalileo(fake.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	minted, err := srv.Mint(0)
	if err != nil {
		t.Fatal(err)
	}
	c := client()
	ctx := context.Background()
	s := vault.Session{Provider: vault.ProviderGalileo, BaseURL: srv.URL, RefreshToken: minted.RefreshToken}

	res, ex, err := c.Refresh(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if res.RefreshToken == "" || res.RefreshToken == minted.RefreshToken {
		t.Errorf("no rotation: %+v", res)
	}
	if !res.ExpiresAt.Equal(clock.Add(fake.DefaultAccessTTL)) || !strings.EqualFold(res.TokenType, "bearer") {
		t.Errorf("expiry %v, type %q", res.ExpiresAt, res.TokenType)
	}
	raw, _ := ex.MarshalRedacted()
	for _, secret := range []string{minted.RefreshToken, res.RefreshToken, res.AccessToken} {
		if strings.Contains(string(raw), secret) {
			t.Error("a token leaked into the redacted exchange")
		}
	}

	_, _, err = c.Refresh(ctx, s) // the spent token
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeRejected || pe.Envelope == nil || pe.Envelope.Shape != providers.ShapeFastAPIDetail {
		t.Errorf("reuse: %v", err)
	}

}
