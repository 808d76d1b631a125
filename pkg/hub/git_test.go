package hub

import (
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// seedGit creates repo with two commits (the first tagged v1) and returns both commit ids.
func seedGit(t *testing.T, s *hubtest.Server, typ hubkit.RepoType, id string, private bool) (string, string) {
	t.Helper()
	require.NoError(t, s.CreateRepo(typ, id, hubtest.RepoOptions{Private: private}))
	first, err := s.Commit(typ, id, "main", "v1",
		hubtest.File{Path: "README.md", Content: []byte("# v1\n")},
		hubtest.File{Path: "old.bin", Content: []byte("old lfs content"), LFS: true})
	require.NoError(t, err)
	require.NoError(t, s.CreateTag(typ, id, "v1", first))
	blob := synth.Blob{Size: 2<<20 + 3, Seed: 11}
	second, err := s.Commit(typ, id, "main", "v2",
		hubtest.File{Path: "README.md", Content: []byte("# v2\n")},
		hubtest.File{Path: "conf/deep/config.json", Content: []byte(`{"hidden": 768}`)},
		hubtest.File{Path: "model.safetensors", Blob: &blob},
		hubtest.File{Path: "notes.txt", Content: []byte(strings.Repeat("x", 3000))})
	require.NoError(t, err)
	return first, second
}

func TestGitSnapshot(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	mFirst, mSecond := seedGit(t, e.s, hubkit.Model, "alice/model", true)
	dFirst, dSecond := seedGit(t, e.s, hubkit.Dataset, "acme/data", true)
	_, sSecond := seedGit(t, e.s, hubkit.Space, "alice/app", false)
	for _, r := range []struct {
		typ hubkit.RepoType
		id  string
	}{{hubkit.Model, "alice/model"}, {hubkit.Dataset, "acme/data"}, {hubkit.Space, "alice/app"}} {
		e.s.SetStorageLock(r.typ, r.id, true)
	}
	cases := []struct {
		name   string
		c      *Client
		typ    hubkit.RepoType
		repo   hubkit.Repo
		rev    string
		commit string
	}{
		{"private model, default branch", e.alice, hubkit.Model, model, "", mSecond},
		{"private model, branch", e.alice, hubkit.Model, model, "main", mSecond},
		{"private model, tag", e.alice, hubkit.Model, model, "v1", mFirst},
		{"private model, pinned old commit", e.alice, hubkit.Model, model, mFirst, mFirst},
		{"private model, full ref", e.alice, hubkit.Model, model, "refs/heads/main", mSecond},
		{"private dataset", e.alice, hubkit.Dataset, dataset, "", dSecond},
		{"private dataset, pinned", e.alice, hubkit.Dataset, dataset, dFirst, dFirst},
		{"public space, anonymous", e.anon, hubkit.Space, hubkit.Repo{Type: hubkit.Space, ID: "alice/app"}, "", sSecond},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			snap, err := tc.c.GitSnapshot(ctx, tc.repo, tc.rev)
			require.NoError(t, err)
			require.Equal(t, tc.commit, snap.Commit())
			sha, err := tc.c.GitResolve(ctx, tc.repo, tc.rev)
			require.NoError(t, err)
			require.Equal(t, tc.commit, sha)

			want, err := e.s.Files(tc.typ, tc.repo.ID, tc.commit)
			require.NoError(t, err)
			require.Len(t, snap.Files(), len(want))
			byPath := map[string]GitFile{}
			for _, f := range snap.Files() {
				byPath[f.Path] = f
			}
			for _, w := range want {
				g, ok := byPath[w.Path]
				require.True(t, ok, w.Path)
				require.Equal(t, w.GitOID, g.GitOID, w.Path)
				require.Equal(t, w.Size, g.Size, w.Path)
				content, err := e.s.ReadFile(tc.typ, tc.repo.ID, tc.commit, w.Path)
				require.NoError(t, err)
				if w.LFS {
					require.NotNil(t, g.LFS, w.Path)
					require.Equal(t, w.SHA256, g.LFS.OID)
					require.Equal(t, w.Size, g.LFS.Size)
					rc, err := tc.c.DownloadLFS(ctx, tc.repo, "", LFSObject{OID: g.LFS.OID, Size: g.LFS.Size}, 1, 5)
					require.NoError(t, err)
					got, err := io.ReadAll(rc)
					require.NoError(t, err)
					require.NoError(t, rc.Close())
					require.Equal(t, content[1:6], got)
					continue
				}
				require.Nil(t, g.LFS, w.Path)
				b, err := snap.Blob(g.GitOID)
				require.NoError(t, err)
				require.Equal(t, content, b)
				if len(content) > 3 {
					rc, err := snap.OpenBlob(g.GitOID, 2, 2)
					require.NoError(t, err)
					part, err := io.ReadAll(rc)
					require.NoError(t, err)
					require.Equal(t, content[2:4], part)
				}
			}
			files, commit, err := tc.c.GitListFiles(ctx, tc.repo, tc.rev)
			require.NoError(t, err)
			require.Equal(t, tc.commit, commit)
			require.Equal(t, snap.Files(), files)
		})
	}
	// Everything went through git and the LFS batch API: no resolve, tree or paths-info.
	counts := e.s.Faults().Counts()
	require.Zero(t, counts[hubtest.RouteResolve]+counts[hubtest.RouteTree]+counts[hubtest.RoutePathsInfo])
	require.Positive(t, counts[hubtest.RouteGitUploadPack])
}

