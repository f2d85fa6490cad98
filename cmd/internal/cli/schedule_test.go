package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tokentop/tokentop/providers/fake"
	"github.com/tokentop/tokentop/vault"
)

// scheduleList runs `schedule --list --json` and indexes it by label.
func (e *env) scheduleList() map[string]scheduleJSON {
	e.t.Helper()
	var list []scheduleJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "schedule", "--list", "--json")), &list); err != nil {
		e.t.Fatal(err)
	}
	out := map[string]scheduleJSON{}
	for _, s := range list {
		out[s.Label] = s
	}
	return out
}

// sessionExpiry is the stored session's access token expiry.
func (e *env) sessionExpiry(label string) time.Time {
	e.t.Helper()
	var s sessionJSON
	if err := json.Unmarshal([]byte(e.mustRun("", "show", label, "--json")), &s); err != nil || s.ExpiresAt == nil {
		e.t.Fatalf("show %s: %v", label, err)
	}
	t, err := time.Parse(time.RFC3339, *s.ExpiresAt)
	if err != nil {
		e.t.Fatal(err)
	}
	return t
}

func parseTime(t *testing.T, s *string) time.Time {
	t.Helper()
	if s == nil {
		t.Fatal("time is null")
	}
	v, err := time.Parse(time.RFC3339, *s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestScheduleSetListOff(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{}) // 1 h access tokens
	e.addMinted(srv, "prod")
	e.addMinted(srv, "staging")
	if out := e.mustRun("", "schedule", "--list"); !strings.Contains(out, "no schedules yet") {
		t.Fatalf("empty list: %q", out)
	}
	exp := e.sessionExpiry("prod")

	// MARGIN as its own argument (pflag hands it over as one).
	out := e.mustRun("", "schedule", "prod", "--before-expiry", "2m")
	if !strings.Contains(out, "prod: before-expiry 2m · next in ") || !strings.Contains(out, "tokentop watch") {
		t.Fatalf("schedule prod: %q", out)
	}
	e.mustRun("", "schedule", "staging", "--every", "30m")
	list := e.scheduleList()
	p, s := list["prod"], list["staging"]
	if len(list) != 2 || p.Spec != "before-expiry 2m" || p.MarginSeconds == nil || *p.MarginSeconds != 120 || p.MarginIsDefault ||
		!p.Enabled || p.IntervalSeconds != nil || p.Failures != 0 || !parseTime(t, p.NextDue).Equal(exp.Add(-2*time.Minute)) {
		t.Fatalf("prod: %+v", p)
	}
	if s.Spec != "every 30m" || s.IntervalSeconds == nil || *s.IntervalSeconds != 1800 || s.MarginSeconds != nil || !s.Enabled ||
		!parseTime(t, s.NextDue).Equal(e.sessionExpiry("staging").Add(-time.Hour+30*time.Minute)) { // iat + 30m
		t.Fatalf("staging: %+v", s)
	}

	// Bare --before-expiry: the default margin, 6 minutes of a 1 h token.
	e.mustRun("", "schedule", "staging", "--before-expiry")
	if s := e.scheduleList()["staging"]; s.Spec != "before-expiry" || !s.MarginIsDefault || s.MarginSeconds == nil || *s.MarginSeconds != 360 {
		t.Fatalf("default margin: %+v", s)
	}
	e.mustRun("", "schedule", "staging", "--before-expiry=90s")
	if s := e.scheduleList()["staging"]; s.Spec != "before-expiry 1m30s" || *s.MarginSeconds != 90 {
		t.Fatalf("--before-expiry=90s: %+v", s)
	}

	// Off keeps the schedule, turned off; the list says so.
	if out := e.mustRun("", "schedule", "staging", "--off"); !strings.Contains(out, "staging: before-expiry 1m30s · off") {
		t.Fatalf("off: %q", out)
	}
	if s := e.scheduleList()["staging"]; s.Enabled || s.NextDue != nil {
		t.Fatalf("after off: %+v", s)
	}
	human := e.mustRun("", "schedule", "--list")
	if !strings.Contains(human, "LABEL") || !regexpLine(human, "staging", "before-expiry 1m30s", "off") ||
		!regexpLine(human, "prod", "before-expiry 2m", "on", "in ") {
		t.Fatalf("list:\n%s", human)
	}
	if out := e.mustRun("", "schedule", "prod"); !strings.HasPrefix(out, "prod: before-expiry 2m · next in ") {
		t.Fatalf("show: %q", out)
	}

	// Setting a schedule again starts afresh: failures and backoff cleared.
	st := e.openStore()
	sess, _ := st.GetSessionByLabel(context.Background(), "prod")
	err := st.PutSchedule(context.Background(), vault.Schedule{SessionID: sess.ID, Mode: vault.ScheduleEvery, Interval: time.Minute,
		Enabled: true, Failures: 3, BackoffUntil: e.now.Add(time.Minute), LastError: "server error: 502 Bad Gateway"})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := e.mustRun("", "schedule", "--list"); !strings.Contains(out, "server error: 502 Bad Gateway (retry in 1m 00s)") {
		t.Fatalf("backoff not shown:\n%s", out)
	}
	e.mustRun("", "schedule", "prod", "--every", "1m")
	if p := e.scheduleList()["prod"]; p.Failures != 0 || p.LastError != "" || p.BackoffUntil != nil || !p.Enabled {
		t.Fatalf("re-set: %+v", p)
	}

	e.addMinted(srv, "bare")
	if out := e.mustRun("", "schedule", "bare", "--off"); !strings.Contains(out, "bare: not scheduled, nothing to turn off") {
		t.Fatalf("off without a schedule: %q", out)
	}
	if out := e.mustRun("", "schedule", "bare"); !strings.Contains(out, "bare: not scheduled") {
		t.Fatalf("show without a schedule: %q", out)
	}
	if _, ok := e.scheduleList()["bare"]; ok {
		t.Fatal("--off created a schedule")
	}
}

// regexpLine reports whether some line of text has all parts, in order.
func regexpLine(text string, parts ...string) bool {
	for _, line := range strings.Split(text, "\n") {
		rest, ok := line, true
		for _, p := range parts {
			i := strings.Index(rest, p)
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(p):]
		}
		if ok {
			return true
		}
	}
	return false
}

