package form

import (
	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
)

// Kind is a field's kind.
type Kind int

// The field kinds.
const (
	Text   Kind = iota
	Secret      // masked while typing (textinput.EchoPassword)
	Choice      // one of Choices, changed with ←/→
	Check       // a checkbox: Value is "true" or "false", space toggles it
)

// Checked and Unchecked are a Check field's values.
const (
	Checked   = "true"
	Unchecked = "false"
)

// Field describes one field.
type Field struct {
	Key          string
	Label        string
	Kind         Kind
	Value        string   // initial value
	Placeholder  string   // shown while empty
	Choices      []string // Choice: the values
	ChoiceLabels []string // Choice: how the values are shown (default: the values)
	Hidden       bool
	Hint         string // shown under the field, muted, unless it is in error
	Text         string // Check: the words beside the box
}

type field struct {
	Field
	input   textinput.Model
	choice  int
	checked bool
	err     string
}

// SubmitMsg is sent when the user submits a form.
type SubmitMsg struct {
	FormID string
	Values map[string]string
}

// CancelMsg is sent when the user leaves a form with esc.
type CancelMsg struct{ FormID string }

// Model is a form.
type Model struct {
	id     string
	title  string
	fields []field
	focus  int

	err  string
	busy string // what is running since submit ("" when idle)
	note string // a muted line under the fields ("" when none)

	width, height int
	spinner       string
	styles        Styles
	keys          KeyMap
}

// New builds a form. id comes back in SubmitMsg and CancelMsg.
func New(id, title string, fields []Field, styles Styles, keys KeyMap) Model {
	m := Model{id: id, title: title, styles: styles, keys: keys}
	for _, f := range fields {
		ff := field{Field: f}
		switch f.Kind {
		case Check:
			ff.checked = f.Value == Checked
		case Choice:
			for i, c := range f.Choices {
				if c == f.Value {
					ff.choice = i
				}
			}
		default:
			in := textinput.New()
			in.Prompt = ""
			in.Placeholder = f.Placeholder
			in.SetValue(f.Value)
			in.TextStyle = styles.Input
			in.PlaceholderStyle = styles.Placeholder
			in.Cursor.SetMode(cursor.CursorStatic) // no blink ticks: calmer, and stable screens in tests
			if f.Kind == Secret {
				in.EchoMode = textinput.EchoPassword
				in.EchoCharacter = '•'
			}
			ff.input = in
		}
		m.fields = append(m.fields, ff)
	}
	m.focus = -1
	m.focusField(m.nextVisible(-1, 1))
	return m
}

// ID identifies the form.
func (m Model) ID() string { return m.id }

// Focused is the key of the field with the focus ("" when none has it).
func (m Model) Focused() string {
	if m.focus < 0 || m.focus >= len(m.fields) {
		return ""
	}
	return m.fields[m.focus].Key
}

// Value returns a field's value.
func (m Model) Value(key string) string {
	for _, f := range m.fields {
		if f.Key == key {
			return f.value()
		}
	}
	return ""
}

// Values returns every visible field's value by key.
func (m Model) Values() map[string]string {
	v := make(map[string]string, len(m.fields))
	for _, f := range m.fields {
		if !f.Hidden {
			v[f.Key] = f.value()
		}
	}
	return v
}

// SetValue changes a field's value.
func (m *Model) SetValue(key, value string) {
	for i := range m.fields {
		f := &m.fields[i]
		if f.Key != key {
			continue
		}
		switch f.Kind {
		case Check:
			f.checked = value == Checked
		case Choice:
			for j, c := range f.Choices {
				if c == value {
					f.choice = j
				}
			}
		default:
			f.input.SetValue(value)
		}
	}
}

// SetPlaceholder changes what a text field shows while empty.
func (m *Model) SetPlaceholder(key, placeholder string) {
	for i := range m.fields {
		if m.fields[i].Key == key {
			m.fields[i].Placeholder = placeholder
			m.fields[i].input.Placeholder = placeholder
		}
	}
}

// SetHint changes the muted line under a field ("" removes it).
func (m *Model) SetHint(key, hint string) {
	for i := range m.fields {
		if m.fields[i].Key == key {
			m.fields[i].Hint = hint
		}
	}
}

// SetText changes the words beside a checkbox.
func (m *Model) SetText(key, text string) {
	for i := range m.fields {
		if m.fields[i].Key == key {
			m.fields[i].Text = text
		}
	}
}

// Focus gives a visible field the keyboard.
func (m *Model) Focus(key string) {
	for i := range m.fields {
		if m.fields[i].Key == key && !m.fields[i].Hidden {
			m.focusField(i)
		}
	}
}

