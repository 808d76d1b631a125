// Package migratetest holds the contract every migrate.Hub implementation must keep, as a test
// suite it can run against its own fake (in the manner of rclone's fstests): listings, ranged
// reads, write checks, creation and visibility, upload modes, blob uploads verified in flight,
// atomic commits, limits and web URLs. The adapters in pkg/migrate/hfhub and pkg/migrate/mshub
// and the in-memory hub used by the engine's tests all run it.
//
// It may import pkg/migrate and pkg/hubkit, and testify.
package migratetest

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/stretchr/testify/require"
)

// File is a file the suite seeds straight into the fake behind a Hub.
type File struct {
	Path    string
	Content []byte
	LFS     bool
}

// Env is one migrate.Hub implementation over the service behind it (a fake), as the suite needs it.
type Env struct {
	// Hub uses a write token whose user owns Repo's namespace.
	Hub migrate.Hub
	// BadToken is the same hub with an invalid token.
	BadToken migrate.Hub
	// Repo exists (public, a model) and is empty until seeded.
	Repo migrate.Repo
	// Seed commits files into Repo directly on the fake, returning the new head.
	Seed func(t *testing.T, files ...File) string
	// ForeignNS is a namespace the token's user may not write to.
	ForeignNS string
	// TokenVar is the environment variable CheckWrite's message must name ("" for a hub with
	// no token).
	TokenVar string
	// HasBlob reports whether the fake stores an LFS object.
	HasBlob func(sha string) bool
	// Endpoint is the fake's base URL (WebURL must be derived from it).
	Endpoint string
	// StrictNamespace: CheckWrite must refuse ForeignNS (a hub that says which orgs a user has).
	StrictNamespace bool
}

// Bytes makes n deterministic, binary (NUL-containing) bytes from seed: test content.
func Bytes(n int, seed byte) []byte {
	b := make([]byte, n)
	x := uint32(seed) + 1
	for i := range b {
		x = x*1664525 + 1013904223
		b[i] = byte(x >> 24)
	}
	if n > 0 {
		b[0] = 0
	}
	return b
}

// upload uploads b through u.
func upload(ctx context.Context, u migrate.BlobUpload, b []byte) error {
	_, err := u.Upload(ctx, hubkit.Bytes(b), migrate.UploadOptions{})
	return err
}

func contractRead(t *testing.T, h migrate.Hub, repo migrate.Repo, rev, path string, off, n int64) []byte {
	t.Helper()
	rc, err := h.Open(context.Background(), repo, rev, path, off, n)
	require.NoError(t, err)
	defer rc.Close()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

// requireSameBytes compares contents by length and hash, so a failure prints two lines, not a
// hex dump.
func requireSameBytes(t *testing.T, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	require.Equal(t, len(want), len(got), msgAndArgs...)
	require.Equal(t, hubkit.SHA256Hex(want), hubkit.SHA256Hex(got), msgAndArgs...)
}

func contractFiles(t *testing.T, h migrate.Hub, repo migrate.Repo, rev string) map[string]migrate.File {
	t.Helper()
	fs, err := h.List(context.Background(), repo, rev)
	require.NoError(t, err)
	out := map[string]migrate.File{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// Run checks that a migrate.Hub implementation behaves as the engine assumes. newEnv makes a fresh
// environment for each subtest.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	cases := []struct {
		name string
		run  func(t *testing.T, env Env)
	}{
		{"info", contractInfo},
		{"resolve", contractResolve},
		{"list and open", contractListAndOpen},
		{"check write", contractCheckWrite},
		{"create, conflict, set private", contractCreateConflictSetPrivate},
		{"upload modes", contractUploadModes},
		{"prepare, upload, commit, list", contractPrepareUploadCommitList},
		{"hash mismatch on upload", contractHashMismatchOnUpload},
		{"limits and web url", contractLimitsAndWebUrl},
		{"detect type", contractDetectType},
		{"context cancelled", contractContextCancelled},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.run(t, newEnv(t)) })
	}
}

// The files every contract case that needs content seeds.
var (
	seedReadme  = []byte("# hello\n\nA small model card.\n")
	seedConfig  = []byte(`{"hidden_size": 8}`)
	seedWeights = Bytes(200<<10, 1)
	seedNested  = Bytes(70<<10, 2)
)

