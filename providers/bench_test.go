package providers_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
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
			body, _ := json.Marshal(map[string]string{"sub": tok.Sub, "refresh_token": refresh})
			req, err := http.NewRequestWithContext(ctx, "POST", srv.URL+"/refresh", strings.NewReader(string(body)))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			req.Header.Set("X-Api-Version", vault.DefaultPathStackAPIVersion)
			resp, err := hc.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var out struct {
				Data struct {
					RefreshToken string `json:"refresh_token"`
				} `json:"data"`
			}
			err = json.NewDecoder(resp.Body).Decode(&out)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || out.Data.RefreshToken == "" {
				b.Fatalf("status %d: %v", resp.StatusCode, err)
			}
			refresh = out.Data.RefreshToken
		}
	})
}
