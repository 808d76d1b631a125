package msclient

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// ErrCommitTooFrequent reports that ModelScope refused a commit by repository policy (Code
// 10030000001 "commit rejected by repository policy"), which it does when commits to one repo
// come too fast. The commit did not apply. It also matches hubkit.ErrRateLimited.
var ErrCommitTooFrequent error = &refinedKind{msg: "commit rejected as too frequent", parent: hubkit.ErrRateLimited}

// refinedKind is an error kind that also matches a broader kind with errors.Is.
type refinedKind struct {
	msg    string
	parent error
}

func (k *refinedKind) Error() string { return k.msg }
func (k *refinedKind) Unwrap() error { return k.parent }

// Business codes ModelScope is known to return (modelscope_hub's errors.py and
// observed answers recorded by third-party clients).
const (
	codeModelExists      = 10010101001
	codeDatasetExists    = 10020101001
	codeNameTaken        = 10010202004
	codeDatasetNotFound  = 10020101002
	codeRevisionNotFound = 10010205001
	codeFileNotFound     = 10990101007
	codeLoginRefused     = 10010103009
	codeWriteRefused     = 10030000001
	codeListFailed       = 10010207001
)

// Error is a failed ModelScope request. It keeps the HTTP status and the hub's own code, message
// and request id, and unwraps to one of the error kinds (hubkit.ErrNotFound, hubkit.ErrForbidden, ...), so both
// errors.Is(err, hubkit.ErrNotFound) and errors.As(err, &*msclient.Error) work. It never holds a
// token: messages pass through the secret redactor.
type Error struct {
	// Method and Path identify the request (the path has no query string and no host).
	Method string
	Path   string
	// HTTPStatus is the response status (200 for a failure inside a 200 envelope).
	HTTPStatus int
	// Code is the legacy API's numeric business code (for example 10010101001), 0 if none.
	Code int64
	// CodeName is a non-numeric code (the OpenAPI's "InvalidAuthentication" and the like), "" if
	// none.
	CodeName string
	// Message is the hub's message (often Chinese), or the start of a non-JSON body.
	Message string
	// RequestID is the hub's request id, for support requests.
	RequestID string
	// RetryAfter is the wait the hub asked for (Retry-After), 0 if none.
	RetryAfter time.Duration
	// Kind is the error kind this failure maps to; Unwrap returns it.
	Kind error
}

// Error renders the failure on one line.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("msclient: ")
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	}
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d", e.HTTPStatus)
	}
	switch {
	case e.Code != 0:
		fmt.Fprintf(&b, ", code %d", e.Code)
	case e.CodeName != "":
		fmt.Fprintf(&b, ", code %s", e.CodeName)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " (request id %s)", e.RequestID)
	}
	if e.Kind != nil {
		fmt.Fprintf(&b, " [%v]", e.Kind)
	}
	return b.String()
}

// Unwrap returns the error kind.
func (e *Error) Unwrap() error { return e.Kind }

// envelope is the legacy API's {Code, Data, Message, RequestId, Success} and the OpenAPI's
// {success, data, code, message, request_id}. encoding/json matches field names without regard
// to case, so one struct reads both.
type envelope struct {
	Code       json.RawMessage `json:"Code"`
	Data       json.RawMessage `json:"Data"`
	Message    string          `json:"Message"`
	RequestID  string          `json:"RequestId"`
	RequestID2 string          `json:"request_id"`
	Success    *bool           `json:"Success"`
}

// code returns the envelope's code as a number and/or a name.
func (e *envelope) code() (num int64, name string, present bool) {
	raw := bytes.TrimSpace(e.Code)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return 0, "", true
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			return n, "", true
		}
		return 0, s, true
	}
	var f json.Number
	if json.Unmarshal(raw, &f) == nil {
		if n, err := f.Int64(); err == nil {
			return n, "", true
		}
	}
	return 0, string(raw), true
}

// failed reports whether the envelope describes a failure, whatever the HTTP status said
// (as modelscope's hub/errors.py handle_http_response does: Code != 200 or Success == false is a
// failure).
func (e *envelope) failed() bool {
	if e.Success != nil && !*e.Success {
		return true
	}
	num, name, present := e.code()
	if !present || (e.Success != nil && *e.Success) {
		return false
	}
	return name != "" || num != 200
}

func (e *envelope) requestID() string {
	if e.RequestID != "" {
		return e.RequestID
	}
	return e.RequestID2
}

// classifier refines the kind of a failure for one endpoint; it returns nil to keep the default.
type classifier func(e *Error) error