func TestScheduleUsageErrors(t *testing.T) {
	e := newEnv(t)
	srv := startFake(t, fake.Options{})
	e.addMinted(srv, "prod")
	for _, args := range [][]string{
		{"schedule"},
		{"schedule", "--list", "prod"},
		{"schedule", "--list", "--off"},
		{"schedule", "prod", "--every", "1m", "--off"},
		{"schedule", "prod", "--every", "1m", "--before-expiry"},
		{"schedule", "prod", "--every", "2s"},
		{"schedule", "prod", "--every", "soon"},
		{"schedule", "prod", "--every"},
		{"schedule", "prod", "--before-expiry", "soon"},
		{"schedule", "prod", "--before-expiry=-1m"},
		{"schedule", "prod", "--before-expiry=0s"},
		{"schedule", "prod", "other"},
		{"schedule", "prod", "--off", "extra"},
		{"schedule", "prod", "--frequently"},
		{"watch", "--concurrency", "0"},
		{"watch", "extra"},
	} {
		if r := e.run("", args...); r.code != exitUsage || r.err == "" {
			t.Errorf("tokentop %s: exit %d, stderr %q, want usage error (2)", strings.Join(args, " "), r.code, r.err)
		}
	}
	if r := e.run("", "schedule", "nosuch", "--every", "1m"); r.code != exitFailed || !strings.Contains(r.err, "no such session") {
		t.Errorf("unknown label: %+v", r)
	}
	if r := e.run("", "schedule", "nosuch"); r.code != exitFailed {
		t.Errorf("unknown label shown: %+v", r)
	}
	if list := e.scheduleList(); len(list) != 0 {
		t.Errorf("a usage error stored a schedule: %+v", list)
	}
}
