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

	"github.com/linaqruf/hf2ms/pkg/hubkit"
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
// left out. An unknown revision fails with an error matching hubkit.ErrNotFound (the hub answers 200 with
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
//
// A hub that misbehaves cannot keep a listing going forever: dataset paging stops with an error
// when a page adds no new entry or the pages outrun TotalCount, the model folder walk when a
// folder comes back twice or the walk goes too deep, and both past a few million entries.
func (c *Client) ListFiles(ctx context.Context, repo hubkit.Repo, rev string) ([]File, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	if rev == "" {
		rev = DefaultRevision
	}
	var entries []fileEntry
	var err error
	if repo.Type == hubkit.Model {
		entries, err = c.listModel(ctx, repo, rev, defaultListLimits)
	} else {
		entries, err = c.listDataset(ctx, repo, rev, defaultListLimits)
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
func (c *Client) listModelDir(ctx context.Context, repo hubkit.Repo, rev, root string, recursive bool) ([]fileEntry, error) {
	q := url.Values{"Revision": {rev}, "Recursive": {strconv.FormatBool(recursive)}}
	if root != "" {
		q.Set("Root", root)
	}
	var data modelFiles
	if err := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, "/repo/files"), query: q, out: &data}); err != nil {
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

// listLimits bound a listing against a hub that misbehaves (it keeps paging, or hands back the
// same folders forever); the defaults are far above any real repo.
type listLimits struct {
	// maxPages is the most dataset tree pages read, whatever TotalCount says.
	maxPages int
	// maxDepth is the most folder levels the model walk descends.
	maxDepth int
	// maxEntries is the most entries (files and folders) a listing collects.
	maxEntries int
}

var defaultListLimits = listLimits{maxPages: 100_000, maxDepth: 256, maxEntries: 5_000_000}

// listingError is a listing the client gives up on because the hub's answers make no sense.
func listingError(path, format string, args ...any) error {
	return &Error{Method: http.MethodGet, Path: path, HTTPStatus: http.StatusOK, Message: fmt.Sprintf(format, args...), Kind: hubkit.ErrServer}
}

func (c *Client) listModel(ctx context.Context, repo hubkit.Repo, rev string, lim listLimits) ([]fileEntry, error) {
	all, err := c.listModelDir(ctx, repo, rev, "", true)
	if err != nil {
		return nil, err
	}
	if len(all) < c.listingCut {
		return all, nil
	}
	// Cut: walk the tree folder by folder. A folder whose recursive listing is under the cut is
	// complete; otherwise list it flat and descend into its sub-folders. Each folder is walked
	// once: one handed back twice (or a listing deeper or longer than the limits) means the hub
	// is feeding the walk something other than a tree, and the walk stops with an error.
	apiPath := apiPath(repo, "/repo/files")
	var (
		mu        sync.Mutex
		out       []fileEntry
		visited   = map[string]bool{"": true}
		collected int // files and folders collected, against lim.maxEntries
	)
	// count adds n entries to the total and reports whether the listing is still within bounds.
	count := func(n int) error {
		if collected += n; collected > lim.maxEntries {
			return listingError(apiPath, "the listing holds more than %d entries; giving up", lim.maxEntries)
		}
		return nil
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(c.listWorkers)
	var walk func(dir string, depth int, recursive []fileEntry)
	walk = func(dir string, depth int, recursive []fileEntry) {
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
				defer mu.Unlock()
				out = append(out, entries...)
				return count(len(entries))
			}
			flat, err := c.listModelDir(gctx, repo, rev, dir, false)
			if err != nil {
				return err
			}
			if len(flat) >= c.listingCut {
				return listingError(apiPath, "folder %q holds %d or more entries, more than the hub lists; the listing would be incomplete", "/"+dir, c.listingCut)
			}
			subs, err := func() ([]string, error) {
				mu.Lock()
				defer mu.Unlock()
				if err := count(len(flat)); err != nil {
					return nil, err
				}
				var subs []string
				for _, e := range flat {
					if !strings.EqualFold(e.Type, "tree") {
						out = append(out, e)
						continue
					}
					sub := strings.Trim(e.Path, "/")
					if sub == "" || sub == dir {
						continue
					}
					if visited[sub] {
						return nil, listingError(apiPath, "folder %q is listed twice (again under %q); the hub's folders loop", "/"+sub, "/"+dir)
					}
					if depth+1 > lim.maxDepth {
						return nil, listingError(apiPath, "folder %q is more than %d levels deep; giving up", "/"+sub, lim.maxDepth)
					}
					visited[sub] = true
					subs = append(subs, sub)
				}
				return subs, nil
			}()
			if err != nil {
				return err
			}
			// Outside the lock: walk blocks while every worker is busy, and workers take the lock.
			for _, sub := range subs {
				walk(sub, depth+1, nil)
			}
			return nil
		})
	}
	walk("", 0, all)
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// datasetPageSize is how many entries a dataset tree page asks for.
const datasetPageSize = 100

func (c *Client) listDataset(ctx context.Context, repo hubkit.Repo, rev string, lim listLimits) ([]fileEntry, error) {
	apiPath := apiPath(repo, "/repo/tree")
	var out []fileEntry
	seen := map[string]bool{} // entry paths, to tell a page that adds nothing
	maxPages := lim.maxPages  // lowered to what the first TotalCount needs, once known
	for page := 1; ; page++ {
		if page > maxPages {
			return nil, listingError(apiPath, "more than %d pages read and %d entries, the hub's paging does not end", maxPages, len(out))
		}
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
			err = c.do(ctx, call{method: http.MethodGet, path: apiPath, query: q, out: &data, top: &top})
			// A spurious 403 on a page after the first is retried (as modelscope_hub's tree paging does).
			if err == nil || page == 1 || !errors.Is(err, hubkit.ErrForbidden) {
				break
			}
		}
		if err != nil {
			return nil, err
		}
		if data.Files == nil && page == 1 && rev != DefaultRevision {
			return nil, revisionNotFound(repo, rev)
		}
		if len(data.Files) == 0 {
			return out, nil
		}
		fresh := 0
		for _, e := range data.Files {
			if p := e.Path; !seen[p] {
				seen[p] = true
				fresh++
			}
		}
		if fresh == 0 {
			return nil, listingError(apiPath, "page %d adds no new entry; the hub's paging repeats itself", page)
		}
		out = append(out, data.Files...)
		if len(out) > lim.maxEntries {
			return nil, listingError(apiPath, "the listing holds more than %d entries; giving up", lim.maxEntries)
		}
		total := data.TotalCount
		if total == nil {
			total = top.TotalCount
		}
		if page == 1 && total != nil && *total > 0 {
			// At the first page's size, the first total is reached within this many pages; two
			// more allow for files committed meanwhile. A later, larger TotalCount does not
			// raise the bound: a hub that keeps announcing more cannot page forever.
			// (total/size + 3 >= ceil(total/size) + 2, and cannot overflow.)
			if q := *total / int64(len(data.Files)); q < int64(maxPages)-3 {
				maxPages = int(q) + 3
			}
		}
		switch {
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
