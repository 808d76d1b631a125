package msclient

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// maxRedirects bounds the redirect chain of one download request.
const maxRedirects = 5

// Download reads n bytes (n < 0: to the end) of path at rev ("" means master) from offset off
// (GET /api/v1/{models|datasets}/{owner}/{name}/repo?Revision=&FilePath=). Small files come
// straight from the API; large ones redirect (302) to a CDN URL that carries its own signature:
// the client follows it itself and sends no Authorization or cookie to any host but the API's.
// Ranges use the Range header; when a server ignores it (200 instead of 206) the client skips to
// off itself. A body cut mid-way is resumed by Range (httpx.NewResumingReader), re-using the CDN
// URL and asking the API for a fresh one if it expired. A missing file or revision fails at once
// with an error matching hubkit.ErrNotFound.
func (c *Client) Download(ctx context.Context, repo hubkit.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, invalidf("download %s: negative offset %d", path, off)
	}
	if strings.Trim(path, "/") == "" {
		return nil, invalidf("download: empty path")
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if rev == "" {
		rev = DefaultRevision
	}
	d := &download{c: c, repo: repo, rev: rev, path: strings.TrimPrefix(path, "/")}
	end := int64(-1)
	if n > 0 {
		end = off + n
	}
	body, total, err := d.open(ctx, off, end)
	if err != nil {
		return nil, err
	}
	if end < 0 || (total >= 0 && end > total) {
		end = total
	}
	if end < 0 {
		// Size unknown: no resumption possible, hand out the body as it is.
		return body, nil
	}
	if off >= end {
		body.Close()
		return io.NopCloser(strings.NewReader("")), nil
	}
	var once sync.Once
	open := func(ctx context.Context, o int64) (io.ReadCloser, error) {
		var first io.ReadCloser
		once.Do(func() { first, body = body, nil })
		if first != nil {
			if o == off {
				return first, nil
			}
			first.Close()
		}
		rc, _, err := d.open(ctx, o, end)
		return rc, err
	}
	return httpx.NewResumingReader(ctx, open, off, end, c.resumeOpts...), nil
}

// download is the state of one Download: the CDN URL last redirected to.
type download struct {
	c    *Client
	repo hubkit.Repo
	rev  string
	path string

	mu  sync.Mutex
	cdn *url.URL
}

// open returns the bytes [off, end) (end < 0: to the end) and the file's total size (-1 if
// unknown).
func (d *download) open(ctx context.Context, off, end int64) (io.ReadCloser, int64, error) {
	d.mu.Lock()
	cdn := d.cdn
	d.mu.Unlock()
	if cdn != nil {
		rc, total, err := d.get(ctx, cdn, off, end, 0)
		if err == nil {
			return rc, total, nil
		}
		if !isExpired(err) {
			return nil, 0, err
		}
		d.mu.Lock()
		d.cdn = nil
		d.mu.Unlock()
	}
	q := url.Values{"Revision": {d.rev}, "FilePath": {d.path}}
	u, err := url.Parse(d.c.url(apiPath(d.repo, "/repo"), q))
	if err != nil {
		return nil, 0, fmt.Errorf("msclient: download url: %w", err)
	}
	return d.get(ctx, u, off, end, 0)
}

// isExpired reports whether a CDN answer means the signed URL is no longer good.
func isExpired(err error) bool {
	e, ok := err.(*Error)
	return ok && (e.HTTPStatus == http.StatusForbidden || e.HTTPStatus == http.StatusNotFound ||
		e.HTTPStatus == http.StatusGone || e.HTTPStatus == http.StatusUnauthorized)
}

// get requests u for [off, end), following redirects by hand so that credentials only go to the
// API origin.
func (d *download) get(ctx context.Context, u *url.URL, off, end int64, hops int) (io.ReadCloser, int64, error) {
	c := d.c
	req, err := c.newRequest(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, 0, err
	}
	if off > 0 || end >= 0 {
		r := "bytes=" + strconv.FormatInt(off, 10) + "-"
		if end >= 0 {
			r += strconv.FormatInt(end-1, 10)
		}
		req.Header.Set("Range", r)
	}
	resp, err := c.noRedirect().Do(req)
	if err != nil {
		return nil, 0, transportError(http.MethodGet, u.Path, err)
	}
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400 && resp.Header.Get("Location") != "":
		resp.Body.Close()
		if hops >= maxRedirects {
			return nil, 0, &Error{Method: http.MethodGet, Path: u.Path, HTTPStatus: resp.StatusCode,
				Message: "too many redirects", Kind: hubkit.ErrServer}
		}
		next, err := u.Parse(resp.Header.Get("Location"))
		if err != nil {
			return nil, 0, &Error{Method: http.MethodGet, Path: u.Path, HTTPStatus: resp.StatusCode,
				Message: "bad redirect location", Kind: hubkit.ErrServer}
		}
		if !c.sameOrigin(next) {
			d.mu.Lock()
			d.cdn = next
			d.mu.Unlock()
		}
		return d.get(ctx, next, off, end, hops+1)
	case resp.StatusCode == http.StatusPartialContent:
		start, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if !ok || start != off {
			resp.Body.Close()
			return nil, 0, &Error{Method: http.MethodGet, Path: u.Path, HTTPStatus: resp.StatusCode,
				Message: "206 with unexpected Content-Range " + resp.Header.Get("Content-Range"), Kind: hubkit.ErrServer}
		}
		return limitBody(resp.Body, off, end), total, nil
	case resp.StatusCode == http.StatusOK:
		total := resp.ContentLength
		if off > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				resp.Body.Close()
				return nil, 0, transportError(http.MethodGet, u.Path, fmt.Errorf("skip to offset %d: %w", off, err))
			}
		}
		return limitBody(resp.Body, off, end), total, nil
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable:
		resp.Body.Close()
		_, total, ok := parseContentRange(resp.Header.Get("Content-Range"))
		if ok && total >= 0 && off >= total {
			return io.NopCloser(strings.NewReader("")), total, nil
		}
		return nil, 0, &Error{Method: http.MethodGet, Path: u.Path, HTTPStatus: resp.StatusCode,
			Message: fmt.Sprintf("range from %d not satisfiable", off), Kind: hubkit.ErrInvalid}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, 0, newError(http.MethodGet, u.Path, resp, b, nil, nil)
}

// limitBody caps body at end-off bytes when end is known.
func limitBody(body io.ReadCloser, off, end int64) io.ReadCloser {
	if end < 0 {
		return body
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(body, end-off), body}
}

// parseContentRange reads "bytes a-b/total" or "bytes */total"; total is -1 when "*".
func parseContentRange(v string) (start, total int64, ok bool) {
	v = strings.TrimSpace(v)
	rest, found := strings.CutPrefix(v, "bytes ")
	if !found {
		return 0, 0, false
	}
	rng, tot, found := strings.Cut(rest, "/")
	if !found {
		return 0, 0, false
	}
	total = -1
	if tot != "*" {
		t, err := strconv.ParseInt(tot, 10, 64)
		if err != nil {
			return 0, 0, false
		}
		total = t
	}
	if rng == "*" {
		return 0, total, true
	}
	a, _, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, false
	}
	s, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return s, total, true
}

// noRedirect returns the API HTTP client with redirects left to the caller.
func (c *Client) noRedirect() *http.Client {
	c.nrOnce.Do(func() {
		cp := *c.http
		cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		c.nr = &cp
	})
	return c.nr
}
