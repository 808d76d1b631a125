package xet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Client talks to one CAS on behalf of one repository (its TokenSource decides which).
type Client struct {
	tokens      TokenSource
	hc          *http.Client
	attempts    int
	backoff     time.Duration
	concurrency int
	window      int64
	compress    CompressOption
	dedup       bool
	budget      *XorbBudget
	v1Only      atomic.Bool
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client for CAS and transfer requests.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithRetries sets how many times a request is tried (at least 1) and the first backoff.
func WithRetries(attempts int, backoff time.Duration) Option {
	return func(c *Client) { c.attempts, c.backoff = max(1, attempts), backoff }
}

// WithConcurrency sets how many xorb range fetches a Reader runs at once.
func WithConcurrency(n int) Option { return func(c *Client) { c.concurrency = max(1, n) } }

// WithWindow sets how many file bytes one reconstruction request covers; a Reader holds at most
// two windows of decoded data (the one being read and the one being fetched).
func WithWindow(n int64) Option { return func(c *Client) { c.window = max(MaxChunkSize, n) } }

// WithCompression sets how the Uploader compresses chunks.
func WithCompression(o CompressOption) Option { return func(c *Client) { c.compress = o } }

// WithDedup turns the Uploader's global deduplication queries on or off (default on).
func WithDedup(on bool) Option { return func(c *Client) { c.dedup = on } }

// NewClient returns a Client that gets its tokens from tokens.
func NewClient(tokens TokenSource, opts ...Option) *Client {
	c := &Client{tokens: tokens, hc: http.DefaultClient, attempts: 5, backoff: 200 * time.Millisecond,
		concurrency: 4, window: 32 << 20, compress: CompressBest, dedup: true, budget: defaultBudget}
	for _, o := range opts {
		o(c)
	}
	return c
}

// casRequest sends one request to the CAS with the CAS token, retrying what the spec calls
// retryable (429, 5xx, connection errors) with exponential backoff, and refreshing the token once
// on 401. The caller closes the body of a 2xx answer; other answers become a *StatusError.
func (c *Client) casRequest(ctx context.Context, op, method, path string, body []byte, hdr http.Header) (*http.Response, error) {
	var last error
	refreshed := false
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.backoff<<min(attempt-1, 6)); err != nil {
				return nil, err
			}
		}
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			var se *StatusError
			if errors.As(err, &se) && se.Retryable() {
				last = err
				continue
			}
			return nil, err
		}
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, tok.CasURL+path, rd)
		if err != nil {
			return nil, fmt.Errorf("xet: %s: %w", op, err)
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		resp, err := c.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			last = fmt.Errorf("xet: %s: %w", op, err)
			continue
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return resp, nil
		}
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		_ = resp.Body.Close()
		se := &StatusError{Op: op, Status: resp.StatusCode, Body: snippet(b)}
		if resp.StatusCode == http.StatusUnauthorized && !refreshed {
			refreshed = true
			c.tokens.Invalidate(tok)
			last = se
			continue
		}
		if !se.Retryable() {
			return nil, se
		}
		last = se
	}
	return nil, fmt.Errorf("xet: %s: gave up after %d attempts: %w", op, c.attempts, last)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
