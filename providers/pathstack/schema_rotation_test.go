package pathstack

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokentop/tokentop/providers"
)

// TestSchemaErrorKeepsRotatedToken: a 200 that breaks the schema but carries
// data.refresh_token has rotated the token on the server; the new one comes
// back in Result.RefreshToken next to the schema error, masked in the exchange.
func TestSchemaErrorKeepsRotatedToken(t *testing.T) {
	for _, tc := range []struct {
		name, body, problem, rotated string
	}{
		{"missing expires_in", `{"data": {"access_token": "` + accessToken + `", "refresh_token": "` + newRefresh + `"}}`, "missing data.expires_in", newRefresh},
		{"access token not a string", `{"data": {"access_token": 42, "expires_in": 3600, "refresh_token": "` + newRefresh + `"}}`, "data.access_token is not a string", newRefresh},
		{"expires_in a string", `{"data": {"access_token": "` + accessToken + `", "expires_in": "3600", "refresh_token": "` + newRefresh + `"}}`, "data.expires_in is not an integer", newRefresh},
		{"no refresh token", `{"data": {"access_token": "` + accessToken + `"}}`, "missing data.expires_in", ""},
		{"refresh token not a string", `{"data": {"access_token": "` + accessToken + `", "expires_in": 3600, "refresh_token": 7}}`, "data.refresh_token is not a string", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := contractServer(t, 200, tc.body)
			res, ex, err := client().Refresh(context.Background(), session(srv.URL))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeServerError || !errors.Is(err, providers.ErrSchema) ||
				!strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("err %v, want a schema error saying %q", err, tc.problem)
			}
			if res.RefreshToken != tc.rotated || res.AccessToken != "" || !res.ExpiresAt.IsZero() {
				t.Errorf("result %+v, want only the rotated refresh token %q", res, tc.rotated)
			}
			noSecrets(t, ex, err)
		})
	}
}

// TestTruncatedBodySaysSo: a body over the 1 MiB cap is reported as cut off
// at the cap, not as "not JSON".
func TestTruncatedBodySaysSo(t *testing.T) {
	big := `{"data": {"access_token": "` + accessToken + `", "expires_in": 3600, "pad": "` + strings.Repeat("x", providers.MaxResponseBody) + `"}}`
	srv, _ := contractServer(t, 200, big)
	_, ex, err := client().Refresh(context.Background(), session(srv.URL))
	if !errors.Is(err, providers.ErrSchema) || !strings.Contains(err.Error(), "truncated at the 1 MiB cap") || !ex.ResponseTruncated {
		t.Errorf("err %v (truncated %v)", err, ex.ResponseTruncated)
	}
	srv, _ = contractServer(t, 200, `{"data": `)
	if _, _, err := client().Refresh(context.Background(), session(srv.URL)); err == nil || !strings.Contains(err.Error(), "body is not JSON") {
		t.Errorf("short bad body: %v", err)
	}
}