// newError builds the *Error for a failed response. body may be nil or not JSON.
func newError(method, path string, resp *http.Response, body []byte, env *envelope, refine classifier) *Error {
	e := &Error{Method: method, Path: path}
	if resp != nil {
		e.HTTPStatus = resp.StatusCode
		e.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"))
		if id := resp.Header.Get("X-Request-Id"); id != "" {
			e.RequestID = id
		}
	}
	if env == nil && len(body) > 0 {
		var v envelope
		if json.Unmarshal(body, &v) == nil {
			env = &v
		}
	}
	if env != nil {
		e.Code, e.CodeName, _ = env.code()
		e.Message = env.Message
		if id := env.requestID(); id != "" {
			e.RequestID = id
		}
	}
	if e.Message == "" && len(body) > 0 && env == nil {
		e.Message = strings.TrimSpace(string(body))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200] + "..."
		}
	}
	e.Message = redact(e.Message)
	e.Kind = classify(e)
	if refine != nil {
		if k := refine(e); k != nil {
			e.Kind = k
		}
	}
	return e
}

// classify maps a failure to an error kind from its status, code and message.
func classify(e *Error) error {
	msg := strings.ToLower(e.Message)
	switch e.Code {
	case codeDatasetNotFound, codeRevisionNotFound, codeFileNotFound:
		return hubkit.ErrNotFound
	case codeLoginRefused:
		return hubkit.ErrUnauthorized
	case codeListFailed:
		return hubkit.ErrServer
	case codeWriteRefused:
		if strings.Contains(msg, "not logged in") {
			return hubkit.ErrUnauthorized
		}
	}
	switch e.CodeName {
	case "InvalidAuthentication":
		return hubkit.ErrUnauthorized
	case "OperationNotAllowed", "QuotaLimitExceed":
		return hubkit.ErrForbidden
	case "ResourceNotFound":
		return hubkit.ErrNotFound
	case "DuplicateEntity":
		return hubkit.ErrConflict
	case "RateLimitExceed":
		return hubkit.ErrRateLimited
	case "InputParameterError":
		return hubkit.ErrInvalid
	case "InternalServerError", "ServiceUnavailable":
		return hubkit.ErrServer
	}
	status := e.HTTPStatus
	if status == http.StatusOK || status == 0 {
		// A failure inside a 200 envelope: the code is sometimes an HTTP status.
		if e.Code >= 400 && e.Code < 600 {
			status = int(e.Code)
		}
	}
	switch {
	case status == http.StatusUnauthorized:
		return hubkit.ErrUnauthorized
	case status == http.StatusForbidden:
		return hubkit.ErrForbidden
	case status == http.StatusNotFound:
		return hubkit.ErrNotFound
	case status == http.StatusConflict, status == http.StatusPreconditionFailed:
		return hubkit.ErrConflict
	case status == http.StatusTooManyRequests:
		return hubkit.ErrRateLimited
	case status >= 500:
		return hubkit.ErrServer
	}
	switch {
	case strings.Contains(msg, "not logged in"), strings.Contains(msg, "未登录"):
		return hubkit.ErrUnauthorized
	case strings.Contains(msg, "no write permission"), strings.Contains(msg, "permission denied"),
		strings.Contains(msg, "无权"), strings.Contains(msg, "no longer supports deletion"):
		return hubkit.ErrForbidden
	case strings.Contains(msg, "not found"), strings.Contains(msg, "not exist"), strings.Contains(msg, "不存在"):
		return hubkit.ErrNotFound
	}
	return hubkit.ErrInvalid
}

// existsKeywords are the words the SDKs match to recognise a create conflict
// (modelscope_hub's errors.py).
var existsKeywords = []string{"already", "can not be used", "not available", "已被注册", "已存在", "名称不可用"}

// createConflict recognises "already exists" answers to the create calls.
func createConflict(e *Error) error {
	switch e.Code {
	case codeModelExists, codeDatasetExists, codeNameTaken:
		return hubkit.ErrConflict
	}
	if e.HTTPStatus >= 500 || e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus == http.StatusUnauthorized ||
		e.HTTPStatus == http.StatusForbidden {
		return nil
	}
	msg := strings.ToLower(e.Message)
	for _, k := range existsKeywords {
		if strings.Contains(msg, k) {
			return hubkit.ErrConflict
		}
	}
	if strings.Contains(msg, "exist") && !strings.Contains(msg, "not exist") {
		return hubkit.ErrConflict
	}
	return nil
}

// maxRetryAfter caps the wait a Retry-After may ask for; callers add waits up, so it stays far
// from time.Duration's limit, and it is above any wait a caller is willing to do.
const maxRetryAfter = 24 * time.Hour

// parseRetryAfter reads a Retry-After value in seconds or as an HTTP date.
func parseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		if s > maxRetryAfter.Seconds() { // "1e300", "Inf": no float->int overflow, no overflowing sums
			return maxRetryAfter
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// invalidf returns an hubkit.ErrInvalid error for a request the client refuses to send.
func invalidf(format string, args ...any) error {
	return fmt.Errorf("msclient: "+format+": %w", append(args, hubkit.ErrInvalid)...)
}
