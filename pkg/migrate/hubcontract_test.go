package migrate

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// contractFile is a file a contract test seeds straight into the fake behind a Hub.
type contractFile struct {
	Path    string
	Content []byte
	LFS     bool
}

// contractEnv is one hub adapter over its fake, as the contract suite needs it.
type contractEnv struct {
	// hub uses a write token whose user owns repo's namespace.
	hub Hub
	// badToken is the same hub with an invalid token.
	badToken Hub
	// repo exists (public, a model) and is empty until seeded.
	repo Repo
	// seed commits files into repo directly on the fake, returning the new head.
	seed func(t *testing.T, files ...contractFile) string
	// foreignNS is a namespace the token's user may not write to.
	foreignNS string
	// tokenVar is the environment variable CheckWrite's message must name.
	tokenVar string
	// hasBlob reports whether the fake stores an LFS object.
	hasBlob func(sha string) bool
	// endpoint is the fake's base URL (WebURL must be derived from it).
	endpoint string
	// strictNamespace: CheckWrite must refuse foreignNS (a hub that says which orgs a user has).
	strictNamespace bool
}

func contractSHA(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func contractGitOID(b []byte) string {
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(b))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil))
}

// contractBytes makes n deterministic, binary (NUL-containing) bytes.
func contractBytes(n int, seed byte) []byte {
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

// contractSource serves a byte slice as a Source.
type contractSource []byte

func (s contractSource) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	if off > int64(len(s)) {
		off = int64(len(s))
	}
	end := int64(len(s))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return io.NopCloser(bytes.NewReader(s[off:end])), nil
}

func contractRead(t *testing.T, h Hub, repo Repo, rev, path string, off, n int64) []byte {
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
	require.Equal(t, contractSHA(want), contractSHA(got), msgAndArgs...)
}

