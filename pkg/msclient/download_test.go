package msclient

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// seedDownloads creates alice/dl (model and dataset, private) holding a small inline file, an
// LFS blob above the redirect threshold and an empty file.
func seedDownloads(t *testing.T, s *mstest.Server) (small []byte, big synth.Blob) {
	t.Helper()
	small = []byte("hello, modelscope\n")
	big = synth.Blob{Size: 2<<20 + 123, Seed: 42}
	for _, k := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		require.NoError(t, s.CreateRepo(k, "alice/dl", mstest.RepoOptions{Private: true}))
		_, err := s.Commit(k, "alice/dl", "", "seed",
			mstest.File{Path: "README.md", Content: small},
			mstest.File{Path: "dir/with space/w.bin", Blob: &big, LFS: true},
			mstest.File{Path: "empty.txt", Content: []byte{}})
		require.NoError(t, err)
	}
	return small, big
}

func readAll(t *testing.T, rc io.ReadCloser, err error) []byte {
	t.Helper()
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func TestDownload(t *testing.T) {
	s, c := setup(t, mstest.WithRedirectThreshold(1<<20))
	small, big := seedDownloads(t, s)
	bigBytes := big.Bytes()
	ctx := context.Background()
	for _, kind := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		repo := hubkit.Repo{Type: kind, ID: "alice/dl"}
		tests := []struct {
			name   string
			path   string
			off, n int64
			want   []byte
		}{
			{"small whole", "README.md", 0, -1, small},
			{"small range", "README.md", 7, 5, small[7:12]},
			{"small tail", "README.md", 7, -1, small[7:]},
			{"small n past end", "README.md", 7, 1000, small[7:]},
			{"small off at end", "README.md", int64(len(small)), -1, []byte{}},
			{"zero length", "README.md", 3, 0, []byte{}},
			{"empty file", "empty.txt", 0, -1, []byte{}},
			{"big via CDN whole", "dir/with space/w.bin", 0, -1, bigBytes},
			{"big via CDN range", "dir/with space/w.bin", 1<<20 + 5, 4096, bigBytes[1<<20+5 : 1<<20+5+4096]},
			{"big via CDN tail", "dir/with space/w.bin", big.Size - 10, -1, bigBytes[big.Size-10:]},
		}
		for _, tt := range tests {
			t.Run(string(kind)+"/"+tt.name, func(t *testing.T) {
				rc, err := c.Download(ctx, repo, "", tt.path, tt.off, tt.n)
				got := readAll(t, rc, err)
				require.True(t, bytes.Equal(tt.want, got), "got %d bytes, want %d", len(got), len(tt.want))
			})
		}
	}
	require.Empty(t, s.AuthLeaks())
	require.Positive(t, s.Faults().Count(mstest.RouteCDN))
}

func TestDownloadErrors(t *testing.T) {
	s, c := setup(t)
	seedDownloads(t, s)
	ctx := context.Background()
	tests := []struct {
		name   string
		client *Client
		repo   hubkit.Repo
		rev    string
		path   string
		off    int64
		kind   error
	}{
		{name: "missing file", client: c, repo: model("alice/dl"), path: "nope", kind: hubkit.ErrNotFound},
		{name: "missing revision", client: c, repo: model("alice/dl"), rev: "main", path: "README.md", kind: hubkit.ErrNotFound},
		{name: "missing repo", client: c, repo: dataset("alice/none"), path: "README.md", kind: hubkit.ErrNotFound},
		{name: "private, other user", client: newClient(s, bobToken), repo: model("alice/dl"), path: "README.md", kind: hubkit.ErrNotFound},
		{name: "negative offset", client: c, repo: model("alice/dl"), path: "README.md", off: -1, kind: hubkit.ErrInvalid},
		{name: "empty path", client: c, repo: model("alice/dl"), path: "", kind: hubkit.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.client.Download(ctx, tt.repo, tt.rev, tt.path, tt.off, -1)
			e := requireKind(t, err, tt.kind)
			if tt.name == "missing file" {
				require.Equal(t, int64(mstest.CodeFileMissing), e.Code)
			}
		})
	}
}

