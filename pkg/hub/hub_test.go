package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

const (
	writeTok = "hf_writeTOKENforALICEsecret"
	readTok  = "hf_readTOKENforBOBsecret"
	carolTok = "hf_TOKENforCAROLsecret"
)

var allTokens = []string{writeTok, readTok, carolTok}

type env struct {
	s     *hubtest.Server
	alice *Client // write token, member of org "acme"
	bob   *Client // read token
	carol *Client // write token, approved on the gated repo
	anon  *Client
}

func testHTTP(retries int) *http.Client {
	return httpx.NewClient(httpx.WithBackoff(5*time.Millisecond, 50*time.Millisecond),
		httpx.WithGate(httpx.NewGate()), httpx.WithMaxRetries(retries))
}

func newClient(s *hubtest.Server, tok string, opts ...Option) *Client {
	base := []Option{WithEndpoint(s.URL()), WithToken(tok), WithHTTPClient(testHTTP(3))}
	return NewClient(append(base, opts...)...)
}

func setup(t *testing.T, opts ...hubtest.Option) *env {
	t.Helper()
	s := hubtest.NewServer(opts...)
	t.Cleanup(func() {
		require.Empty(t, s.AuthLeaks(), "the storage host saw credentials")
		s.Close()
	})
	s.AddUser("alice", "acme")
	s.AddUser("bob")
	s.AddUser("carol")
	s.AddToken(writeTok, "alice", hubtest.RoleWrite)
	s.AddToken(readTok, "bob", hubtest.RoleRead)
	s.AddToken(carolTok, "carol", hubtest.RoleWrite)
	return &env{s: s, alice: newClient(s, writeTok), bob: newClient(s, readTok), carol: newClient(s, carolTok), anon: newClient(s, "")}
}

// noSecrets fails when err's text holds a token or a storage signature.
func noSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, tok := range allTokens {
		require.NotContains(t, err.Error(), tok)
	}
	require.NotContains(t, err.Error(), "sig=")
}

var (
	model   = hubkit.Repo{Type: hubkit.Model, ID: "alice/model"}
	dataset = hubkit.Repo{Type: hubkit.Dataset, ID: "acme/data"}
	blob    = synth.Blob{Size: 1<<20 + 333, Seed: 7}
)

// seed creates alice/model (public) with a regular file, a nested tree and an LFS blob.
func (e *env) seed(t *testing.T) string {
	t.Helper()
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	files := []hubtest.File{
		{Path: "README.md", Content: []byte("# hello\n")},
		{Path: "weights/model.safetensors", Blob: &blob},
		{Path: "empty.txt", Content: nil},
	}
	for i := 0; i < 7; i++ {
		files = append(files, hubtest.File{Path: fmt.Sprintf("dir%d/sub/f%d.txt", i%3, i), Content: []byte(strings.Repeat("x", i+1))})
	}
	sha, err := e.s.Commit(hubkit.Model, model.ID, "main", "seed", files...)
	require.NoError(t, err)
	return sha
}

func TestWhoAmI(t *testing.T) {
	e := setup(t)
	u, err := e.alice.WhoAmI(context.Background())
	require.NoError(t, err)
	require.Equal(t, "alice", u.Name)
	require.Equal(t, []string{"acme"}, u.Orgs)
	require.Equal(t, "write", u.Role)
	u, err = e.bob.WhoAmI(context.Background())
	require.NoError(t, err)
	require.Equal(t, "read", u.Role)

	for name, c := range map[string]*Client{"anonymous": e.anon, "bad token": newClient(e.s, "hf_bogus_secret")} {
		t.Run(name, func(t *testing.T) {
			_, err := c.WhoAmI(context.Background())
			require.ErrorIs(t, err, hubkit.ErrUnauthorized)
			require.NotContains(t, err.Error(), "hf_bogus_secret")
		})
	}
}