func contractFiles(t *testing.T, h Hub, repo Repo, rev string) map[string]File {
	t.Helper()
	fs, err := h.List(context.Background(), repo, rev)
	require.NoError(t, err)
	out := map[string]File{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// testHubContract checks that a Hub adapter over its fake behaves as the engine assumes.
func testHubContract(t *testing.T, newEnv func(t *testing.T) contractEnv) {
	ctx := context.Background()
	readme := []byte("# hello\n\nA small model card.\n")
	config := []byte(`{"hidden_size": 8}`)
	weights := contractBytes(200<<10, 1)
	nested := contractBytes(70<<10, 2)
	seedAll := func(t *testing.T, env contractEnv) string {
		return env.seed(t,
			contractFile{Path: "README.md", Content: readme},
			contractFile{Path: "config.json", Content: config},
			contractFile{Path: "model.safetensors", Content: weights, LFS: true},
			contractFile{Path: "sub/dir/part.bin", Content: nested, LFS: true},
		)
	}

	t.Run("info", func(t *testing.T) {
		env := newEnv(t)
		seedAll(t, env)
		info, err := env.hub.Info(ctx, env.repo)
		require.NoError(t, err)
		require.False(t, info.Private)
		require.NotEmpty(t, info.DefaultBranch)
		missing := Repo{Hub: env.repo.Hub, Type: env.repo.Type, ID: env.repo.ID + "-missing"}
		_, err = env.hub.Info(ctx, missing)
		require.ErrorIs(t, err, hubkit.ErrNotFound)
		require.Equal(t, env.repo.Hub, env.hub.Name())
	})

	t.Run("resolve", func(t *testing.T) {
		env := newEnv(t)
		head := seedAll(t, env)
		sha, err := env.hub.Resolve(ctx, env.repo, "")
		require.NoError(t, err)
		require.Equal(t, head, sha)
		info, err := env.hub.Info(ctx, env.repo)
		require.NoError(t, err)
		sha, err = env.hub.Resolve(ctx, env.repo, info.DefaultBranch)
		require.NoError(t, err)
		require.Equal(t, head, sha)
		_, err = env.hub.Resolve(ctx, env.repo, "no-such-branch")
		require.ErrorIs(t, err, hubkit.ErrNotFound)
		missing := Repo{Hub: env.repo.Hub, Type: env.repo.Type, ID: env.repo.ID + "-missing"}
		_, err = env.hub.Resolve(ctx, missing, "")
		require.ErrorIs(t, err, hubkit.ErrNotFound)
	})

	t.Run("list and open", func(t *testing.T) {
		env := newEnv(t)
		head := seedAll(t, env)
		files := contractFiles(t, env.hub, env.repo, head)
		want := map[string][]byte{"README.md": readme, "config.json": config, "model.safetensors": weights, "sub/dir/part.bin": nested}
		for p, content := range want {
			f, ok := files[p]
			require.True(t, ok, "listing lacks %s: %v", p, files)
			require.Equal(t, int64(len(content)), f.Size, p)
			if f.SHA256 != "" {
				require.Equal(t, contractSHA(content), f.SHA256, p)
			}
			if f.GitOID != "" && !f.LFS {
				require.Equal(t, contractGitOID(content), f.GitOID, p)
			}
			require.True(t, f.SHA256 != "" || f.GitOID != "", "%s has no hash at all", p)
		}
		for _, p := range []string{"model.safetensors", "sub/dir/part.bin"} {
			require.True(t, files[p].LFS, p)
			require.Equal(t, contractSHA(want[p]), files[p].SHA256, p)
		}
		require.False(t, files["README.md"].LFS)

		for p, content := range want {
			requireSameBytes(t, content, contractRead(t, env.hub, env.repo, head, p, 0, -1), p)
			requireSameBytes(t, content[3:13], contractRead(t, env.hub, env.repo, head, p, 3, 10), p)
			requireSameBytes(t, content[5:], contractRead(t, env.hub, env.repo, head, p, 5, -1), p)
		}
		// Opening by branch reads the same bytes as by commit.
		requireSameBytes(t, weights[1000:1100], contractRead(t, env.hub, env.repo, "", "model.safetensors", 1000, 100))

		_, err := env.hub.Open(ctx, env.repo, head, "nope.txt", 0, -1)
		require.ErrorIs(t, err, hubkit.ErrNotFound)
		_, err = env.hub.List(ctx, env.repo, "no-such-branch")
		require.ErrorIs(t, err, hubkit.ErrNotFound)
	})

	t.Run("check write", func(t *testing.T) {
		env := newEnv(t)
		require.NoError(t, env.hub.CheckWrite(ctx, env.repo))
		err := env.badToken.CheckWrite(ctx, env.repo)
		require.ErrorIs(t, err, hubkit.ErrUnauthorized)
		require.Contains(t, err.Error(), env.tokenVar)
		if env.strictNamespace {
			foreign := Repo{Hub: env.repo.Hub, Type: env.repo.Type, ID: env.foreignNS + "/x"}
			require.ErrorIs(t, env.hub.CheckWrite(ctx, foreign), hubkit.ErrForbidden)
		}
	})

	t.Run("create, conflict, set private", func(t *testing.T) {
		env := newEnv(t)
		ns, _, _ := strings.Cut(env.repo.ID, "/")
		for _, typ := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
			r := Repo{Hub: env.repo.Hub, Type: typ, ID: ns + "/fresh-" + string(typ)}
			_, err := env.hub.Info(ctx, r)
			require.ErrorIs(t, err, hubkit.ErrNotFound)
			require.NoError(t, env.hub.Create(ctx, r, true))
			info, err := env.hub.Info(ctx, r)
			require.NoError(t, err)
			require.True(t, info.Private)
			require.ErrorIs(t, env.hub.Create(ctx, r, true), hubkit.ErrConflict)
			require.NoError(t, env.hub.SetPrivate(ctx, r, false))
			info, err = env.hub.Info(ctx, r)
			require.NoError(t, err)
			require.False(t, info.Private)
			require.NoError(t, env.hub.SetPrivate(ctx, r, true))
			info, err = env.hub.Info(ctx, r)
			require.NoError(t, err)
			require.True(t, info.Private)
			// A private repo is invisible without a valid token.
			_, err = env.badToken.Info(ctx, r)
			require.Error(t, err)
			require.True(t, isAnyKind(err, hubkit.ErrNotFound, hubkit.ErrUnauthorized), "got %v", err)
		}
		foreign := Repo{Hub: env.repo.Hub, Type: hubkit.Model, ID: env.foreignNS + "/nope"}
		err := env.hub.Create(ctx, foreign, false)
		require.ErrorIs(t, err, hubkit.ErrForbidden)
		err = env.badToken.Create(ctx, Repo{Hub: env.repo.Hub, Type: hubkit.Model, ID: ns + "/nope"}, false)
		require.Error(t, err)
		require.True(t, isAnyKind(err, hubkit.ErrUnauthorized, hubkit.ErrForbidden), "got %v", err)
	})

	t.Run("upload modes", func(t *testing.T) {
		env := newEnv(t)
		seedAll(t, env)
		big := contractBytes(12<<20, 3)
		cands := []UploadCandidate{
			{Path: "README.md", Size: int64(len(readme)), Sample: readme},
			{Path: "empty.txt", Size: 0},
			{Path: "weights/model-00001.safetensors", Size: 300 << 10, Sample: contractBytes(512, 4)},
			{Path: "big.dat", Size: int64(len(big)), Sample: big[:512]},
		}
		modes, err := env.hub.UploadModes(ctx, env.repo, "", cands)
		require.NoError(t, err)
		require.Equal(t, map[string]bool{
			"README.md": false, "empty.txt": false, "weights/model-00001.safetensors": true, "big.dat": true,
		}, modes)
	})

	t.Run("prepare, upload, commit, list", func(t *testing.T) {
		env := newEnv(t)
		seedAll(t, env)
		info, err := env.hub.Info(ctx, env.repo)
		require.NoError(t, err)
		branch := info.DefaultBranch
		fresh := contractBytes(150<<10, 5)
		freshBlob := Blob{OID: contractSHA(fresh), Size: int64(len(fresh))}
		stored := Blob{OID: contractSHA(weights), Size: int64(len(weights))}

		ups, err := env.hub.PrepareBlobs(ctx, env.repo, branch, []Blob{stored, freshBlob})
		require.NoError(t, err)
		require.Len(t, ups, 1, "the stored blob must be omitted")
		require.Equal(t, freshBlob, ups[0].Blob())
		require.False(t, env.hasBlob(freshBlob.OID))
		require.NoError(t, ups[0].Upload(ctx, contractSource(fresh)))
		require.True(t, env.hasBlob(freshBlob.OID))

		ups, err = env.hub.PrepareBlobs(ctx, env.repo, branch, []Blob{stored, freshBlob})
		require.NoError(t, err)
		require.Empty(t, ups, "both blobs are stored now")

		inline := []byte("new inline file\n")
		sha, err := env.hub.Commit(ctx, env.repo, branch, "contract commit", []hubkit.CommitOp{
			{Kind: hubkit.OpAddLFS, Path: "copied/fresh.bin", SHA256: freshBlob.OID, Size: freshBlob.Size},
			{Kind: hubkit.OpAddLFS, Path: "again.safetensors", SHA256: stored.OID, Size: stored.Size},
			{Kind: hubkit.OpAddFile, Path: "notes/inline.txt", Content: inline, Size: int64(len(inline))},
			{Kind: hubkit.OpDelete, Path: "config.json"},
		})
		require.NoError(t, err)
		require.NotEmpty(t, sha)
		head, err := env.hub.Resolve(ctx, env.repo, "")
		require.NoError(t, err)
		require.Equal(t, head, sha)

		files := contractFiles(t, env.hub, env.repo, head)
		require.NotContains(t, files, "config.json")
		require.Equal(t, freshBlob.OID, files["copied/fresh.bin"].SHA256)
		require.True(t, files["copied/fresh.bin"].LFS)
		require.Equal(t, stored.OID, files["again.safetensors"].SHA256)
		require.Equal(t, int64(len(inline)), files["notes/inline.txt"].Size)
		requireSameBytes(t, fresh, contractRead(t, env.hub, env.repo, head, "copied/fresh.bin", 0, -1))
		requireSameBytes(t, inline, contractRead(t, env.hub, env.repo, head, "notes/inline.txt", 0, -1))

		// Deleting a path that does not exist fails the whole commit.
		_, err = env.hub.Commit(ctx, env.repo, branch, "bad", []hubkit.CommitOp{
			{Kind: hubkit.OpAddFile, Path: "x.txt", Content: []byte("x"), Size: 1},
			{Kind: hubkit.OpDelete, Path: "never-existed.txt"},
		})
		require.Error(t, err)
		after, err := env.hub.Resolve(ctx, env.repo, "")
		require.NoError(t, err)
		require.Equal(t, head, after)
		_, err = env.hub.Commit(ctx, env.repo, branch, "bad kind", []hubkit.CommitOp{{Kind: hubkit.OpKind(99), Path: "x"}})
		require.ErrorIs(t, err, hubkit.ErrInvalid)
	})

	t.Run("hash mismatch on upload", func(t *testing.T) {
		env := newEnv(t)
		seedAll(t, env)
		good := contractBytes(100<<10, 6)
		bad := append([]byte(nil), good...)
		bad[len(bad)/2] ^= 0xff
		blob := Blob{OID: contractSHA(good), Size: int64(len(good))}
		ups, err := env.hub.PrepareBlobs(ctx, env.repo, "", []Blob{blob})
		require.NoError(t, err)
		require.Len(t, ups, 1)
		err = ups[0].Upload(ctx, contractSource(bad))
		require.ErrorIs(t, err, hubkit.ErrHashMismatch)
		require.False(t, env.hasBlob(blob.OID))
		// Too short is a mismatch too.
		err = ups[0].Upload(ctx, contractSource(good[:len(good)-1]))
		require.ErrorIs(t, err, hubkit.ErrHashMismatch)
		require.False(t, env.hasBlob(blob.OID))
	})

	t.Run("limits and web url", func(t *testing.T) {
		env := newEnv(t)
		l := env.hub.Limits()
		require.Positive(t, l.MaxOps)
		require.Positive(t, l.MaxInlineFiles)
		require.Positive(t, l.MaxInlineBytes)
		require.LessOrEqual(t, l.MaxInlineFiles, l.MaxOps)
		u := env.hub.WebURL(env.repo)
		require.True(t, strings.HasPrefix(u, strings.TrimRight(env.endpoint, "/")+"/"), u)
		require.True(t, strings.HasSuffix(u, "/"+env.repo.ID), u)
		ds := env.hub.WebURL(Repo{Hub: env.repo.Hub, Type: hubkit.Dataset, ID: env.repo.ID})
		require.Contains(t, ds, "/datasets/"+env.repo.ID)
		require.NotEqual(t, u, ds)
	})

	t.Run("detect type", func(t *testing.T) {
		env := newEnv(t)
		seedAll(t, env)
		typ, err := DetectType(ctx, env.hub, "", env.repo.ID)
		require.NoError(t, err)
		require.Equal(t, env.repo.Type, typ)
		_, err = DetectType(ctx, env.hub, "", env.repo.ID+"-missing")
		require.ErrorIs(t, err, hubkit.ErrNotFound)
	})

	t.Run("context cancelled", func(t *testing.T) {
		env := newEnv(t)
		cctx, cancel := context.WithTimeout(ctx, time.Nanosecond)
		defer cancel()
		<-cctx.Done()
		_, err := env.hub.Info(cctx, env.repo)
		require.Error(t, err)
		require.NotErrorIs(t, err, hubkit.ErrNotFound)
	})
}

func isAnyKind(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}
