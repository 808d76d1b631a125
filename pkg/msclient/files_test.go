package msclient

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// nestedFiles returns n small files spread over nested folders (a/b/c...), plus their paths.
func nestedFiles(n int) []mstest.File {
	files := make([]mstest.File, 0, n)
	for i := 0; i < n; i++ {
		var p string
		switch i % 4 {
		case 0:
			p = fmt.Sprintf("top-%04d.txt", i)
		case 1:
			p = fmt.Sprintf("d%d/f-%04d.txt", i%7, i)
		case 2:
			p = fmt.Sprintf("d%d/sub%d/f-%04d.txt", i%5, i%3, i)
		default:
			p = fmt.Sprintf("deep/x%d/y/z%d/f-%04d.txt", i%2, i%11, i)
		}
		files = append(files, mstest.File{Path: p, Content: []byte(p)})
	}
	return files
}

// requireSameListing compares a client listing with the fake's own view.
func requireSameListing(t *testing.T, s *mstest.Server, kind hubkit.RepoType, id, rev string, got []File) {
	t.Helper()
	want, err := s.Files(kind, id, rev)
	require.NoError(t, err)
	require.Len(t, got, len(want))
	for i := range want {
		require.Equal(t, want[i].Path, got[i].Path)
		require.Equal(t, want[i].Size, got[i].Size, want[i].Path)
		require.Equal(t, want[i].SHA256, got[i].SHA256, want[i].Path)
		require.Equal(t, want[i].LFS, got[i].LFS, want[i].Path)
	}
}

func TestListFilesBeyondCut(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/many", mstest.RepoOptions{}))
	files := nestedFiles(3150)
	_, err := s.Commit(hubkit.Model, "alice/many", "", "seed", files...)
	require.NoError(t, err)

	got, err := c.ListFiles(ctx, model("alice/many"), "")
	require.NoError(t, err)
	require.Len(t, got, 3150)
	requireSameListing(t, s, hubkit.Model, "alice/many", "", got)
	require.Equal(t, sha([]byte(got[0].Path)), got[0].SHA256)
	// The first (cut) listing plus folder walks.
	require.Greater(t, s.Faults().Count(mstest.RouteModelFiles), 2)
}

func TestListFilesSmallCut(t *testing.T) {
	// A cut far below the tree's folder sizes forces the walk to descend several levels.
	s, _ := setup(t, mstest.WithListingCut(40))
	c := newClient(s, aliceToken, WithListingCut(40))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
	files := nestedFiles(120) // root: 30 files + 8 folders, under the cut
	for i := 0; i < 100; i++ {
		files = append(files, mstest.File{Path: fmt.Sprintf("l1/l2/l3/s%d/f%03d", i%4, i), Content: []byte{byte(i)}})
	}
	for i := 0; i < 10; i++ {
		files = append(files, mstest.File{Path: fmt.Sprintf("l1/l2/g%d", i), Content: []byte{byte(i)}})
	}
	_, err := s.Commit(hubkit.Model, "alice/m", "", "seed", files...)
	require.NoError(t, err)
	got, err := c.ListFiles(context.Background(), model("alice/m"), "")
	require.NoError(t, err)
	requireSameListing(t, s, hubkit.Model, "alice/m", "", got)

	// A flat folder holding more entries than the cut cannot be listed: an error, not a partial list.
	flat := make([]mstest.File, 50)
	for i := range flat {
		flat[i] = mstest.File{Path: fmt.Sprintf("flat/%03d", i), Content: []byte{byte(i)}}
	}
	seedRepo(t, s, hubkit.Model, "alice/flat", mstest.RepoOptions{}, flat...)
	_, err = c.ListFiles(context.Background(), model("alice/flat"), "")
	e := requireKind(t, err, hubkit.ErrServer)
	require.Contains(t, e.Message, "incomplete")
}

