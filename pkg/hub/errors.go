package hub

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Refinements of hubkit.ErrNotFound (each also matches hubkit.ErrNotFound).
var (
	// ErrRepoNotFound: the repository does not exist, or is private and invisible to the token.
	ErrRepoNotFound = fmt.Errorf("repository %w", hubkit.ErrNotFound)
	// ErrRevisionNotFound: the branch, tag or commit does not exist.
	ErrRevisionNotFound = fmt.Errorf("revision %w", hubkit.ErrNotFound)
	// ErrEntryNotFound: the file or folder does not exist at that revision.
	ErrEntryNotFound = fmt.Errorf("entry %w", hubkit.ErrNotFound)
)

// storageLockedHint is matched (case-insensitively) in 403 messages: the Hub's HTTP API refusing
// a repo's files ("... is locked ..."). Any other non-gated 403 on a download or listing route
// is treated the same.
const storageLockedHint = "locked"

// Error is a failed Hub answer. It matches one kind (hubkit.ErrNotFound, hubkit.ErrGated, ...) with errors.Is;
// its text never holds the token or a signed URL.
type Error struct {
	// Op is what the client was doing ("repo info", "download", ...).
	Op string
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the X-Error-Code header (RepoNotFound, RevisionNotFound, EntryNotFound, GatedRepo).
	Code string
	// Message is X-Error-Message, else the body's error text.
	Message string
	// RequestID is X-Request-Id, for support requests.
	RequestID string
	// RetryAt, for 429, is when the rate-limit window resets (zero when unknown).
	RetryAt time.Time
	kinds   []error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hub: %s: HTTP %d", e.Op, e.StatusCode)
	if e.Code != "" {
		fmt.Fprintf(&b, " %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if !e.RetryAt.IsZero() {
		fmt.Fprintf(&b, " (rate limit resets at %s)", e.RetryAt.UTC().Format(time.RFC3339))
	}
	if e.RequestID != "" {
		fmt.Fprintf(&b, " [request %s]", e.RequestID)
	}
	return redact.Shapes(b.String())
}

// Unwrap returns the kinds the error matches.
func (e *Error) Unwrap() []error { return e.kinds }

// routeClass says how a 401/403 is read for a route.
type routeClass int

const (
	routeAPI      routeClass = iota // other /api calls
	routeRepo                       // repo-scoped reads (info, revision)
	routeDownload                   // resolve, CDN, tree, paths-info: a non-gated 403 is a storage lock
	routeAccount                    // whoami
)

// checkResponse returns nil for 2xx and a *Error for anything else.
func (c *Client) checkResponse(op string, rc routeClass, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return c.newError(op, rc, resp)
}

func (c *Client) newError(op string, rc routeClass, resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	e := &Error{
		Op:         op,
		StatusCode: resp.StatusCode,
		Code:       resp.Header.Get("X-Error-Code"),
		Message:    resp.Header.Get("X-Error-Message"),
		RequestID:  resp.Header.Get("X-Request-Id"),
	}
	if e.Message == "" {
		e.Message = bodyMessage(body)
	}
	if len(e.Message) > 500 {
		e.Message = e.Message[:500] + "..."
	}
	if resp.StatusCode == http.StatusTooManyRequests {
		e.RetryAt = retryAt(resp.Header, time.Now())
	}
	e.kinds = c.classify(e, rc)
	e.Message = c.secrets.String(e.Message) // a Hub that echoes the token never shows it
	return e
}

// objectError is the *Error for a per-object error inside an LFS batch answer (a 200 reply
// that refuses one object): op names the batch, rc the route the status is read as.
func (c *Client) objectError(op string, rc routeClass, oid string, oe *lfs.ObjectError) *Error {
	e := &Error{Op: op, StatusCode: oe.Code, Message: fmt.Sprintf("object %s: %s", short(oid), oe.Message)}
	e.kinds = c.classify(e, rc)
	return e
}

// classify maps status and X-Error-Code to kinds, in the precedence huggingface_hub uses.
func (c *Client) classify(e *Error, rc routeClass) []error {
	msg := strings.ToLower(e.Message)
	switch e.Code {
	case "RevisionNotFound":
		return []error{ErrRevisionNotFound}
	case "EntryNotFound":
		return []error{ErrEntryNotFound}
	case "GatedRepo":
		if e.StatusCode == http.StatusUnauthorized {
			return []error{hubkit.ErrGated, hubkit.ErrUnauthorized}
		}
		return []error{hubkit.ErrGated, hubkit.ErrForbidden}
	case "RepoNotFound":
		return []error{ErrRepoNotFound}
	}
	switch s := e.StatusCode; {
	case s == http.StatusUnauthorized:
		// Anonymous on a missing or private repo: the Hub says 401 without a code.
		if c.token == "" && (rc == routeRepo || rc == routeDownload) {
			return []error{ErrRepoNotFound}
		}
		return []error{hubkit.ErrUnauthorized}
	case s == http.StatusForbidden:
		if strings.Contains(msg, storageLockedHint) ||
			(rc == routeDownload && !strings.Contains(msg, "disabled")) {
			return []error{hubkit.ErrStorageLocked, hubkit.ErrForbidden}
		}
		return []error{hubkit.ErrForbidden}
	case s == http.StatusPaymentRequired:
		return []error{hubkit.ErrForbidden}
	case s == http.StatusNotFound:
		if rc == routeRepo {
			return []error{ErrRepoNotFound}
		}
		return []error{hubkit.ErrNotFound}
	case s == http.StatusConflict || s == http.StatusPreconditionFailed:
		return []error{hubkit.ErrConflict}
	case s == http.StatusTooManyRequests:
		return []error{hubkit.ErrRateLimited}
	case s >= 500:
		return []error{hubkit.ErrServer}
	}
	return []error{hubkit.ErrInvalid}
}

// bodyMessage extracts the error text from the body shapes the Hub uses.
func bodyMessage(body []byte) string {
	var j struct {
		Error            json.RawMessage `json:"error"`
		ErrorDescription string          `json:"error_description"`
		Errors           []struct {
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &j) == nil {
		var s string
		var ss []string
		switch {
		case json.Unmarshal(j.Error, &s) == nil && s != "":
			if j.ErrorDescription != "" {
				s += ": " + j.ErrorDescription
			}
			return s
		case json.Unmarshal(j.Error, &ss) == nil && len(ss) > 0:
			return strings.Join(ss, "; ")
		case len(j.Errors) > 0:
			var parts []string
			for _, x := range j.Errors {
				parts = append(parts, x.Message)
			}
			return strings.Join(parts, "; ")
		}
	}
	s := strings.TrimSpace(string(body))
	if strings.HasPrefix(s, "<") { // an HTML error page says nothing useful
		return ""
	}
	return s
}

// maxRetryWait caps the wait a Retry-After or RateLimit header may ask for, as msclient does: a
// hub asking for more is as good as down, and callers add waits up, so they stay far from
// time.Duration's limit.
const maxRetryWait = 24 * time.Hour

// retryAt reads when a rate limit resets: Retry-After (seconds or a date), else the RateLimit
// header's t=. The wait is capped at maxRetryWait; a positive number of seconds, however large
// ("1e300", "Inf"), is always a time after now, never an overflow into the past. A value that
// cannot be read (negative, NaN, garbage) is ignored.
func retryAt(h http.Header, now time.Time) time.Time {
	if ra := strings.TrimSpace(h.Get("Retry-After")); ra != "" {
		if d, ok := retrySeconds(ra); ok {
			return now.Add(d)
		}
		if t, err := http.ParseTime(ra); err == nil {
			if limit := now.Add(maxRetryWait); t.After(limit) {
				return limit
			}
			return t
		}
	}
	for _, part := range strings.Split(h.Get("RateLimit"), ";") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(part), "t="); ok {
			if d, ok := retrySeconds(strings.TrimSpace(v)); ok {
				return now.Add(d)
			}
		}
	}
	return time.Time{}
}

