package fake

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// adminPrefix is where the admin endpoints live. No real provider path starts
// with it, and admin requests are never counted or faulted.
const adminPrefix = "/_fake/"

// The admin endpoints, by path, with their method.
var adminRoutes = map[string]map[string]func(*Server, http.ResponseWriter, *http.Request){
	adminPrefix + "sessions": {http.MethodPost: (*Server).adminSessions},
	adminPrefix + "faults":   {http.MethodPost: (*Server).adminQueueFault, http.MethodDelete: (*Server).adminClearFaults},
	adminPrefix + "revoke":   {http.MethodPost: (*Server).adminRevoke},
	adminPrefix + "stats":    {http.MethodGet: (*Server).adminStats},
	// Galileo's API keys (any flavor answers; only Galileo logs in with them).
	adminPrefix + "api-keys":        {http.MethodPost: (*Server).adminIssueAPIKey},
	adminPrefix + "api-keys/revoke": {http.MethodPost: (*Server).adminRevokeAPIKey},
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	methods, ok := adminRoutes[r.URL.Path]
	if !ok {
		writeBody(w, http.StatusNotFound, "application/json", notFoundBody)
		return
	}
	h, ok := methods[r.Method]
	if !ok {
		for m := range methods {
			w.Header().Add("Allow", m)
		}
		adminError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	h(s, w, r)
}

// adminSessions serves POST /_fake/sessions: {"access_ttl_s": 90} optional.
func (s *Server) adminSessions(w http.ResponseWriter, r *http.Request) {
	var req struct {
		AccessTTLSeconds int64 `json:"access_ttl_s"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	tokens, err := s.Mint(time.Duration(req.AccessTTLSeconds) * time.Second)
	if err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, tokens)
}

// adminQueueFault serves POST /_fake/faults with a Fault; it answers the
// fault as queued.
func (s *Server) adminQueueFault(w http.ResponseWriter, r *http.Request) {
	var f Fault
	if err := decodeAdmin(r, &f); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if f.Count == 0 {
		f.Count = 1
	}
	if err := s.queueFault(f); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, f)
}

// adminClearFaults serves DELETE /_fake/faults.
func (s *Server) adminClearFaults(w http.ResponseWriter, _ *http.Request) {
	s.ClearFaults()
	w.WriteHeader(http.StatusNoContent)
}

// adminRevoke serves POST /_fake/revoke: {"refresh_token": "..."} revokes
// that token's family; {"all": true} every family of the account (answering
// {"revoked": true, "families": N}).
func (s *Server) adminRevoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		RefreshToken string `json:"refresh_token"`
		All          bool   `json:"all"`
	}
	if err := decodeAdmin(r, &req); err != nil {
		adminError(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.All == (req.RefreshToken != "") {
		adminError(w, http.StatusBadRequest, `give either "refresh_token" or "all": true`)
		return
	}
	if req.All {
		writeJSON(w, http.StatusOK, struct {
			Revoked  bool `json:"revoked"`
			Families int  `json:"families"`
		}{true, s.RevokeAll()})
		return
	}
	if !s.revoke(req.RefreshToken) {
		adminError(w, http.StatusNotFound, "Unknown refresh token")
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Revoked bool `json:"revoked"`
	}{true})
}

// adminStats serves GET /_fake/stats.
func (s *Server) adminStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.Stats())
}

// errBadAdminBody is what decodeAdmin wraps; its text never echoes the body.
var errBadAdminBody = errors.New("bad request body")

// decodeAdmin decodes an optional JSON object strictly: a typo in a fault
// field is an error, not a silently ignored setting.
func decodeAdmin(r *http.Request, v any) error {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", errBadAdminBody, err)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", errBadAdminBody, err)
	}
	return nil
}

// adminError answers FastAPI's {"detail": "..."}.
func adminError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, galileoDetail{Detail: message})
}
