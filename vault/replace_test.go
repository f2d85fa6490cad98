package vault

import (
	"testing"
	"time"
)

// TestReplaceClearsTheOldTokensState: new tokens put over a session (a login,
// add --replace) start clean: the last refresh's failure and a refresh
// marked as sent were about the old tokens.
func TestReplaceClearsTheOldTokensState(t *testing.T) {
	forEachBackend(t, func(t *testing.T, env *testEnv) {
		st := env.open(t)
		sess := pathstackSession("prod")
		if err := st.CreateSession(ctxb(), &sess); err != nil {
			t.Fatal(err)
		}
		if ok, err := st.TakeLease(ctxb(), sess.ID, "me", time.Minute); err != nil || !ok {
			t.Fatal(ok, err)
		}
		if err := st.MarkSent(ctxb(), sess.ID, "me", Fingerprint(sess.RefreshToken), &Attempt{Trigger: TriggerCLI, Outcome: "rejected", Status: 401}); err != nil {
			t.Fatal(err)
		}
		before, _ := st.GetSession(ctxb(), sess.ID)
		if before.LastStatus != "rejected" || before.SentFP == "" {
			t.Fatalf("before: %+v", before)
		}
		fresh := pathstackSession("prod")
		fresh.AccessToken, fresh.RefreshToken = "new-access-token-1", "new-refresh-token-1"
		if err := st.PutSession(ctxb(), &fresh, true); err != nil {
			t.Fatal(err)
		}
		after, _ := st.GetSession(ctxb(), sess.ID)
		if after.LastStatus != "" || after.SentFP != "" || !after.SentAt.IsZero() || after.SentBy != "" {
			t.Errorf("after the replace: last status %q, sent %q %v %q", after.LastStatus, after.SentFP, after.SentAt, after.SentBy)
		}
	})
}
