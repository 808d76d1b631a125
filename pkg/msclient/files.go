package msclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// File is one file of a listing.
type File struct {
	// Path is the file's path in the repo ("dir/file.bin").
	Path string
	// Size in bytes.
	Size int64
	// SHA256 of the content in lower-case hex ("" when the hub gave none). ModelScope gives it
	// for regular files too.
	SHA256 string
	// LFS reports whether the hub stores the file as an LFS object (as far as it says).
	LFS bool
	// Revision is the commit that last changed the file, when the hub reports it.
	Revision string
}

// fileEntry is one entry of /repo/files or /repo/tree.
type fileEntry struct {
	Name     string `json:"Name"`
	Path     string `json:"Path"`
	Type     string `json:"Type"`
	Size     int64  `json:"Size"`
	Sha256   string `json:"Sha256"`
	IsLFS    bool   `json:"IsLFS"`
	Revision string `json:"Revision"`
	CommitID string `json:"CommitId"`
}

type modelFiles struct {
	// Files is nil (JSON null) for an unknown revision, [] for an empty repo.
	Files           []fileEntry `json:"Files"`
	LatestCommitter *struct {
		ID string `json:"Id"`
	} `json:"LatestCommitter"`
}

// ListFiles returns every file of a repo at rev ("" means master), sorted by path, directories
// left out. An unknown revision fails with an error matching ErrNotFound (the hub answers 200 with
// Files null for it, which the client tells apart from an empty repo).
//
// Models: GET /api/v1/models/{owner}/{name}/repo/files?Recursive=true. The hub silently cuts that
// listing at 3000 entries, so a listing that long is redone folder by folder (Root=dir), in
// parallel, until every folder's listing is under the cut. A single folder holding more direct
// entries than the cut cannot be listed completely; that fails with an error rather than returning
// a partial list.
//
// Datasets: GET /api/v1/datasets/{owner}/{name}/repo/tree?Recursive=true, page by page until a
// page is short. A 403 on a later page (the hub sends spurious ones) is retried.
func (c *Client) ListFiles(ctx context.Context, repo Repo, rev string) ([]File, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	if rev == "" {
		rev = DefaultRevision
	}
	var entries []fileEntry
	var err error
	if repo.Kind == KindModel {
		entries, err = c.listModel(ctx, repo, rev)
	} else {
		entries, err = c.listDataset(ctx, repo, rev)
	}
	if err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(entries))
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		if strings.EqualFold(e.Type, "tree") {
			continue
		}
		p := strings.TrimPrefix(e.Path, "/")
		if p == "" || seen[p] {
			continue
		}
		seen[p] = true
		r := e.Revision
		if r == "" {
			r = e.CommitID
		}
		files = append(files, File{Path: p, Size: e.Size, SHA256: strings.ToLower(e.Sha256), LFS: e.IsLFS, Revision: r})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Path < files[j].Path })
	return files, nil
}

// listModelDir lists one folder ("" = root) of a model, recursively or not.
func (c *Client) listModelDir(ctx context.Context, repo Repo, rev, root string, recursive bool) ([]fileEntry, error) {
	q := url.Values{"Revision": {rev}, "Recursive": {strconv.FormatBool(recursive)}}
	if root != "" {
		q.Set("Root", root)
	}
	var data modelFiles
	if err := c.do(ctx, call{method: http.MethodGet, path: repo.apiPath("/repo/files"), query: q, out: &data}); err != nil {
		return nil, err
	}
	if data.Files == nil {
		if root == "" {
			return nil, revisionNotFound(repo, rev)
		}
		// A folder that vanished between two listings (a concurrent commit): nothing there.
		return []fileEntry{}, nil
	}
	return data.Files, nil
}

func (c *Client) listModel(ctx context.Context, repo Repo, rev string) ([]fileEntry, error) {
	all, err := c.listModelDir(ctx, repo, rev, "", true)
	if err != nil {
		return nil, err
	}
	if len(all) < c.listingCut {
		return all, nil
	}
	// Cut: walk the tree folder by folder. A folder whose recursive listing is under the cut is
	// complete; otherwise list it flat and descend into its sub-folders.
	var (
		mu  sync.Mutex
		out []fileEntry
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.listWorkers)
	var walk func(dir string, recursive []fileEntry)
	walk = func(dir string, recursive []fileEntry) {
		g.Go(func() error {
			entries := recursive
			if entries == nil {
				var err error
				if entries, err = c.listModelDir(gctx, repo, rev, dir, true); err != nil {
					return err
				}
			}
			if len(entries) < c.listingCut {
				mu.Lock()
				out = append(out, entries...)
				mu.Unlock()
				return nil
			}
			flat, err := c.listModelDir(gctx, repo, rev, dir, false)
			if err != nil {
				return err
			}
			if len(flat) >= c.listingCut {
				return &Error{Method: http.MethodGet, Path: repo.apiPath("/repo/files"), HTTPStatus: http.StatusOK,
					Message: fmt.Sprintf("folder %q holds %d or more entries, more than the hub lists; the listing would be incomplete", "/"+dir, c.listingCut),
					Kind:    ErrServer}
			}
			for _, e := range flat {
				if strings.EqualFold(e.Type, "tree") {
					sub := strings.Trim(e.Path, "/")
					if sub == "" || sub == dir {
						continue
					}
					walk(sub, nil)
					continue
				}
				mu.Lock()
				out = append(out, e)
				mu.Unlock()
			}
			return nil
		})
	}
	walk("", all)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// datasetPageSize is how many entries a dataset tree page asks for.
const datasetPageSize = 100

func (c *Client) listDataset(ctx context.Context, repo Repo, rev string) ([]fileEntry, error) {
	var out []fileEntry
	for page := 1; ; page++ {
		q := url.Values{
			"Revision": {rev}, "Root": {"/"}, "Recursive": {"true"},
			"PageNumber": {strconv.Itoa(page)}, "PageSize": {strconv.Itoa(datasetPageSize)},
		}
		var data struct {
			Files      []fileEntry `json:"Files"`
			TotalCount *int64      `json:"TotalCount"`
		}
		var top struct {
			TotalCount *int64 `json:"TotalCount"`
		}
		var err error
		for try := 0; try < 3; try++ {
			err = c.do(ctx, call{method: http.MethodGet, path: repo.apiPath("/repo/tree"), query: q, out: &data, top: &top})
			// A spurious 403 on a page after the first is retried (protocols/modelscope.md §3.3).
			if err == nil || page == 1 || !errors.Is(err, ErrForbidden) {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		if data.Files == nil && page == 1 && rev != DefaultRevision {
			return nil, revisionNotFound(repo, rev)
		}
		out = append(out, data.Files...)
		total := data.TotalCount
		if total == nil {
			total = top.TotalCount
		}
		switch {
		case len(data.Files) == 0:
			return out, nil
		case total != nil:
			// The hub may cap the page size below what was asked: trust the total.
			if int64(len(out)) >= *total {
				return out, nil
			}
		case len(data.Files) < datasetPageSize:
			return out, nil
		}
	}
}