func TestRepoInfoAndResolve(t *testing.T) {
	e := setup(t)
	head := e.seed(t)
	ctx := context.Background()
	info, err := e.anon.RepoInfo(ctx, model, "")
	require.NoError(t, err)
	require.Equal(t, model.ID, info.ID)
	require.Equal(t, head, info.SHA)
	require.False(t, info.Private)
	require.Empty(t, info.Gated)
	require.Positive(t, info.UsedStorage)
	bySib := map[string]Sibling{}
	for _, s := range info.Siblings {
		bySib[s.Path] = s
	}
	w := bySib["weights/model.safetensors"]
	require.NotNil(t, w.LFS)
	require.Equal(t, blob.SHA256(), w.LFS.OID)
	require.Equal(t, blob.Size, w.Size)
	require.Equal(t, blob.Size, w.LFS.Size)
	require.Nil(t, bySib["README.md"].LFS)
	require.EqualValues(t, 8, bySib["README.md"].Size)

	require.NoError(t, e.s.CreateBranch(hubkit.Model, model.ID, "dev", "main"))
	require.NoError(t, e.s.CreateTag(hubkit.Model, model.ID, "v1", "main"))
	newHead, err := e.s.Commit(hubkit.Model, model.ID, "main", "second", hubtest.File{Path: "new.txt", Content: []byte("n")})
	require.NoError(t, err)
	for _, tc := range []struct{ rev, want string }{{"", newHead}, {"main", newHead}, {"dev", head}, {"v1", head}, {head, head}} {
		got, err := e.alice.ResolveRevision(ctx, model, tc.rev)
		require.NoError(t, err, tc.rev)
		require.Equal(t, tc.want, got, tc.rev)
	}
	info, err = e.alice.RepoInfo(ctx, model, "v1")
	require.NoError(t, err)
	require.Equal(t, head, info.SHA)
}

func TestRepoErrors(t *testing.T) {
	e := setup(t)
	e.seed(t)
	require.NoError(t, e.s.CreateRepo(hubkit.Model, "alice/private", hubtest.RepoOptions{Private: true}))
	require.NoError(t, e.s.CreateRepo(hubkit.Model, "acme/gated", hubtest.RepoOptions{Gated: "manual", Approved: []string{"carol"}}))
	ctx := context.Background()
	tests := []struct {
		name      string
		c         *Client
		repo      hubkit.Repo
		rev, path string
		want      []error
		notWant   []error
	}{
		{name: "missing repo, authenticated", c: e.alice, repo: hubkit.Repo{ID: "alice/nope"}, want: []error{ErrRepoNotFound, hubkit.ErrNotFound}},
		{name: "missing repo, anonymous", c: e.anon, repo: hubkit.Repo{ID: "alice/nope"}, want: []error{hubkit.ErrNotFound}},
		{name: "private repo, anonymous", c: e.anon, repo: hubkit.Repo{ID: "alice/private"}, want: []error{hubkit.ErrNotFound}},
		{name: "private repo, other user", c: e.bob, repo: hubkit.Repo{ID: "alice/private"}, want: []error{ErrRepoNotFound}},
		{name: "missing revision", c: e.alice, repo: model, rev: "nope", want: []error{ErrRevisionNotFound, hubkit.ErrNotFound}, notWant: []error{ErrRepoNotFound}},
		{name: "missing file", c: e.alice, repo: model, path: "nope.bin", want: []error{ErrEntryNotFound, hubkit.ErrNotFound}},
		{name: "gated, anonymous", c: e.anon, repo: hubkit.Repo{ID: "acme/gated"}, path: ".gitattributes", want: []error{hubkit.ErrGated, hubkit.ErrUnauthorized}},
		{name: "gated, not approved", c: e.bob, repo: hubkit.Repo{ID: "acme/gated"}, path: ".gitattributes", want: []error{hubkit.ErrGated, hubkit.ErrForbidden}, notWant: []error{hubkit.ErrStorageLocked}},
		{name: "bad token", c: newClient(e.s, "hf_bogus_secret"), repo: model, want: []error{hubkit.ErrUnauthorized}},
		{name: "wrong type", c: e.alice, repo: hubkit.Repo{Type: hubkit.Dataset, ID: model.ID}, want: []error{hubkit.ErrNotFound}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.path != "" {
				var rc io.ReadCloser
				rc, err = tc.c.Download(ctx, tc.repo, tc.rev, tc.path, 0, -1)
				if rc != nil {
					rc.Close()
				}
			} else {
				_, err = tc.c.RepoInfo(ctx, tc.repo, tc.rev)
			}
			require.Error(t, err)
			for _, k := range tc.want {
				require.ErrorIs(t, err, k)
			}
			for _, k := range tc.notWant {
				require.NotErrorIs(t, err, k)
			}
			var he *Error
			require.ErrorAs(t, err, &he)
			require.NotZero(t, he.StatusCode)
			noSecrets(t, err)
		})
	}

	// Gated but approved: readable.
	_, err := e.carol.RepoInfo(ctx, hubkit.Repo{ID: "acme/gated"}, "")
	require.NoError(t, err)
	rc, err := e.carol.Download(ctx, hubkit.Repo{ID: "acme/gated"}, "", ".gitattributes", 0, -1)
	require.NoError(t, err)
	rc.Close()
	info, err := e.carol.RepoInfo(ctx, hubkit.Repo{ID: "acme/gated"}, "")
	require.NoError(t, err)
	require.Equal(t, "manual", info.Gated)
}

