package exchange

import (
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/providers"
	"github.com/tokentop/tokentop/ui/internal/common"
	"github.com/tokentop/tokentop/vault"
)

func TestFieldErrorsShowTheirLocation(t *testing.T) {
	if got := joinLoc([]any{"body", "items", float64(2), "name"}); got != "body.items.2.name" {
		t.Errorf("joinLoc = %q", got)
	}
	c := common.New(time.UTC)
	m := New(c, DefaultStyles(c), DefaultKeyMap())
	m.SetSize(80, 20)
	m.SetSession(1, &Shown{Caption: "Last refresh", Outcome: "rejected", Envelope: &providers.Envelope{
		Status: 422, Message: "Validation failed", Fields: []providers.FieldError{
			{Loc: []any{"cookie", "refresh_token"}, Msg: "Field required", Type: "missing"},
		}}})
	got := ansi.Strip(m.View())
	for _, want := range []string{"✕ 422 · Validation failed", "cookie.refresh_token  Field required (missing)"} {
		if !strings.Contains(got, want) {
			t.Errorf("pane lacks %q:\n%s", want, got)
		}
	}
}

func TestUnreadableStoredExchangeIsSaidNotHidden(t *testing.T) {
	sh := FromAttempt(vault.Attempt{Outcome: "ok", Exchange: []byte(`{"method":`)}, "Attempt")
	if sh.Exchange != nil || !strings.HasPrefix(sh.Err, "stored exchange unreadable") {
		t.Fatalf("FromAttempt = %+v", sh)
	}
}