// retrySeconds reads a non-negative number of seconds as a wait, capped at maxRetryWait; the
// float is compared before it is converted, so no value overflows. A positive value gives at
// least a nanosecond.
func retrySeconds(v string) (time.Duration, bool) {
	s, err := strconv.ParseFloat(v, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // "1e400" is +Inf with ErrRange: a huge wait
		return 0, false
	}
	if math.IsNaN(s) || s < 0 {
		return 0, false
	}
	if s >= maxRetryWait.Seconds() {
		return maxRetryWait, true
	}
	return time.Duration(math.Ceil(s * float64(time.Second))), true
}

// lfsCheck adapts checkResponse for internal/lfs calls.
func (c *Client) lfsCheck(op string, resp *http.Response) error {
	return c.newError("lfs "+op, routeAPI, resp)
}

// fromLFS turns a *lfs.StatusError (from storage PUTs) into a *Error; other errors pass through.
func (c *Client) fromLFS(err error) error {
	var se *lfs.StatusError
	if !errors.As(err, &se) {
		return err
	}
	e := &Error{
		Op:         "lfs " + se.Op,
		StatusCode: se.StatusCode,
		Code:       se.Header.Get("X-Error-Code"),
		Message:    se.Header.Get("X-Error-Message"),
		RequestID:  se.Header.Get("X-Request-Id"),
	}
	if e.Message == "" {
		e.Message = bodyMessage(se.Body)
	}
	if se.StatusCode == http.StatusTooManyRequests {
		e.RetryAt = retryAt(se.Header, time.Now())
	}
	e.kinds = c.classify(e, routeAPI)
	return e
}
