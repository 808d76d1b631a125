package httpx

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// RateLimitError reports that a host's rate-limit window resets later than the client may wait
// (WithMaxWait). It matches hubkit.ErrRateLimited with errors.Is.
type RateLimitError struct {
	Host    string        // host:port as in the request URL
	Reset   time.Time     // when the window reopens
	MaxWait time.Duration // the cap that was exceeded
}

// Error says that the host rate limited us and when its window resets.
func (e *RateLimitError) Error() string {
	return fmt.Sprintf("httpx: rate limited by %s: window resets at %s (in %s), longer than the %s wait cap",
		e.Host, e.Reset.Format(time.RFC3339), time.Until(e.Reset).Round(time.Second), e.MaxWait)
}

// Is makes errors.Is(err, hubkit.ErrRateLimited) true.
func (e *RateLimitError) Is(target error) bool { return target == hubkit.ErrRateLimited }

// gateKey is the Gate key of a URL host: lower-cased, default ports dropped.
func gateKey(host string) string {
	host = strings.ToLower(host)
	host = strings.TrimSuffix(host, ":443")
	return strings.TrimSuffix(host, ":80")
}

// jitter is a small random extra wait so that goroutines released together do not stampede.
func jitter(d time.Duration) time.Duration {
	j := min(max(d/10, 50*time.Millisecond), 2*time.Second)
	return rand.N(j)
}

// serverDelay is how long the server asks us to wait before retrying resp: Retry-After, and on a
// rate-limited reply (429, or r=0 in RateLimit) the window reset, whichever is later.
func serverDelay(resp *http.Response) (time.Duration, bool) {
	d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	if w, exhausted := windowReset(resp.Header); exhausted && (!ok || w > d) {
		d, ok = w, true
	}
	return d, ok
}

// windowExhausted reports whether resp says the host's rate-limit window is used up (a 429 with
// a known delay, or RateLimit r=0 on any reply) and for how long.
func windowExhausted(resp *http.Response) (time.Duration, bool) {
	if resp.StatusCode == http.StatusTooManyRequests {
		return serverDelay(resp)
	}
	return windowReset(resp.Header)
}

// windowReset parses the Hub's IETF-draft headers, `RateLimit: "api";r=0;t=55` (several items
// may be comma-separated) with `RateLimit-Policy: "fixed window";"api";q=1000;w=300`, and the
// older `RateLimit-Remaining` / `RateLimit-Reset` pair. It returns the longest reset among
// exhausted (r=0) items and true, or the shortest reset seen and false when none is exhausted
// (-1 when no reset is known at all).
func windowReset(h http.Header) (time.Duration, bool) {
	var (
		exhaustedMax = time.Duration(-1)
		anyMin       = time.Duration(-1)
		window       = time.Duration(-1)
	)
	for _, v := range h.Values("RateLimit-Policy") {
		for _, item := range strings.Split(v, ",") {
			if w, ok := param(item, "w"); ok && w >= 0 {
				window = max(window, time.Duration(w*float64(time.Second)))
			}
		}
	}
	note := func(r, t float64, hasR, hasT bool) {
		reset := time.Duration(-1)
		if hasT && t >= 0 {
			reset = time.Duration(t * float64(time.Second))
		}
		if hasR && r <= 0 && reset < 0 {
			reset = window // exhausted, no t: assume the whole window
		}
		switch {
		case reset < 0: // nothing known about the reset: let the caller back off
		case hasR && r <= 0:
			exhaustedMax = max(exhaustedMax, reset)
		case anyMin < 0 || reset < anyMin:
			anyMin = reset
		}
	}
	for _, v := range h.Values("RateLimit") {
		for _, item := range strings.Split(v, ",") {
			r, hasR := param(item, "r")
			t, hasT := param(item, "t")
			if hasR || hasT {
				note(r, t, hasR, hasT)
			}
		}
	}
	if rem := h.Get("RateLimit-Remaining"); rem != "" {
		r, errR := strconv.ParseFloat(strings.TrimSpace(rem), 64)
		t, errT := strconv.ParseFloat(strings.TrimSpace(h.Get("RateLimit-Reset")), 64)
		note(r, t, errR == nil, errT == nil)
	}
	if exhaustedMax >= 0 {
		return exhaustedMax, true
	}
	return anyMin, false
}

// param finds key=number among the ;-separated parameters of one structured-field item.
func param(item, key string) (float64, bool) {
	for _, p := range strings.Split(item, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), key) {
			continue
		}
		f, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(v), `"`), 64)
		if err == nil {
			return f, true
		}
	}
	return 0, false
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}
