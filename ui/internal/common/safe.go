package common

import (
	"strings"

	"github.com/tokentop/tokentop/providers"
)

// Safe is how every text that comes from a token, a server or the vault
// (labels, URLs, claims, status lines, headers, bodies, errors) reaches a
// View: on one line, with nothing a terminal would act on. It is
// providers.SafeText (control characters shown as \xNN and bidi controls
// as \uNNNN, so an ESC, a CSI or an OSC 52 clipboard write in a claim is
// drawn, not obeyed; bytes that are not UTF-8 become U+FFFD, as a lone
// 0x9b is a CSI to some terminals), with a newline shown as \n and a tab
// as a space, so that a value never breaks the line it is set in.
func Safe(s string) string {
	if plainASCII(s) {
		return s // the common case, without allocating
	}
	if strings.ContainsAny(s, "\n\t") {
		s = strings.NewReplacer("\n", `\n`, "\t", " ").Replace(s)
	}
	return providers.SafeText(s)
}

// SafeLines is Safe for a text of several lines (a response body): one
// Safe line per line, a CRLF taken as a line end.
func SafeLines(s string) []string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = Safe(strings.TrimSuffix(l, "\r"))
	}
	return lines
}
