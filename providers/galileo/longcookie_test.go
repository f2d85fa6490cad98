package galileo

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/internal/rawtest"
)

// cookieLen is the size of the hostile cookie: 200 KB of one character, which
// once took a refresh minutes to redact.
const cookieLen = 200_000

// TestLongCookieTiming prints how long a refresh (and redacting its
// exchange) takes with a 200 KB cookie of one repeated character, both ways:
// sent (a session holding such a refresh token, answered 401) and received
// (a 200 rotating to such a token). A measurement for go test -v, not an
// assertion beyond the package's -timeout.
func TestLongCookieTiming(t *testing.T) {
	long := strings.Repeat("a", cookieLen)
	body := `{"access_token": "` + opaqueAccess + `", "token_type": "bearer"}`
	rotating := fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nSet-Cookie: refresh_token=%s; Path=/\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", long, len(body), body)
	detail := `{"detail": "Invalid refresh token"}`
	rejecting := fmt.Sprintf("HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(detail), detail)
	for _, tc := range []struct {
		name, answer, sent string
	}{
		{"sent, answered 401", rejecting, long},
		{"received in Set-Cookie", rotating, refreshToken},
	} {
		sess := session(rawtest.Answer(t, tc.answer))
		sess.RefreshToken = tc.sent
		start := time.Now()
		_, ex, err := client().Refresh(context.Background(), sess)
		var b strings.Builder
		ex.Format(&b, false)
		if strings.Contains(b.String(), long[:100]) {
			t.Errorf("%s: the cookie shows in the formatted exchange", tc.name)
		}
		t.Logf("%s: refresh + Format took %s (err: %v)", tc.name, time.Since(start), err)
	}
}