func TestParseRepoID(t *testing.T) {
	for _, tc := range []struct {
		id string
		ok bool
	}{
		{"alice/model", true}, {"a-b/c_d.e", true}, {"alice", false}, {"a/b/c", false}, {"/b", false},
		{"a/", false}, {"a/-b", false}, {"a/b--c", false}, {"a/b..c", false}, {"a/b.git", false}, {"a/b c", false},
	} {
		_, _, err := ParseRepoID(tc.id)
		if tc.ok {
			require.NoError(t, err, tc.id)
		} else {
			require.ErrorIs(t, err, hubkit.ErrInvalid, tc.id)
		}
	}
	_, err := NewClient(WithEndpoint("http://127.0.0.1:1")).RepoInfo(context.Background(), hubkit.Repo{ID: "bad"}, "")
	require.ErrorIs(t, err, hubkit.ErrInvalid)
}

func TestListFiles(t *testing.T) {
	e := setup(t, hubtest.WithTreePageSize(3))
	e.seed(t)
	ctx := context.Background()
	want, err := e.s.Files(hubkit.Model, model.ID, "main")
	require.NoError(t, err)
	got, err := e.anon.ListFiles(ctx, model, "")
	require.NoError(t, err)
	require.Len(t, got, len(want))
	byPath := map[string]TreeEntry{}
	for _, g := range got {
		byPath[g.Path] = g
	}
	for _, w := range want {
		g, ok := byPath[w.Path]
		require.True(t, ok, w.Path)
		require.Equal(t, w.Size, g.Size, w.Path)
		require.Equal(t, w.GitOID, g.OID, w.Path)
		if w.LFS {
			require.NotNil(t, g.LFS, w.Path)
			require.Equal(t, w.SHA256, g.LFS.OID)
			require.Equal(t, w.Size, g.LFS.Size)
		} else {
			require.Nil(t, g.LFS, w.Path)
		}
	}
	pages := 0
	stop := errors.New("stop")
	err = e.anon.WalkFiles(ctx, model, "main", func(p []TreeEntry) error {
		pages++
		require.LessOrEqual(t, len(p), 3)
		if pages == 2 {
			return stop
		}
		return nil
	})
	require.ErrorIs(t, err, stop)
	require.Equal(t, 2, pages)
	_, err = e.anon.ListFiles(ctx, model, "nope")
	require.ErrorIs(t, err, ErrRevisionNotFound)
}

func readAll(t *testing.T, c *Client, repo hubkit.Repo, rev, path string, off, n int64) ([]byte, error) {
	t.Helper()
	rc, err := c.Download(context.Background(), repo, rev, path, off, n)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func TestDownload(t *testing.T) {
	e := setup(t)
	e.seed(t)
	require.NoError(t, e.s.CreateRepo(hubkit.Model, "alice/private", hubtest.RepoOptions{Private: true}))
	_, err := e.s.Commit(hubkit.Model, "alice/private", "main", "p", hubtest.File{Path: "a.txt", Content: []byte("private text")},
		hubtest.File{Path: "b.bin", Blob: &blob})
	require.NoError(t, err)
	full := blob.Bytes()
	priv := hubkit.Repo{ID: "alice/private"}
	tests := []struct {
		name   string
		c      *Client
		repo   hubkit.Repo
		path   string
		off, n int64
		want   []byte
	}{
		{name: "regular public (307 to resolve-cache)", c: e.alice, repo: model, path: "README.md", n: -1, want: []byte("# hello\n")},
		{name: "regular anonymous", c: e.anon, repo: model, path: "README.md", off: 2, n: 3, want: []byte("hel")},
		{name: "regular private (200)", c: e.alice, repo: priv, path: "a.txt", off: 8, n: -1, want: []byte("text")},
		{name: "empty file", c: e.alice, repo: model, path: "empty.txt", n: -1, want: []byte{}},
		{name: "lfs whole (302 to CDN)", c: e.alice, repo: model, path: "weights/model.safetensors", n: -1, want: full},
		{name: "lfs range", c: e.anon, repo: model, path: "weights/model.safetensors", off: 1000, n: 5000, want: full[1000:6000]},
		{name: "lfs tail", c: e.alice, repo: model, path: "weights/model.safetensors", off: blob.Size - 10, n: -1, want: full[blob.Size-10:]},
		{name: "lfs n past end", c: e.alice, repo: model, path: "weights/model.safetensors", off: 5, n: 1 << 40, want: full[5:]},
		{name: "lfs private", c: e.alice, repo: priv, path: "b.bin", n: -1, want: full},
		{name: "zero bytes", c: e.alice, repo: model, path: "README.md", off: 3, n: 0, want: []byte{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.c, tc.repo, "", tc.path, tc.off, tc.n)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tc.want, got), "got %d bytes, want %d", len(got), len(tc.want))
		})
	}
	require.Positive(t, e.s.Faults().Count(hubtest.RouteCDN))
}