// seedAll seeds the contract files and returns the head commit.
func seedAll(t *testing.T, env Env) string {
	return env.Seed(t,
		File{Path: "README.md", Content: seedReadme},
		File{Path: "config.json", Content: seedConfig},
		File{Path: "model.safetensors", Content: seedWeights, LFS: true},
		File{Path: "sub/dir/part.bin", Content: seedNested, LFS: true},
	)
}

func contractInfo(t *testing.T, env Env) {
	ctx := context.Background()
	seedAll(t, env)
	info, err := env.Hub.Info(ctx, env.Repo)
	require.NoError(t, err)
	require.False(t, info.Private)
	require.NotEmpty(t, info.DefaultBranch)
	missing := migrate.Repo{Hub: env.Repo.Hub, Type: env.Repo.Type, ID: env.Repo.ID + "-missing"}
	_, err = env.Hub.Info(ctx, missing)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	require.Equal(t, env.Repo.Hub, env.Hub.Name())
}

func contractResolve(t *testing.T, env Env) {
	ctx := context.Background()
	head := seedAll(t, env)
	sha, err := env.Hub.Resolve(ctx, env.Repo, "")
	require.NoError(t, err)
	require.Equal(t, head, sha)
	info, err := env.Hub.Info(ctx, env.Repo)
	require.NoError(t, err)
	sha, err = env.Hub.Resolve(ctx, env.Repo, info.DefaultBranch)
	require.NoError(t, err)
	require.Equal(t, head, sha)
	_, err = env.Hub.Resolve(ctx, env.Repo, "no-such-branch")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	missing := migrate.Repo{Hub: env.Repo.Hub, Type: env.Repo.Type, ID: env.Repo.ID + "-missing"}
	_, err = env.Hub.Resolve(ctx, missing, "")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func contractListAndOpen(t *testing.T, env Env) {
	ctx := context.Background()
	head := seedAll(t, env)
	files := contractFiles(t, env.Hub, env.Repo, head)
	want := map[string][]byte{"README.md": seedReadme, "config.json": seedConfig, "model.safetensors": seedWeights, "sub/dir/part.bin": seedNested}
	for p, content := range want {
		f, ok := files[p]
		require.True(t, ok, "listing lacks %s: %v", p, files)
		require.Equal(t, int64(len(content)), f.Size, p)
		if f.SHA256 != "" {
			require.Equal(t, hubkit.SHA256Hex(content), f.SHA256, p)
		}
		if f.GitOID != "" && !f.LFS {
			require.Equal(t, hubkit.GitBlobID(content), f.GitOID, p)
		}
		require.True(t, f.SHA256 != "" || f.GitOID != "", "%s has no hash at all", p)
	}
	for _, p := range []string{"model.safetensors", "sub/dir/part.bin"} {
		require.True(t, files[p].LFS, p)
		require.Equal(t, hubkit.SHA256Hex(want[p]), files[p].SHA256, p)
	}
	require.False(t, files["README.md"].LFS)

	for p, content := range want {
		requireSameBytes(t, content, contractRead(t, env.Hub, env.Repo, head, p, 0, -1), p)
		requireSameBytes(t, content[3:13], contractRead(t, env.Hub, env.Repo, head, p, 3, 10), p)
		requireSameBytes(t, content[5:], contractRead(t, env.Hub, env.Repo, head, p, 5, -1), p)
	}
	// Opening by branch reads the same bytes as by commit.
	requireSameBytes(t, seedWeights[1000:1100], contractRead(t, env.Hub, env.Repo, "", "model.safetensors", 1000, 100))

	_, err := env.Hub.Open(ctx, env.Repo, head, "nope.txt", 0, -1)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	_, err = env.Hub.List(ctx, env.Repo, "no-such-branch")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func contractCheckWrite(t *testing.T, env Env) {
	ctx := context.Background()
	require.NoError(t, env.Hub.CheckWrite(ctx, env.Repo))
	err := env.BadToken.CheckWrite(ctx, env.Repo)
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), env.TokenVar)
	if env.StrictNamespace {
		foreign := migrate.Repo{Hub: env.Repo.Hub, Type: env.Repo.Type, ID: env.ForeignNS + "/x"}
		require.ErrorIs(t, env.Hub.CheckWrite(ctx, foreign), hubkit.ErrForbidden)
	}
}

