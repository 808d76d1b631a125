// Package fault is the switchable fault injection shared by the fake hubs (pkg/hub/hubtest and
// pkg/msclient/mstest), so that tests and the fault matrix describe faults the same way for both.
//
// A fake classifies every request into a route class (for example "resolve", "cdn", "commit") and
// asks its Set for a matching Rule before serving it. A Rule can answer with a status (429 with
// rate-limit headers, 5xx), cut the response or the request body after some bytes, corrupt the
// bytes it serves, or slow the body down. Counters record how many requests each route served.
//
// fault imports only the standard library; only the fakes and the test world import it.
package fault

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"
)

// Rule describes one injected fault.
type Rule struct {
	// Route is the route class the rule applies to; "" applies to every route.
	Route string
	// Times is how many matching requests the rule affects; 0 means until it is removed.
	Times int
	// Skip lets the first Skip matching requests through untouched (a fault on the third
	// commit of a run: Skip 2).
	Skip int
	// Status, when non-zero, answers the request with this status instead of serving it.
	Status int
	// Applied, with Status, serves the request first (its effect happens) and only then answers
	// Status: a gateway that gave up while the backend finished the work, after which a client
	// cannot tell from the answer whether a commit or a create happened.
	Applied bool
	// RetryAfter is sent as Retry-After (and in the RateLimit header's t=) with 429 and 503.
	RetryAfter time.Duration
	// Message is the error message sent with Status; a default is used when empty.
	Message string
	// CutAfter, when positive, drops the connection after this many body bytes: of the response
	// for downloads, of the request for uploads.
	CutAfter int64
	// Corrupt serves different bytes than the stored content (same length).
	Corrupt bool
	// BytesPerSecond, when positive, throttles the response body to about this rate.
	BytesPerSecond int64
}

type entry struct {
	Rule
	used    int
	skipped int
}

// Set is a concurrency-safe list of active rules plus per-route request counters.
// The zero value is ready to use.
type Set struct {
	mu     sync.Mutex
	rules  []*entry
	counts map[string]int
}

// Add activates r and returns a function that removes it.
func (s *Set) Add(r Rule) (remove func()) {
	e := &entry{Rule: r}
	s.mu.Lock()
	s.rules = append(s.rules, e)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.rules {
			if x == e {
				s.rules = append(s.rules[:i], s.rules[i+1:]...)
				return
			}
		}
	}
}

// Clear removes every rule.
func (s *Set) Clear() {
	s.mu.Lock()
	s.rules = nil
	s.mu.Unlock()
}

// Take counts one request on route and returns the first active rule matching it, using up one
// of its Times. ok is false when no rule applies.
func (s *Set) Take(route string) (r Rule, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[route]++
	for i, e := range s.rules {
		if e.Route != "" && e.Route != route {
			continue
		}
		if e.skipped < e.Skip {
			e.skipped++
			continue
		}
		e.used++
		if e.Times > 0 && e.used >= e.Times {
			s.rules = append(s.rules[:i], s.rules[i+1:]...)
		}
		return e.Rule, true
	}
	return Rule{}, false
}

// Count returns how many requests route has served (including faulted ones).
func (s *Set) Count(route string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[route]
}

// Counts returns a copy of all route counters.
func (s *Set) Counts() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.counts))
	for k, v := range s.counts {
		out[k] = v
	}
	return out
}

// String lists the counters in a stable order, for test logs.
func (s *Set) String() string {
	c := s.Counts()
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%d ", k, c[k])
	}
	return strings.TrimSpace(b.String())
}

// WriteStatus writes the rule's status reply. For 429 it adds the Hub-style rate-limit headers;
// for 429 and 503 a Retry-After. The body is produced by body (so each fake keeps its own error
// format); it may be nil for an empty body.
func (r Rule) WriteStatus(w http.ResponseWriter, body func(w http.ResponseWriter, status int, msg string)) {
	secs := int(r.RetryAfter.Round(time.Second) / time.Second)
	if r.RetryAfter > 0 && secs == 0 {
		secs = 1
	}
	if r.Status == http.StatusTooManyRequests || r.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", fmt.Sprint(secs))
	}
	if r.Status == http.StatusTooManyRequests {
		w.Header().Set("RateLimit", fmt.Sprintf(`"api";r=0;t=%d`, secs))
		w.Header().Set("RateLimit-Policy", `"fixed window";"api";q=1000;w=300`)
	}
	msg := r.Message
	if msg == "" {
		msg = http.StatusText(r.Status)
	}
	if body == nil {
		w.WriteHeader(r.Status)
		return
	}
	body(w, r.Status, msg)
}

// Abort drops the current connection without completing the response. It must be called from
// the handler's goroutine; net/http recovers the panic and closes the connection.
func Abort() { panic(http.ErrAbortHandler) }

// BodyWriter wraps the writer of a response body so the rule's CutAfter, Corrupt and
// BytesPerSecond take effect. Call Abort-style cuts are signalled by a panic, so use it only in
// an http.Handler.
func (r Rule) BodyWriter(w io.Writer) io.Writer {
	if r.CutAfter <= 0 && !r.Corrupt && r.BytesPerSecond <= 0 {
		return w
	}
	return &faultyWriter{w: w, rule: r, start: time.Now()}
}

type faultyWriter struct {
	w       io.Writer
	rule    Rule
	written int64
	start   time.Time
}

func (f *faultyWriter) Write(p []byte) (int, error) {
	if f.rule.CutAfter > 0 && f.written+int64(len(p)) > f.rule.CutAfter {
		n := f.rule.CutAfter - f.written
		if n > 0 {
			_, _ = f.w.Write(p[:n])
		}
		if fl, ok := f.w.(http.Flusher); ok {
			fl.Flush()
		}
		Abort()
	}
	if f.rule.Corrupt && len(p) > 0 {
		q := make([]byte, len(p))
		copy(q, p)
		q[0] ^= 0xff
		p = q
	}
	n, err := f.w.Write(p)
	f.written += int64(n)
	if f.rule.BytesPerSecond > 0 {
		want := time.Duration(float64(f.written) / float64(f.rule.BytesPerSecond) * float64(time.Second))
		if d := want - time.Since(f.start); d > 0 {
			time.Sleep(d)
		}
	}
	return n, err
}

// BodyReader wraps an upload's request body so the rule's CutAfter drops the connection after
// that many bytes were received (the client sees its upload fail mid-body).
func (r Rule) BodyReader(body io.Reader) io.Reader {
	if r.CutAfter <= 0 {
		return body
	}
	return &cutReader{r: body, left: r.CutAfter}
}

type cutReader struct {
	r    io.Reader
	left int64
}

func (c *cutReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		Abort()
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}