func TestDownloadFaults(t *testing.T) {
	full := blob.Bytes()
	lfsPath := "weights/model.safetensors"
	tests := []struct {
		name  string
		rule  fault.Rule
		path  string
		want  []byte
		count string // route whose count must exceed 1 (retried / resumed)
	}{
		{name: "cut CDN body resumed by range", rule: fault.Rule{Route: hubtest.RouteCDN, Times: 2, CutAfter: 300_000}, path: lfsPath, want: full, count: hubtest.RouteCDN},
		{name: "cut resolve-cache body resumed", rule: fault.Rule{Route: hubtest.RouteResolve, Times: 1, CutAfter: 3}, path: "README.md", want: []byte("# hello\n"), count: hubtest.RouteResolve},
		{name: "502 on resolve retried", rule: fault.Rule{Route: hubtest.RouteResolve, Times: 2, Status: 502}, path: lfsPath, want: full, count: hubtest.RouteResolve},
		{name: "503 on CDN retried", rule: fault.Rule{Route: hubtest.RouteCDN, Times: 1, Status: 503}, path: lfsPath, want: full, count: hubtest.RouteCDN},
		{name: "429 waited out", rule: fault.Rule{Route: hubtest.RouteResolve, Times: 1, Status: 429, RetryAfter: time.Second}, path: lfsPath, want: full, count: hubtest.RouteResolve},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.seed(t)
			e.s.Faults().Add(tc.rule)
			start := time.Now()
			got, err := readAll(t, e.alice, model, "", tc.path, 0, -1)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tc.want, got), "got %d bytes, want %d", len(got), len(tc.want))
			require.Greater(t, e.s.Faults().Count(tc.count), 1, e.s.Faults().String())
			if tc.rule.Status == 429 {
				require.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond, "the 429's Retry-After was not honoured")
			}
		})
	}
}

func TestStorageLock(t *testing.T) {
	e := setup(t)
	e.seed(t)
	e.s.SetStorageLock(hubkit.Model, model.ID, true)
	_, err := readAll(t, e.alice, model, "", "README.md", 0, -1)
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	_, err = e.alice.ListFiles(context.Background(), model, "")
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
	e.s.SetStorageLock(hubkit.Model, model.ID, false)
	_, err = e.alice.ListFiles(context.Background(), model, "")
	require.NoError(t, err)
}

func TestFileMetadata(t *testing.T) {
	e := setup(t)
	head := e.seed(t)
	files, err := e.s.Files(hubkit.Model, model.ID, "main")
	require.NoError(t, err)
	oid := map[string]string{}
	for _, f := range files {
		oid[f.Path] = f.GitOID
	}
	m, err := e.anon.FileMetadata(context.Background(), model, "", "weights/model.safetensors")
	require.NoError(t, err)
	require.Equal(t, FileMetadata{Commit: head, ETag: blob.SHA256(), Size: blob.Size, LFS: true}, *m)
	m, err = e.alice.FileMetadata(context.Background(), model, "main", "README.md")
	require.NoError(t, err)
	require.Equal(t, FileMetadata{Commit: head, ETag: oid["README.md"], Size: 8}, *m)
	_, err = e.alice.FileMetadata(context.Background(), model, "main", "nope")
	require.ErrorIs(t, err, ErrEntryNotFound)
}

