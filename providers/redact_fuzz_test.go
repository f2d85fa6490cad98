package providers

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestRedactedOverlappingSecrets: occurrences of secrets that overlap are
// masked as one run by its length, so no part of either shows (nor a secret
// inside another as the head of its mask); a long secret of one repeated
// character is masked at every occurrence, overlapping ones included.
func TestRedactedOverlappingSecrets(t *testing.T) {
	for _, tc := range []struct {
		secrets    []string
		text, want string
	}{
		{[]string{"abcdXXXXXXXXXXXX", "XXXXXXXXXXXXefgh"}, "<abcdXXXXXXXXXXXXefgh>", "<…(20)…>"},
		{[]string{"abcdefghijklmnop", "efghijklmnopqrst"}, "efghijklmnopqrst abcdefghijklmnop", "efgh…(16)…rst abcd…(16)…nop"},
		{[]string{"abcdefghijklmnop", "abcd"}, "abcd abcdefghijklmnop", "…(4)… …(16)…"},
		{[]string{"abab"}, "ababab", "…(6)…"},
		{[]string{strings.Repeat("a", 20)}, strings.Repeat("a", 30) + "b", "…(30)…b"},
		{[]string{"tok-one-0123456789", "tok-two-0123456789"}, "tok-one-0123456789tok-two-0123456789", "tok-…(18)…789tok-…(18)…789"},
	} {
		ex := &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{}, ResponseBody: tc.text}
		ex.AddSecrets(tc.secrets...)
		if got := ex.Redacted().ResponseBody; got != tc.want {
			t.Errorf("secrets %q in %q: %q, want %q", tc.secrets, tc.text, got, tc.want)
		}
	}
}

// FuzzMask: Mask never panics, keeps at most 7 characters of the secret, and
// tells its length.
func FuzzMask(f *testing.F) {
	for _, seed := range []string{"", "hunter2", "eyJhbGciOi.payload.Q9s", "ééééééééééééé", "\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6\xf5\xf4", strings.Repeat("a", 2000)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := Mask(s)
		if s == "" {
			if m != "" {
				t.Fatalf("Mask(\"\") = %q", m)
			}
			return
		}
		n := utf8.RuneCountInString(s)
		if !strings.Contains(m, "…("+strconv.Itoa(n)+")…") {
			t.Fatalf("Mask(%q) = %q does not tell the length %d", s, m, n)
		}
		if n >= shortSecret && utf8.RuneCountInString(m) != 7+utf8.RuneCountInString("…("+strconv.Itoa(n)+")…") {
			t.Fatalf("Mask(%q) = %q keeps more than 7 characters", s, m)
		}
		if n < shortSecret && !strings.HasPrefix(m, "…") {
			t.Fatalf("Mask(%q) = %q shows a short secret", s, m)
		}
	})
}

// hostileExchange puts secret in a JSON body field, a cookie, a Set-Cookie,
// a form field and raw text around filler, and registers it.
func hostileExchange(secret, filler string) *Exchange {
	ex := &Exchange{
		Method: "POST", URL: "https://api.example.test/refresh?token=" + secret + "&page=" + filler,
		RequestHeader: http.Header{
			"Cookie":       {"theme=" + filler + "; refresh_token=" + secret},
			"Content-Type": {"application/x-www-form-urlencoded"},
		},
		RequestBody: "grant_type=password&password=" + secret + "&note=" + filler,
		Status:      200, StatusText: "200 OK", Proto: "HTTP/1.1",
		ResponseHeader: http.Header{
			"Set-Cookie":   {"refresh_token=" + secret + "; Path=/"},
			"X-Echo":       {filler + secret + filler},
			"Content-Type": {"application/json"},
		},
		ResponseBody: `{"data": {"access_token": ` + jsonString(secret) + `, "note": ` + jsonString(filler) + `}} ` + filler + secret,
		Error:        "server said " + filler + secret,
	}
	ex.AddSecrets(secret)
	return ex
}

