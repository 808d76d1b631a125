package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/hashicorp/go-retryablehttp"
)

// maxRedirects is how many redirects one request may follow.
const maxRedirects = 10

// bufferSize is the read and write buffer of the default transport's connections: large buffers
// cut syscalls when streaming multi-GiB bodies.
const bufferSize = 256 << 10

// NewClient returns a plain *http.Client whose Transport retries idempotent requests and waits
// out rate limits through a per-host Gate, with a CheckRedirect that follows at most 10 redirects
// and drops Authorization and Cookie when a redirect leaves the original host. It sets no overall
// timeout: bodies may stream for hours; bound a request with its context.
//
// Retried: GET, HEAD, OPTIONS, PUT, DELETE and POSTs whose context went through Idempotent, on
// connection errors and 408, 429, 500, 502, 503, 504. A body is re-read from req.GetBody for
// every attempt (http.NewRequest sets it for bytes/strings readers; set it yourself for a body
// you can reopen, e.g. a synthetic or ranged source). A body without GetBody is streamed once,
// never buffered and never retried. When retries run out the last response is returned as is,
// so the caller maps its status to a typed error.
//
// Errors returned by the client's Do are *url.Error values whose URL field is the full request
// URL (net/http adds it); pass them through RedactError before showing them to anyone.
func NewClient(opts ...Option) *http.Client {
	c := defaultConfig()
	for _, o := range opts {
		o(&c)
	}
	if c.base == nil {
		c.base = DefaultTransport()
	}
	if c.gate == nil {
		c.gate = NewGate()
	}
	c.normalize(time.Second)
	t := &transport{cfg: c}
	t.inner = &http.Client{
		Transport: gatedTransport{t},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the outer client follows redirects, one hop at a time
		},
	}
	return &http.Client{Transport: t, CheckRedirect: checkRedirect}
}

// DefaultTransport returns a new *http.Transport tuned for throughput: HTTP/1.1 only (ModelScope
// uploads are slower over HTTP/2), keep-alives with 64 idle connections per host, 256 KiB
// buffers, and dial, TLS-handshake and response-header timeouts but no body timeout.
func DefaultTransport() *http.Transport {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	return &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     false,
		Protocols:             protocols,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 3 * time.Minute, // HF commits may take 60 s+ server-side
		ExpectContinueTimeout: time.Second,
		ReadBufferSize:        bufferSize,
		WriteBufferSize:       bufferSize,
	}
}

// checkRedirect follows at most maxRedirects redirects and strips credentials once a redirect
// leaves the original request's scheme and host:port (Go keeps them for sub-domains, e.g.
// huggingface.co -> cdn-lfs.huggingface.co, which must never see the token). Once stripped they
// stay stripped for the rest of the chain, even if it comes back.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("httpx: stopped after %d redirects", maxRedirects)
	}
	origin := via[0].URL
	crossed := !sameOrigin(origin, req.URL)
	for _, v := range via[1:] {
		crossed = crossed || !sameOrigin(origin, v.URL)
	}
	if crossed {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
		req.Header.Del("Cookie2")
		req.Header.Del("Proxy-Authorization")
	}
	return nil
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && hostPort(a) == hostPort(b)
}