func TestCreateSetPrivateDelete(t *testing.T) {
	e := setup(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		c       *Client
		repo    hubkit.Repo
		private bool
		want    error
	}{
		{name: "private model", c: e.alice, repo: hubkit.Repo{ID: "alice/new"}, private: true},
		{name: "public dataset in org", c: e.alice, repo: dataset},
		{name: "exists", c: e.alice, repo: hubkit.Repo{ID: "alice/new"}, want: hubkit.ErrConflict},
		{name: "read token", c: e.bob, repo: hubkit.Repo{ID: "bob/x"}, want: hubkit.ErrForbidden},
		{name: "anonymous", c: e.anon, repo: hubkit.Repo{ID: "bob/x"}, want: hubkit.ErrUnauthorized},
		{name: "foreign namespace", c: e.bob, repo: hubkit.Repo{ID: "acme/x"}, want: hubkit.ErrForbidden},
		{name: "invalid id", c: e.alice, repo: hubkit.Repo{ID: "alice/a b"}, want: hubkit.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := tc.c.CreateRepo(ctx, tc.repo, tc.private)
			noSecrets(t, err)
			if tc.want != nil {
				require.ErrorIs(t, err, tc.want)
				if tc.want == hubkit.ErrConflict {
					require.Contains(t, u, tc.repo.ID)
				}
				return
			}
			require.NoError(t, err)
			require.Contains(t, u, tc.repo.ID)
			typ := hubkit.Model
			if tc.repo.Type == hubkit.Dataset {
				typ = hubkit.Dataset
			}
			require.True(t, e.s.RepoExists(typ, tc.repo.ID))
			require.Equal(t, tc.private, e.s.Private(typ, tc.repo.ID))
		})
	}
	require.NoError(t, e.alice.SetPrivate(ctx, hubkit.Repo{ID: "alice/new"}, false))
	require.False(t, e.s.Private(hubkit.Model, "alice/new"))
	require.NoError(t, e.alice.SetPrivate(ctx, dataset, true))
	require.True(t, e.s.Private(hubkit.Dataset, dataset.ID))
	require.ErrorIs(t, e.bob.SetPrivate(ctx, dataset, false), hubkit.ErrNotFound) // private now: invisible to bob
	require.NoError(t, e.alice.DeleteRepo(ctx, dataset))
	require.False(t, e.s.RepoExists(hubkit.Dataset, dataset.ID))
	require.ErrorIs(t, e.alice.DeleteRepo(ctx, dataset), hubkit.ErrNotFound)
}

func TestPreupload(t *testing.T) {
	e := setup(t)
	e.seed(t)
	var files []PreuploadFile
	for i := 0; i < 300; i++ {
		files = append(files, PreuploadFile{Path: fmt.Sprintf("f/%03d.txt", i), Size: 10, Sample: []byte("plain text")})
	}
	files = append(files,
		PreuploadFile{Path: "x.safetensors", Size: 100, Sample: []byte("abc")},
		PreuploadFile{Path: "big.txt", Size: 20 << 20, Sample: bytes.Repeat([]byte("a"), 4096)},
		PreuploadFile{Path: "binary.dat", Size: 100, Sample: []byte{0, 1, 2, 0}},
	)
	res, err := e.alice.Preupload(context.Background(), model, "main", files)
	require.NoError(t, err)
	require.Len(t, res, len(files))
	require.Equal(t, 2, e.s.Faults().Count(hubtest.RoutePreupload), "303 files go in 2 requests")
	mode := map[string]string{}
	for _, r := range res {
		mode[r.Path] = r.UploadMode
	}
	require.Equal(t, "regular", mode["f/000.txt"])
	require.Equal(t, "lfs", mode["x.safetensors"])
	require.Equal(t, "lfs", mode["big.txt"])
	require.Equal(t, "lfs", mode["binary.dat"])

	_, err = e.alice.Preupload(context.Background(), hubkit.Repo{ID: "alice/nope"}, "main", files[:1])
	require.ErrorIs(t, err, ErrRepoNotFound)
}

// badSource serves the blob's bytes with one byte flipped at off.
type badSource struct {
	b   synth.Blob
	off int64
}

func (s badSource) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	if n < 0 {
		n = s.b.Size - off
	}
	p := make([]byte, n)
	_, _ = s.b.ReadAt(p, off)
	if s.off >= off && s.off < off+n {
		p[s.off-off] ^= 0xff
	}
	return io.NopCloser(bytes.NewReader(p)), nil
}

