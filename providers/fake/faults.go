package fake

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Fault is misbehaviour queued for the next Count auth requests (any request
// outside /_fake/), in queue order. What happens to a request:
//  1. DelayMS > 0: the server first sleeps that long (or until the client
//     gives up);
//  2. Drop: the connection is closed without any response;
//  3. Status, Body, ContentType or Malformed set: that canned response is sent;
//  4. otherwise the request is served normally (a refresh rotates the
//     token), and then, with DelayAfterMS or DropAfter, the answer is held
//     back that long, or never sent: the client loses an answer the server
//     has already committed to.
type Fault struct {
	// Status of the canned response; default 200 when only Body,
	// ContentType or Malformed is set. Must be 0 or 200–599.
	Status int `json:"status,omitempty"`
	// Body of the canned response; default the provider's error envelope
	// for Status ({"error": {...}} or {"detail": "..."}), or with Malformed
	// a success body cut short.
	Body string `json:"body,omitempty"`
	// ContentType default: application/json for JSON-looking bodies,
	// otherwise sniffed (an HTML page gets text/html).
	ContentType string `json:"content_type,omitempty"`
	// DelayMS sleeps before answering, respecting the request's context.
	DelayMS int `json:"delay_ms,omitempty"`
	// Drop hijacks and closes the connection: the client sees EOF or a reset.
	Drop bool `json:"drop,omitempty"`
	// Count is how many requests the fault applies to: 0 means 1, negative
	// means every request until ClearFaults.
	Count int `json:"count,omitempty"`
	// Malformed answers a JSON body that does not parse (status 200 unless
	// Status says otherwise).
	Malformed bool `json:"malformed,omitempty"`
	// DelayAfterMS serves the request normally (a refresh rotates), then
	// waits this long before writing the answer; if the client gives up
	// meanwhile, the answer is lost.
	DelayAfterMS int `json:"delay_after_ms,omitempty"`
	// DropAfter serves the request normally (a refresh rotates), then
	// closes the connection instead of answering: the client sees EOF and
	// cannot know that its refresh token is spent.
	DropAfter bool `json:"drop_after,omitempty"`
}

// ErrInvalidFault marks a fault that cannot be served: QueueFault panics with
// an error wrapping it, POST /_fake/faults answers 400.
var ErrInvalidFault = errors.New("invalid fault")

func (f Fault) validate() error {
	switch {
	case f.Status != 0 && (f.Status < 200 || f.Status > 599):
		return fmt.Errorf("%w: status %d outside 200-599", ErrInvalidFault, f.Status)
	case f.DelayMS < 0:
		return fmt.Errorf("%w: negative delay_ms", ErrInvalidFault)
	case f.DelayAfterMS < 0:
		return fmt.Errorf("%w: negative delay_after_ms", ErrInvalidFault)
	case f.holdsAnswer() && (f.Drop || f.cannedAnswer()):
		return fmt.Errorf("%w: delay_after_ms and drop_after apply to the normal answer, not with drop, status, body, content_type or malformed", ErrInvalidFault)
	}
	return nil
}

// cannedAnswer: the fault answers instead of the provider's logic.
func (f Fault) cannedAnswer() bool {
	return f.Status != 0 || f.Body != "" || f.ContentType != "" || f.Malformed
}

// holdsAnswer: the request is served normally, its answer held back.
func (f Fault) holdsAnswer() bool { return f.DelayAfterMS > 0 || f.DropAfter }

// QueueFault queues f behind any faults already queued. Like
// http.ResponseWriter.WriteHeader with a bad code, it panics on an invalid
// fault (Status outside 200–599, negative DelayMS): that is a bug in the test.
func (s *Server) QueueFault(f Fault) {
	if err := s.queueFault(f); err != nil {
		panic(fmt.Errorf("fake: queue fault: %w", err))
	}
}

func (s *Server) queueFault(f Fault) error {
	if err := f.validate(); err != nil {
		return err
	}
	if f.Count == 0 {
		f.Count = 1
	}
	s.mu.Lock()
	s.faults = append(s.faults, f)
	s.mu.Unlock()
	return nil
}

// ClearFaults drops every queued fault, sticky ones included.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// takeFault counts an auth request and takes the fault that applies to it.
func (s *Server) takeFault() (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	if len(s.faults) == 0 {
		return Fault{}, false
	}
	f := s.faults[0]
	if f.Count > 0 {
		s.faults[0].Count--
		if s.faults[0].Count == 0 {
			s.faults = s.faults[1:]
		}
	}
	s.stats.Faults++
	return f, true
}

// applyFault misbehaves as f says and reports whether the request should
// still be served normally (a pure delay).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, f Fault) bool {
	if f.DelayMS > 0 {
		timer := time.NewTimer(time.Duration(f.DelayMS) * time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return false // the client gave up; nobody to answer
		}
	}
	if f.Drop {
		dropConnection(w)
		return false
	}
	if !f.cannedAnswer() {
		return true
	}
	status := f.Status
	if status == 0 {
		status = http.StatusOK
	}
	body, contentType := f.Body, f.ContentType
	if body == "" {
		if f.Malformed {
			body = s.flavor.malformed
		} else {
			body = string(s.flavor.errorBody(status, http.StatusText(status)))
		}
	}
	if contentType == "" {
		if t := strings.TrimSpace(body); f.Malformed || strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
			contentType = "application/json"
		} else {
			contentType = http.DetectContentType([]byte(body))
		}
	}
	writeBody(w, status, contentType, []byte(body))
	return false
}

// heldAnswer records an answer instead of sending it (DelayAfterMS, DropAfter).
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

// serveHeld serves r normally into a held answer, then sends it after
// DelayAfterMS, or drops the connection (DropAfter).
func (s *Server) serveHeld(w http.ResponseWriter, r *http.Request, f Fault) {
	held := &heldAnswer{header: w.Header().Clone()}
	s.serveAuth(held, r)
	if f.DelayAfterMS > 0 {
		timer := time.NewTimer(time.Duration(f.DelayAfterMS) * time.Millisecond)
		defer timer.Stop()
		select {
		case <-timer.C:
		case <-r.Context().Done():
			return // the client gave up; the answer is lost
		}
	}
	if f.DropAfter {
		dropConnection(w)
		return
	}
	for k, v := range held.header {
		w.Header()[k] = v
	}
	if held.status == 0 {
		held.status = http.StatusOK
	}
	w.WriteHeader(held.status)
	w.Write(held.body.Bytes()) //nolint:errcheck // the client may be gone; nothing to do
}

// dropConnection closes the connection under the request without a word.
func dropConnection(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	conn, _, err := rc.Hijack()
	if err != nil {
		// Not hijackable (HTTP/2, a wrapping recorder): aborting the handler
		// makes net/http close the connection or reset the stream instead.
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}
