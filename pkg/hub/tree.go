package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
}

type treeJSON struct {
	Type string `json:"type"`
	TreeEntry
}

// WalkFiles lists every file of repo at rev ("" for the default branch), recursively, one page at
// a time: GET /api/{type}s/{id}/tree/{rev}?recursive=true, following the Link rel="next" cursor.
// fn receives each page's files (directories are left out); an error from fn stops the walk and
// is returned. Pages are not kept, so a 100,000-file repo is never held twice.
func (c *Client) WalkFiles(ctx context.Context, repo Repo, rev string, fn func(page []TreeEntry) error) error {
	if err := repo.Validate(); err != nil {
		return err
	}
	op := "list files " + repo.String()
	next := c.repoAPI(repo) + "/tree/" + escRev(rev) + "?recursive=true&expand=false"
	for seen := map[string]bool{}; next != ""; {
		if seen[next] {
			return fmt.Errorf("hub: %s: the Hub's Link cursor loops", op)
		}
		seen[next] = true
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
		link := resp.Header.Get("Link")
		drainClose(resp.Body)
		if err != nil {
			return err
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
		next = c.nextLink(link)
	}
	return nil
}

// ListFiles returns every file of repo at rev ("" for the default branch), recursively, across
// all pages (see WalkFiles).
func (c *Client) ListFiles(ctx context.Context, repo Repo, rev string) ([]TreeEntry, error) {
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

// nextLink extracts the rel="next" URL of a Link header. A URL on another host (the Hub
// advertising its public name to a mirror) is re-rooted on the endpoint, so the token stays home.
func (c *Client) nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		u, err := url.Parse(target)
		if err != nil {
			return ""
		}
		ep, err := url.Parse(c.endpoint)
		if err != nil {
			return ""
		}
		if !u.IsAbs() || !strings.EqualFold(u.Host, ep.Host) {
			// Keep the path as sent, rooted at the endpoint's scheme and host.
			u.Scheme, u.Host = ep.Scheme, ep.Host
		}
		return u.String()
	}
	return ""
}
