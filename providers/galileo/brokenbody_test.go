package galileo

import (
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/providers/internal/rawtest"
	"github.com/tokentop/tokentop/vault"
)

// halfAnswer is a 200 that rotates the refresh token in Set-Cookie and
// announces a 200-byte body, of which it sends the first half.
func halfAnswer() string {
	body := `{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`
	return "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" +
		"Set-Cookie: " + RefreshCookie + "=" + newRefresh + "; Path=/; HttpOnly; Secure\r\n" +
		"Content-Length: 200\r\n\r\n" + body[:len(body)/2]
}

// TestBrokenBodyKeepsRotatedCookie: the status line and the Set-Cookie of a
// rotation arrived, then the connection closed mid-body. The token sent is
// spent, so the new one comes back in Result.RefreshToken next to the
// network error (it used to be dropped with the body).
func TestBrokenBodyKeepsRotatedCookie(t *testing.T) {
	base := rawtest.Answer(t, halfAnswer())
	res, ex, err := client().Refresh(context.Background(), session(base))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeNetworkError || pe.Status != 200 {
		t.Fatalf("err %v, want a network error after a 200", err)
	}
	if res.RefreshToken != newRefresh || res.AccessToken != "" {
		t.Errorf("result %+v, want only the rotated refresh token", res)
	}
	if !ex.BodyBroken || ex.Status != 200 || !strings.HasPrefix(ex.ResponseBody, `{"access_token"`) {
		t.Errorf("exchange: broken %v, status %d, body %q", ex.BodyBroken, ex.Status, ex.ResponseBody)
	}
	var shown strings.Builder
	ex.Format(&shown, false)
	if want := "* response body broken off after " + strconv.Itoa(len(ex.ResponseBody)) + " bytes"; !strings.Contains(shown.String(), want) {
		t.Errorf("formatted exchange does not say %q:\n%s", want, shown.String())
	}
	noSecrets(t, ex, err)
}

// TestBodyTimeoutKeepsRotatedCookie: the same, but the server holds the
// connection open and the client's timeout ends the read.
func TestBodyTimeoutKeepsRotatedCookie(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	base := rawtest.Server(t, func(c net.Conn) {
		io.WriteString(c, halfAnswer())
		select {
		case <-release:
		case <-time.After(10 * time.Second):
		}
	})
	hc := providers.NewHTTPClient(providers.ClientOptions{Timeout: 300 * time.Millisecond})
	res, ex, err := New(hc, now).Refresh(context.Background(), session(base))
	var pe *providers.Error
	if !errors.As(err, &pe) || pe.Outcome != providers.OutcomeNetworkError || pe.Kind != providers.KindTimeout {
		t.Fatalf("err %v, want a timeout", err)
	}
	if res.RefreshToken != newRefresh {
		t.Errorf("result %+v, want the rotated refresh token", res)
	}
	if !ex.BodyBroken {
		t.Error("exchange not marked BodyBroken")
	}
	noSecrets(t, ex, err)
}

// TestBrokenBodyWithoutRotation: a broken body with no new cookie (or the
// same one) gives no refresh token, only the network error.
func TestBrokenBodyWithoutRotation(t *testing.T) {
	for name, cookie := range map[string]string{
		"no cookie":   "",
		"same cookie": "Set-Cookie: " + RefreshCookie + "=" + refreshToken + "\r\n",
		"deleted":     "Set-Cookie: " + RefreshCookie + "=" + newRefresh + "; Max-Age=0\r\n",
	} {
		base := rawtest.Answer(t, "HTTP/1.1 200 OK\r\n"+cookie+"Content-Length: 50\r\n\r\n{\"access")
		res, ex, err := client().Refresh(context.Background(), session(base))
		if err == nil || res.RefreshToken != "" || !ex.BodyBroken {
			t.Errorf("%s: result %+v, err %v, broken %v", name, res, err, ex.BodyBroken)
		}
	}
}

// TestOverlongTokensRefused: tokens over vault.MaxTokenLen are a schema
// error that gives the length, never returned for storage, and masked.
func TestOverlongTokensRefused(t *testing.T) {
	long := "MRK-long-" + strings.Repeat("x", 20_000)
	for _, tc := range []struct {
		name, body, cookie, want string
		rotated                  string
	}{
		{"cookie", `{"access_token": "` + opaqueAccess + `"}`, long, "the refresh_token cookie is 20009 bytes, over the 16384-byte token limit", ""},
		{"access token", `{"access_token": "` + long + `"}`, newRefresh, "access_token is 20009 bytes, over the 16384-byte token limit", newRefresh},
	} {
		srv, _ := contractServer(t, 200, tc.body, RefreshCookie+"="+tc.cookie)
		res, ex, err := client().Refresh(context.Background(), session(srv.URL))
		if !errors.Is(err, providers.ErrSchema) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err %v, want a schema error saying %q", tc.name, err, tc.want)
		}
		if res.RefreshToken != tc.rotated || res.AccessToken != "" {
			t.Errorf("%s: result refresh %d bytes, access %d bytes", tc.name, len(res.RefreshToken), len(res.AccessToken))
		}
		noSecrets(t, ex, err, long[:40])
	}
}

// TestRefresherSavesRotationFromBrokenBody: through the Refresher and a real
// vault, the rotated token learnt from the headers of a broken 200 replaces
// the spent one, next to the network error.
func TestRefresherSavesRotationFromBrokenBody(t *testing.T) {
	dir := t.TempDir()
	st, err := vault.Open(context.Background(), vault.Options{Path: filepath.Join(dir, "vault.db"), KeyFile: filepath.Join(dir, "key")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	base := rawtest.Answer(t, halfAnswer())
	sess := vault.Session{Provider: vault.ProviderGalileo, Label: "acme", BaseURL: base,
		AccessToken: opaqueAccess, RefreshToken: refreshToken}
	if err := st.CreateSession(context.Background(), &sess); err != nil {
		t.Fatal(err)
	}
	r := providers.NewRefresher(st, providers.NewRegistry(client()), providers.RefresherOptions{Now: now})
	rep, err := r.Refresh(context.Background(), sess.ID, vault.TriggerManual)
	if err == nil || rep == nil || rep.Outcome != providers.OutcomeNetworkError || !rep.Rotated {
		t.Fatalf("report %+v, err %v: want a network error with the rotation kept", rep, err)
	}
	stored, err := st.GetSession(context.Background(), sess.ID)
	if err != nil || stored.RefreshToken != newRefresh || stored.AccessToken != opaqueAccess {
		t.Errorf("stored refresh token %q (access %q, %v), want the rotated one", stored.RefreshToken, stored.AccessToken, err)
	}
}
