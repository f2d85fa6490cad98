package vault

import (
	"strings"
	"testing"
	"time"
)

// TestListingMatchesColumns: the packed listing decodes to exactly what the
// plain columns hold, for awkward values too.
func TestListingMatchesColumns(t *testing.T) {
	env := newTestEnv(t)
	s := env.open(t)
	sessions := []Session{
		pathstackSession("plain"),
		{Provider: ProviderGalileo, Label: "ünïcødé,with:commas,and:colons", BaseURL: "https://api.acme.rungalileo.io/a,b:c?x=1,2",
			AccessToken: "a", RefreshToken: "r", TokenType: "", IssuedAt: time.UnixMilli(1), ExpiresAt: time.UnixMilli(-5000)},
		{Provider: ProviderPathStack, Label: "12:34", Sub: "s:1,2", APIVersion: "v:1,2", AccessToken: "a", RefreshToken: "r",
			ExpiresAt: time.UnixMilli(1741957200123), RefreshExpiresAt: time.UnixMilli(1741957200999)},
	}
	for i := range sessions {
		if err := s.CreateSession(ctxb(), &sessions[i]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.RecordRefresh(ctxb(), sessions[0].ID, 0, nil, &Attempt{Outcome: "rejected, for good: 401"}, true); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListSessions(ctxb())
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(sessions) {
		t.Fatalf("listed %d", len(list))
	}
	for _, listed := range list {
		full, err := s.GetSession(ctxb(), listed.ID)
		if err != nil {
			t.Fatal(err)
		}
		full.AccessToken, full.RefreshToken = "", ""
		if !sameSession(listed, full) {
			t.Errorf("listing differs from columns:\n%+v\n%+v", listed, full)
		}
	}
	if list[0].Label != "12:34" || list[1].LastStatus != "rejected, for good: 401" || !list[1].NeedsLogin {
		t.Errorf("unexpected listing %+v", list)
	}
}

func TestDecodeListingRejectsMalformed(t *testing.T) {
	good := "7,9:pathstack,4:prod,24:https://api.pathstack.io,0:,3:abc,6:Bearer,0,0,0,1,2,0,2:ok,0,3"
	if sess, err := decodeListing(good); err != nil || sess.ID != 7 || sess.Sub != "abc" || sess.Version != 3 || sess.LastStatus != "ok" {
		t.Fatalf("good listing: %+v %v", sess, err)
	}
	for _, bad := range []string{
		"",
		strings.Replace(good, "4:prod", "9:prod", 1),
		strings.Replace(good, "4:prod", "x:prod", 1),
		strings.TrimSuffix(good, ",3"),
		good + ",99",
	} {
		if _, err := decodeListing(bad); err == nil {
			t.Errorf("decodeListing(%q) accepted", bad)
		}
	}
}