func contractCreateConflictSetPrivate(t *testing.T, env Env) {
	ctx := context.Background()
	ns, _, _ := strings.Cut(env.Repo.ID, "/")
	for _, typ := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		r := migrate.Repo{Hub: env.Repo.Hub, Type: typ, ID: ns + "/fresh-" + string(typ)}
		_, err := env.Hub.Info(ctx, r)
		require.ErrorIs(t, err, hubkit.ErrNotFound)
		require.NoError(t, env.Hub.Create(ctx, r, true))
		info, err := env.Hub.Info(ctx, r)
		require.NoError(t, err)
		require.True(t, info.Private)
		require.ErrorIs(t, env.Hub.Create(ctx, r, true), hubkit.ErrConflict)
		require.NoError(t, env.Hub.SetPrivate(ctx, r, false))
		info, err = env.Hub.Info(ctx, r)
		require.NoError(t, err)
		require.False(t, info.Private)
		require.NoError(t, env.Hub.SetPrivate(ctx, r, true))
		info, err = env.Hub.Info(ctx, r)
		require.NoError(t, err)
		require.True(t, info.Private)
		// A private repo is invisible without a valid token.
		_, err = env.BadToken.Info(ctx, r)
		require.Error(t, err)
		require.True(t, isAnyKind(err, hubkit.ErrNotFound, hubkit.ErrUnauthorized), "got %v", err)
	}
	foreign := migrate.Repo{Hub: env.Repo.Hub, Type: hubkit.Model, ID: env.ForeignNS + "/nope"}
	err := env.Hub.Create(ctx, foreign, false)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	err = env.BadToken.Create(ctx, migrate.Repo{Hub: env.Repo.Hub, Type: hubkit.Model, ID: ns + "/nope"}, false)
	require.Error(t, err)
	require.True(t, isAnyKind(err, hubkit.ErrUnauthorized, hubkit.ErrForbidden), "got %v", err)
}

func contractUploadModes(t *testing.T, env Env) {
	ctx := context.Background()
	seedAll(t, env)
	big := Bytes(12<<20, 3)
	cands := []migrate.UploadCandidate{
		{Path: "README.md", Size: int64(len(seedReadme)), Sample: seedReadme},
		{Path: "empty.txt", Size: 0},
		{Path: "weights/model-00001.safetensors", Size: 300 << 10, Sample: Bytes(512, 4)},
		{Path: "big.dat", Size: int64(len(big)), Sample: big[:512]},
	}
	modes, err := env.Hub.UploadModes(ctx, env.Repo, "", cands)
	require.NoError(t, err)
	require.Equal(t, map[string]bool{
		"README.md": false, "empty.txt": false, "weights/model-00001.safetensors": true, "big.dat": true,
	}, modes)
}

