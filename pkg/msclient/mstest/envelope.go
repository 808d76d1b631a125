package mstest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/linaqruf/hf2ms/internal/fault"
)

// envelope is the legacy /api/v1 reply.
type envelope struct {
	Code      int64  `json:"Code"`
	Data      any    `json:"Data"`
	Message   string `json:"Message"`
	RequestID string `json:"RequestId"`
	Success   bool   `json:"Success"`
	// TotalCount is sent at the top level by some list endpoints.
	TotalCount *int `json:"TotalCount,omitempty"`
}

func requestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// reply carries what a handler needs to answer: the writer, possibly wrapped by a fault rule.
type reply struct {
	w    http.ResponseWriter
	body io.Writer
	rule fault.Rule
}

func (rp *reply) json(status int, v any) {
	rp.w.Header().Set("Content-Type", "application/json")
	rp.w.WriteHeader(status)
	_ = json.NewEncoder(rp.body).Encode(v)
}

// ok answers a success envelope.
func (rp *reply) ok(data any) {
	rp.json(http.StatusOK, envelope{Code: CodeOK, Data: data, Message: "success", RequestID: requestID(), Success: true})
}

// okTotal answers a success envelope with a top-level TotalCount.
func (rp *reply) okTotal(data any, total int) {
	rp.json(http.StatusOK, envelope{Code: CodeOK, Data: data, Message: "success", RequestID: requestID(), Success: true, TotalCount: &total})
}

// fail answers a failure envelope with HTTP status and business code.
func (rp *reply) fail(status int, code int64, msg string) {
	writeFail(rp.w, status, code, msg)
}

func writeFail(w http.ResponseWriter, status int, code int64, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(envelope{Code: code, Message: msg, RequestID: requestID(), Success: false})
}

// openapiOK answers an OpenAPI success.
func (rp *reply) openapiOK(data any) {
	rp.json(http.StatusOK, map[string]any{"success": true, "data": data, "request_id": requestID()})
}

// openapiFail answers an OpenAPI failure; the string code follows from the status.
func (rp *reply) openapiFail(status int, msg string) { writeOpenAPIFail(rp.w, status, msg) }

func writeOpenAPIFail(w http.ResponseWriter, status int, msg string) {
	code := "InternalServerError"
	switch status {
	case 400, 413:
		code = "InputParameterError"
	case 401:
		code = "InvalidAuthentication"
	case 403:
		code = "OperationNotAllowed"
	case 404:
		code = "ResourceNotFound"
	case 409:
		code = "DuplicateEntity"
	case 429:
		code = "RateLimitExceed"
	case 503:
		code = "ServiceUnavailable"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "code": code, "message": msg, "request_id": requestID()})
}

// faultBody writes a status rule's body in the legacy envelope. Status 200 becomes an
// error-inside-200 with the generic refusal code.
func faultBody(w http.ResponseWriter, status int, msg string) {
	code := int64(status)
	if status == http.StatusOK {
		code = CodeRefused
	}
	writeFail(w, status, code, msg)
}

func faultBodyOpenAPI(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"success": false, "code": "InternalServerError", "message": msg, "request_id": requestID()})
		return
	}
	writeOpenAPIFail(w, status, msg)
}

func faultBodyPlain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}

// route wraps a handler with the fault lookup for its route class.
func (s *Server) route(class string, h func(rp *reply, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rule, ok := s.Faults().Take(class)
		if ok && rule.Status != 0 {
			if rule.Applied {
				rec := httptest.NewRecorder()
				h(&reply{w: rec, body: rec}, r)
			}
			body := faultBody
			if strings.HasPrefix(r.URL.Path, "/openapi/") {
				body = faultBodyOpenAPI
			}
			rule.WriteStatus(w, body)
			return
		}
		rp := &reply{w: w, body: w, rule: rule}
		if ok && class != RouteBlobPut {
			rp.body = rule.BodyWriter(w)
		}
		h(rp, r)
	}
}

// caller is the authenticated user of a request, if any.
type caller struct {
	user     *user
	readOnly bool
}

// token returns the credential a request carries: Bearer first, then the m_session_id or
// modelscope_session cookie.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
	}
	for _, name := range []string{"m_session_id", "modelscope_session"} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// callerOf resolves the request's token; unknown tokens are anonymous (reads never 401).
func (s *Server) callerOf(r *http.Request) caller {
	t := token(r)
	if t == "" {
		return caller{}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ti := s.tokens[t]
	if ti == nil {
		return caller{}
	}
	return caller{user: s.users[ti.user], readOnly: ti.readOnly}
}

// member reports whether c belongs to namespace ns (its own name or one of its orgs).
func (c caller) member(ns string) bool {
	return c.user != nil && (c.user.name == ns || c.user.orgs[ns])
}

// canRead reports whether c sees r.
func (c caller) canRead(r *repo) bool { return r.vis == Public || c.member(r.owner) }

// canWrite reports whether c may write to namespace ns.
func (c caller) canWrite(ns string) bool { return !c.readOnly && c.member(ns) }

// writeAuth checks a write to namespace ns, answering the failure itself. Without credentials
// the hub answers 400 "user not logged in"; with them but no rights 403.
func (rp *reply) writeAuth(c caller, ns string) bool {
	if c.user == nil {
		rp.fail(http.StatusBadRequest, CodeRefused, MsgNotLoggedIn)
		return false
	}
	if !c.canWrite(ns) {
		rp.fail(http.StatusForbidden, http.StatusForbidden, MsgNoWrite)
		return false
	}
	return true
}
