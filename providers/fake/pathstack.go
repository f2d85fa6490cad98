package fake

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"
)

// flavor is what differs between the two providers.
type flavor struct {
	name         string
	audience     string
	routes       map[string]func(*Server, http.ResponseWriter, *http.Request)
	errorBody    func(status int, message string) []byte // the provider's error envelope
	malformed    string                                  // a 200 body cut short
	customClaims func(*Server, *tokenClaims)
}

var pathStackFlavor = &flavor{
	name:     "pathstack",
	audience: "pathstack-api",
	routes: map[string]func(*Server, http.ResponseWriter, *http.Request){
		"/token":   (*Server).pathStackLogin,
		"/refresh": (*Server).pathStackRefresh,
	},
	errorBody: func(status int, message string) []byte {
		return mustJSON(pathStackError{Error: pathStackErrorBody{Code: status, Message: message}})
	},
	malformed:    `{"data": {"token_type": "Bearer", "expires_in": 3600, "access_token": "eyJhbGciOiJIUzI1NiIs`,
	customClaims: func(s *Server, c *tokenClaims) { c.Email = s.opts.Username },
}

// pathStackError is PathStack's error envelope: {"error": {...}}.
type pathStackError struct {
	Error pathStackErrorBody `json:"error"`
}

// pathStackErrorBody carries loc/msg/type only for validation errors (422).
type pathStackErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Loc     []any  `json:"loc,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Type    string `json:"type,omitempty"`
}

// pathStackData is the 200 answer of /token and /refresh.
type pathStackData struct {
	Data pathStackTokens `json:"data"`
}

type pathStackTokens struct {
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"` // absent: not rotated
	Sub          string `json:"sub"`
}

// validationError is one pydantic error, the first of which PathStack puts
// in its envelope and Galileo (plain FastAPI) lists under "detail".
type validationError struct {
	Loc  []any  `json:"loc"`
	Msg  string `json:"msg"`
	Type string `json:"type"`
}

func pathStackBadLogin() []byte {
	return mustJSON(pathStackError{Error: pathStackErrorBody{Code: 400, Message: "Invalid username or password"}})
}

func pathStackBadRefresh() []byte {
	return mustJSON(pathStackError{Error: pathStackErrorBody{Code: 401, Message: "Invalid Refresh Token"}})
}

// pathStackLogin serves POST /token.
func (s *Server) pathStackLogin(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.pathStackBody(w, r, func(body map[string]json.RawMessage) *validationError {
		if verr := stringField(body, "username"); verr != nil {
			return verr
		}
		return stringField(body, "password")
	})
	if !ok {
		return
	}
	var creds struct{ Username, Password string }
	_ = json.Unmarshal(raw, &creds) // validated above
	if !strings.EqualFold(creds.Username, s.opts.Username) || creds.Password != s.opts.Password {
		s.reject(w, http.StatusBadRequest, pathStackBadLogin())
		return
	}
	out, ok := s.login(w)
	if !ok {
		return
	}
	writePathStackTokens(w, out)
}

// pathStackRefresh serves POST /refresh.
func (s *Server) pathStackRefresh(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.pathStackBody(w, r, func(body map[string]json.RawMessage) *validationError {
		if verr := uuid4Field(body, "sub"); verr != nil {
			return verr
		}
		return stringField(body, "refresh_token")
	})
	if !ok {
		return
	}
	var req struct {
		Sub          string `json:"sub"`
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(raw, &req) // validated above
	out, err := s.redeem(req.RefreshToken, req.Sub)
	if errors.Is(err, errInvalidRefresh) {
		s.reject(w, http.StatusUnauthorized, pathStackBadRefresh())
		return
	}
	if err != nil {
		writeBody(w, http.StatusInternalServerError, "application/json", s.flavor.errorBody(500, "Internal Server Error"))
		return
	}
	writePathStackTokens(w, out)
}

// writePathStackTokens answers 200 with the tokens of a login or refresh
// (data.refresh_token absent when a refresh did not rotate).
func writePathStackTokens(w http.ResponseWriter, out issued) {
	writeJSON(w, http.StatusOK, pathStackData{Data: pathStackTokens{
		TokenType:    "Bearer",
		ExpiresIn:    int64(out.accessTTL / time.Second),
		AccessToken:  out.access,
		RefreshToken: out.refresh,
		Sub:          out.sub,
	}})
}

// pathStackBody reads the JSON body and validates it with the x-api-version
// header the way FastAPI would (header before body, fields in model order).
// On the first error it answers 422 and returns false.
func (s *Server) pathStackBody(w http.ResponseWriter, r *http.Request, check func(map[string]json.RawMessage) *validationError) ([]byte, bool) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		raw = nil // too large or cut off: as unparseable as bad JSON
	}
	verr := apiVersionHeader(r)
	if verr == nil {
		var body map[string]json.RawMessage
		if json.Unmarshal(raw, &body) != nil {
			body = nil // not a JSON object: every field is missing
		}
		verr = check(body)
	}
	if verr != nil {
		s.reject(w, http.StatusUnprocessableEntity, mustJSON(pathStackError{Error: pathStackErrorBody{
			Code: 422, Message: verr.Msg, Loc: verr.Loc, Msg: verr.Msg, Type: verr.Type,
		}}))
		return nil, false
	}
	return raw, true
}

// apiVersionHeader validates x-api-version (a date) when present.
func apiVersionHeader(r *http.Request) *validationError {
	v, ok := r.Header["X-Api-Version"]
	if !ok || len(v) == 0 {
		return nil // optional; the documented default applies
	}
	if _, err := time.Parse(time.DateOnly, v[0]); err != nil {
		return &validationError{
			Loc:  []any{"header", "x-api-version"},
			Msg:  "Input should be a valid date or datetime",
			Type: "date_from_datetime_parsing",
		}
	}
	return nil
}

// stringField checks that body[name] is a JSON string.
func stringField(body map[string]json.RawMessage, name string) *validationError {
	raw, ok := body[name]
	if !ok {
		return &validationError{Loc: []any{"body", name}, Msg: "Field required", Type: "missing"}
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return &validationError{Loc: []any{"body", name}, Msg: "Input should be a valid string", Type: "string_type"}
	}
	return nil
}

// uuid4Field checks that body[name] is a string holding a version 4 UUID.
func uuid4Field(body map[string]json.RawMessage, name string) *validationError {
	raw, ok := body[name]
	if !ok {
		return &validationError{Loc: []any{"body", name}, Msg: "Field required", Type: "missing"}
	}
	var v string
	if json.Unmarshal(raw, &v) != nil {
		return &validationError{Loc: []any{"body", name}, Msg: "UUID input should be a string, bytes or UUID object", Type: "uuid_type"}
	}
	valid, v4 := parseUUID(v)
	switch {
	case !valid:
		return &validationError{Loc: []any{"body", name}, Msg: "Input should be a valid UUID", Type: "uuid_parsing"}
	case !v4:
		return &validationError{Loc: []any{"body", name}, Msg: "UUID version 4 expected", Type: "uuid_version"}
	}
	return nil
}

// mustJSON marshals values built from our own plain structs, which cannot fail.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fake: marshal: " + err.Error())
	}
	return b
}