func TestDownloadFaults(t *testing.T) {
	tests := []struct {
		name  string
		path  string
		rules []fault.Rule
		kind  error // nil: the download recovers with identical bytes
	}{
		{name: "API 5xx retried", path: "README.md", rules: []fault.Rule{{Route: mstest.RouteDownload, Status: 502, Times: 2}}},
		{name: "API 429 retried", path: "README.md", rules: []fault.Rule{{Route: mstest.RouteDownload, Status: 429, Times: 1}}},
		{name: "CDN 5xx retried", path: "dir/with space/w.bin", rules: []fault.Rule{{Route: mstest.RouteCDN, Status: 503, Times: 2}}},
		{name: "CDN body cut, resumed by range", path: "dir/with space/w.bin",
			rules: []fault.Rule{{Route: mstest.RouteCDN, CutAfter: 300 << 10, Times: 1}}},
		{name: "CDN body cut twice", path: "dir/with space/w.bin",
			rules: []fault.Rule{{Route: mstest.RouteCDN, CutAfter: 100 << 10, Times: 2}}},
		{name: "small body cut, resumed", path: "README.md",
			rules: []fault.Rule{{Route: mstest.RouteDownload, CutAfter: 5, Times: 1}}},
		{name: "CDN expired: fresh URL from the API", path: "dir/with space/w.bin",
			rules: []fault.Rule{{Route: mstest.RouteCDN, CutAfter: 200 << 10, Times: 1}, {Route: mstest.RouteCDN, Status: 403, Times: 1}}},
		{name: "API 500 persisting", path: "README.md", rules: []fault.Rule{{Route: mstest.RouteDownload, Status: 500}}, kind: hubkit.ErrServer},
		{name: "API 403", path: "README.md", rules: []fault.Rule{{Route: mstest.RouteDownload, Status: 403}}, kind: hubkit.ErrForbidden},
		{name: "API 401", path: "README.md", rules: []fault.Rule{{Route: mstest.RouteDownload, Status: 401}}, kind: hubkit.ErrUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := setup(t)
			small, big := seedDownloads(t, s)
			want := small
			if tt.path != "README.md" {
				want = big.Bytes()
			}
			for _, r := range tt.rules {
				s.Faults().Add(r)
			}
			rc, err := c.Download(context.Background(), model("alice/dl"), "", tt.path, 0, -1)
			if tt.kind != nil {
				if err == nil {
					_, err = io.ReadAll(rc)
					rc.Close()
				}
				requireKind(t, err, tt.kind)
				return
			}
			got := readAll(t, rc, err)
			require.True(t, bytes.Equal(want, got), "got %d bytes, want %d", len(got), len(want))
			require.Empty(t, s.AuthLeaks())
		})
	}
}

// TestDownloadCorruptCDN: the client passes bytes on as served; corruption is caught by the
// hash the caller checks against the listing (the engine does), so here the bytes differ.
func TestDownloadCorruptCDN(t *testing.T) {
	s, c := setup(t)
	_, big := seedDownloads(t, s)
	s.Faults().Add(fault.Rule{Route: mstest.RouteCDN, Corrupt: true, Times: 1})
	rc, err := c.Download(context.Background(), model("alice/dl"), "", "dir/with space/w.bin", 0, -1)
	got := readAll(t, rc, err)
	require.Len(t, got, int(big.Size))
	require.NotEqual(t, big.SHA256(), sha(got))
}

// TestDownloadNoCredentialsToCDN uses a hand-made CDN on another port of the same host: Go's
// own redirect policy would forward credentials there (it compares host names, not ports).
func TestDownloadNoCredentialsToCDN(t *testing.T) {
	var mu sync.Mutex
	var cdnAuth, apiAuth []string
	content := []byte(strings.Repeat("0123456789", 100))
	cdn := newLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cdnAuth = append(cdnAuth, r.Header.Get("Authorization")+"|"+r.Header.Get("Cookie"))
		mu.Unlock()
		http.ServeContent(w, r, "f", time.Time{}, bytes.NewReader(content))
	}))
	api := newLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		apiAuth = append(apiAuth, r.Header.Get("Authorization"))
		mu.Unlock()
		http.Redirect(w, r, cdn+"/prod/obj?auth_key=signed", http.StatusFound)
	}))
	c := NewClient(WithEndpoint(api), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
	rc, err := c.Download(context.Background(), model("alice/m"), "", "f", 10, 20)
	require.Equal(t, content[10:30], readAll(t, rc, err))
	require.Equal(t, []string{"Bearer " + aliceToken}, apiAuth)
	require.Equal(t, []string{"|"}, cdnAuth)
}
