package providers

import (
	"fmt"
	"strings"
	"unicode"
)

// SafeText makes text from a server safe to print on a terminal: control
// characters (C0 but newline and tab, DEL, C1) are shown as \xNN instead of
// being sent, so a hostile body cannot move the cursor, retitle the window
// or clear the screen. Everything else is kept as it is.
func SafeText(s string) string {
	if strings.IndexFunc(s, isUnsafeControl) < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		if isUnsafeControl(r) {
			fmt.Fprintf(&b, `\x%02x`, r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isUnsafeControl(r rune) bool {
	return r != '\n' && r != '\t' && unicode.IsControl(r)
}
