package fake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
)

// Galileo's logins: POST /login (an OAuth2 password form, as FastAPI's
// OAuth2PasswordRequestForm reads it) and POST /login/api_key (JSON). Both
// start a new token family: the access token in the body, the refresh token
// in Set-Cookie, with the same rotation and reuse rules as /v1/refresh_token.

func galileoBadLogin() []byte {
	return mustJSON(galileoDetail{Detail: "Incorrect username or password"})
}

func galileoBadAPIKey() []byte {
	return mustJSON(galileoDetail{Detail: "Invalid API key"})
}

// loginCookiePath is the Path of the refresh_token cookie a login sets:
// narrower than "/", so that a client relying on a cookie jar would not
// send it to another endpoint; tokentop sends it back explicitly.
const loginCookiePath = "/v1/refresh_token"

// galileoLogin serves POST /login: grant_type (optional, "password"),
// username and password, form-encoded. Any other content type leaves every
// field missing, as in FastAPI.
func (s *Server) galileoLogin(w http.ResponseWriter, r *http.Request) {
	form := url.Values{}
	raw, err := io.ReadAll(r.Body)
	if err == nil && mediaType(r) == "application/x-www-form-urlencoded" {
		if f, perr := url.ParseQuery(string(raw)); perr == nil {
			form = f
		}
	}
	var errs []validationError
	// OAuth2PasswordRequestForm's pattern for grant_type is ^password$.
	if gt, ok := form["grant_type"]; ok && gt[0] != "password" {
		errs = append(errs, validationError{Loc: []any{"body", "grant_type"},
			Msg: "String should match pattern '^password$'", Type: "string_pattern_mismatch"})
	}
	for _, name := range []string{"username", "password"} {
		if _, ok := form[name]; !ok {
			errs = append(errs, validationError{Loc: []any{"body", name}, Msg: "Field required", Type: "missing"})
		}
	}
	if len(errs) > 0 {
		s.reject(w, http.StatusUnprocessableEntity, mustJSON(galileoValidation{Detail: errs}))
		return
	}
	if !strings.EqualFold(form.Get("username"), s.opts.Username) || form.Get("password") != s.opts.Password {
		s.reject(w, http.StatusUnauthorized, galileoBadLogin())
		return
	}
	s.galileoNewFamily(w)
}

// galileoLoginAPIKey serves POST /login/api_key: {"api_key": "..."} with a
// key from IssueAPIKey that was not revoked.
func (s *Server) galileoLoginAPIKey(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		raw = nil
	}
	var errs []validationError
	var body map[string]json.RawMessage
	switch {
	case mediaType(r) != "application/json":
		errs = append(errs, validationError{Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type"})
	case !json.Valid(raw):
		errs = append(errs, validationError{Loc: []any{"body", 0}, Msg: "JSON decode error", Type: "json_invalid"})
	case json.Unmarshal(raw, &body) != nil || body == nil:
		errs = append(errs, validationError{Loc: []any{"body"},
			Msg: "Input should be a valid dictionary or object to extract fields from", Type: "model_attributes_type"})
	default:
		if verr := stringField(body, "api_key"); verr != nil {
			errs = append(errs, *verr)
		}
	}
	if len(errs) > 0 {
		s.reject(w, http.StatusUnprocessableEntity, mustJSON(galileoValidation{Detail: errs}))
		return
	}
	var key string
	_ = json.Unmarshal(body["api_key"], &key) // validated above
	if !s.apiKeyValid(key) {
		s.reject(w, http.StatusUnauthorized, galileoBadAPIKey())
		return
	}
	s.galileoNewFamily(w)
}

// galileoNewFamily answers a successful login.
func (s *Server) galileoNewFamily(w http.ResponseWriter) {
	out, ok := s.login(w)
	if !ok {
		return
	}
	s.galileoTokens(w, out, loginCookiePath)
}

// mediaType is the request's Content-Type without parameters, lower case.
func mediaType(r *http.Request) string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// IssueAPIKey issues a new API key that POST /login/api_key accepts until
// it is revoked (RevokeAPIKey). The server keeps only its digest.
func (s *Server) IssueAPIKey() string {
	key := "gk_" + rand.Text()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.apiKeys[sha256.Sum256([]byte(key))] = true
	return key
}

// RevokeAPIKey makes later logins with key answer 401; it reports whether
// the key was one this server issued. Token families already started with
// it keep working (revoke those with RevokeAll or Revoke).
func (s *Server) RevokeAPIKey(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha256.Sum256([]byte(key))
	if _, ok := s.apiKeys[h]; !ok {
		return false
	}
	s.apiKeys[h] = false
	return true
}

// apiKeyValid reports whether key was issued and not revoked.
func (s *Server) apiKeyValid(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.apiKeys[sha256.Sum256([]byte(key))]
}

// RevokeAll revokes every token family of the account, as a password change
// or "log out everywhere" would: every refresh token issued so far answers
// 401; a new login starts a family that works. It returns how many families
// were revoked (already revoked ones are not counted).
func (s *Server) RevokeAll() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, rec := range s.refresh {
		if !rec.fam.revoked { // set below: each family counts once
			rec.fam.revoked = true
			n++
		}
	}
	return n
}

// adminIssueAPIKey serves POST /_fake/api-keys: no body; answers {"api_key": "..."}.
func (s *Server) adminIssueAPIKey(w http.ResponseWriter, r *http.Request) {
	if err := decodeAdmin(r, &struct{}{}); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, struct {
		APIKey string `json:"api_key"`
	}{s.IssueAPIKey()})
}

// adminRevokeAPIKey serves POST /_fake/api-keys/revoke: {"api_key": "..."}.
func (s *Server) adminRevokeAPIKey(w http.ResponseWriter, r *http.Request) {
	var req struct {
		APIKey string `json:"api_key"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if !s.RevokeAPIKey(req.APIKey) {
		adminError(w, http.StatusNotFound, "Unknown API key")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revoked bool `json:"revoked"`
	}{true})
}