// SetHidden shows or hides a field.
func (m *Model) SetHidden(key string, hidden bool) {
	for i := range m.fields {
		if m.fields[i].Key == key {
			m.fields[i].Hidden = hidden
		}
	}
	if m.focus >= 0 && m.fields[m.focus].Hidden {
		m.focusField(m.nextVisible(m.focus, 1))
	}
}

// SetErrors shows validation errors: per field by key, and one for the form.
// It ends the busy state and focuses the first field in error.
func (m *Model) SetErrors(fields map[string]string, general string) {
	m.busy = ""
	m.err = general
	first := -1
	for i := range m.fields {
		m.fields[i].err = fields[m.fields[i].Key]
		if m.fields[i].err != "" && first < 0 && !m.fields[i].Hidden {
			first = i
		}
	}
	if first >= 0 {
		m.focusField(first)
	}
}

// SetNote sets the muted line under the fields (a preview of what saving
// does, say); "" removes it.
func (m *Model) SetNote(note string) { m.note = note }

// SetBusy shows that the submitted work runs ("" ends it).
func (m *Model) SetBusy(what string) { m.busy = what }

// Busy reports whether submitted work runs.
func (m Model) Busy() bool { return m.busy != "" }

// SetSpinner sets the frame drawn while busy.
func (m *Model) SetSpinner(frame string) { m.spinner = frame }

// SetSize sets the space the form may use.
func (m *Model) SetSize(width, height int) {
	m.width, m.height = width, height
	w := max(10, m.boxWidth()-2-labelCol-1)
	for i := range m.fields {
		m.fields[i].input.Width = w - 1
	}
}

// Update handles the keyboard.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	km, ok := msg.(tea.KeyMsg)
	if !ok {
		return m, nil
	}
	if key.Matches(km, m.keys.Cancel) {
		id := m.id
		return m, func() tea.Msg { return CancelMsg{FormID: id} }
	}
	if m.busy != "" {
		return m, nil
	}
	switch {
	case key.Matches(km, m.keys.Next):
		m.focusField(m.nextVisible(m.focus, 1))
		return m, nil
	case key.Matches(km, m.keys.Prev):
		m.focusField(m.nextVisible(m.focus, -1))
		return m, nil
	case key.Matches(km, m.keys.Submit):
		// enter moves on while a text field follows; a checkbox after the
		// last one does not hold the form back (tab reaches it).
		if km.String() == "enter" && m.inputAfter(m.focus) {
			m.focusField(m.nextVisible(m.focus, 1))
			return m, nil
		}
		id, vals := m.id, m.Values()
		return m, func() tea.Msg { return SubmitMsg{FormID: id, Values: vals} }
	}
	f := &m.fields[m.focus]
	if f.Kind == Check {
		if key.Matches(km, m.keys.Toggle) {
			f.checked = !f.checked
			f.err = ""
		}
		return m, nil
	}
	if f.Kind == Choice {
		if key.Matches(km, m.keys.Choose) && len(f.Choices) > 0 {
			step := 1
			if km.String() == "left" {
				step = len(f.Choices) - 1
			}
			f.choice = (f.choice + step) % len(f.Choices)
			f.err = ""
		}
		return m, nil
	}
	var cmd tea.Cmd
	before := f.input.Value()
	f.input, cmd = f.input.Update(msg)
	if f.input.Value() != before {
		f.err = ""
	}
	return m, cmd
}

func (f field) value() string {
	if f.Kind == Check {
		if f.checked {
			return Checked
		}
		return Unchecked
	}
	if f.Kind == Choice {
		if f.choice < len(f.Choices) {
			return f.Choices[f.choice]
		}
		return ""
	}
	return f.input.Value()
}

// inputAfter reports whether a visible field other than a checkbox follows i.
func (m Model) inputAfter(i int) bool {
	for j := i + 1; j < len(m.fields); j++ {
		if !m.fields[j].Hidden && m.fields[j].Kind != Check {
			return true
		}
	}
	return false
}

// nextVisible returns the next visible field from i in direction dir,
// staying at i at either end.
func (m Model) nextVisible(i, dir int) int {
	for j := i + dir; j >= 0 && j < len(m.fields); j += dir {
		if !m.fields[j].Hidden {
			return j
		}
	}
	return i
}

func (m *Model) focusField(i int) {
	if i < 0 || i >= len(m.fields) {
		return
	}
	for j := range m.fields {
		m.fields[j].input.Blur()
	}
	m.focus = i
	if k := m.fields[i].Kind; k != Choice && k != Check {
		m.fields[i].input.Focus()
	}
}
