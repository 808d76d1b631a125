package hubtest_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// gitFetch fetches refspec with depth into a fresh in-memory repository through go-git.
func gitFetch(t *testing.T, url, tok, refspec string, depth int) (*git.Repository, error) {
	t.Helper()
	st := memory.NewStorage()
	repo, err := git.Init(st, nil)
	require.NoError(t, err)
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{url}})
	require.NoError(t, err)
	var auth transport.AuthMethod
	if tok != "" {
		auth = &githttp.BasicAuth{Username: "hf2ms", Password: tok}
	}
	err = rem.FetchContext(context.Background(), &git.FetchOptions{
		RefSpecs: []config.RefSpec{config.RefSpec(refspec)}, Depth: depth, Auth: auth, Tags: git.NoTags,
	})
	return repo, err
}

// treeFiles lists path -> blob id of a commit's tree.
func treeFiles(t *testing.T, repo *git.Repository, commit plumbing.Hash) map[string]string {
	t.Helper()
	c, err := repo.CommitObject(commit)
	require.NoError(t, err)
	tree, err := c.Tree()
	require.NoError(t, err)
	out := map[string]string{}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if err == io.EOF {
			break
		}
		require.NoError(t, err)
		if e.Mode.IsFile() {
			out[name] = e.Hash.String()
		}
	}
	return out
}

func TestGitShallowFetch(t *testing.T) {
	s := newHub(t)
	lfsBlob := synth.Blob{Size: 3 << 20, Seed: 7}
	cases := []struct {
		name    string
		typ     hubkit.RepoType
		id      string
		private bool
		path    string // URL path after the endpoint
		tok     string
	}{
		{"public model, anonymous", hubkit.Model, "alice/bert", false, "/alice/bert", ""},
		{"public model .git", hubkit.Model, "alice/bert", false, "/alice/bert.git", ""},
		{"private dataset", hubkit.Dataset, "acme/data", true, "/datasets/acme/data", aliceR},
		{"private dataset .git", hubkit.Dataset, "acme/data", true, "/datasets/acme/data.git", aliceR},
		{"space", hubkit.Space, "alice/demo", false, "/spaces/alice/demo", aliceW},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !s.RepoExists(tc.typ, tc.id) {
				require.NoError(t, s.CreateRepo(tc.typ, tc.id, hubtest.RepoOptions{Private: tc.private}))
				_, err := s.Commit(tc.typ, tc.id, "main", "first",
					hubtest.File{Path: "README.md", Content: []byte("# old\n")})
				require.NoError(t, err)
				_, err = s.Commit(tc.typ, tc.id, "main", "add files",
					hubtest.File{Path: "README.md", Content: []byte("# hello\n")},
					hubtest.File{Path: "sub/dir/config.json", Content: []byte(`{"a":1}`)},
					hubtest.File{Path: "model.safetensors", Blob: &lfsBlob},
					hubtest.File{Path: "weights/small.bin", Content: []byte("tiny lfs"), LFS: true})
				require.NoError(t, err)
			}
			s.SetStorageLock(tc.typ, tc.id, true) // git keeps working under the lock
			before := s.Faults().Counts()
			repo, err := gitFetch(t, s.URL()+tc.path, tc.tok, "+refs/heads/main:refs/heads/main", 1)
			require.NoError(t, err)
			head, err := s.Head(tc.typ, tc.id, "main")
			require.NoError(t, err)
			ref, err := repo.Reference("refs/heads/main", true)
			require.NoError(t, err)
			require.Equal(t, head, ref.Hash().String())

			files, err := s.Files(tc.typ, tc.id, "main")
			require.NoError(t, err)
			want := map[string]string{}
			for _, f := range files {
				want[f.Path] = f.GitOID
			}
			require.Equal(t, want, treeFiles(t, repo, ref.Hash()))

			// Shallow: the parent commit was not sent.
			c, err := repo.CommitObject(ref.Hash())
			require.NoError(t, err)
			require.Len(t, c.ParentHashes, 1)
			_, err = repo.CommitObject(c.ParentHashes[0])
			require.ErrorIs(t, err, plumbing.ErrObjectNotFound)

			// LFS files are pointers in git.
			f, err := c.File("model.safetensors")
			require.NoError(t, err)
			txt, err := f.Contents()
			require.NoError(t, err)
			require.Equal(t, hubtest.LFSPointer(lfsBlob.SHA256(), lfsBlob.Size), txt)

			after := s.Faults().Counts()
			require.Equal(t, 1, after[hubtest.RouteGitRefs]-before[hubtest.RouteGitRefs])
			require.Equal(t, 1, after[hubtest.RouteGitUploadPack]-before[hubtest.RouteGitUploadPack])
			require.Zero(t, s.HTTPDownloads())
		})
	}
}

