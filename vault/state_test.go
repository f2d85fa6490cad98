package vault

import (
	"testing"
	"time"
)

func TestExpiringWindow(t *testing.T) {
	cases := []struct{ lifetime, want time.Duration }{
		{0, 5 * time.Minute},
		{-time.Second, 5 * time.Minute},
		{90 * time.Second, 45 * time.Second},
		{10 * time.Minute, 5 * time.Minute},
		{30 * time.Minute, 5 * time.Minute},
		{time.Hour, 6 * time.Minute},
		{24 * time.Hour, 144 * time.Minute},
	}
	for _, c := range cases {
		if got := ExpiringWindow(c.lifetime); got != c.want {
			t.Errorf("ExpiringWindow(%v) = %v, want %v", c.lifetime, got, c.want)
		}
	}
}

func TestSessionState(t *testing.T) {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		s    Session
		want State
	}{
		{"needs login wins", Session{NeedsLogin: true, ExpiresAt: now.Add(time.Hour)}, StateNeedsLogin},
		{"unknown expiry", Session{}, StateUnknown},
		{"expired exactly now", Session{ExpiresAt: now}, StateExpired},
		{"expired", Session{ExpiresAt: now.Add(-time.Second)}, StateExpired},
		{"hour token, 7 min left", Session{IssuedAt: now.Add(-53 * time.Minute), ExpiresAt: now.Add(7 * time.Minute)}, StateValid},
		{"hour token, 5 min left", Session{IssuedAt: now.Add(-55 * time.Minute), ExpiresAt: now.Add(5 * time.Minute)}, StateExpiring},
		{"90 s token, first half", Session{IssuedAt: now.Add(-40 * time.Second), ExpiresAt: now.Add(50 * time.Second)}, StateValid},
		{"90 s token, second half", Session{IssuedAt: now.Add(-50 * time.Second), ExpiresAt: now.Add(40 * time.Second)}, StateExpiring},
		{"no iat, 4 min left", Session{ExpiresAt: now.Add(4 * time.Minute)}, StateExpiring},
		{"no iat, 6 min left", Session{ExpiresAt: now.Add(6 * time.Minute)}, StateValid},
	}
	for _, c := range cases {
		if got := c.s.State(now); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	// sha256("abc") = ba7816bf...
	if got := Fingerprint("abc"); got != "ba7816bf" {
		t.Errorf("Fingerprint(abc) = %q", got)
	}
	if Fingerprint("abc") == Fingerprint("abd") {
		t.Error("different secrets share a fingerprint")
	}
	if Fingerprint("") != "" {
		t.Error("empty secret has a fingerprint")
	}
}
