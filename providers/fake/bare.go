package fake

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/tokentop/tokentop/vault"
)

// RefreshBare is one rotating PathStack refresh call with bare net/http: the
// POST to baseURL/refresh, its JSON answer read, the new refresh token
// returned. No capture, redaction or vault: the floor benchmarks hold
// tokentop's refresh against.
func RefreshBare(ctx context.Context, hc *http.Client, baseURL, sub, refresh string) (string, error) {
	body, err := json.Marshal(map[string]string{"sub": sub, "refresh_token": refresh})
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", baseURL+"/refresh", strings.NewReader(string(body)))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Api-Version", vault.DefaultPathStackAPIVersion)
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			RefreshToken string `json:"refresh_token"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK || out.Data.RefreshToken == "" {
		return "", fmt.Errorf("refresh answered %d", resp.StatusCode)
	}
	return out.Data.RefreshToken, nil
}
