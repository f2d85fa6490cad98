package providers_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/vault"
)

func TestDefaultMargin(t *testing.T) {
	for _, tc := range []struct {
		lifetime, want time.Duration
	}{
		{0, 5 * time.Minute},                 // unknown lifetime
		{time.Hour, 6 * time.Minute},         // 10% is larger than 5 min
		{30 * time.Minute, 5 * time.Minute},  // 5 min is larger than 10%
		{5 * time.Minute, 150 * time.Second}, // short token: halfway, not every 5 s
		{6 * time.Second, 3 * time.Second},
		{24 * time.Hour, 144 * time.Minute},
	} {
		if got := providers.DefaultMargin(tc.lifetime); got != tc.want {
			t.Errorf("DefaultMargin(%s) = %s, want %s", tc.lifetime, got, tc.want)
		}
	}
}

func TestNextDueBeforeExpiry(t *testing.T) {
	now := testClock
	on := func(margin time.Duration) vault.Schedule {
		return vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Margin: margin, Enabled: true}
	}
	hourToken := vault.Session{IssuedAt: now.Add(-10 * time.Minute), ExpiresAt: now.Add(50 * time.Minute), LastRefreshAt: now.Add(-10 * time.Minute)}
	for _, tc := range []struct {
		name string
		sch  vault.Schedule
		s    vault.Session
		want time.Time
	}{
		{"explicit margin", on(2 * time.Minute), hourToken, now.Add(48 * time.Minute)},
		{"default margin: 10% of an hour", on(0), hourToken, now.Add(44 * time.Minute)},
		{"default margin, unknown lifetime: 5 min", on(0), vault.Session{ExpiresAt: now.Add(time.Hour)}, now.Add(55 * time.Minute)},
		{"default margin capped at half a 5 min lifetime", on(0),
			vault.Session{IssuedAt: now, ExpiresAt: now.Add(5 * time.Minute), LastRefreshAt: now}, now.Add(150 * time.Second)},
		{"expired: due at once", on(time.Minute), vault.Session{ExpiresAt: now.Add(-time.Hour)}, now.Add(-61 * time.Minute)},
		{"unknown expiry, never refreshed: due now", on(0), vault.Session{}, now},
		{"unknown expiry, refreshed: every 5 min", on(0), vault.Session{LastRefreshAt: now.Add(-time.Minute)}, now.Add(4 * time.Minute)},
		{"5 s floor: margin longer than the lifetime", on(time.Hour),
			vault.Session{IssuedAt: now, ExpiresAt: now.Add(6 * time.Second), LastRefreshAt: now}, now.Add(5 * time.Second)},
		{"floor: 2 s margin on a 6 s token", on(2 * time.Second),
			vault.Session{IssuedAt: now, ExpiresAt: now.Add(6 * time.Second), LastRefreshAt: now}, now.Add(5 * time.Second)},
		{"floor does not delay a later due time", on(2 * time.Second),
			vault.Session{IssuedAt: now, ExpiresAt: now.Add(time.Minute), LastRefreshAt: now}, now.Add(58 * time.Second)},
		{"backing off after failures", vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Enabled: true, Failures: 2, BackoffUntil: now.Add(10 * time.Second)},
			vault.Session{ExpiresAt: now.Add(-time.Minute)}, now.Add(10 * time.Second)},
		{"backoff ignored without failures", vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Enabled: true, BackoffUntil: now.Add(time.Hour)},
			vault.Session{ExpiresAt: now.Add(-time.Minute)}, now.Add(-6 * time.Minute)},
		{"disabled: never", vault.Schedule{Mode: vault.ScheduleBeforeExpiry}, hourToken, time.Time{}},
		{"needs login: never", on(0), vault.Session{ExpiresAt: now.Add(-time.Minute), NeedsLogin: true}, time.Time{}},
	} {
		if got := providers.NextDue(tc.sch, tc.s, now); !got.Equal(tc.want) {
			t.Errorf("%s: NextDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestNextDueEvery(t *testing.T) {
	now := testClock
	every := func(d time.Duration) vault.Schedule {
		return vault.Schedule{Mode: vault.ScheduleEvery, Interval: d, Enabled: true}
	}
	for _, tc := range []struct {
		name string
		sch  vault.Schedule
		s    vault.Session
		want time.Time
	}{
		{"after the last refresh", every(30 * time.Minute), vault.Session{LastRefreshAt: now.Add(-10 * time.Minute)}, now.Add(20 * time.Minute)},
		{"after a later login (iat)", every(30 * time.Minute),
			vault.Session{LastRefreshAt: now.Add(-time.Hour), IssuedAt: now.Add(-time.Minute)}, now.Add(29 * time.Minute)},
		{"never refreshed, no iat: due now", every(time.Hour), vault.Session{}, now},
		{"interval below the floor", every(time.Second), vault.Session{LastRefreshAt: now}, now.Add(5 * time.Second)},
		{"expiry does not matter", every(time.Hour), vault.Session{LastRefreshAt: now, ExpiresAt: now.Add(time.Minute)}, now.Add(time.Hour)},
		{"backing off", vault.Schedule{Mode: vault.ScheduleEvery, Interval: time.Minute, Enabled: true, Failures: 1, BackoffUntil: now.Add(5 * time.Second)},
			vault.Session{LastRefreshAt: now.Add(-time.Hour)}, now.Add(5 * time.Second)},
	} {
		if got := providers.NextDue(tc.sch, tc.s, now); !got.Equal(tc.want) {
			t.Errorf("%s: NextDue = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestBackoffGrowsToTheCap(t *testing.T) {
	if d := providers.Backoff(0, 0.5); d != 0 {
		t.Errorf("no failures: %s", d)
	}
	want := []time.Duration{5 * time.Second, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second,
		160 * time.Second, 320 * time.Second, 640 * time.Second, 15 * time.Minute, 15 * time.Minute}
	for i, w := range want {
		if got := providers.Backoff(i+1, 0.5); got != w { // 0.5: no jitter
			t.Errorf("Backoff(%d) = %s, want %s", i+1, got, w)
		}
	}
	if got := providers.Backoff(1000, 0.99); got != providers.BackoffCap {
		t.Errorf("Backoff(1000) = %s, want the cap", got)
	}
}

func TestBackoffJitterBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for failures := 1; failures <= 12; failures++ {
		base := min(providers.BackoffBase<<(failures-1), providers.BackoffCap)
		lo := time.Duration(float64(base) * 0.8)
		hi := min(time.Duration(float64(base)*1.2), providers.BackoffCap)
		var seenLo, seenHi bool
		for range 2000 {
			d := providers.Backoff(failures, rng.Float64())
			if d < lo || d > hi {
				t.Fatalf("Backoff(%d) = %s outside [%s, %s]", failures, d, lo, hi)
			}
			seenLo = seenLo || d < base-base/10
			seenHi = seenHi || d > base+base/10 || (hi == providers.BackoffCap && d == hi)
		}
		if !seenLo || !seenHi {
			t.Errorf("Backoff(%d): jitter does not spread (low seen %v, high seen %v)", failures, seenLo, seenHi)
		}
	}
	// The extremes of rnd hit the bounds exactly.
	if d := providers.Backoff(2, 0); d != 8*time.Second {
		t.Errorf("Backoff(2, 0) = %s", d)
	}
	if d := providers.Backoff(2, 1); d != 12*time.Second {
		t.Errorf("Backoff(2, 1) = %s", d)
	}
}

func TestParseScheduleSpec(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want vault.Schedule
	}{
		{"before-expiry", vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Enabled: true}},
		{"before-expiry default", vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Enabled: true}},
		{"  before-expiry   2m ", vault.Schedule{Mode: vault.ScheduleBeforeExpiry, Margin: 2 * time.Minute, Enabled: true}},
		{"every 30m", vault.Schedule{Mode: vault.ScheduleEvery, Interval: 30 * time.Minute, Enabled: true}},
		{"every 5s", vault.Schedule{Mode: vault.ScheduleEvery, Interval: 5 * time.Second, Enabled: true}},
	} {
		got, err := providers.ParseScheduleSpec(tc.spec)
		if err != nil || got != tc.want {
			t.Errorf("ParseScheduleSpec(%q) = %+v, %v", tc.spec, got, err)
		}
		if back := providers.FormatScheduleSpec(got); back != tc.want.Mode && back != "before-expiry 2m" && back != "every 30m" && back != "every 5s" {
			t.Errorf("FormatScheduleSpec(%+v) = %q", got, back)
		}
	}
	for _, bad := range []string{"", "hourly", "every", "every 4s", "every soon", "before-expiry -1m", "before-expiry 0s", "before-expiry 2m extra"} {
		if _, err := providers.ParseScheduleSpec(bad); !errors.Is(err, vault.ErrInvalidSchedule) {
			t.Errorf("ParseScheduleSpec(%q): %v, want ErrInvalidSchedule", bad, err)
		}
	}
	for d, want := range map[time.Duration]string{5 * time.Minute: "5m", time.Hour: "1h", 90 * time.Minute: "1h30m", 2 * time.Second: "2s", 1500 * time.Millisecond: "1.5s"} {
		if got := providers.ShortDuration(d); got != want {
			t.Errorf("ShortDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
