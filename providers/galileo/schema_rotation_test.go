package galileo

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tokentop/tokentop/providers"
)

// TestSchemaErrorKeepsRotatedCookie: a 200 whose body breaks the Token schema
// still set a new refresh_token cookie; the token is spent on the server, so
// the new one comes back in Result.RefreshToken next to the schema error.
func TestSchemaErrorKeepsRotatedCookie(t *testing.T) {
	cookie := RefreshCookie + "=" + newRefresh + "; Path=/; HttpOnly; Secure; Max-Age=2592000"
	for _, tc := range []struct {
		name, body, problem string
		cookies             []string
		rotated             string
	}{
		{"missing access_token", `{"token_type": "bearer"}`, "missing access_token", []string{cookie}, newRefresh},
		{"not JSON", `<html>oops</html>`, "body is not a JSON object", []string{cookie}, newRefresh},
		{"empty access_token", `{"access_token": ""}`, "access_token is empty", []string{cookie}, newRefresh},
		{"same cookie is no rotation", `{}`, "missing access_token", []string{RefreshCookie + "=" + refreshToken}, ""},
		{"no cookie", `{}`, "missing access_token", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := contractServer(t, 200, tc.body, tc.cookies...)
			res, ex, err := client().Refresh(context.Background(), session(srv.URL))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeServerError || !strings.Contains(err.Error(), tc.problem) {
				t.Fatalf("err %v, want a schema error saying %q", err, tc.problem)
			}
			if res.RefreshToken != tc.rotated || res.AccessToken != "" {
				t.Errorf("result %+v, want only the rotated refresh token %q", res, tc.rotated)
			}
			noSecrets(t, ex, err)
		})
	}
}

// TestTruncatedBodySaysSo: a body over the 1 MiB cap is reported as cut off
// at the cap, not as "not a JSON object".
func TestTruncatedBodySaysSo(t *testing.T) {
	big := `{"access_token": "` + opaqueAccess + `", "pad": "` + strings.Repeat("x", providers.MaxResponseBody) + `"}`
	srv, _ := contractServer(t, 200, big)
	_, ex, err := client().Refresh(context.Background(), session(srv.URL))
	if !errors.Is(err, providers.ErrSchema) || !strings.Contains(err.Error(), "truncated at the 1 MiB cap") || !ex.ResponseTruncated {
		t.Errorf("err %v (truncated %v)", err, ex.ResponseTruncated)
	}
}