func TestListFiles(t *testing.T) {
	s, c := setup(t, mstest.WithDatasetPageSize(7))
	ctx := context.Background()
	big := synth.Blob{Size: 3 << 20, Seed: 1}
	for _, k := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		require.NoError(t, s.CreateRepo(k, "alice/r", mstest.RepoOptions{}))
		require.NoError(t, s.CreateRepo(k, "alice/empty", mstest.RepoOptions{}))
		require.NoError(t, s.CreateRepo(k, "alice/priv", mstest.RepoOptions{Private: true}))
		files := append(nestedFiles(30), mstest.File{Path: "weights/model.safetensors", Blob: &big, LFS: true})
		_, err := s.Commit(k, "alice/r", "", "seed", files...)
		require.NoError(t, err)
		require.NoError(t, s.CreateTag(k, "alice/r", "v1", ""))
		_, err = s.Commit(k, "alice/r", "", "more", mstest.File{Path: "later.txt", Content: []byte("later")})
		require.NoError(t, err)
	}
	for _, kind := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		mk := hubkit.RepoType(kind)
		tests := []struct {
			name   string
			client *Client
			id     string
			rev    string
			n      int
			kind   error
		}{
			{name: "default revision", client: c, id: "alice/r", n: 32},
			{name: "master", client: c, id: "alice/r", rev: "master", n: 32},
			{name: "tag", client: c, id: "alice/r", rev: "v1", n: 31},
			{name: "empty repo", client: c, id: "alice/empty", n: 0},
			{name: "unknown revision", client: c, id: "alice/r", rev: "main", kind: hubkit.ErrNotFound},
			{name: "missing repo", client: c, id: "alice/none", kind: hubkit.ErrNotFound},
			{name: "private hidden from bob", client: newClient(s, bobToken), id: "alice/priv", kind: hubkit.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(string(kind)+"/"+tt.name, func(t *testing.T) {
				got, err := tt.client.ListFiles(ctx, hubkit.Repo{Type: kind, ID: tt.id}, tt.rev)
				if tt.kind != nil {
					requireKind(t, err, tt.kind)
					return
				}
				require.NoError(t, err)
				require.Len(t, got, tt.n)
				requireSameListing(t, s, mk, tt.id, tt.rev, got)
				for _, f := range got {
					if f.Path == "weights/model.safetensors" {
						require.True(t, f.LFS)
						require.Equal(t, big.SHA256(), f.SHA256)
						require.Equal(t, big.Size, f.Size)
					}
				}
			})
		}
	}
}

func TestListFilesFaults(t *testing.T) {
	tests := []struct {
		name string
		kind hubkit.RepoType
		rule fault.Rule
		err  error // nil: the listing recovers
	}{
		{name: "model 5xx retried", kind: hubkit.Model, rule: fault.Rule{Route: mstest.RouteModelFiles, Status: 503, Times: 2}},
		{name: "dataset 5xx retried", kind: hubkit.Dataset, rule: fault.Rule{Route: mstest.RouteDatasetTree, Status: 500, Times: 2}},
		{name: "model 429 retried", kind: hubkit.Model, rule: fault.Rule{Route: mstest.RouteModelFiles, Status: 429, Times: 1}},
		{name: "model cut body retried", kind: hubkit.Model, rule: fault.Rule{Route: mstest.RouteModelFiles, CutAfter: 100, Times: 1}},
		{name: "model error in 200", kind: hubkit.Model, rule: mstest.EnvelopeError(mstest.RouteModelFiles, "list failed", 1), err: hubkit.ErrInvalid},
		{name: "dataset error in 200", kind: hubkit.Dataset, rule: mstest.EnvelopeError(mstest.RouteDatasetTree, "list failed", 1), err: hubkit.ErrInvalid},
		{name: "dataset 403 on first page", kind: hubkit.Dataset, rule: fault.Rule{Route: mstest.RouteDatasetTree, Status: 403, Times: 1}, err: hubkit.ErrForbidden},
		{name: "model 401", kind: hubkit.Model, rule: fault.Rule{Route: mstest.RouteModelFiles, Status: 401, Times: 1}, err: hubkit.ErrUnauthorized},
		{name: "model 500 persisting", kind: hubkit.Model, rule: fault.Rule{Route: mstest.RouteModelFiles, Status: 500}, err: hubkit.ErrServer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := setup(t, mstest.WithDatasetPageSize(5))
			mk := hubkit.RepoType(tt.kind)
			seedRepo(t, s, mk, "alice/r", mstest.RepoOptions{}, nestedFiles(23)...)
			s.Faults().Add(tt.rule)
			got, err := c.ListFiles(context.Background(), hubkit.Repo{Type: tt.kind, ID: "alice/r"}, "")
			if tt.err != nil {
				requireKind(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			requireSameListing(t, s, mk, "alice/r", "", got)
		})
	}
}

// TestDatasetSpurious403 checks that a 403 on a later tree page is retried (the hub sends
// spurious ones) and the listing completes.
func TestDatasetSpurious403(t *testing.T) {
	ctx := context.Background()
	mux := http.NewServeMux()
	pages := 0
	mux.HandleFunc("GET /api/v1/datasets/alice/d/repo/tree", func(w http.ResponseWriter, r *http.Request) {
		pages++
		if pages == 2 {
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"Code":403,"Message":"无权访问该数据集","Success":false}`))
			return
		}
		switch r.URL.Query().Get("PageNumber") {
		case "1":
			_, _ = w.Write([]byte(`{"Code":200,"Success":true,"TotalCount":3,"Data":{"Files":[{"Path":"a","Type":"blob","Size":1},{"Path":"b","Type":"blob","Size":2}]}}`))
		default:
			_, _ = w.Write([]byte(`{"Code":200,"Success":true,"TotalCount":3,"Data":{"Files":[{"Path":"c","Type":"blob","Size":3}]}}`))
		}
	})
	srv := newLocal(t, mux)
	got, err := NewClient(WithEndpoint(srv), WithHTTPClient(fastHTTP())).ListFiles(ctx, dataset("alice/d"), "")
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b", "c"}, paths(got))
	require.Equal(t, 3, pages)
}

// newLocal serves mux on loopback for the test's duration and returns its URL.
func newLocal(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func paths(fs []File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}