// hostPort is u's lower-cased host with the scheme's default port made explicit.
func hostPort(u *url.URL) string {
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		switch strings.ToLower(u.Scheme) {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return net.JoinHostPort(host, port)
}

// transport is the outer RoundTripper: it picks the retrying or the send-once path.
type transport struct {
	cfg   config
	inner *http.Client // over gatedTransport, follows no redirects
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	if _, ok := r.Header["User-Agent"]; !ok && t.cfg.userAgent != "" {
		r.Header.Set("User-Agent", t.cfg.userAgent)
	}
	hasBody := r.Body != nil && r.Body != http.NoBody
	if (hasBody && r.GetBody == nil) || !isIdempotent(r) || t.cfg.maxRetries == 0 {
		// A streaming body cannot be rewound: retryablehttp would io.ReadAll it into memory, so
		// it goes straight through, once. Unmarked POSTs (commits) are never retried either.
		resp, err := t.send(r)
		if err != nil {
			return nil, wrapTransportErr(r, err)
		}
		return resp, nil
	}
	return t.retrying(r, hasBody)
}

func (t *transport) retrying(r *http.Request, hasBody bool) (*http.Response, error) {
	body, getBody, length := r.Body, r.GetBody, r.ContentLength
	r.Body = nil // FromRequest must never see (and buffer) the body
	rreq, err := retryablehttp.FromRequest(r)
	if err != nil {
		return nil, wrapTransportErr(r, err)
	}
	if hasBody {
		_ = body.Close() // every attempt, the first included, reads a fresh copy from GetBody
		if err := rreq.SetBody(retryablehttp.ReaderFunc(func() (io.Reader, error) { return getBody() })); err != nil {
			return nil, wrapTransportErr(r, err)
		}
		rreq.ContentLength = length // SetBody cannot see through GetBody's ReadCloser
	}
	method, shown := r.Method, cleanURL(r.URL)
	host := gateKey(r.URL.Host)
	rc := &retryablehttp.Client{
		HTTPClient:   t.inner,
		RetryWaitMin: t.cfg.backoffInit,
		RetryWaitMax: t.cfg.backoffMax,
		RetryMax:     t.cfg.maxRetries,
		CheckRetry:   t.checkRetry,
		Backoff: func(min, max time.Duration, attempt int, resp *http.Response) time.Duration {
			wait, limited := t.backoff(min, max, attempt, resp)
			if until := t.cfg.gate.blockedUntil(host); !until.IsZero() && time.Until(until) > wait {
				wait, limited = time.Until(until), true
			}
			wait = min2(wait, t.cfg.maxWait)
			attrs := []any{"method", method, "url", shown, "retry", attempt + 1, "max_retries", t.cfg.maxRetries,
				"wait", wait.Round(time.Millisecond)}
			if resp != nil {
				attrs = append(attrs, "status", resp.StatusCode)
			}
			if limited {
				t.cfg.logger.Info("httpx: rate limited, waiting for the window to reset", attrs...)
			} else {
				t.cfg.logger.Debug("httpx: retrying", attrs...)
			}
			return wait
		},
		ErrorHandler: func(resp *http.Response, err error, tries int) (*http.Response, error) {
			var rl *RateLimitError
			if errors.As(err, &rl) || resp == nil {
				if resp != nil {
					drain(resp.Body)
				}
				if err == nil {
					err = fmt.Errorf("giving up after %d attempts", tries)
				}
				return nil, err
			}
			// Retries exhausted on a retryable status: hand the caller the last response so it
			// maps the status (and the hub's error body) to its typed error.
			return resp, nil
		},
	}
	resp, err := rc.Do(rreq)
	if err != nil {
		return nil, wrapTransportErr(r, err)
	}
	return resp, nil
}

// checkRetry is the retryablehttp CheckRetry policy.
func (t *transport) checkRetry(ctx context.Context, resp *http.Response, err error) (bool, error) {
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	if err != nil {
		var rl *RateLimitError
		if errors.As(err, &rl) {
			return false, rl
		}
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return false, err
		}
		retry, _ := retryablehttp.DefaultRetryPolicy(ctx, nil, err)
		if !retry {
			return false, err
		}
		return true, nil
	}
	if !retryableStatus(resp.StatusCode) {
		return false, nil
	}
	if d, ok := serverDelay(resp); ok && d > t.cfg.maxWait {
		if resp.StatusCode == http.StatusTooManyRequests {
			return false, &RateLimitError{Host: resp.Request.URL.Host, Reset: time.Now().Add(d), MaxWait: t.cfg.maxWait}
		}
		return false, nil // the server asks for longer than we may wait: hand back its answer
	}
	return true, nil
}

// backoff is the wait before retry attempt+1: what the server asked for (Retry-After, or the
// RateLimit window reset on a rate-limited reply) plus jitter, else exponential with jitter.
func (t *transport) backoff(min, max time.Duration, attempt int, resp *http.Response) (time.Duration, bool) {
	if resp != nil {
		if d, ok := serverDelay(resp); ok {
			return d + jitter(d), resp.StatusCode == http.StatusTooManyRequests
		}
	}
	return expBackoff(min, max, attempt), false
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// expBackoff is the cenkalti/backoff exponential policy (factor 2, ±50 % jitter) at attempt
// (0-based), bounded by max.
func expBackoff(initial, max time.Duration, attempt int) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(initial),
		backoff.WithMaxInterval(max),
		backoff.WithMultiplier(2),
		backoff.WithRandomizationFactor(0.5),
		backoff.WithMaxElapsedTime(0),
	)
	d := b.NextBackOff()
	for i := 0; i < attempt && i < 64; i++ {
		d = b.NextBackOff()
	}
	return min2(d, max)
}

func min2(a, b time.Duration) time.Duration {
	if b > 0 && a > b {
		return b
	}
	return a
}

// gatedTransport sends one attempt through the base transport: it waits for the host's gate
// first and closes the gate when the reply says the rate-limit window is exhausted.
type gatedTransport struct{ t *transport }

func (g gatedTransport) RoundTrip(req *http.Request) (*http.Response, error) { return g.t.send(req) }

func (t *transport) send(req *http.Request) (*http.Response, error) {
	host := gateKey(req.URL.Host)
	if err := t.waitGate(req.Context(), host, req); err != nil {
		if req.Body != nil {
			_ = req.Body.Close()
		}
		return nil, err
	}
	resp, err := t.cfg.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if d, ok := windowExhausted(resp); ok {
		until := time.Now().Add(d + jitter(d))
		t.cfg.gate.Block(host, until)
		t.cfg.logger.Info("httpx: rate-limit window exhausted, holding requests to this host",
			"host", host, "status", resp.StatusCode, "until", until.Format(time.RFC3339))
	}
	return resp, nil
}

func (t *transport) waitGate(ctx context.Context, host string, req *http.Request) error {
	until := t.cfg.gate.blockedUntil(host)
	if until.IsZero() {
		return nil
	}
	if d := time.Until(until); d > t.cfg.maxWait {
		return &RateLimitError{Host: host, Reset: until, MaxWait: t.cfg.maxWait}
	}
	t.cfg.logger.Info("httpx: waiting for the rate-limit window to reset",
		"method", req.Method, "url", cleanURL(req.URL), "wait", time.Until(until).Round(time.Millisecond))
	return t.cfg.gate.Wait(ctx, host)
}

func drain(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, 4<<10))
	_ = body.Close()
}
