package providers

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseEnvelope(t *testing.T) {
	long := strings.Repeat("x", 500)
	tests := []struct {
		name        string
		status      int
		contentType string
		body        string
		want        Envelope
	}{
		{
			name: "pathstack 401 (OpenAPI example)", status: 401, contentType: "application/json",
			body: `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`,
			want: Envelope{Status: 401, Code: "401", Message: "Invalid Refresh Token", Shape: ShapePathStack},
		},
		{
			name: "pathstack 422 with loc/msg/type", status: 422, contentType: "application/json",
			body: `{"error": {"code": 422, "message": "Field required", "loc": ["body", "sub"], "msg": "Field required", "type": "missing"}}`,
			want: Envelope{Status: 422, Code: "422", Message: "Field required", Shape: ShapePathStack,
				Fields: []FieldError{{Loc: []any{"body", "sub"}, Msg: "Field required", Type: "missing"}}},
		},
		{
			name: "pathstack 422 integer loc, no message", status: 422,
			body: `{"error":{"code":422,"loc":["body",0],"msg":"Input should be a valid string","type":"string_type"}}`,
			want: Envelope{Status: 422, Code: "422", Message: "Input should be a valid string", Shape: ShapePathStack,
				Fields: []FieldError{{Loc: []any{"body", 0}, Msg: "Input should be a valid string", Type: "string_type"}}},
		},
		{
			name: "fastapi 422 (OpenAPI example)", status: 422, contentType: "application/json",
			body: `{"detail":[{"loc":["<string>"],"msg":"<string>","type":"<string>"}]}`,
			want: Envelope{Status: 422, Message: "<string>", Shape: ShapeFastAPI,
				Fields: []FieldError{{Loc: []any{"<string>"}, Msg: "<string>", Type: "<string>"}}},
		},
		{
			name: "fastapi 422 two fields", status: 422, contentType: "application/json",
			body: `{"detail":[{"loc":["cookie","refresh_token"],"msg":"Field required","type":"missing"},{"loc":["query",2],"msg":"bad","type":"x"}]}`,
			want: Envelope{Status: 422, Message: "Field required (and 1 more)", Shape: ShapeFastAPI,
				Fields: []FieldError{
					{Loc: []any{"cookie", "refresh_token"}, Msg: "Field required", Type: "missing"},
					{Loc: []any{"query", 2}, Msg: "bad", Type: "x"},
				}},
		},
		{
			name: "fastapi detail string", status: 401, contentType: "application/json",
			body: `{"detail": "Invalid refresh token"}`,
			want: Envelope{Status: 401, Message: "Invalid refresh token", Shape: ShapeFastAPIDetail},
		},
		{
			name: "html 502 page", status: 502, contentType: "text/html",
			body: "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n",
			want: Envelope{Status: 502, Message: "502 Bad Gateway", Shape: ShapeRaw},
		},
		{
			name: "html without title", status: 503, contentType: "text/html; charset=utf-8",
			body: "\n\n<p>Service &amp; more</p>\n<p>second</p>",
			want: Envelope{Status: 503, Message: "Service & more", Shape: ShapeRaw},
		},
		{
			name: "plain text first non-empty line", status: 500, contentType: "text/plain",
			body: "\n   \nupstream connect error or disconnect/reset before headers\nreset reason: overflow",
			want: Envelope{Status: 500, Message: "upstream connect error or disconnect/reset before headers", Shape: ShapeRaw},
		},
		{
			name: "json of another shape", status: 429, contentType: "application/json",
			body: "{\n  \"message\": \"Too Many Requests\",\n  \"retry_after\": 3\n}",
			want: Envelope{Status: 429, Message: `{"message":"Too Many Requests","retry_after":3}`, Shape: ShapeRaw},
		},
		{
			name: "detail of another type", status: 400,
			body: `{"detail": {"reason": "nope"}}`,
			want: Envelope{Status: 400, Message: `{"detail":{"reason":"nope"}}`, Shape: ShapeRaw},
		},
		{
			name: "malformed json", status: 200, contentType: "application/json",
			body: `{"data": {"access_token": `,
			want: Envelope{Status: 200, Message: `{"data": {"access_token":`, Shape: ShapeRaw},
		},
		{
			name: "empty body", status: 503,
			want: Envelope{Status: 503, Message: "Service Unavailable", Shape: ShapeRaw},
		},
		{
			name: "message made one line", status: 401,
			body: `{"detail": "line one\nline two"}`,
			want: Envelope{Status: 401, Message: "line one line two", Shape: ShapeFastAPIDetail},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ParseEnvelope(tt.status, tt.contentType, []byte(tt.body))
			if !reflect.DeepEqual(*got, tt.want) {
				t.Errorf("got  %#v\nwant %#v", *got, tt.want)
			}
		})
	}

	t.Run("long raw body trimmed to 200 characters", func(t *testing.T) {
		got := ParseEnvelope(500, "text/plain", []byte(long))
		if n := utf8.RuneCountInString(got.Message); n != 200 || !strings.HasSuffix(got.Message, "…") {
			t.Errorf("message of %d characters: %q", n, got.Message)
		}
	})
}

func TestErrorString(t *testing.T) {
	env := func(status int, body string) *Envelope { return ParseEnvelope(status, "", []byte(body)) }
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{Outcome: OutcomeRejected, Status: 401, Envelope: env(401, `{"error": {"code": 401, "message": "Invalid Refresh Token"}}`)},
			"rejected: 401 Invalid Refresh Token"},
		{&Error{Outcome: OutcomeRejected, Status: 422, Envelope: env(422, `{"error": {"code": 422, "message": "Field required", "loc": ["body","sub"], "msg": "Field required", "type": "missing"}}`)},
			"rejected: 422 Field required at body.sub"},
		{&Error{Outcome: OutcomeRejected, Status: 422, Envelope: env(422, `{"detail":[{"loc":["cookie","refresh_token"],"msg":"Field required","type":"missing"}]}`)},
			"rejected: 422 Field required at cookie.refresh_token"},
		{&Error{Outcome: OutcomeServerError, Status: 502, Envelope: env(502, "<html><head><title>502 Bad Gateway</title></head></html>")},
			"server error: 502 Bad Gateway"},
		{&Error{Outcome: OutcomeServerError, Status: 500, Envelope: env(500, "")},
			"server error: 500 Internal Server Error"},
		{&Error{Outcome: OutcomeServerError, Status: 200, Err: fmt.Errorf("%w: missing data.access_token", ErrSchema)},
			"server error: 200 OK: response does not match schema: missing data.access_token"},
		{&Error{Outcome: OutcomeNetworkError, Kind: KindRefused, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")},
			"network error (refused): dial tcp 127.0.0.1:1: connect: connection refused"},
		{&Error{Outcome: OutcomeNetworkError, Kind: KindNetwork, Err: errors.New("something odd")},
			"network error: something odd"},
		{&Error{Outcome: OutcomeCancelled, Err: errors.New("context canceled")},
			"cancelled: context canceled"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("got  %q\nwant %q", got, tt.want)
		}
	}
	schema := &Error{Outcome: OutcomeServerError, Status: 200, Err: fmt.Errorf("%w: x", ErrSchema)}
	if !errors.Is(schema, ErrSchema) {
		t.Error("schema error does not match ErrSchema")
	}
}
