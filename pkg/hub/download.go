package hub

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// maxRedirects bounds the redirects followed by resolve requests.
const maxRedirects = 10

// FileMetadata is what a HEAD on a file's resolve URL tells.
type FileMetadata struct {
	// Commit is the commit the revision resolved to (X-Repo-Commit).
	Commit string
	// ETag is the SHA-256 for LFS files and the git blob id otherwise, unquoted (X-Linked-Etag,
	// else ETag).
	ETag string
	// Size is the file's size (X-Linked-Size, else Content-Length of a non-redirect answer).
	Size int64
	// LFS is true when the file is stored as an LFS object (served through the CDN).
	LFS bool
}

// resolveMeta gathers the Hub headers seen along a redirect chain.
type resolveMeta struct {
	commit     string
	linkedETag string
	linkedSize int64 // -1 when absent
}

func (m *resolveMeta) absorb(h http.Header) {
	if m.commit == "" {
		m.commit = h.Get("X-Repo-Commit")
	}
	if m.linkedETag == "" {
		m.linkedETag = h.Get("X-Linked-Etag")
	}
	if m.linkedSize < 0 {
		if n, err := strconv.ParseInt(h.Get("X-Linked-Size"), 10, 64); err == nil && n >= 0 {
			m.linkedSize = n
		}
	}
}

func (c *Client) resolveURL(repo hubkit.Repo, rev, path string) string {
	return c.apiURL("/" + urlPrefix(repo) + escID(repo.ID) + "/resolve/" + escRev(rev) + "/" + escPath(path))
}

// follow sends method to u and follows redirects itself: the token goes only to the Hub's host
// (never to the CDN), and with stopCrossHost it stops at the first redirect to another host and
// returns that redirect. setup adds per-request headers (Range).
func (c *Client) follow(ctx context.Context, op, method, u string, setup func(*http.Request), stopCrossHost bool) (*http.Response, *resolveMeta, error) {
	meta := &resolveMeta{linkedSize: -1}
	for hop := 0; ; hop++ {
		req, err := c.newRequest(ctx, method, u, nil)
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Accept-Encoding", "identity")
		if setup != nil {
			setup(req)
		}
		resp, err := c.noRedirect.Do(req)
		if err != nil {
			return nil, nil, c.transportError(op, err)
		}
		meta.absorb(resp.Header)
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			if err := c.checkResponse(op, routeDownload, resp); err != nil {
				drainClose(resp.Body)
				return nil, nil, err
			}
			return resp, meta, nil
		}
		loc, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || resp.Header.Get("Location") == "" {
			drainClose(resp.Body)
			return nil, nil, fmt.Errorf("hub: %s: redirect %d without a valid Location", op, resp.StatusCode)
		}
		next := req.URL.ResolveReference(loc)
		if stopCrossHost && !strings.EqualFold(next.Host, req.URL.Host) {
			return resp, meta, nil
		}
		drainClose(resp.Body)
		if hop >= maxRedirects {
			return nil, nil, fmt.Errorf("hub: %s: more than %d redirects", op, maxRedirects)
		}
		u = next.String()
	}
}

// FileMetadata returns a file's commit, etag and size without downloading it: HEAD
// /{prefix}{id}/resolve/{rev}/{path}, following only same-host redirects (resolve-cache) and
// stopping at the CDN redirect of LFS files, whose own Content-Length is not the file's size.
func (c *Client) FileMetadata(ctx context.Context, repo hubkit.Repo, rev, path string) (*FileMetadata, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	op := "file metadata " + repo.String() + "/" + path
	resp, meta, err := c.follow(ctx, op, http.MethodHead, c.resolveURL(repo, rev, path), nil, true)
	if err != nil {
		return nil, err
	}
	drainClose(resp.Body)
	fm := &FileMetadata{Commit: meta.commit, Size: meta.linkedSize}
	etag := meta.linkedETag
	if etag == "" {
		etag = resp.Header.Get("ETag")
	}
	fm.ETag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	isRedirect := resp.StatusCode >= 300 && resp.StatusCode < 400
	if fm.Size < 0 && !isRedirect {
		fm.Size = resp.ContentLength
	}
	fm.LFS = meta.linkedSize >= 0 || isRedirect || (len(fm.ETag) == 64 && isHex(fm.ETag))
	if fm.Size < 0 {
		return nil, fmt.Errorf("hub: %s: the Hub gave no size", op)
	}
	return fm, nil
}

func isHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// Download reads n bytes (n < 0: to the end) of path at rev ("" for the default branch) from
// off: GET /{prefix}{id}/resolve/{rev}/{path}, following the Hub's redirects (307 to
// resolve-cache for regular files, 302 to the CDN for LFS files, where the token is never sent).
// Every request carries a Range of at most the read window (WithReadWindow, default 1 GiB), also
// for [0, size): the Hub's storage bridge fails un-ranged reads of very large files. Windows
// follow one another on the same signed CDN link while it is valid, so a large file costs few
// resolver calls; the link is resolved again when the CDN refuses it. A body cut mid-way is
// resumed by Range at the commit the first answer was pinned to.
func (c *Client) Download(ctx context.Context, repo hubkit.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	if off < 0 {
		return nil, fmt.Errorf("hub: download %s: negative offset %d: %w", path, off, hubkit.ErrInvalid)
	}
	if n == 0 {
		return io.NopCloser(strings.NewReader("")), nil
	}
	if rc, ok, err := c.xetOpen(ctx, repo, rev, path, off, n); ok {
		return rc, err
	}
	w := &windowReader{c: c, ctx: ctx, op: "download " + repo.String() + "/" + path, repo: repo, rev: rev, path: path,
		pos: off, end: -1, window: c.readWindow}
	if n > 0 {
		w.end = off + n
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

// openRange opens [off, off+n) (n < 0: to the end) and returns the body positioned at off, the
// resolve headers, and the file's total size (-1 when unknown). With cdn set, it reads that
// signed link directly; without, it resolves through the Hub, and a redirect to another host is
// followed without credentials and reported as the link to reuse.
func (c *Client) openRange(ctx context.Context, op string, repo hubkit.Repo, rev, path, cdn string, off, n int64) (io.ReadCloser, *resolveMeta, int64, string, error) {
	ranged := off > 0 || n >= 0
	setup := func(req *http.Request) {
		if !ranged {
			return
		}
		if n >= 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+n-1))
		} else {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
		}
	}
	u := cdn
	if u == "" {
		u = c.resolveURL(repo, rev, path)
	}
	resp, meta, link, err := c.followLink(ctx, op, u, setup)
	if err != nil {
		return nil, nil, 0, "", err
	}
	total := meta.linkedSize
	var body io.ReadCloser = resp.Body
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if t := contentRangeTotal(resp.Header.Get("Content-Range")); total < 0 {
			total = t
		}
	default:
		if total < 0 && resp.ContentLength >= 0 {
			total = resp.ContentLength
		}
		if off > 0 {
			// The server ignored the Range: skip to off.
			if _, err := io.CopyN(io.Discard, resp.Body, off); err != nil {
				drainClose(resp.Body)
				return nil, nil, 0, "", fmt.Errorf("hub: %s: skip to offset %d: %w", op, off, err)
			}
		}
	}
	return body, meta, total, link, nil
}

// contentRangeTotal reads the total of "bytes a-b/total" (-1 when absent or "*").
func contentRangeTotal(h string) int64 {
	_, t, ok := strings.Cut(h, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
	if err != nil {
		return -1
	}
	return n
}

type limitedBody struct {
	io.Reader
	io.Closer
}

func limitBody(rc io.ReadCloser, n int64) io.ReadCloser {
	return limitedBody{Reader: io.LimitReader(rc, n), Closer: rc}
}

// DownloadLFS reads n bytes (n < 0: to the end) of an LFS object from off through the LFS batch
// API (POST {prefix}{id}.git/info/lfs/objects/batch, operation "download"), the route git-lfs
// uses. It keeps working when the HTTP API refuses the repo's files (hubkit.ErrStorageLocked). rev is
// the ref sent with the batch ("" for none). The token goes to the Hub only; a cut body is
// resumed by Range on the signed href.
func (c *Client) DownloadLFS(ctx context.Context, repo hubkit.Repo, rev string, obj LFSObject, off, n int64) (io.ReadCloser, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	resp, err := c.lfsClient().Batch(ctx, c.lfsBatchURL(repo), lfs.OpDownload, []lfs.Object{obj}, rev, []string{lfs.TransferBasic})
	if err != nil {
		return nil, fmt.Errorf("hub: LFS download batch for %s: %w", repo, err)
	}
	if len(resp.Objects) != 1 {
		return nil, fmt.Errorf("hub: LFS download batch for %s: %d objects in the answer, want 1", repo, len(resp.Objects))
	}
	r := resp.Objects[0]
	if r.Error != nil {
		return nil, c.objectError("lfs download "+repo.String(), routeDownload, obj.OID, r.Error)
	}
	a, ok := r.Actions[lfs.ActionDownload]
	if !ok {
		return nil, fmt.Errorf("hub: LFS download batch for %s: no download action for %s", repo, short(obj.OID))
	}
	rc, err := lfs.Download(ctx, c.hc, a, obj, off, n, http.Header{"User-Agent": {c.userAgent}})
	if err != nil {
		return nil, fmt.Errorf("hub: LFS download %s: %w", short(obj.OID), c.fromLFS(err))
	}
	return rc, nil
}
