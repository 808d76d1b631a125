package hfhub_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
)

const (
	hfTestUser  = testworld.User
	hfTestToken = testworld.HFToken
	hfTestRead  = testworld.HFReadToken
)

// newHFTestServer is the test world's fake Hub (alice, member of acme, with a write and a read
// token) with user bob added (a namespace alice may not write to). Multipart starts at 128 KiB so
// the contract's larger blobs take that path.
func newHFTestServer(t *testing.T, opts ...hubtest.Option) *hubtest.Server {
	t.Helper()
	base := []hubtest.Option{hubtest.WithMultipartThreshold(128 << 10), hubtest.WithChunkSize(64 << 10), hubtest.WithTreePageSize(3)}
	s := testworld.New(t, testworld.WithHF(append(base, opts...)...)).HF
	s.AddUser("bob")
	return s
}

func newHFTestClient(s *hubtest.Server, token string) *hub.Client {
	return hub.NewClient(hub.WithEndpoint(s.URL()), hub.WithToken(token))
}

func TestHFHubContract(t *testing.T) {
	migratetest.Run(t, func(t *testing.T) migratetest.Env {
		s := newHFTestServer(t)
		repo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: hfTestUser + "/contract"}
		require.NoError(t, s.CreateRepo(hubkit.Model, repo.ID, hubtest.RepoOptions{}))
		return migratetest.Env{
			Hub:      hfhub.New(newHFTestClient(s, hfTestToken)),
			BadToken: hfhub.New(newHFTestClient(s, "hf_not_a_token")),
			Repo:     repo,
			Seed: func(t *testing.T, files ...migratetest.File) string {
				t.Helper()
				fs := make([]hubtest.File, len(files))
				for i, f := range files {
					fs[i] = hubtest.File{Path: f.Path, Content: f.Content, LFS: f.LFS}
				}
				sha, err := s.Commit(hubkit.Model, repo.ID, hfhub.DefaultBranch, "seed", fs...)
				require.NoError(t, err)
				return sha
			},
			ForeignNS:       "bob",
			TokenVar:        "HF_TOKEN",
			HasBlob:         s.HasLFSObject,
			Endpoint:        s.URL(),
			StrictNamespace: true,
		}
	})
}

func TestHFHubCheckWrite(t *testing.T) {
	s := newHFTestServer(t)
	ctx := context.Background()
	h := hfhub.New(newHFTestClient(s, hfTestToken))
	require.NoError(t, h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "acme/x"}), "an org of the user")
	require.NoError(t, h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Dataset, ID: "Alice/x"}), "names compare case-insensitively")
	err := h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/x"})
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Contains(t, err.Error(), "acme")

	read := hfhub.New(newHFTestClient(s, hfTestRead))
	err = read.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: hfTestUser + "/x"})
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Contains(t, err.Error(), "read token")
	require.NotContains(t, err.Error(), hfTestRead)

	anon := hfhub.New(newHFTestClient(s, ""))
	err = anon.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: hfTestUser + "/x"})
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), "HF_TOKEN")
}

func TestHFHubInfoGatedPrivateAndSpaces(t *testing.T) {
	s := newHFTestServer(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/gated", hubtest.RepoOptions{Gated: "manual"}))
	require.NoError(t, s.CreateRepo(hubkit.Space, "alice/demo", hubtest.RepoOptions{Private: true}))
	h := hfhub.New(newHFTestClient(s, hfTestToken))
	info, err := h.Info(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/gated"})
	require.NoError(t, err)
	require.True(t, info.Gated)
	require.Equal(t, hfhub.DefaultBranch, info.DefaultBranch)
	require.Len(t, info.Head, 40)

	space := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Space, ID: "alice/demo"}
	info, err = h.Info(ctx, space)
	require.NoError(t, err)
	require.True(t, info.Private)
	require.Equal(t, s.URL()+"/spaces/alice/demo", h.WebURL(space))
	typ, err := migrate.DetectType(ctx, h, migrate.HuggingFace, "alice/demo")
	require.NoError(t, err)
	require.Equal(t, hubkit.Space, typ)

	// Private and invisible to another user's token: not found (or unauthorized), never success.
	s.AddToken("hf_bob", "bob", hubtest.RoleWrite)
	bob := hfhub.New(newHFTestClient(s, "hf_bob"))
	_, err = bob.Info(ctx, space)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func TestHFHubStorageLockIsForbidden(t *testing.T) {
	s := newHFTestServer(t)
	ctx := context.Background()
	repo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: hfTestUser + "/locked"}
	require.NoError(t, s.CreateRepo(hubkit.Model, repo.ID, hubtest.RepoOptions{}))
	_, err := s.Commit(hubkit.Model, repo.ID, hfhub.DefaultBranch, "seed", hubtest.File{Path: "a.txt", Content: []byte("a")})
	require.NoError(t, err)
	s.SetStorageLock(hubkit.Model, repo.ID, true)
	// Without the git fallback (on by default, see fallback_test.go) the lock surfaces as is.
	h := hfhub.New(newHFTestClient(s, hfTestToken), hfhub.WithGitFallback(false))
	_, err = h.List(ctx, repo, "")
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.NotErrorIs(t, err, hubkit.ErrNotFound)
}

func TestHFHubLimitsOverride(t *testing.T) {
	s := newHFTestServer(t)
	h := hfhub.New(newHFTestClient(s, hfTestToken), hfhub.WithLimits(migrate.Limits{MaxInlineFiles: 3}), hfhub.WithWebBase("https://huggingface.co"))
	require.Equal(t, migrate.Limits{MaxOps: hub.MaxCommitOps, MaxInlineFiles: 3, MaxInlineBytes: hub.MaxCommitInlineBytes}, h.Limits())
	require.Equal(t, "https://huggingface.co/a/b", h.WebURL(migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "a/b"}))
	require.Equal(t, "https://huggingface.co/datasets/a/b", h.WebURL(migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Dataset, ID: "a/b"}))
}