func TestGitFetchPinnedCommitAndTag(t *testing.T) {
	s := newHub(t)
	first, err := s.Commit(hubkit.Model, "alice/pub", "main", "v1", hubtest.File{Path: "a.txt", Content: []byte("one")})
	require.NoError(t, err)
	require.NoError(t, s.CreateTag(hubkit.Model, "alice/pub", "v1.0", first))
	_, err = s.Commit(hubkit.Model, "alice/pub", "main", "v2", hubtest.File{Path: "b.txt", Content: []byte("two")})
	require.NoError(t, err)

	// An older commit, by id (allow-reachable-sha1-in-want).
	repo, err := gitFetch(t, s.URL()+"/alice/pub", "", first+":refs/heads/pinned", 1)
	require.NoError(t, err)
	got := treeFiles(t, repo, plumbing.NewHash(first))
	require.Contains(t, got, "a.txt")
	require.NotContains(t, got, "b.txt")

	// A tag.
	repo, err = gitFetch(t, s.URL()+"/alice/pub", "", "+refs/tags/v1.0:refs/tags/v1.0", 1)
	require.NoError(t, err)
	ref, err := repo.Reference("refs/tags/v1.0", true)
	require.NoError(t, err)
	require.Equal(t, first, ref.Hash().String())

	// A commit the repo does not have.
	_, err = gitFetch(t, s.URL()+"/alice/pub", "", strings.Repeat("ab", 20)+":refs/heads/x", 1)
	require.Error(t, err)
}

func TestGitFullFetchHasHistory(t *testing.T) {
	s := newHub(t)
	var ids []string
	for i := range 3 {
		id, err := s.Commit(hubkit.Model, "alice/pub", "main", fmt.Sprint("c", i), hubtest.File{Path: "f.txt", Content: []byte(fmt.Sprint(i))})
		require.NoError(t, err)
		ids = append(ids, id)
	}
	repo, err := gitFetch(t, s.URL()+"/alice/pub", "", "+refs/heads/main:refs/heads/main", 0)
	require.NoError(t, err)
	for _, id := range ids {
		_, err := repo.CommitObject(plumbing.NewHash(id))
		require.NoError(t, err, id)
	}
	hist, err := s.History(hubkit.Model, "alice/pub", "main")
	require.NoError(t, err)
	require.Len(t, hist, 4) // initial commit + 3
}