func TestGitErrors(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	seedGit(t, e.s, hubkit.Model, "alice/model", true)
	bad := newClient(e.s, "hf_not_a_valid_token")
	cases := []struct {
		name string
		c    *Client
		repo hubkit.Repo
		rev  string
		want error
	}{
		{"anonymous on private", e.anon, model, "", ErrRepoNotFound},
		{"no access", e.bob, model, "", ErrRepoNotFound},
		{"missing repo", e.alice, hubkit.Repo{ID: "alice/nope"}, "", ErrRepoNotFound},
		{"invalid token", bad, model, "", hubkit.ErrUnauthorized},
		{"missing branch", e.alice, model, "nope", ErrRevisionNotFound},
		{"missing commit", e.alice, model, strings.Repeat("ab", 20), ErrRevisionNotFound},
		{"bad repo id", e.alice, hubkit.Repo{ID: "nope"}, "", hubkit.ErrInvalid},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.c.GitSnapshot(ctx, tc.repo, tc.rev)
			require.ErrorIs(t, err, tc.want)
			noSecrets(t, err)
			if !strings.HasPrefix(tc.name, "missing commit") {
				_, err = tc.c.GitResolve(ctx, tc.repo, tc.rev)
				require.ErrorIs(t, err, tc.want)
				noSecrets(t, err)
			}
		})
	}
}

func TestGitPublic(t *testing.T) {
	e := setup(t)
	seedGit(t, e.s, hubkit.Model, "alice/model", true)
	seedGit(t, e.s, hubkit.Model, "alice/open", false)
	pub, err := e.alice.GitPublic(context.Background(), hubkit.Repo{ID: "alice/open"})
	require.NoError(t, err)
	require.True(t, pub)
	pub, err = e.alice.GitPublic(context.Background(), model) // alice can see it, anonymous cannot
	require.NoError(t, err)
	require.False(t, pub)
}

// authRecorder records the hosts that received an Authorization header.
type authRecorder struct {
	mu    sync.Mutex
	hosts map[string]int
	rt    http.RoundTripper
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Header.Get("Authorization") != "" {
		a.mu.Lock()
		a.hosts[r.URL.Host]++
		a.mu.Unlock()
	}
	return a.rt.RoundTrip(r)
}

func TestGitTokenOnlyToHub(t *testing.T) {
	e := setup(t)
	seedGit(t, e.s, hubkit.Model, "alice/model", true)
	rec := &authRecorder{hosts: map[string]int{}, rt: http.DefaultTransport}
	c := newClient(e.s, writeTok, WithHTTPClient(&http.Client{Transport: rec}))
	snap, err := c.GitSnapshot(context.Background(), model, "")
	require.NoError(t, err)
	for _, f := range snap.Files() {
		if f.LFS != nil {
			rc, err := c.DownloadLFS(context.Background(), model, "main", LFSObject{OID: f.LFS.OID, Size: f.LFS.Size}, 0, -1)
			require.NoError(t, err)
			_, err = io.Copy(io.Discard, rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
		}
	}
	_, err = c.GitPublic(context.Background(), model)
	require.NoError(t, err)
	hub := strings.TrimPrefix(e.s.URL(), "http://")
	require.Len(t, rec.hosts, 1, "%v", rec.hosts)
	require.Positive(t, rec.hosts[hub])
}

func TestParseLFSPointer(t *testing.T) {
	oid := strings.Repeat("a1", 32)
	cases := []struct {
		name string
		in   string
		ok   bool
		size int64
	}{
		{"hub pointer", hubtest.LFSPointer(oid, 123), true, 123},
		{"extension keys tolerated", "version https://git-lfs.github.com/spec/v1\next-0-foo sha256:" + oid + "\noid sha256:" + oid + "\nsize 0\n", true, 0},
		{"no trailing newline", strings.TrimSuffix(hubtest.LFSPointer(oid, 1), "\n"), false, 0},
		{"wrong version", "version 2\noid sha256:" + oid + "\nsize 1\n", false, 0},
		{"short oid", "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n", false, 0},
		{"upper-case oid", "version https://git-lfs.github.com/spec/v1\noid sha256:" + strings.ToUpper(oid) + "\nsize 1\n", false, 0},
		{"negative size", "version https://git-lfs.github.com/spec/v1\noid sha256:" + oid + "\nsize -1\n", false, 0},
		{"no size", "version https://git-lfs.github.com/spec/v1\noid sha256:" + oid + "\n", false, 0},
		{"regular text", "hello\nworld\nagain\n", false, 0},
		{"too big", hubtest.LFSPointer(oid, 1) + strings.Repeat("x ", 600) + "\n", false, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info, ok := ParseLFSPointer([]byte(tc.in))
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, oid, info.OID)
				require.Equal(t, tc.size, info.Size)
				require.Equal(t, int64(len(tc.in)), info.PointerSize)
			}
		})
	}
}
