package providers

import (
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// jsonSecretRe is what jsonSecrets does, as the regular expression redaction
// used before it: the oracle the scanner is held to.
var jsonSecretRe = regexp.MustCompile(`(?i)"(access_?token|refresh_?token|id_?token|password|api_?key|client_?secret|token|session_?token|jwt)"(\s*:\s*)"((?:[^"\\]|\\.)*)("?)`)

var jsonSecretSeeds = []string{
	`{"access_token":"abc","refresh_token":"def"}`,
	`{"data":{"Access_Token" : "a\"b\\c","x":1},"jwt":"e30.e30.x"}`,
	`{"token":"cut off`,
	`{"token":"ends in a backslash\`,
	"{\"token\":\"escaped newline \\\n stops here\"}",
	`{"paſſword":"kelvin","api_Key":"k","tokenx":"no","ToKeN":"yes"}`,
	`"a"token":"overlap"`,
	`"""token""":"x"`,
	`{"password"  :	"p"	,"id_token":"i", "clientsecret":"c", "session_token": "s"}`,
	"{\"token\":\"\xff\xfe\\\xff\"}",
	`{"token": 12, "token":null, "token":"ok"}`,
	`{"refresh_token":"` + strings.Repeat(`\"`, 50) + `"}`,
	`token":"x"`,
	`""`,
	`{"accesstoken":"a","ACCESS_TOKEN":"b","access__token":"c"}`,
}

func TestJSONSecretsMatchesTheExpression(t *testing.T) {
	for _, b := range jsonSecretSeeds {
		checkJSONSecrets(t, b)
	}
	// Bodies strung together from the pieces that matter, which a fuzzer
	// seldom puts together by itself.
	pieces := []string{`"`, `\`, `\"`, ":", " ", "\t", "\n", "\v", "token", "TOKEN", "access_token", "api_key", "paſſword",
		"jwt", "_", "x", "é", "\xff", "{", "}", ",", `"token"`, `"token":"`, `":"`}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50_000 {
		var b strings.Builder
		for range 1 + rng.IntN(12) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		checkJSONSecrets(t, b.String())
	}
}

func FuzzJSONSecrets(f *testing.F) {
	for _, b := range jsonSecretSeeds {
		f.Add(b)
	}
	f.Fuzz(checkJSONSecrets)
}

func checkJSONSecrets(t *testing.T, b string) {
	want := jsonSecretRe.FindAllStringSubmatchIndex(b, -1)
	got := jsonSecrets(b)
	if len(want) == 0 && len(got) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n scanner %v\n regexp  %v", b, got, want)
	}
}

// TestJSONSecretsFindsEveryKey: every key redaction calls sensitive is
// found by the scanner, as key and in upper case (a key it cannot read,
// with a hyphen or over 16 bytes, would go unmasked in JSON bodies).
func TestJSONSecretsFindsEveryKey(t *testing.T) {
	for key := range sensitiveKeys {
		for _, k := range []string{key, strings.ToUpper(key)} {
			body := `{"` + k + `":"s3cr3t-value"}`
			if m := jsonSecrets(body); len(m) != 1 || body[m[0][6]:m[0][7]] != "s3cr3t-value" {
				t.Errorf("%s: found %v", body, m)
			}
		}
	}
}
