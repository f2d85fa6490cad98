package form

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/tokentop/tokentop/ui/internal/common"
)

func testForm() Model {
	m := New("f", "Title", []Field{
		{Key: "how", Label: "how", Kind: Choice, Value: "b", Choices: []string{"a", "b", "c"}, ChoiceLabels: []string{"A", "B", "C"}},
		{Key: "hidden", Label: "hidden", Value: "kept", Hidden: true},
		{Key: "name", Label: "name", Value: "ada"},
		{Key: "secret", Label: "secret", Kind: Secret},
	}, DefaultStyles(common.New(nil)), DefaultKeyMap())
	m.SetSize(80, 20)
	return m
}

func keyOf(t tea.KeyType) tea.KeyMsg { return tea.KeyMsg{Type: t} }

func runes(s string) tea.KeyMsg { return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)} }

func TestChoiceAndHiddenFields(t *testing.T) {
	m := testForm()
	if got := m.Value("how"); got != "b" {
		t.Fatalf("initial choice = %q", got)
	}
	m, _ = m.Update(keyOf(tea.KeyRight))
	m, _ = m.Update(keyOf(tea.KeyRight)) // wraps
	if got := m.Value("how"); got != "a" {
		t.Fatalf("after → → = %q, want a", got)
	}
	m, _ = m.Update(keyOf(tea.KeyLeft))
	if got := m.Value("how"); got != "c" {
		t.Fatalf("after ← = %q, want c", got)
	}
	// Hidden fields keep their value but are neither shown nor submitted.
	if _, ok := m.Values()["hidden"]; ok || m.Value("hidden") != "kept" {
		t.Fatalf("values %v, hidden %q", m.Values(), m.Value("hidden"))
	}
	if strings.Contains(ansi.Strip(m.View()), "hidden") {
		t.Fatal("a hidden field is drawn")
	}
	// Tab skips the hidden field.
	m, _ = m.Update(keyOf(tea.KeyTab))
	m, _ = m.Update(runes("!"))
	if got := m.Value("name"); got != "ada!" {
		t.Fatalf("typing after tab went elsewhere: name %q", got)
	}
}

func TestSecretsAreMaskedAndEnterSubmitsOnTheLastField(t *testing.T) {
	m := testForm()
	m.Focus("secret")
	m, _ = m.Update(runes("hunter2"))
	if v := ansi.Strip(m.View()); strings.Contains(v, "hunter2") || !strings.Contains(v, "•••••••") {
		t.Fatalf("secret not masked:\n%s", v)
	}
	m, cmd := m.Update(keyOf(tea.KeyEnter))
	msg, ok := cmd().(SubmitMsg)
	if !ok || msg.FormID != "f" || msg.Values["secret"] != "hunter2" || msg.Values["how"] != "b" {
		t.Fatalf("enter on the last field = %#v", cmd())
	}
	// On another field, enter moves on; esc cancels from anywhere.
	m.Focus("name")
	m, cmd = m.Update(keyOf(tea.KeyEnter))
	if cmd != nil {
		t.Fatal("enter before the last field must move on, not submit")
	}
	_, cmd = m.Update(keyOf(tea.KeyEsc))
	if _, ok := cmd().(CancelMsg); !ok {
		t.Fatal("esc must cancel")
	}
}

func TestErrorsFocusTheFirstFieldInError(t *testing.T) {
	m := testForm()
	m.SetErrors(map[string]string{"secret": "a secret is required", "hidden": "never shown"}, "something failed")
	v := ansi.Strip(m.View())
	for _, want := range []string{"a secret is required", "something failed"} {
		if !strings.Contains(v, want) {
			t.Fatalf("view lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "never shown") {
		t.Fatal("a hidden field's error is drawn")
	}
	m, _ = m.Update(runes("x"))
	if m.Value("secret") != "x" {
		t.Fatal("the field in error should have the keyboard")
	}
	// Busy: keys other than esc are ignored.
	m.SetBusy("saving…")
	m, _ = m.Update(runes("y"))
	if m.Value("secret") != "x" || !m.Busy() {
		t.Fatal("typing while busy changed the form")
	}
}

func TestCheckboxTogglesWithSpace(t *testing.T) {
	m := New("f", "Title", []Field{
		{Key: "name", Label: "name"},
		{Key: "keep", Label: "keep", Kind: Check, Text: "keep it", Hint: "why it is kept"},
	}, DefaultStyles(common.New(nil)), DefaultKeyMap())
	m.SetSize(80, 20)
	if got := m.Value("keep"); got != Unchecked {
		t.Fatalf("initial = %q, want unchecked", got)
	}
	v := ansi.Strip(m.View())
	if !strings.Contains(v, "[ ] keep it") || !strings.Contains(v, "why it is kept") {
		t.Fatalf("checkbox not drawn:\n%s", v)
	}
	m.Focus("keep")
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	if got := m.Values()["keep"]; got != Checked {
		t.Fatalf("after space = %q, want checked", got)
	}
	if v := ansi.Strip(m.View()); !strings.Contains(v, "[x] keep it") {
		t.Fatalf("checked box not drawn:\n%s", v)
	}
	m, _ = m.Update(runes("a")) // a checkbox takes no text
	m, _ = m.Update(tea.KeyMsg{Type: tea.KeySpace, Runes: []rune{' '}})
	if got := m.Value("keep"); got != Unchecked {
		t.Fatalf("after a second space = %q", got)
	}
	m.SetValue("keep", Checked)
	m.SetText("keep", "kept")
	m.SetHint("keep", "")
	if v := ansi.Strip(m.View()); !strings.Contains(v, "[x] kept") || strings.Contains(v, "why it is kept") {
		t.Fatalf("SetValue/SetText/SetHint not shown:\n%s", v)
	}
}

// enter on the last text field submits even when a checkbox follows it.
func TestEnterSubmitsPastATrailingCheckbox(t *testing.T) {
	m := New("f", "Title", []Field{
		{Key: "name", Label: "name"},
		{Key: "secret", Label: "secret", Kind: Secret},
		{Key: "keep", Label: "keep", Kind: Check, Value: Checked},
	}, DefaultStyles(common.New(nil)), DefaultKeyMap())
	m.SetSize(80, 20)
	m, cmd := m.Update(keyOf(tea.KeyEnter))
	if cmd != nil {
		t.Fatal("enter on the first field must move on")
	}
	m, _ = m.Update(runes("pw"))
	_, cmd = m.Update(keyOf(tea.KeyEnter))
	msg, ok := cmd().(SubmitMsg)
	if !ok || msg.Values["secret"] != "pw" || msg.Values["keep"] != Checked {
		t.Fatalf("enter on the last text field = %#v", cmd())
	}
}
