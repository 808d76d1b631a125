package hub

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// treeServer serves alice/model's tree: page n (from ?p=n, 1 when absent) answers one file and the
// Link header link(n, base); it counts the requests.
func treeServer(t *testing.T, link func(n int, base string) string) (*Client, *int) {
	t.Helper()
	requests := 0
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests++
		n := 1
		if p := r.URL.Query().Get("p"); p != "" {
			n, _ = strconv.Atoi(p)
		}
		if l := link(n, srv.URL+r.URL.Path+"?recursive=true&expand=false"); l != "" {
			w.Header().Set("Link", l)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `[{"type":"file","oid":"0","size":1,"path":"f%d"}]`, n)
	}))
	t.Cleanup(srv.Close)
	return NewClient(WithEndpoint(srv.URL), WithHTTPClient(testHTTP(0))), &requests
}

// TestWalkFilesLink checks that a missing Link header (or one without rel="next") ends the listing,
// and that a Link header that is there but cannot be parsed, or a cursor that loops, fails it
// instead of returning the pages read so far as the whole listing.
func TestWalkFilesLink(t *testing.T) {
	next := func(n int, base string) string { return fmt.Sprintf("<%s&p=%d>; rel=\"next\"", base, n+1) }
	tests := []struct {
		name  string
		link  func(n int, base string) string
		files []string // the whole listing, when it succeeds
		err   string   // else the error text
	}{
		{name: "no Link header", link: func(int, string) string { return "" }, files: []string{"f1"}},
		{name: "two pages", files: []string{"f1", "f2"}, link: func(n int, base string) string {
			if n < 2 {
				return next(n, base)
			}
			return ""
		}},
		{name: "no rel next", files: []string{"f1"}, link: func(_ int, base string) string {
			return fmt.Sprintf(`<%s>; rel="prev", <%s&p=9>; rel=last`, base, base)
		}},
		{name: "rel next among others, unquoted, commas in the URL", files: []string{"f1", "f2"}, link: func(n int, base string) string {
			if n < 2 {
				return fmt.Sprintf(`<%s&x=a,b;c>; title="a, b; c"; rel="prev", <%s&p=2>; rel=NEXT`, base, base)
			}
			return ""
		}},
		{name: "relative next URL", files: []string{"f1", "f2"}, link: func(n int, _ string) string {
			if n < 2 {
				return `</api/models/alice/model/tree/main?recursive=true&p=2>; rel="next"`
			}
			return ""
		}},
		{name: "garbage", link: func(int, string) string { return "garbage" }, err: `tree listing: cannot parse Link header "garbage"`},
		{name: "no angle brackets", link: func(_ int, base string) string { return base + `&p=2; rel="next"` }, err: "tree listing: cannot parse Link header"},
		{name: "unterminated URL", link: func(_ int, base string) string { return "<" + base + `&p=2; rel="next"` }, err: "tree listing: cannot parse Link header"},
		{name: "unterminated quote", link: func(_ int, base string) string { return "<" + base + `&p=2>; rel="next` }, err: "tree listing: cannot parse Link header"},
		{name: "garbled after next", link: func(n int, base string) string { return next(n, base) + ", junk" }, err: "tree listing: cannot parse Link header"},
		{name: "unparseable next URL", link: func(int, string) string { return `<http://[::1>; rel="next"` }, err: "tree listing: cannot parse Link header"},
		{name: "empty next URL", link: func(int, string) string { return `<>; rel="next"` }, err: "tree listing: cannot parse Link header"},
		{name: "cursor back to itself", link: func(_ int, base string) string { return "<" + base + `&p=1>; rel="next"` }, err: "tree listing: the Hub's Link cursor loops"},
		{name: "cursor cycle", link: func(n int, base string) string {
			return fmt.Sprintf("<%s&p=%d>; rel=\"next\"", base, n%3+1)
		}, err: "tree listing: the Hub's Link cursor loops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := treeServer(t, tt.link)
			got, err := c.ListFiles(context.Background(), model, "main")
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			var paths []string
			for _, f := range got {
				paths = append(paths, f.Path)
			}
			require.Equal(t, tt.files, paths)
		})
	}
}

// TestWalkFilesPageLimit checks that a cursor that never ends stops at the page limit with an
// error, the pages read so far never passing for the whole listing.
func TestWalkFilesPageLimit(t *testing.T) {
	c, requests := treeServer(t, func(n int, base string) string { return fmt.Sprintf("<%s&p=%d>; rel=\"next\"", base, n+1) })
	pages := 0
	err := c.walkFiles(context.Background(), model, "main", 5, func([]TreeEntry) error { pages++; return nil })
	require.ErrorContains(t, err, "tree listing: more than 5 pages")
	require.Equal(t, 5, pages)
	require.Equal(t, 5, *requests)
}
