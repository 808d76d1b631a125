package hub

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// TreeEntry is one file of a repository listing.
type TreeEntry struct {
	Path string `json:"path"`
	// Size is the file's size (the real size for LFS files; prefer LFS.Size when present).
	Size int64 `json:"size"`
	// OID is the git blob id (of the pointer text, for LFS files).
	OID string `json:"oid"`
	// LFS is set for files stored as LFS objects.
	LFS *LFSInfo `json:"lfs,omitempty"`
	// XetHash is the file's Xet hash when the Hub stores it in Xet (Download then reads it
	// natively).
	XetHash string `json:"xetHash,omitempty"`
}

type treeJSON struct {
	Type string `json:"type"`
	TreeEntry
}

// maxTreePages bounds how many pages WalkFiles follows: far above any real repo (the Hub sends
// 1,000 entries a page), it stops a server whose cursor never ends from listing forever.
const maxTreePages = 100_000

// WalkFiles lists every file of repo at rev ("" for the default branch), recursively, one page at
// a time: GET /api/{type}s/{id}/tree/{rev}?recursive=true, following the Link rel="next" cursor.
// fn receives each page's files (directories are left out); an error from fn stops the walk and
// is returned. Pages are not kept, so a 100,000-file repo is never held twice.
//
// A page without a Link header (or without a rel="next" link) is the last one. A Link header that
// cannot be parsed, a cursor that comes back to a page already read, or more than 100,000 pages
// fail the walk: the listing would be partial, and a partial listing must never pass for a whole.
func (c *Client) WalkFiles(ctx context.Context, repo hubkit.Repo, rev string, fn func(page []TreeEntry) error) error {
	return c.walkFiles(ctx, repo, rev, maxTreePages, fn)
}

func (c *Client) walkFiles(ctx context.Context, repo hubkit.Repo, rev string, maxPages int, fn func(page []TreeEntry) error) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	op := "list files " + repo.String()
	next := c.repoAPI(repo) + "/tree/" + escRev(rev) + "?recursive=true&expand=false"
	// Cursors seen, by hash: a hostile server's cursors may be long, and there may be many.
	seen := map[[sha256.Size]byte]bool{}
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return fmt.Errorf("hub: %s: tree listing: more than %d pages; the Hub's Link cursor does not end", op, maxPages)
		}
		key := sha256.Sum256([]byte(next))
		if seen[key] {
			return fmt.Errorf("hub: %s: tree listing: the Hub's Link cursor loops (page %d links back to %s)",
				op, pages+1, clip(next, maxLinkInError))
		}
		seen[key] = true
		req, err := c.newRequest(ctx, http.MethodGet, next, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept", "application/json")
		resp, err := c.hc.Do(req)
		if err != nil {
			return c.transportError(op, err)
		}
		var raw []treeJSON
		err = c.checkResponse(op, routeDownload, resp)
		if err == nil {
			if derr := json.NewDecoder(resp.Body).Decode(&raw); derr != nil {
				err = fmt.Errorf("hub: %s: decode answer: %w", op, derr)
			}
		}
		links := resp.Header.Values("Link")
		drainClose(resp.Body)
		if err != nil {
			return err
		}
		// Read the cursor before handing the page on: a page followed by a broken cursor is
		// never passed to fn as if the listing could go on.
		if next, err = c.nextLink(strings.Join(links, ", ")); err != nil {
			return fmt.Errorf("hub: %s: tree listing: %w", op, err)
		}
		page := make([]TreeEntry, 0, len(raw))
		for _, e := range raw {
			if e.Type != "" && e.Type != "file" {
				continue
			}
			if e.LFS != nil && e.LFS.Size > 0 {
				e.Size = e.LFS.Size
			}
			page = append(page, e.TreeEntry)
		}
		if err := fn(page); err != nil {
			return err
		}
	}
	return nil
}

