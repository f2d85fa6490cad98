package cli

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tokentop/tokentop/providers"
)

// hostileJWT is a token whose header and claims carry terminal controls: an
// OSC 52 clipboard write, a screen wipe, a C1 CSI and a bidi override.
func hostileJWT() string {
	enc := base64.RawURLEncoding.EncodeToString
	header := `{"alg":"HS256\u001b]52;c;QUxHCg==\u0007","typ":"JWT"}`
	claims := `{"iss":"https://evil\u202eliame","sub":"\u009b2J","aud":"x\u001b[2J","jti":"\u001b]8;;http://x\u0007link","exp":4102444800}`
	return enc([]byte(header)) + "." + enc([]byte(claims)) + ".c2ln"
}

// assertNoControls fails when out holds a control, C1 or bidi character
// (newline and tab aside).
func assertNoControls(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r == utf8.RuneError || r == '\n' || r == '\t' {
			continue
		}
		if providers.UnsafeRune(r) {
			t.Fatalf("%s: control %U at byte %d in %q", what, r, i, out)
		}
	}
}

func TestDecodeNeutralisesHostileTokens(t *testing.T) {
	e := newEnv(t)
	tok := hostileJWT()
	for _, args := range [][]string{{"decode", tok}, {"decode", tok, "--json"}, {"decode", "Bearer " + tok}} {
		r := e.run("", args...)
		if r.code != 0 {
			t.Fatalf("%v: %+v", args, r)
		}
		assertNoControls(t, strings.Join(args[:1], " ")+" stdout", r.out)
		assertNoControls(t, "stderr", r.err)
		if !strings.Contains(r.out, "evil") {
			t.Errorf("%v: the claims are not shown: %s", args, r.out)
		}
	}
}
