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
	"github.com/linaqruf/hf2ms/pkg/xet"
)

// TransferXet is the LFS batch transfer of native Xet uploads.
const TransferXet = "xet"

// xetFileInfoType is what a resolve answers for a Xet-backed file when asked for it
// (huggingface.js lib/file-download-info.ts).
const xetFileInfoType = "application/vnd.xet-fileinfo+json"

// WithXet turns native Xet transfers on or off (default on). On, uploads offer "xet" in the LFS
// batch and use pkg/xet when the Hub picks it, and downloads of Xet-backed files read the Hub's
// chunk store directly; off, or when the Hub offers no Xet, the LFS and bridge paths run.
func WithXet(on bool) Option { return func(c *Client) { c.noXet = !on } }

// xetFile is what a resolve says about a Xet-backed file.
type xetFile struct {
	hash    xet.Hash
	size    int64
	refresh string // the read-token route (Link rel="xet-auth")
}

// xetInfo asks the resolve of path for its Xet file info; nil means the file is not Xet-backed
// (or the Hub has no Xet), and the bridge should be used.
func (c *Client) xetInfo(ctx context.Context, repo hubkit.Repo, rev, path string) *xetFile {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resolveURL(repo, rev, path), nil)
	if err != nil {
		return nil
	}
	req.Header.Set("Accept", xetFileInfoType+", */*")
	req.Header.Set("Range", "bytes=0-0")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.noRedirect.Do(req)
	if err != nil {
		return nil
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 == 3 && resp.Header.Get("X-Linked-Size") != "" && resp.Header.Get("X-Xet-Hash") == "" {
		// An LFS file the Hub serves without Xet: this Hub has none; stop asking.
		c.xetAbsent.Store(true)
		return nil
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), xetFileInfoType) {
		return nil
	}
	h, err := xet.ParseHash(resp.Header.Get("X-Xet-Hash"))
	if err != nil {
		return nil
	}
	size, err := strconv.ParseInt(resp.Header.Get("X-Linked-Size"), 10, 64)
	if err != nil || size < 0 {
		return nil
	}
	refresh := linkRel(resp.Header.Values("Link"), "xet-auth")
	if refresh == "" {
		return nil
	}
	return &xetFile{hash: h, size: size, refresh: refresh}
}

// linkRel finds the URL of rel in Link headers (`<url>; rel="name", ...`).
func linkRel(values []string, rel string) string {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			u, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if k == "rel" && strings.Trim(val, `"`) == rel {
					return u[1 : len(u)-1]
				}
			}
		}
	}
	return ""
}

// xetTokens is a token source for a token route; the Hub token goes along only when the route
// is on the Hub's own host.
func (c *Client) xetTokens(route string, initial *xet.Token, session string) *xet.HubTokens {
	ts := &xet.HubTokens{URL: route, HTTP: c.hc, Initial: initial, SessionID: session}
	if u, err := url.Parse(route); err == nil && strings.EqualFold(u.Host, c.host) {
		ts.HubToken = c.token
	}
	return ts
}

// XetFile reports whether path at rev is stored in Xet, with its Xet hash and size: what
// Download will read natively (false: Download uses the bridge).
func (c *Client) XetFile(ctx context.Context, repo hubkit.Repo, rev, path string) (hash string, size int64, ok bool) {
	if c.noXet || c.xetAbsent.Load() {
		return "", 0, false
	}
	info := c.xetInfo(ctx, repo, rev, path)
	if info == nil {
		return "", 0, false
	}
	return info.hash.String(), info.size, true
}

// xetOpen reads [off, off+n) of a Xet-backed file from the chunk store. ok is false when the
// file is not Xet-backed or Xet is off, and the caller should use the bridge.
func (c *Client) xetOpen(ctx context.Context, repo hubkit.Repo, rev, path string, off, n int64) (io.ReadCloser, bool, error) {
	if c.noXet || c.xetAbsent.Load() {
		return nil, false, nil
	}
	info := c.xetInfo(ctx, repo, rev, path)
	if info == nil {
		return nil, false, nil
	}
	if n < 0 {
		n = info.size - off
	}
	if off > info.size || off+n > info.size {
		return nil, true, fmt.Errorf("hub: download %s: range [%d, %d) outside the file's %d bytes: %w", path, off, off+n, info.size, hubkit.ErrInvalid)
	}
	xc := xet.NewClient(c.xetTokens(info.refresh, nil, ""), xet.WithHTTPClient(c.hc))
	rc, err := xc.File(info.hash, info.size).OpenRange(ctx, off, n)
	if err != nil {
		return nil, true, fmt.Errorf("hub: xet download %s: %w", path, err)
	}
	return rc, true, nil
}

// uploadXet sends the object through the Hub's chunk store: one pass over src, chunked,
// deduplicated and packed into xorbs, then the shard that registers it. The SHA-256 and size
// the Uploader computes must be the object's.
func (u *LFSUpload) uploadXet(ctx context.Context, src hubkit.Source) error {
	c := u.c
	hdr := http.Header{}
	for k, v := range u.upload.Header {
		hdr.Set(k, v)
	}
	var initial *xet.Token
	if t, ok := xet.TokenFromHeaders(hdr); ok {
		initial = &t
	}
	xc := xet.NewClient(c.xetTokens(u.upload.Href, initial, hdr.Get("X-Xet-Session-Id")), xet.WithHTTPClient(c.hc))
	rc, err := src.OpenRange(ctx, 0, u.obj.Size)
	if err != nil {
		return fmt.Errorf("open source: %w", err)
	}
	defer func() { _ = rc.Close() }()
	res, err := xc.Upload(ctx, rc)
	if err != nil {
		return err
	}
	if res.Size != u.obj.Size || res.SHA256 != u.obj.OID {
		return fmt.Errorf("xet upload read %d bytes with sha256 %s, the object is %d bytes %s: %w",
			res.Size, res.SHA256, u.obj.Size, u.obj.OID, hubkit.ErrHashMismatch)
	}
	u.dedup = res.Deduplicated
	return nil
}

// Deduplicated is how many of the object's bytes a Xet upload did not send because the store
// already held them (0 for other transfers).
func (u *LFSUpload) Deduplicated() int64 { return u.dedup }

func (c *Client) batchTransfers() []string {
	if c.noXet {
		return []string{lfs.TransferBasic, lfs.TransferMultipart}
	}
	return []string{lfs.TransferBasic, lfs.TransferMultipart, TransferXet}
}