func TestUploadAndCommit(t *testing.T) {
	small := synth.Blob{Size: 200_000, Seed: 11}
	big := synth.Blob{Size: 3<<20 + 123, Seed: 12}
	tests := []struct {
		name     string
		obj      synth.Blob
		src      func(b synth.Blob) hubkit.Source
		transfer string
		wantErr  error
		rule     *fault.Rule
	}{
		{name: "basic", obj: small, transfer: "basic"},
		{name: "multipart", obj: big, transfer: "multipart"},
		{name: "basic hash mismatch", obj: small, transfer: "basic", src: func(b synth.Blob) hubkit.Source { return badSource{b, b.Size - 1} }, wantErr: hubkit.ErrHashMismatch},
		{name: "multipart hash mismatch", obj: big, transfer: "multipart", src: func(b synth.Blob) hubkit.Source { return badSource{b, 5} }, wantErr: hubkit.ErrHashMismatch},
		{name: "multipart part cut then retried", obj: big, transfer: "multipart", rule: &fault.Rule{Route: hubtest.RouteLFSUpload, Times: 1, CutAfter: 1000}},
		{name: "multipart part 503 retried", obj: big, transfer: "multipart", rule: &fault.Rule{Route: hubtest.RouteLFSUpload, Times: 2, Status: 503}},
		{name: "batch 429 waited out", obj: small, transfer: "basic", rule: &fault.Rule{Route: hubtest.RouteLFSBatch, Times: 1, Status: 429, RetryAfter: time.Second}},
		{name: "basic PUT cut fails (stream is not replayed)", obj: small, transfer: "basic", rule: &fault.Rule{Route: hubtest.RouteLFSUpload, Times: 1, CutAfter: 1000}, wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t, hubtest.WithMultipartThreshold(1<<20), hubtest.WithChunkSize(256<<10))
			e.seed(t)
			ctx := context.Background()
			if tc.rule != nil {
				e.s.Faults().Add(*tc.rule)
			}
			oid := tc.obj.SHA256()
			ups, err := e.alice.PrepareLFSUpload(ctx, model, "main", []LFSObject{{OID: oid, Size: tc.obj.Size}, {OID: blob.SHA256(), Size: blob.Size}})
			require.NoError(t, err)
			require.Len(t, ups, 1, "the stored blob is omitted")
			require.Equal(t, LFSObject{OID: oid, Size: tc.obj.Size}, ups[0].Object())
			require.Equal(t, tc.transfer, ups[0].Transfer())
			src := hubkit.Source(hubkit.ReaderAtSource(tc.obj))
			if tc.src != nil {
				src = tc.src(tc.obj)
			}
			err = ups[0].Upload(ctx, src)
			noSecrets(t, err)
			if tc.wantErr != nil {
				require.Error(t, err)
				if tc.wantErr != errAny {
					require.ErrorIs(t, err, tc.wantErr)
				}
				require.False(t, e.s.HasLFSObject(oid), "the fake stored an object that failed")
				return
			}
			require.NoError(t, err)
			require.True(t, e.s.HasLFSObject(oid))
			// Now the object is stored: a second batch asks for nothing.
			ups, err = e.alice.PrepareLFSUpload(ctx, model, "main", []LFSObject{{OID: oid, Size: tc.obj.Size}})
			require.NoError(t, err)
			require.Empty(t, ups)

			head, err := e.alice.ResolveRevision(ctx, model, "main")
			require.NoError(t, err)
			ci, err := e.alice.Commit(ctx, model, "main", CommitOptions{Summary: "add", ParentCommit: head}, []hubkit.CommitOp{
				{Kind: hubkit.OpAddLFS, Path: "up/obj.bin", SHA256: oid, Size: tc.obj.Size},
				{Kind: hubkit.OpAddFile, Path: "up/note.txt", Content: []byte("note")},
				{Kind: hubkit.OpDelete, Path: "README.md"},
			})
			require.NoError(t, err)
			files, err := e.s.Files(hubkit.Model, model.ID, ci.OID)
			require.NoError(t, err)
			byPath := map[string]hubtest.FileInfo{}
			for _, f := range files {
				byPath[f.Path] = f
			}
			require.True(t, byPath["up/obj.bin"].LFS)
			require.Equal(t, oid, byPath["up/obj.bin"].SHA256)
			require.NotContains(t, byPath, "README.md")
			note, err := e.s.ReadFile(hubkit.Model, model.ID, "main", "up/note.txt")
			require.NoError(t, err)
			require.Equal(t, "note", string(note))
			got, err := readAll(t, e.alice, model, ci.OID, "up/obj.bin", 0, -1)
			require.NoError(t, err)
			sum := sha256.Sum256(got)
			require.Equal(t, oid, hex.EncodeToString(sum[:]))
		})
	}
}

