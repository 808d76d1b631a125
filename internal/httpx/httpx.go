// Package httpx is the retrying, rate-gated HTTP layer both hub clients (Hugging Face and
// ModelScope) use. NewClient returns a plain *http.Client whose Transport retries idempotent
// requests on connection errors and 408/429/5xx, honours Retry-After and the Hub's RateLimit
// headers through a per-host Gate (its own unless the caller injects one to share), never buffers
// or retries streaming uploads, strips credentials on cross-host redirects, and redacts credential
// shapes from its log lines and errors. It knows nothing of hubs or of the application.
//
// httpx imports pkg/hubkit (error kinds), internal/redact and internal/version; the hub clients
// and internal/lfs import it.
package httpx

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/linaqruf/hf2ms/internal/version"
)

// Option configures NewClient.
type Option func(*config)

type config struct {
	pacing
	userAgent  string
	maxRetries int
	base       http.RoundTripper
	gate       *Gate
	maxWait    time.Duration
}

// pacing is how a retry loop (the transport's, the resuming reader's) waits and logs.
type pacing struct {
	backoffInit time.Duration
	backoffMax  time.Duration
	logger      *slog.Logger
}

// defaultPacing backs off from 1s to 30s and logs nothing.
func defaultPacing() pacing { return pacing{backoffInit: time.Second, backoffMax: 30 * time.Second} }

// normalize fills what options left unusable: a discarding logger, an initial backoff of at
// least minInit (when zero or negative), a maximum no smaller than the initial.
func (p *pacing) normalize(minInit time.Duration) {
	if p.logger == nil {
		p.logger = slog.New(slog.DiscardHandler)
	}
	if p.backoffInit <= 0 {
		p.backoffInit = minInit
	}
	p.backoffMax = max(p.backoffMax, p.backoffInit)
}

func defaultConfig() config {
	return config{
		pacing:     defaultPacing(),
		userAgent:  version.UserAgent(),
		maxRetries: 5,
		maxWait:    5 * time.Minute,
	}
}

// WithUserAgent sets the User-Agent sent on requests that carry none (default "hf2ms/<version>").
func WithUserAgent(ua string) Option { return func(c *config) { c.userAgent = ua } }

// WithMaxRetries sets how many times a retryable request is retried after its first attempt
// (default 5). Zero disables retries.
func WithMaxRetries(n int) Option {
	return func(c *config) {
		if n >= 0 {
			c.maxRetries = n
		}
	}
}

// WithBaseTransport sets the RoundTripper that actually sends requests (default: a tuned
// HTTP/1.1 *http.Transport, see DefaultTransport).
func WithBaseTransport(rt http.RoundTripper) Option { return func(c *config) { c.base = rt } }

// WithGate sets the per-host rate-limit gate. Clients that must wait out one another's rate
// limits share one (the app layer gives all of a process's clients the same); by default each
// client has its own.
func WithGate(g *Gate) Option { return func(c *config) { c.gate = g } }

// WithLogger sets where retries and waits are logged (Debug/Info, always redacted). Default:
// nothing is logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithMaxWait caps a single wait, backoff or rate-limit reset (default 5m). A rate-limit window
// that resets later than this fails the request with an error saying when it resets.
func WithMaxWait(d time.Duration) Option { return func(c *config) { c.maxWait = d } }

// WithBackoff sets the initial and maximum exponential backoff between retries (defaults 1s, 30s).
func WithBackoff(initial, max time.Duration) Option {
	return func(c *config) { c.backoffInit, c.backoffMax = initial, max }
}

type idempotentKey struct{}

// Idempotent marks requests made with the returned context as safe to retry even when their
// method is POST (LFS batch, preupload, listing POSTs). Unmarked POSTs are never retried.
func Idempotent(ctx context.Context) context.Context {
	return context.WithValue(ctx, idempotentKey{}, true)
}

func isIdempotent(req *http.Request) bool {
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete, "":
		return true
	}
	v, _ := req.Context().Value(idempotentKey{}).(bool)
	return v
}