// FuzzRedacted: whatever the secret and the text around it, Redacted and
// Format never show the registered secret (when it is long enough to be
// looked for: minReplaced runes, and not made of a mask's characters), Format
// writes no control character, and redacting twice changes nothing.
func FuzzRedacted(f *testing.F) {
	for _, seed := range [][2]string{
		{"MRK-refresh-0123456789abcdef", "plain"},
		{"abcd", "abcdabcdabc"},
		{strings.Repeat("a", 300), strings.Repeat("a", 500)},
		{"tok\x1b]52;c;SGVsbG8=\x07en", "\x1b[2J\u202e\u009b"},
		{`tok"en\with;quotes=`, `"\";;==`},
		{"ééééééééééééé", "é"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, secret, filler string) {
		ex := hostileExchange(secret, filler)
		red := ex.Redacted()
		raw, err := json.Marshal(red)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		ex.Format(&out, false)
		if i := strings.IndexFunc(out.String(), func(r rune) bool { return r != '\n' && UnsafeRune(r) }); i >= 0 {
			t.Fatalf("Format keeps a control character: %q", out.String()[i:])
		}
		// Masks are made of "…(", digits and ")…": a secret of those could
		// be spelled by a mask.
		if utf8.RuneCountInString(secret) >= minReplaced && !strings.ContainsAny(secret, "…()") &&
			strings.Trim(secret, "0123456789") != "" && utf8.ValidString(secret) {
			texts := []string{red.URL, red.RequestBody, red.ResponseBody, red.Error}
			for _, h := range []http.Header{red.RequestHeader, red.ResponseHeader} {
				for _, vs := range h {
					texts = append(texts, vs...)
				}
			}
			for _, text := range texts {
				if strings.Contains(text, secret) {
					t.Fatalf("secret %q shows in %q", secret, text)
				}
			}
			// Format's own text spells a secret that starts or ends in a
			// space out of the filler beside it ("page=abc HTTP/1.1" holds
			// "abc "): the whole secret is looked for in the fields above.
			if safe := SafeText(secret); strings.TrimSpace(secret) == secret && strings.Contains(out.String(), safe) {
				t.Fatalf("secret %q shows in the formatted exchange", secret)
			}
		}
		again, _ := json.Marshal(red.Redacted())
		if !bytes.Equal(raw, again) {
			t.Fatal("redacting a redacted exchange changed it")
		}
	})
}

// TestRedactedLargeInputs: 1 MiB adversarial bodies and secrets are
// redacted in linear time (a 200 KB secret of one character took minutes
// with strings.Replacer).
func TestRedactedLargeInputs(t *testing.T) {
	const size = 1 << 20
	long := strings.Repeat("a", 200_000)
	for name, ex := range map[string]*Exchange{
		"secret of one character in a body of it": func() *Exchange {
			ex := &Exchange{RequestHeader: http.Header{"Cookie": {"refresh_token=" + long}}, ResponseHeader: http.Header{},
				ResponseBody: strings.Repeat("a", size)}
			ex.AddSecrets(long)
			return ex
		}(),
		"near-miss secrets": func() *Exchange {
			ex := &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{}, ResponseBody: strings.Repeat("a", size)}
			ex.AddSecrets(strings.Repeat("a", 100_000)+"b", strings.Repeat("a", 50_000)+"c")
			return ex
		}(),
		"many token fields": &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{},
			ResponseBody: strings.Repeat(`{"token":"abcdefghijklm"},`, size/26)},
		"many distinct token fields": func() *Exchange {
			var b strings.Builder
			for i := 0; b.Len() < size; i++ {
				b.WriteString(`"token":"tok-` + strconv.Itoa(i) + `-0123456789",`)
			}
			return &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{}, ResponseBody: b.String()}
		}(),
		"unterminated value": &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{},
			ResponseBody: `{"access_token": "` + strings.Repeat(`\\`, size/2)},
		"quotes": &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{}, ResponseBody: strings.Repeat(`"`, size)},
		"keys without values": &Exchange{RequestHeader: http.Header{}, ResponseHeader: http.Header{},
			ResponseBody: strings.Repeat(`"access_token":`, size/15)},
		"cookies": &Exchange{RequestHeader: http.Header{"Cookie": {strings.Repeat("a=bcdefghijklmnop;", size/18)}}, ResponseHeader: http.Header{}},
		"form": &Exchange{RequestHeader: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, ResponseHeader: http.Header{},
			RequestBody: strings.Repeat("password=abcdefghijkl&", size/22)},
	} {
		ex.Status, ex.StatusText, ex.Proto = 200, "200 OK", "HTTP/1.1"
		start := time.Now()
		var out bytes.Buffer
		ex.Format(&out, false)
		t.Logf("%s: Redacted + Format took %s (%d bytes in, %d out)", name, time.Since(start),
			len(ex.RequestBody)+len(ex.ResponseBody)+len(ex.RequestHeader.Get("Cookie")), out.Len())
	}
}