var errAny = errors.New("any error")

func TestCommitErrors(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name  string
		c     func(e *env) *Client
		opts  CommitOptions
		ops   []hubkit.CommitOp
		rule  *fault.Rule
		want  []error
		calls int // commit requests the fake must have seen
	}{
		{name: "500 not retried", rule: &fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: 500}, want: []error{hubkit.ErrServer}, calls: 1},
		{name: "429 resetting later than the commit wait", c: func(e *env) *Client { return newClient(e.s, writeTok, WithMaxCommitWait(2*time.Second)) },
			rule: &fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: 429, RetryAfter: 30 * time.Second}, want: []error{hubkit.ErrRateLimited}, calls: 1},
		{name: "stale parent", opts: CommitOptions{ParentCommit: strings.Repeat("0", 40)}, want: []error{hubkit.ErrConflict}, calls: 1},
		{name: "invalid path", ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "../evil", Content: []byte("x")}}, want: []error{hubkit.ErrInvalid}, calls: 1},
		{name: "delete missing", ops: []hubkit.CommitOp{{Kind: hubkit.OpDelete, Path: "nope.txt"}}, want: []error{ErrEntryNotFound}, calls: 1},
		{name: "lfs object never uploaded", ops: []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "x.bin", SHA256: strings.Repeat("a", 64), Size: 3}}, want: []error{hubkit.ErrInvalid}, calls: 1},
		{name: "read token", c: func(e *env) *Client { return e.bob }, want: []error{hubkit.ErrForbidden}, calls: 1},
		{name: "storage quota 403", rule: &fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: 403, Message: "Private repository storage limit reached, please upgrade your plan"}, want: []error{hubkit.ErrForbidden}, calls: 1},
		{name: "bad lfs oid rejected locally", ops: []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "x.bin", SHA256: "xyz", Size: 3}}, want: []error{hubkit.ErrInvalid}, calls: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			e.seed(t)
			before, err := e.s.History(hubkit.Model, model.ID, "main")
			require.NoError(t, err)
			c := e.alice
			if tc.c != nil {
				c = tc.c(e)
			}
			if tc.rule != nil {
				e.s.Faults().Add(*tc.rule)
			}
			ops := tc.ops
			if ops == nil {
				ops = []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a.txt", Content: []byte("a")}}
			}
			_, cerr := c.Commit(ctx, model, "main", tc.opts, ops)
			noSecrets(t, cerr)
			for _, k := range tc.want {
				require.ErrorIs(t, cerr, k)
			}
			require.Equal(t, tc.calls, e.s.Faults().Count(hubtest.RouteCommit))
			after, err := e.s.History(hubkit.Model, model.ID, "main")
			require.NoError(t, err)
			require.Equal(t, len(before), len(after), "a failed commit changed the branch")
			if tc.rule != nil && tc.rule.Status == 429 {
				var he *Error
				require.ErrorAs(t, cerr, &he)
				require.WithinDuration(t, time.Now().Add(30*time.Second), he.RetryAt, 5*time.Second)
			}
		})
	}
}

