package providers

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/tokentop/tokentop/vault"
)

// SafeText makes text from a server safe to print on a terminal: control
// characters (C0 but newline and tab, DEL, C1) are shown as \xNN, and the
// invisible bidirectional controls (U+061C, U+200E/F, U+202A–U+202E,
// U+2066–U+2069; see vault.IsBidiControl) as \uNNNN, instead of being sent:
// a hostile body cannot move the cursor, retitle the window, clear the
// screen, reach the clipboard (OSC 52) or reorder what is shown. Invalid
// UTF-8 bytes become U+FFFD (a stray 0x9B is CSI to an 8-bit terminal).
// Everything else is kept as it is. One pass, linear in the input.
func SafeText(s string) string {
	i := firstUnsafe(s)
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if UnsafeRune(r) {
			writeEscape(&b, r)
			continue
		}
		b.WriteRune(r) // utf8.RuneError for an invalid byte: written as U+FFFD
	}
	return b.String()
}

// firstUnsafe is the index of the first character SafeText changes (an
// unsafe one or an invalid byte), len(s) when there is none.
func firstUnsafe(s string) int {
	for i, r := range s {
		if UnsafeRune(r) {
			return i
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}

// UnsafeRune reports the characters SafeText escapes: control characters but
// newline and tab, and bidirectional controls.
func UnsafeRune(r rune) bool {
	if r < 0x80 {
		return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f
	}
	return unicode.IsControl(r) || vault.IsBidiControl(r)
}

const hexDigits = "0123456789abcdef"

// writeEscape writes r as \xNN (below U+0100) or \uNNNN.
func writeEscape(b *strings.Builder, r rune) {
	if r < 0x100 {
		b.WriteString(`\x`)
		b.WriteByte(hexDigits[r>>4])
		b.WriteByte(hexDigits[r&0xf])
		return
	}
	var buf [6]byte
	b.Write(appendUEscape(buf[:0], r))
}

// appendUEscape appends r (at most U+FFFF) as \uNNNN.
func appendUEscape(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u', hexDigits[(r>>12)&0xf], hexDigits[(r>>8)&0xf], hexDigits[(r>>4)&0xf], hexDigits[r&0xf])
}
