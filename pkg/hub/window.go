package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// DefaultReadWindow is the longest single ranged response Download asks for: 1 GiB. Reading a
// file in windows costs one request per window on the CDN link, and keeps every request far
// below the sizes at which the Hub's storage bridge fails.
const DefaultReadWindow int64 = 1 << 30

// WithReadWindow sets the longest single ranged response Download asks for (default
// DefaultReadWindow; values below 1 MiB are raised to 1 MiB).
func WithReadWindow(n int64) Option {
	return func(c *Client) { c.readWindow = max(n, 1<<20) }
}

// windowReader reads [pos, end) of one file as a sequence of ranged windows, each resumed
// within itself when cut. end < 0 until the first answer tells the file's size. Read is called
// from one goroutine at a time; Close may come from another while a Read is blocked (an HTTP
// transport still reading a request body), so the fields Close touches are guarded by mu.
type windowReader struct {
	mu     sync.Mutex
	closed bool

	c                *Client
	ctx              context.Context
	op               string
	repo             hubkit.Repo
	rev, path        string
	pos, end, window int64
	cdn              string        // the signed link of the current resolve, reused while valid
	cur              io.ReadCloser // the open window
	curEnd           int64         // the end of the open window
	unknown          bool          // the size is unknown: cur streams to the end
}

// open opens the window starting at pos and makes it the current one.
func (w *windowReader) open() error {
	cur, err := w.openNext()
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		cur.Close()
		return errWindowClosed
	}
	w.cur = cur
	return nil
}

// errWindowClosed is a Read after Close.
var errWindowClosed = errors.New("hub: download closed")

// openNext opens the window starting at pos.
func (w *windowReader) openNext() (io.ReadCloser, error) {
	n := w.window
	if w.end >= 0 {
		n = min(n, w.end-w.pos)
	}
	body, meta, total, err := w.openAt(w.ctx, w.pos, n)
	if err != nil {
		return nil, err
	}
	if commitRe.MatchString(meta.commit) {
		w.rev = meta.commit // later windows and resumes read the same commit
	}
	if w.end < 0 || (total >= 0 && total < w.end) {
		w.end = total
	}
	if w.end < 0 {
		// No size anywhere (no Content-Range, no Content-Length): stream as is, no resume.
		w.unknown = true
		return body, nil
	}
	w.curEnd = min(w.pos+n, w.end)
	start, end := w.pos, w.curEnd
	reopen := func(ctx context.Context, from int64) (io.ReadCloser, error) {
		rc, _, _, err := w.openAt(ctx, from, end-from)
		if err != nil {
			return nil, err
		}
		return limitBody(rc, end-from), nil
	}
	return lfs.ResumeFrom(w.ctx, limitBody(body, end-start), reopen, start, end), nil
}

// openAt opens [off, off+n) on the reused CDN link, or through the Hub when there is none or the
// CDN refuses it (an expired or revoked signature).
func (w *windowReader) openAt(ctx context.Context, off, n int64) (io.ReadCloser, *resolveMeta, int64, error) {
	if w.cdn != "" {
		body, meta, total, _, err := w.c.openRange(ctx, w.op, w.repo, w.rev, w.path, w.cdn, off, n)
		if err == nil {
			return body, meta, total, nil
		}
		if !linkRefused(err) {
			return nil, nil, 0, err
		}
		w.cdn = ""
	}
	body, meta, total, link, err := w.c.openRange(ctx, w.op, w.repo, w.rev, w.path, "", off, n)
	if err != nil {
		return nil, nil, 0, err
	}
	w.cdn = link
	return body, meta, total, nil
}

// linkRefused reports whether a signed link was refused (expired, revoked), so resolving
// again gives a fresh one.
func linkRefused(err error) bool {
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.StatusCode {
	case http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusGone:
		return true
	}
	return false
}

// Read implements io.Reader, moving to the next window when one ends.
func (w *windowReader) Read(p []byte) (int, error) {
	for {
		w.mu.Lock()
		cur, closed := w.cur, w.closed
		w.mu.Unlock()
		if closed {
			return 0, errWindowClosed
		}
		if cur == nil {
			if w.pos >= w.end {
				return 0, io.EOF
			}
			if err := w.open(); err != nil {
				return 0, err
			}
			continue
		}
		n, err := cur.Read(p)
		w.pos += int64(n)
		if err == io.EOF && !w.unknown {
			w.mu.Lock()
			if w.cur == cur {
				w.cur = nil
			}
			w.mu.Unlock()
			cur.Close()
			if w.pos < w.curEnd {
				return n, fmt.Errorf("hub: %s: window ended at %d, before %d: %w", w.op, w.pos, w.curEnd, io.ErrUnexpectedEOF)
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		return n, err
	}
}

// Close closes the open window; a Read blocked in it returns.
func (w *windowReader) Close() error {
	w.mu.Lock()
	cur := w.cur
	w.cur, w.closed = nil, true
	w.mu.Unlock()
	if cur != nil {
		return cur.Close()
	}
	return nil
}

// followLink GETs u, following same-host redirects with credentials and the first redirect to
// another host (the CDN) without; it returns that host's answer and the link it was sent to
// ("" when the answer came from the Hub's own host).
func (c *Client) followLink(ctx context.Context, op, u string, setup func(*http.Request)) (*http.Response, *resolveMeta, string, error) {
	resp, meta, err := c.follow(ctx, op, http.MethodGet, u, setup, true)
	if err != nil {
		return nil, nil, "", err
	}
	if resp.StatusCode < 300 || resp.StatusCode >= 400 {
		link := ""
		if !strings.EqualFold(resp.Request.URL.Host, c.host) {
			link = resp.Request.URL.String() // a reused CDN link answered directly
		}
		return resp, meta, link, nil
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	drainClose(resp.Body)
	if err != nil {
		return nil, nil, "", fmt.Errorf("hub: %s: redirect without a valid Location", op)
	}
	link := resp.Request.URL.ResolveReference(loc).String()
	cdnResp, cdnMeta, err := c.follow(ctx, op, http.MethodGet, link, setup, false)
	if err != nil {
		return nil, nil, "", err
	}
	if cdnMeta.linkedSize < 0 {
		cdnMeta.linkedSize = meta.linkedSize
	}
	if cdnMeta.commit == "" {
		cdnMeta.commit = meta.commit
	}
	return cdnResp, cdnMeta, link, nil
}
