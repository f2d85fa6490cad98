package providers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/providers/pathstack"
	"github.com/tokentop/tokentop/vault"
)

// BenchmarkRefresh measures one rotating PathStack refresh against the fake
// server on loopback: "tokentop" through the Refresher (capture, redaction,
// lease, persistence in the real vault), "bare-net-http" the same POST with
// plain net/http. The difference is tokentop's overhead per refresh.
func BenchmarkRefresh(b *testing.B) {
	srv, err := fake.StartPathStack(fake.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()

	b.Run("tokentop", func(b *testing.B) {
		tok, err := srv.Mint(0)
		if err != nil {
			b.Fatal(err)
		}
		st := openStore(b, b.TempDir())
		s := vault.Session{Provider: vault.ProviderPathStack, Label: "bench", BaseURL: srv.URL, Sub: tok.Sub,
			AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}
		if err := st.CreateSession(ctx, &s); err != nil {
			b.Fatal(err)
		}
		reg := providers.NewRegistry(pathstack.New(providers.NewHTTPClient(providers.ClientOptions{}), nil))
		r := providers.NewRefresher(st, reg, providers.RefresherOptions{})
		b.ReportAllocs()
		for b.Loop() {
			if _, err := r.Refresh(ctx, s.ID, vault.TriggerManual); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("bare-net-http", func(b *testing.B) {
		tok, err := srv.Mint(0)
		if err != nil {
			b.Fatal(err)
		}
		hc := &http.Client{}
		refresh := tok.RefreshToken
		b.ReportAllocs()
		for b.Loop() {
			if refresh, err = fake.RefreshBare(ctx, hc, srv.URL, tok.Sub, refresh); err != nil {
				b.Fatal(err)
			}
		}
	})
}