// ListFiles returns every file of repo at rev ("" for the default branch), recursively, across
// all pages (see WalkFiles).
func (c *Client) ListFiles(ctx context.Context, repo hubkit.Repo, rev string) ([]TreeEntry, error) {
	var all []TreeEntry
	err := c.WalkFiles(ctx, repo, rev, func(page []TreeEntry) error {
		all = append(all, page...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return all, nil
}

// maxLinkInError is how much of a Link header or cursor an error message quotes.
const maxLinkInError = 200

// clip shortens s to at most n bytes for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// nextLink extracts the rel="next" URL of a Link header (RFC 8288). It returns "" when there is no
// header or no rel="next" link (the last page), and an error when the header is there but cannot
// be parsed, or its next URL cannot: ending the walk there would return a partial listing. A URL
// on another host (the Hub advertising its public name to a mirror) is re-rooted on the endpoint,
// so the token stays home.
func (c *Client) nextLink(h string) (string, error) {
	if strings.TrimSpace(h) == "" {
		return "", nil
	}
	target, found, err := parseNextLink(h)
	if err != nil {
		return "", fmt.Errorf("cannot parse Link header %q: %w", clip(h, maxLinkInError), err)
	}
	if !found {
		return "", nil
	}
	bad := func(why string, err error) (string, error) {
		if err != nil {
			why += ": " + err.Error()
		}
		return "", fmt.Errorf("cannot parse Link header %q: next URL %s", clip(h, maxLinkInError), why)
	}
	if strings.TrimSpace(target) == "" {
		return bad("is empty", nil)
	}
	u, err := url.Parse(target)
	if err != nil {
		return bad("is invalid", err)
	}
	if u.Opaque != "" {
		return bad("has no path", nil)
	}
	ep, err := url.Parse(c.endpoint)
	if err != nil {
		return "", fmt.Errorf("endpoint %q: %w", c.endpoint, err)
	}
	if !u.IsAbs() || !strings.EqualFold(u.Host, ep.Host) {
		// Keep the path as sent, rooted at the endpoint's scheme and host.
		u.Scheme, u.Host, u.User = ep.Scheme, ep.Host, nil
	}
	return u.String(), nil
}

// parseNextLink reads a Link header, link-value by link-value ("<uri>; param=value; ...", comma
// separated, with quoted values and URIs free to hold commas and semicolons), and returns the
// target of the first link whose rel holds "next". Any link-value that is not of that shape is an
// error, even after the next link was found: a header garbled that way cannot be trusted.
func parseNextLink(h string) (target string, found bool, err error) {
	i := 0
	skipWS := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t') {
			i++
		}
	}
	for {
		skipWS()
		for i < len(h) && h[i] == ',' { // empty list elements are allowed
			i++
			skipWS()
		}
		if i == len(h) {
			return target, found, nil
		}
		if h[i] != '<' {
			return "", false, fmt.Errorf("expected '<' at offset %d", i)
		}
		end := strings.IndexByte(h[i+1:], '>')
		if end < 0 {
			return "", false, errors.New("unterminated '<'")
		}
		uri := h[i+1 : i+1+end]
		i += end + 2
		var rels []string
		relSeen := false
		for {
			skipWS()
			if i == len(h) || h[i] == ',' {
				break
			}
			if h[i] != ';' {
				return "", false, fmt.Errorf("expected ';' or ',' at offset %d", i)
			}
			i++
			skipWS()
			start := i
			for i < len(h) && isTokenChar(h[i]) {
				i++
			}
			name := strings.ToLower(h[start:i])
			if name == "" {
				return "", false, fmt.Errorf("expected a parameter name at offset %d", i)
			}
			skipWS()
			var value string
			if i < len(h) && h[i] == '=' {
				i++
				skipWS()
				if value, err = readParamValue(h, &i); err != nil {
					return "", false, err
				}
			}
			if name == "rel" && !relSeen { // only the first rel counts (RFC 8288 §3.3)
				relSeen = true
				rels = strings.Fields(value)
			}
		}
		if !found {
			for _, r := range rels {
				if strings.EqualFold(r, "next") {
					target, found = uri, true
					break
				}
			}
		}
	}
}

// readParamValue reads a token or a quoted-string at h[*i:].
func readParamValue(h string, i *int) (string, error) {
	if *i < len(h) && h[*i] == '"' {
		var b strings.Builder
		for j := *i + 1; j < len(h); j++ {
			switch h[j] {
			case '\\':
				if j+1 == len(h) {
					return "", errors.New("unterminated quoted string")
				}
				j++
				b.WriteByte(h[j])
			case '"':
				*i = j + 1
				return b.String(), nil
			default:
				b.WriteByte(h[j])
			}
		}
		return "", errors.New("unterminated quoted string")
	}
	start := *i
	for *i < len(h) && isTokenChar(h[*i]) {
		*i++
	}
	if *i == start {
		return "", fmt.Errorf("expected a parameter value at offset %d", start)
	}
	return h[start:*i], nil
}

// isTokenChar reports whether b may appear in an HTTP token (RFC 9110 §5.6.2).
func isTokenChar(b byte) bool {
	switch {
	case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
}