func contractPrepareUploadCommitList(t *testing.T, env Env) {
	ctx := context.Background()
	seedAll(t, env)
	info, err := env.Hub.Info(ctx, env.Repo)
	require.NoError(t, err)
	branch := info.DefaultBranch
	fresh := Bytes(150<<10, 5)
	freshBlob := migrate.Blob{OID: hubkit.SHA256Hex(fresh), Size: int64(len(fresh))}
	stored := migrate.Blob{OID: hubkit.SHA256Hex(seedWeights), Size: int64(len(seedWeights))}

	ups, err := env.Hub.PrepareBlobs(ctx, env.Repo, branch, []migrate.Blob{stored, freshBlob})
	require.NoError(t, err)
	require.Len(t, ups, 1, "the stored blob must be omitted")
	require.Equal(t, freshBlob, ups[0].Blob())
	require.False(t, env.HasBlob(freshBlob.OID))
	require.NoError(t, upload(ctx, ups[0], fresh))
	require.True(t, env.HasBlob(freshBlob.OID))

	ups, err = env.Hub.PrepareBlobs(ctx, env.Repo, branch, []migrate.Blob{stored, freshBlob})
	require.NoError(t, err)
	require.Empty(t, ups, "both blobs are stored now")

	inline := []byte("new inline file\n")
	sha, err := env.Hub.Commit(ctx, env.Repo, branch, "contract commit", []hubkit.CommitOp{
		{Kind: hubkit.OpAddLFS, Path: "copied/fresh.bin", SHA256: freshBlob.OID, Size: freshBlob.Size},
		{Kind: hubkit.OpAddLFS, Path: "again.safetensors", SHA256: stored.OID, Size: stored.Size},
		{Kind: hubkit.OpAddFile, Path: "notes/inline.txt", Content: inline, Size: int64(len(inline))},
		{Kind: hubkit.OpDelete, Path: "config.json"},
	})
	require.NoError(t, err)
	require.NotEmpty(t, sha)
	head, err := env.Hub.Resolve(ctx, env.Repo, "")
	require.NoError(t, err)
	require.Equal(t, head, sha)

	files := contractFiles(t, env.Hub, env.Repo, head)
	require.NotContains(t, files, "config.json")
	require.Equal(t, freshBlob.OID, files["copied/fresh.bin"].SHA256)
	require.True(t, files["copied/fresh.bin"].LFS)
	require.Equal(t, stored.OID, files["again.safetensors"].SHA256)
	require.Equal(t, int64(len(inline)), files["notes/inline.txt"].Size)
	requireSameBytes(t, fresh, contractRead(t, env.Hub, env.Repo, head, "copied/fresh.bin", 0, -1))
	requireSameBytes(t, inline, contractRead(t, env.Hub, env.Repo, head, "notes/inline.txt", 0, -1))

	// Deleting a path that does not exist fails the whole commit.
	_, err = env.Hub.Commit(ctx, env.Repo, branch, "bad", []hubkit.CommitOp{
		{Kind: hubkit.OpAddFile, Path: "x.txt", Content: []byte("x"), Size: 1},
		{Kind: hubkit.OpDelete, Path: "never-existed.txt"},
	})
	require.Error(t, err)
	after, err := env.Hub.Resolve(ctx, env.Repo, "")
	require.NoError(t, err)
	require.Equal(t, head, after)
	_, err = env.Hub.Commit(ctx, env.Repo, branch, "bad kind", []hubkit.CommitOp{{Kind: hubkit.OpKind(99), Path: "x"}})
	require.ErrorIs(t, err, hubkit.ErrInvalid)
}

func contractHashMismatchOnUpload(t *testing.T, env Env) {
	ctx := context.Background()
	seedAll(t, env)
	good := Bytes(100<<10, 6)
	bad := append([]byte(nil), good...)
	bad[len(bad)/2] ^= 0xff
	blob := migrate.Blob{OID: hubkit.SHA256Hex(good), Size: int64(len(good))}
	ups, err := env.Hub.PrepareBlobs(ctx, env.Repo, "", []migrate.Blob{blob})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	err = upload(ctx, ups[0], bad)
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
	require.False(t, env.HasBlob(blob.OID))
	// Too short is a mismatch too.
	err = upload(ctx, ups[0], good[:len(good)-1])
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
	require.False(t, env.HasBlob(blob.OID))
}

func contractLimitsAndWebUrl(t *testing.T, env Env) {
	l := env.Hub.Limits()
	require.Positive(t, l.MaxOps)
	require.Positive(t, l.MaxInlineFiles)
	require.Positive(t, l.MaxInlineBytes)
	require.LessOrEqual(t, l.MaxInlineFiles, l.MaxOps)
	u := env.Hub.WebURL(env.Repo)
	require.True(t, strings.HasPrefix(u, strings.TrimRight(env.Endpoint, "/")+"/"), u)
	require.True(t, strings.HasSuffix(u, "/"+env.Repo.ID), u)
	ds := env.Hub.WebURL(migrate.Repo{Hub: env.Repo.Hub, Type: hubkit.Dataset, ID: env.Repo.ID})
	require.Contains(t, ds, "/datasets/"+env.Repo.ID)
	require.NotEqual(t, u, ds)
}

func contractDetectType(t *testing.T, env Env) {
	ctx := context.Background()
	seedAll(t, env)
	typ, err := migrate.DetectType(ctx, env.Hub, "", env.Repo.ID)
	require.NoError(t, err)
	require.Equal(t, env.Repo.Type, typ)
	_, err = migrate.DetectType(ctx, env.Hub, "", env.Repo.ID+"-missing")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func contractContextCancelled(t *testing.T, env Env) {
	ctx := context.Background()
	cctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-cctx.Done()
	_, err := env.Hub.Info(cctx, env.Repo)
	require.Error(t, err)
	require.NotErrorIs(t, err, hubkit.ErrNotFound)
}

func isAnyKind(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