// A 429 means the Hub did not process the commit, so waiting it out and sending it again is
// safe (unlike a 5xx or a lost answer): exactly one commit lands.
func TestCommit429WaitedOut(t *testing.T) {
	e := setup(t)
	e.seed(t)
	before, err := e.s.History(hubkit.Model, model.ID, "main")
	require.NoError(t, err)
	e.s.Faults().Add(fault.Rule{Route: hubtest.RouteCommit, Times: 1, Status: 429, RetryAfter: time.Second})
	_, err = e.alice.Commit(context.Background(), model, "main", CommitOptions{}, []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a.txt", Content: []byte("a")}})
	require.NoError(t, err)
	require.Equal(t, 2, e.s.Faults().Count(hubtest.RouteCommit))
	after, err := e.s.History(hubkit.Model, model.ID, "main")
	require.NoError(t, err)
	require.Len(t, after, len(before)+1)
}

func TestErrorMapping(t *testing.T) {
	c := NewClient(WithEndpoint("http://127.0.0.1:1"), WithToken("hf_mapping_secret"))
	tests := []struct {
		status int
		code   string
		msg    string
		rc     routeClass
		want   []error
		not    []error
	}{
		{status: 404, code: "RepoNotFound", want: []error{ErrRepoNotFound, hubkit.ErrNotFound}},
		{status: 404, code: "RevisionNotFound", want: []error{ErrRevisionNotFound}, not: []error{ErrRepoNotFound}},
		{status: 404, code: "EntryNotFound", want: []error{ErrEntryNotFound}},
		{status: 401, code: "GatedRepo", want: []error{hubkit.ErrGated, hubkit.ErrUnauthorized}},
		{status: 403, code: "GatedRepo", rc: routeDownload, want: []error{hubkit.ErrGated, hubkit.ErrForbidden}, not: []error{hubkit.ErrStorageLocked}},
		{status: 401, msg: "Invalid credentials in Authorization header", want: []error{hubkit.ErrUnauthorized}},
		{status: 403, msg: "Access to this resource is disabled.", rc: routeDownload, want: []error{hubkit.ErrForbidden}, not: []error{hubkit.ErrStorageLocked}},
		{status: 403, msg: "whatever", rc: routeDownload, want: []error{hubkit.ErrStorageLocked, hubkit.ErrForbidden}},
		{status: 403, msg: "Private repository storage limit reached", want: []error{hubkit.ErrForbidden}, not: []error{hubkit.ErrStorageLocked}},
		{status: 409, want: []error{hubkit.ErrConflict}},
		{status: 412, want: []error{hubkit.ErrConflict}},
		{status: 400, want: []error{hubkit.ErrInvalid}},
		{status: 422, want: []error{hubkit.ErrInvalid}},
		{status: 429, want: []error{hubkit.ErrRateLimited}},
		{status: 502, want: []error{hubkit.ErrServer}},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%d %s %s", tc.status, tc.code, tc.msg), func(t *testing.T) {
			h := http.Header{}
			if tc.code != "" {
				h.Set("X-Error-Code", tc.code)
			}
			resp := &http.Response{StatusCode: tc.status, Header: h, Body: io.NopCloser(strings.NewReader(`{"error":"` + tc.msg + ` hf_mapping_secret"}`))}
			err := c.checkResponse("op", tc.rc, resp)
			for _, k := range tc.want {
				require.ErrorIs(t, err, k)
			}
			for _, k := range tc.not {
				require.NotErrorIs(t, err, k)
			}
			require.NotContains(t, err.Error(), "hf_mapping_secret")
		})
	}
	now := time.Now()
	require.Equal(t, now.Add(7*time.Second), retryAt(http.Header{"Ratelimit": {`"api";r=0;t=7`}}, now))
	require.Equal(t, now.Add(3*time.Second), retryAt(http.Header{"Retry-After": {"3"}}, now))
	require.True(t, retryAt(http.Header{}, now).IsZero())
}

// The LFS batch download route keeps working while the HTTP API is storage-locked.
func TestDownloadLFSBatch(t *testing.T) {
	e := setup(t)
	e.seed(t)
	e.s.SetStorageLock(hubkit.Model, model.ID, true)
	ctx := context.Background()
	obj := LFSObject{OID: blob.SHA256(), Size: blob.Size}
	full := blob.Bytes()
	tests := []struct {
		name   string
		c      *Client
		off, n int64
		rule   *fault.Rule
	}{
		{name: "whole", c: e.alice, n: -1},
		{name: "range", c: e.alice, off: 777, n: 100_000},
		{name: "anonymous public", c: e.anon, off: 10, n: -1},
		{name: "cut resumed", c: e.alice, n: -1, rule: &fault.Rule{Route: hubtest.RouteCDN, Times: 1, CutAfter: 200_000}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rule != nil {
				e.s.Faults().Add(*tc.rule)
			}
			rc, err := tc.c.DownloadLFS(ctx, model, "main", obj, tc.off, tc.n)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, rc.Close())
			require.NoError(t, err)
			end := blob.Size
			if tc.n >= 0 {
				end = tc.off + tc.n
			}
			require.True(t, bytes.Equal(full[tc.off:end], got), "got %d bytes, want %d", len(got), end-tc.off)
		})
	}
	_, err := e.alice.DownloadLFS(ctx, model, "main", LFSObject{OID: strings.Repeat("b", 64), Size: 5}, 0, -1)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	_, err = e.alice.DownloadLFS(ctx, hubkit.Repo{ID: "alice/nope"}, "main", obj, 0, -1)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}
