package fake

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// refreshCookie is the cookie Galileo reads the refresh token from.
const refreshCookie = "refresh_token"

var galileoFlavor = &flavor{
	name:     "galileo",
	audience: "galileo-api",
	routes: map[string]func(*Server, http.ResponseWriter, *http.Request){
		"/v1/refresh_token": (*Server).galileoRefresh,
		"/login":            (*Server).galileoLogin,
		"/login/api_key":    (*Server).galileoLoginAPIKey,
	},
	errorBody: func(status int, message string) []byte {
		return mustJSON(galileoDetail{Detail: message})
	},
	malformed:    `{"access_token": "eyJhbGciOiJIUzI1NiIs`,
	customClaims: func(_ *Server, c *tokenClaims) { c.Tenant = "acme" },
}

// galileoDetail is FastAPI's HTTPException body: {"detail": "..."}.
type galileoDetail struct {
	Detail string `json:"detail"`
}

// galileoValidation is FastAPI's HTTPValidationError: {"detail": [...]}.
type galileoValidation struct {
	Detail []validationError `json:"detail"`
}

// galileoToken is the 200 answer (schema Token).
type galileoToken struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
}

func galileoMissingCookie() []byte {
	return mustJSON(galileoValidation{Detail: []validationError{
		{Loc: []any{"cookie", refreshCookie}, Msg: "Field required", Type: "missing"},
	}})
}

func galileoBadRefresh() []byte {
	return mustJSON(galileoDetail{Detail: "Invalid refresh token"})
}

// galileoRefresh serves POST /v1/refresh_token.
func (s *Server) galileoRefresh(w http.ResponseWriter, r *http.Request) {
	cookie, err := r.Cookie(refreshCookie)
	if err != nil {
		s.reject(w, http.StatusUnprocessableEntity, galileoMissingCookie())
		return
	}
	out, err := s.redeem(cookie.Value, "")
	if errors.Is(err, errInvalidRefresh) {
		s.reject(w, http.StatusUnauthorized, galileoBadRefresh())
		return
	}
	if err != nil {
		writeBody(w, http.StatusInternalServerError, "application/json", s.flavor.errorBody(500, "Internal Server Error"))
		return
	}
	s.galileoTokens(w, out, "/")
}

// galileoTokens answers 200 with the Token body, and the refresh_token cookie
// (with cookiePath) when out carries a new refresh token.
func (s *Server) galileoTokens(w http.ResponseWriter, out issued, cookiePath string) {
	if out.refresh != "" {
		// Written by hand to keep the attribute order of the real service.
		w.Header().Add("Set-Cookie", fmt.Sprintf("%s=%s; Path=%s; HttpOnly; Secure; SameSite=Lax; Max-Age=%d",
			refreshCookie, out.refresh, cookiePath, int64(s.opts.RefreshTTL/time.Second)))
	}
	writeJSON(w, http.StatusOK, galileoToken{AccessToken: out.access, TokenType: "bearer"})
}
