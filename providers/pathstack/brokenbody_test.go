package pathstack

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/internal/rawtest"
)

// TestBrokenBodyRecoversWholeRefreshToken: a 200 whose body is cut off by a
// closed connection. When what arrived holds data.refresh_token up to its
// closing quote, the rotated token comes back next to the network error;
// when the string (or anything before it) is cut, nothing does.
func TestBrokenBodyRecoversWholeRefreshToken(t *testing.T) {
	full := `{"meta": {"x": [1, {"y": "}"}]}, "data": {"token_type": "Bearer", "expires_in": 3600, "refresh_token": "` +
		newRefresh + `", "access_token": "` + accessToken + `"}}`
	cut := strings.Index(full, newRefresh) + len(newRefresh)
	for _, tc := range []struct {
		name, partial, want string
	}{
		{"token whole", full[:cut+1], newRefresh},
		{"token whole, more after", full[:len(full)-10], newRefresh},
		{"token cut before its quote", full[:cut], ""},
		{"cut before data", full[:20], ""},
		{"escaped token", `{"data": {"refresh_token": "MRK-ps-rotated-\u00e9\"0123456789"`, `MRK-ps-rotated-é"0123456789`},
		{"token not a string", `{"data": {"refresh_token": 12345, "acc`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := rawtest.Answer(t, fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
				len(tc.partial)+100, tc.partial))
			res, ex, err := client().Refresh(context.Background(), session(base))
			var pe *providers.Error
			if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeNetworkError || pe.Status != 200 {
				t.Fatalf("err %v, want a network error after a 200", err)
			}
			if res.RefreshToken != tc.want || res.AccessToken != "" {
				t.Errorf("refresh token %q, want %q", res.RefreshToken, tc.want)
			}
			if !ex.BodyBroken {
				t.Error("exchange not marked BodyBroken")
			}
			noSecrets(t, ex, err)
		})
	}
}

// TestExpiresInBounds: a negative expires_in is a schema error; a huge one
// (up to 2^63-1, or beyond int64 written as a float) is capped at ten years
// instead of overflowing into an expiry in the past.
func TestExpiresInBounds(t *testing.T) {
	tenYears := clock.Add(maxExpiresIn * time.Second)
	for _, tc := range []struct {
		raw  string
		want time.Time // zero: a schema error
	}{
		{"3600", clock.Add(time.Hour)},
		{"0", clock},
		{"-1", time.Time{}},
		{"-9223372036854775808", time.Time{}},
		{"-1e400", time.Time{}},
		{"315360000", tenYears},
		{"315360001", tenYears},
		{"9223372036854775807", tenYears},
		{"99999999999999999999999", tenYears},
		{"1e19", tenYears},
		{"1e400", tenYears},
		{"3600.0", clock.Add(time.Hour)},
		{"3600.5", time.Time{}},
	} {
		srv, _ := contractServer(t, 200, `{"data": {"access_token": "`+accessToken+`", "expires_in": `+tc.raw+`}}`)
		res, _, err := client().Refresh(context.Background(), session(srv.URL))
		if tc.want.IsZero() {
			if !errors.Is(err, providers.ErrSchema) {
				t.Errorf("expires_in %s: err %v, want a schema error", tc.raw, err)
			}
			continue
		}
		if err != nil || !res.ExpiresAt.Equal(tc.want) {
			t.Errorf("expires_in %s: expires %v (err %v), want %v", tc.raw, res.ExpiresAt, err, tc.want)
		}
	}
}

// TestOverlongTokensRefused: a token over vault.MaxTokenLen is a schema error
// giving its length; an over-long refresh token is not returned for storage.
func TestOverlongTokensRefused(t *testing.T) {
	long := "MRK-long-" + strings.Repeat("x", 20_000)
	for _, tc := range []struct {
		name, data, want, rotated string
	}{
		{"refresh token", `"access_token": "` + accessToken + `", "expires_in": 60, "refresh_token": "` + long + `"`,
			"data.refresh_token is 20009 bytes, over the 16384-byte token limit", ""},
		{"access token", `"access_token": "` + long + `", "expires_in": 60, "refresh_token": "` + newRefresh + `"`,
			"data.access_token is 20009 bytes, over the 16384-byte token limit", newRefresh},
	} {
		srv, _ := contractServer(t, 200, `{"data": {`+tc.data+`}}`)
		res, ex, err := client().Refresh(context.Background(), session(srv.URL))
		if !errors.Is(err, providers.ErrSchema) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want a schema error saying %q", tc.name, err, tc.want)
		}
		if res.RefreshToken != tc.rotated || res.AccessToken != "" {
			t.Errorf("%s: refresh %d bytes, access %d bytes", tc.name, len(res.RefreshToken), len(res.AccessToken))
		}
		noSecrets(t, ex, err)
		if raw, _ := ex.MarshalRedacted(); strings.Contains(string(raw), long[:40]) {
			t.Errorf("%s: the long token shows in the redacted exchange", tc.name)
		}
	}
}
