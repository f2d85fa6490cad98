package ui

import (
	"strings"
	"testing"

	"github.com/tokentop/tokentop/ui/internal/form"
	"github.com/tokentop/tokentop/vault"
)

func TestAddFormValidatesInTheForm(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "a")
	if m.overlay != overlayForm || m.form.ID() != formAdd {
		t.Fatal("a should open the add form")
	}
	requireScreenContains(t, m, "Add a session", "(•) PathStack", "( ) Galileo", "api version", "sub", "refresh token")

	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a label is required", "PathStack's /refresh needs the sub",
		"an access token is required", "a refresh token is required")
	if m.overlay != overlayForm {
		t.Fatal("a validation error must keep the form open")
	}

	// The label field has the focus (first error); a taken label is refused.
	m = typeText(t, m, "prod-eu")
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a session with that label exists")

	// Secrets are masked while typing.
	m, _ = press(t, m, "tab", "tab", "tab", "tab", "tab") // to the refresh token
	m = typeText(t, m, "super-secret-refresh")
	requireScreenLacks(t, m, "super-secret-refresh")
	requireScreenContains(t, m, strings.Repeat("•", len("super-secret-refresh")))

	m, cmd = press(t, m, "esc")
	m, _ = update(t, m, collect(cmd)[0])
	if m.overlay != overlayNone {
		t.Fatal("esc should close the form")
	}
}

func TestAddFormAdaptsToGalileo(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "a", "right") // provider is the first field
	if got := m.form.Value(fProvider); got != vault.ProviderGalileo {
		t.Fatalf("provider = %q", got)
	}
	if got := m.form.Value(fBaseURL); got != "" {
		t.Fatalf("base URL = %q, want it empty for Galileo", got)
	}
	requireScreenContains(t, m, "(•) Galileo", "https://api.acme.rungalileo.io") // the placeholder
	requireScreenLacks(t, m, "api version", "uuid of the user")
	if _, ok := m.form.Values()[fSub]; ok {
		t.Fatal("hidden fields must not be submitted")
	}
	m = typeText(t, m, "")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a base URL is required")
	requireScreenLacks(t, m, "needs the sub")
	// Back to PathStack: its public URL again.
	m, _ = press(t, m, "shift+tab", "shift+tab", "right")
	if got := m.form.Value(fBaseURL); got != defaultPathStackURL {
		t.Fatalf("base URL after PathStack again = %q", got)
	}
}

func TestLoginAndEditForms(t *testing.T) {
	m := loadedModel(t, 80, 24)
	m, _ = press(t, m, "l")
	requireScreenContains(t, m, "Log in to PathStack", "https://api.pathstack.io", "2024-03-27", "username", "password")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a label is required", "a username is required", "a password is required")
	m, cmd = press(t, m, "esc")
	m, _ = update(t, m, collect(cmd)[0])

	m, _ = press(t, m, "e") // acme, a Galileo session
	if m.form.ID() != formEdit || m.form.Value(fLabel) != "acme" || m.form.Value(fBaseURL) != "https://api.acme.rungalileo.io" {
		t.Fatalf("edit form not prefilled: %v", m.form.Values())
	}
	requireScreenLacks(t, m, "api version")
	// Keeping its own label is fine; the form only fails for want of a vault.
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenLacks(t, m, "label exists")
	requireScreenContains(t, m, "no vault is open")
}

func TestDeleteAsksFirst(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "d")
	requireScreenContains(t, m, "Delete session acme?", "refresh history")
	m, _ = press(t, m, "esc")
	if m.overlay != overlayNone || m.list.Len() != 4 {
		t.Fatal("esc must cancel the delete")
	}
	m, _ = press(t, m, "d", "y")
	if m.overlay != overlayNone {
		t.Fatal("y must close the dialog")
	}
	m, _ = update(t, m, SessionDeletedMsg{ID: 3, Label: "acme"})
	if m.list.Len() != 3 || selectedLabel(m) != "old-key" {
		t.Fatalf("after delete: %d sessions, selected %q", m.list.Len(), selectedLabel(m))
	}
	requireScreenContains(t, m, "Deleted acme", "old-key · PathStack")
}

func TestCleanToken(t *testing.T) {
	for in, want := range map[string]string{
		"  eyJa.b.c \n":       "eyJa.b.c",
		"Bearer eyJa.b.c":     "eyJa.b.c",
		"eyJa.\nb.\nc":        "eyJa.b.c",
		"opaque-token-123456": "opaque-token-123456",
	} {
		if got := cleanToken(in); got != want {
			t.Errorf("cleanToken(%q) = %q, want %q", in, got, want)
		}
	}
}

// l on a selected PathStack session is its login again: label, base URL
// and API version are filled in and the username has the keyboard. On
// another provider's session the form is blank, and that session's label
// is refused: a login cannot replace it.
func TestLoginFormFillsInTheSelectedSession(t *testing.T) {
	m := loadedModel(t, 100, 30)
	m, _ = press(t, m, "j", "j") // prod-eu
	m, _ = press(t, m, "l")
	v := m.form.Values()
	if v[fLabel] != "prod-eu" || v[fBaseURL] != "https://api.pathstack.io" || v[fAPIVersion] != "2024-03-27" {
		t.Fatalf("login form = %v", v)
	}
	requireScreenContains(t, m, "Logging in replaces the tokens of prod-eu; its history and schedule stay.")
	m = typeText(t, m, "dev")
	if got := m.form.Value(fUsername); got != "dev" {
		t.Fatalf("typing went to the username? username %q, values %v", got, m.form.Values())
	}
	m, _ = press(t, m, "tab")
	m = typeText(t, m, "pw")
	m, cmd := press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenLacks(t, m, "label exists")
	requireScreenContains(t, m, "no vault is open") // valid: only the vault is missing

	// staging keeps the API version unset: the default is a placeholder.
	m, _ = press(t, m, "esc")
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	m, _ = press(t, m, "j", "l")
	if v := m.form.Values(); v[fLabel] != "staging" || v[fAPIVersion] != "" {
		t.Fatalf("login form for staging = %v", v)
	}

	// A Galileo session: a blank form, and its label refused.
	m, _ = update(t, m, form.CancelMsg{FormID: formLogin})
	m, _ = press(t, m, "home", "l")
	if v := m.form.Values(); v[fLabel] != "" || v[fBaseURL] != defaultPathStackURL {
		t.Fatalf("login form on acme = %v", v)
	}
	m = typeText(t, m, "acme")
	requireScreenLacks(t, m, "Logging in replaces")
	m, cmd = press(t, m, "ctrl+s")
	m, _ = update(t, m, collect(cmd)[0])
	requireScreenContains(t, m, "a Galileo session has that label")
}
