package vault

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// typicalJWT is an HS256 access token of about 800 bytes, shaped like the
// ones PathStack issues.
func typicalJWT(tb testing.TB, n int) string {
	now := time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)
	claims := jwt.MapClaims{
		"iss":    "https://api.pathstack.io",
		"sub":    fmt.Sprintf("8c1e7a52-3f7e-4b8e-9d0e-%012d", n),
		"aud":    []string{"https://api.pathstack.io", "https://files.pathstack.io"},
		"iat":    now.Unix(),
		"nbf":    now.Unix(),
		"exp":    now.Add(time.Hour).Unix(),
		"jti":    fmt.Sprintf("b1f0c4d2-7a3e-4c55-8f0a-%012d", n),
		"scope":  "read:sessions write:sessions read:files write:files admin:tenants",
		"email":  "developer@example.com",
		"name":   "Dev Eloper",
		"roles":  []string{"owner", "billing", "developer"},
		"tenant": "acme-europe-west",
		"org_id": 4242,
		"plan":   "enterprise",
		"sid":    "sess_7d1f0a9b3c5e2f4a6b8c0d1e",
	}
	return signedJWT(tb, claims)
}

// BenchmarkListSessions lists 10,000 sessions from a real vault file.
func BenchmarkListSessions(b *testing.B) {
	env := newTestEnv(b)
	s := env.open(b)
	batch := make([]Session, 10_000)
	for i := range batch {
		batch[i] = Session{
			Provider: ProviderPathStack, Label: fmt.Sprintf("session-%05d", i), Sub: fmt.Sprintf("sub-%d", i),
			AccessToken: typicalJWT(b, i), RefreshToken: typicalJWT(b, -i), TokenType: "Bearer",
		}
	}
	if err := s.ImportSessions(ctxb(), batch, false); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		list, err := s.ListSessions(ctxb())
		if err != nil {
			b.Fatal(err)
		}
		if len(list) != len(batch) {
			b.Fatalf("listed %d", len(list))
		}
	}
}

// BenchmarkDecode decodes a typical ~800-byte JWT.
func BenchmarkDecode(b *testing.B) {
	raw := typicalJWT(b, 1)
	if len(raw) < 700 || len(raw) > 900 || strings.Count(raw, ".") != 2 {
		b.Fatalf("token of %d bytes is not typical", len(raw))
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := DecodeToken(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefreshCycle is the vault's part of one scheduled refresh, one
// caller at a time: take the lease, read the session (and its recovery
// count) and mark the refresh token as sent; then record the answer (new
// tokens, the attempt, the schedule settled, the lease dropped). Two
// durable commits, as a Refresher makes them.
func BenchmarkRefreshCycle(b *testing.B) {
	env := newTestEnv(b)
	s := env.open(b)
	sess := Session{Provider: ProviderPathStack, Label: "cycle", Sub: "sub-1", AccessToken: typicalJWT(b, 1), RefreshToken: typicalJWT(b, 2), TokenType: "Bearer"}
	if err := s.CreateSession(ctxb(), &sess); err != nil {
		b.Fatal(err)
	}
	if err := s.PutSchedule(ctxb(), Schedule{SessionID: sess.ID, Mode: ScheduleEvery, Interval: 5 * time.Second, Enabled: true}); err != nil {
		b.Fatal(err)
	}
	exchange := []byte(strings.Repeat(`{"request":"POST /v1/auth/refresh","status":200}`, 20))
	access := []string{typicalJWT(b, 3), typicalJWT(b, 4)}
	i := 0
	cpu0 := cpuTime(b)
	for b.Loop() {
		i++
		cur, ok, plan, err := s.TakeLeaseAndMark(ctxb(), sess.ID, "bench", 30*time.Second, func(cur Session, _ ScheduleReader) SendPlan {
			return SendPlan{Mark: cur.Recovery == 0, FP: Fingerprint(cur.RefreshToken)}
		})
		if err != nil || !ok || !plan.Mark {
			b.Fatal(ok, plan, err)
		}
		upd := TokenUpdate{AccessToken: access[i%2], RefreshToken: fmt.Sprintf("rt-%d", i), TokenType: "Bearer"}
		a := Attempt{Trigger: "schedule", Outcome: OutcomeOK, Status: 200, Exchange: exchange, Owner: "bench"}
		_, _, err = s.RecordRefreshSettling(ctxb(), "bench", sess.ID, cur.Version, &upd, &a, false,
			func(cur Schedule, after Session) (Schedule, bool) {
				cur.NextDue = after.ExpiresAt
				return cur, true
			})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime(b)-cpu0).Microseconds())/float64(b.N), "CPU-µs/op")
}

// cpuTime is this process's user + system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