func TestGitAccess(t *testing.T) {
	s := newHub(t)
	require.NoError(t, s.CreateRepo(hubkit.Model, "acme/secret", hubtest.RepoOptions{Private: true}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/gated", hubtest.RepoOptions{Gated: "manual"}))
	cases := []struct {
		name   string
		path   string
		tok    string
		status int
		err    error
	}{
		{"anonymous on private", "/acme/secret", "", http.StatusUnauthorized, transport.ErrAuthenticationRequired},
		{"non-member on private", "/acme/secret", bobW, http.StatusNotFound, transport.ErrRepositoryNotFound},
		{"member on private", "/acme/secret", aliceR, http.StatusOK, nil},
		{"bad token", "/alice/pub", "hf_nope", http.StatusUnauthorized, transport.ErrAuthenticationRequired},
		{"missing repo", "/alice/nope", aliceR, http.StatusNotFound, transport.ErrRepositoryNotFound},
		{"gated, not approved", "/alice/gated", bobW, http.StatusForbidden, transport.ErrAuthorizationFailed},
		{"gated, owner", "/alice/gated", aliceR, http.StatusOK, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL()+tc.path+".git/info/refs?service=git-upload-pack", nil)
			require.NoError(t, err)
			if tc.tok != "" {
				req.SetBasicAuth("user", tc.tok)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, tc.status, resp.StatusCode, string(body))
			if tc.status == http.StatusUnauthorized && tc.tok == "" {
				require.Contains(t, resp.Header.Get("WWW-Authenticate"), "Basic")
			}
			if tc.status == http.StatusOK {
				require.Equal(t, "application/x-git-upload-pack-advertisement", resp.Header.Get("Content-Type"))
				require.True(t, bytes.HasPrefix(body, []byte("001e# service=git-upload-pack\n0000")), string(body))
				require.Contains(t, string(body), "symref=HEAD:refs/heads/main")
				require.Contains(t, string(body), "allow-reachable-sha1-in-want")
			}
			_, err = gitFetch(t, s.URL()+tc.path, tc.tok, "+refs/heads/main:refs/heads/main", 1)
			if tc.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tc.err)
			}
		})
	}
}

func TestGitStrictRequests(t *testing.T) {
	s := newHub(t)
	head, err := s.Head(hubkit.Model, "alice/pub", "main")
	require.NoError(t, err)
	pkt := func(lines ...string) string {
		var b strings.Builder
		for _, l := range lines {
			if l == "0000" {
				b.WriteString(l)
				continue
			}
			fmt.Fprintf(&b, "%04x%s", len(l)+4, l)
		}
		return b.String()
	}
	post := func(ct, body string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, s.URL()+"/alice/pub.git/git-upload-pack", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", ct)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	const ct = "application/x-git-upload-pack-request"
	cases := []struct {
		name, ct, body string
		status         int
		prefix         string
	}{
		{"wrong content type", "application/json", pkt("want "+head+"\n", "0000", "done\n"), http.StatusUnsupportedMediaType, ""},
		{"no wants", ct, pkt("0000", "done\n"), http.StatusBadRequest, ""},
		{"filter not advertised", ct, pkt("want "+head+"\n", "filter blob:none\n", "0000", "done\n"), http.StatusBadRequest, ""},
		{"deepen-since not advertised", ct, pkt("want "+head+"\n", "deepen-since 1\n", "0000", "done\n"), http.StatusBadRequest, ""},
		{"not our ref", ct, pkt("want "+strings.Repeat("cd", 20)+"\n", "0000", "done\n"), http.StatusOK, "004aERR upload-pack: not our ref " + strings.Repeat("cd", 20)},
		{"plain pack, shallow", ct, pkt("want "+head+" no-progress\n", "deepen 1\n", "0000", "done\n"), http.StatusOK, "0000" + pkt("NAK\n") + "PACK"},
		{"negotiation round without done", ct, pkt("want "+head+"\n", "0000", "have "+head+"\n", "0000"), http.StatusOK, pkt("ACK " + head + "\n")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.ct, tc.body)
			require.Equal(t, tc.status, status, body)
			require.True(t, strings.HasPrefix(body, tc.prefix), "%q", body)
		})
	}
	// The push service is not served.
	resp, err := http.Get(s.URL() + "/alice/pub.git/info/refs?service=git-receive-pack")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestHTTPDownloadsCountsDownloadRoutes(t *testing.T) {
	s := newHub(t)
	require.Zero(t, s.HTTPDownloads())
	for _, p := range []string{"/api/models/alice/pub/tree/main", "/alice/pub/resolve/main/.gitattributes"} {
		resp, err := noFollow.Get(s.URL() + p)
		require.NoError(t, err)
		resp.Body.Close()
	}
	require.Equal(t, 2, s.HTTPDownloads())
	names := append([]string(nil), hubtest.HTTPDownloadRoutes...)
	sort.Strings(names)
	require.Equal(t, []string{hubtest.RouteCDN, hubtest.RoutePathsInfo, hubtest.RouteResolve, hubtest.RouteTree}, names)
}
