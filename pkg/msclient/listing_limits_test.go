package msclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// runawayAfter is how many requests the misbehaving fakes below answer before they refuse: a
// client that does not bound its listing fails its test instead of hanging it.
const runawayAfter = 3000

// entry is a listing entry as the hub sends it.
type entry struct {
	Path string `json:"Path"`
	Type string `json:"Type"`
	Size int64  `json:"Size"`
}

func files(prefix string, from, n int) []entry {
	out := make([]entry, n)
	for i := range out {
		out[i] = entry{Path: fmt.Sprintf("%s%06d", prefix, from+i), Type: "blob", Size: 1}
	}
	return out
}

// writeListing answers a 200 envelope holding files and, when total >= 0, TotalCount.
func writeListing(t *testing.T, w http.ResponseWriter, fs []entry, total int64) {
	data := map[string]any{"Files": fs}
	if total >= 0 {
		data["TotalCount"] = total
	}
	b, err := json.Marshal(map[string]any{"Code": 200, "Success": true, "Data": data})
	require.NoError(t, err)
	_, _ = w.Write(b)
}

// listingServer serves GET .../repo/tree (datasets, by page) and .../repo/files (models, by
// root) of alice/x from answer, and counts the requests.
func listingServer(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := newLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > runawayAfter {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"Code":400,"Success":false,"Message":"runaway listing"}`))
			return
		}
		answer(w, r)
	}))
	return srv, &n
}

func pageOf(r *http.Request) int {
	p, _ := strconv.Atoi(r.URL.Query().Get("PageNumber"))
	return p
}

// TestDatasetListingBounded checks that a hub whose dataset paging never ends (the same page
// again, or a TotalCount that keeps growing) fails the listing with a clear error.
func TestDatasetListingBounded(t *testing.T) {
	tests := []struct {
		name  string
		lim   listLimits
		page  func(t *testing.T, w http.ResponseWriter, page int)
		err   string
		pages int64 // requests made, when the listing fails
		n     int   // entries listed, when it succeeds
	}{
		{name: "same full page forever", lim: defaultListLimits, pages: 2, err: "page 2 adds no new entry",
			page: func(t *testing.T, w http.ResponseWriter, _ int) {
				writeListing(t, w, files("f", 0, datasetPageSize), -1)
			}},
		{name: "same page under a TotalCount never reached", lim: defaultListLimits, pages: 2, err: "page 2 adds no new entry",
			page: func(t *testing.T, w http.ResponseWriter, _ int) { writeListing(t, w, files("f", 0, 10), 1000) }},
		{name: "TotalCount growing", lim: defaultListLimits, pages: 6, err: "more than 6 pages read and 60 entries",
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				// The first total (30) at 10 a page needs 3 pages; the bound allows 3 more.
				total := int64(30)
				if page > 1 {
					total = int64(page) * 1_000_000
				}
				writeListing(t, w, files("f", page*10, 10), total)
			}},
		{name: "huge TotalCount", lim: listLimits{maxPages: 4, maxDepth: 256, maxEntries: 5_000_000}, pages: 4, err: "more than 4 pages",
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				writeListing(t, w, files("f", page*datasetPageSize, datasetPageSize), 9223372036854775807)
			}},
		{name: "full pages without TotalCount", lim: listLimits{maxPages: 7, maxDepth: 256, maxEntries: 5_000_000}, pages: 7, err: "more than 7 pages",
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				writeListing(t, w, files("f", page*datasetPageSize, datasetPageSize), -1)
			}},
		{name: "entry cap", lim: listLimits{maxPages: 100, maxDepth: 256, maxEntries: 250}, pages: 3, err: "more than 250 entries",
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				writeListing(t, w, files("f", page*datasetPageSize, datasetPageSize), -1)
			}},
		{name: "capped page size within TotalCount", lim: defaultListLimits, n: 23,
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				writeListing(t, w, files("f", (page-1)*5, min(5, 23-(page-1)*5)), 23)
			}},
		{name: "a repeated entry among new ones", lim: defaultListLimits, n: 200, // ListFiles drops the repeat
			page: func(t *testing.T, w http.ResponseWriter, page int) {
				fs := files("f", (page-1)*99, 99)
				writeListing(t, w, append(fs, entry{Path: "again", Type: "blob"}), 199)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, reqs := listingServer(t, func(w http.ResponseWriter, r *http.Request) { tt.page(t, w, pageOf(r)) })
			c := NewClient(WithEndpoint(srv), WithHTTPClient(fastHTTP()))
			got, err := c.listDataset(context.Background(), dataset("alice/x"), DefaultRevision, tt.lim)
			if tt.err != "" {
				e := requireKind(t, err, hubkit.ErrServer)
				require.Contains(t, e.Message, tt.err)
				require.Nil(t, got)
				require.Equal(t, tt.pages, reqs.Load())
				return
			}
			require.NoError(t, err)
			require.Len(t, got, tt.n)
		})
	}
	// Through ListFiles, with the default limits.
	srv, _ := listingServer(t, func(w http.ResponseWriter, _ *http.Request) { writeListing(t, w, files("f", 0, datasetPageSize), -1) })
	_, err := NewClient(WithEndpoint(srv), WithHTTPClient(fastHTTP())).ListFiles(context.Background(), dataset("alice/x"), "")
	e := requireKind(t, err, hubkit.ErrServer)
	require.Contains(t, e.Message, "adds no new entry")
}

// TestModelWalkBounded checks that the folder-by-folder walk past the listing cut fails with a
// clear error when the hub hands back folders already walked, or folders without end.
func TestModelWalkBounded(t *testing.T) {
	const cut = 100
	// files answers the model listing for root (recursive or flat) from tree: each folder's
	// recursive listing is at the cut (so the walk lists it flat), and its flat listing holds
	// one file and the folders tree gives.
	type tree func(root string) []string
	serve := func(t *testing.T, sub tree) string {
		srv, _ := listingServer(t, func(w http.ResponseWriter, r *http.Request) {
			root := strings.Trim(r.URL.Query().Get("Root"), "/")
			prefix := root + "/"
			if root == "" {
				prefix = ""
			}
			if r.URL.Query().Get("Recursive") == "true" {
				writeListing(t, w, files(prefix+"r", 0, cut), -1)
				return
			}
			fs := files(prefix+"flat", 0, 1)
			for _, d := range sub(root) {
				fs = append(fs, entry{Path: d, Type: "tree"})
			}
			writeListing(t, w, fs, -1)
		})
		return srv
	}
	tests := []struct {
		name string
		lim  listLimits
		tree tree
		err  string
		n    int
	}{
		{name: "a finite tree", lim: defaultListLimits, n: 3, tree: func(root string) []string {
			if root == "" {
				return []string{"a", "b"}
			}
			return nil
		}},
		{name: "more folders than workers", lim: defaultListLimits, n: 41, tree: func(root string) []string {
			if root != "" {
				return nil
			}
			var subs []string
			for i := 0; i < 40; i++ {
				subs = append(subs, fmt.Sprintf("d%02d", i))
			}
			return subs
		}},
		{name: "a folder listing itself is skipped", lim: defaultListLimits, n: 2, tree: func(root string) []string {
			return []string{"a", root}
		}},
		{name: "folders loop", lim: defaultListLimits, err: `folder "/a" is listed twice (again under "/b")`, tree: func(root string) []string {
			switch root {
			case "":
				return []string{"a"}
			case "a":
				return []string{"b"}
			default:
				return []string{"a"}
			}
		}},
		{name: "a folder back to the root's sibling", lim: defaultListLimits, err: "is listed twice", tree: func(root string) []string {
			if root == "" {
				return []string{"a", "b"}
			}
			return []string{"a", "b"}
		}},
		{name: "folders without end", lim: defaultListLimits, err: "more than 256 levels deep", tree: func(root string) []string {
			return []string{strings.TrimPrefix(root+"/d", "/")}
		}},
		{name: "entry cap", lim: listLimits{maxPages: 10, maxDepth: 256, maxEntries: 20}, err: "more than 20 entries", tree: func(root string) []string {
			if strings.Count(root, "/") > 3 {
				return nil
			}
			return []string{strings.TrimPrefix(root+"/x", "/"), strings.TrimPrefix(root+"/y", "/")}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(WithEndpoint(serve(t, tt.tree)), WithHTTPClient(fastHTTP()), WithListingCut(cut))
			got, err := c.listModel(context.Background(), model("alice/x"), DefaultRevision, tt.lim)
			if tt.err != "" {
				e := requireKind(t, err, hubkit.ErrServer)
				require.Contains(t, e.Message, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Len(t, got, tt.n)
		})
	}
	// Through ListFiles, with the default limits.
	c := NewClient(WithEndpoint(serve(t, func(string) []string { return []string{"a", "b"} })), WithHTTPClient(fastHTTP()), WithListingCut(cut))
	_, err := c.ListFiles(context.Background(), model("alice/x"), "")
	e := requireKind(t, err, hubkit.ErrServer)
	require.Contains(t, e.Message, "is listed twice")
}
