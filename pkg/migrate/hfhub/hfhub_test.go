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

// newHFTestWorld is the test world (alice, member of acme, with a write and a read token) with
// user bob added on its fakes (a namespace alice may not write to). The fake Hub's multipart
// starts at 128 KiB so the contract's larger blobs take that path.
func newHFTestWorld(t *testing.T) *testworld.World {
	t.Helper()
	w := testworld.New(t, testworld.WithHF(hubtest.WithMultipartThreshold(128<<10), hubtest.WithChunkSize(64<<10), hubtest.WithTreePageSize(3)))
	w.AddForeign()
	return w
}

func newHFTestClient(s *hubtest.Server, token string) *hub.Client {
	return hub.NewClient(hub.WithEndpoint(s.URL()), hub.WithToken(token))
}

func TestHFHubContract(t *testing.T) {
	migratetest.Run(t, func(t *testing.T) migratetest.Env {
		w := newHFTestWorld(t)
		return w.ContractEnv(t, migrate.HuggingFace, func(token string) migrate.Hub {
			return hfhub.New(newHFTestClient(w.HF, token))
		})
	})
}

func TestHFHubCheckWrite(t *testing.T) {
	s := newHFTestWorld(t).HF
	ctx := context.Background()
	h := hfhub.New(newHFTestClient(s, testworld.HFToken))
	require.NoError(t, h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "acme/x"}), "an org of the user")
	require.NoError(t, h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Dataset, ID: "Alice/x"}), "names compare case-insensitively")
	err := h.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/x"})
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Contains(t, err.Error(), "acme")

	read := hfhub.New(newHFTestClient(s, testworld.HFReadToken))
	err = read.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/x"})
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Contains(t, err.Error(), "read token")
	require.NotContains(t, err.Error(), testworld.HFReadToken)

	anon := hfhub.New(newHFTestClient(s, ""))
	err = anon.CheckWrite(ctx, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/x"})
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), "HF_TOKEN")
}

func TestHFHubInfoGatedPrivateAndSpaces(t *testing.T) {
	s := newHFTestWorld(t).HF
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/gated", hubtest.RepoOptions{Gated: "manual"}))
	require.NoError(t, s.CreateRepo(hubkit.Space, "alice/demo", hubtest.RepoOptions{Private: true}))
	h := hfhub.New(newHFTestClient(s, testworld.HFToken))
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
	s := newHFTestWorld(t).HF
	ctx := context.Background()
	repo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/locked"}
	require.NoError(t, s.CreateRepo(hubkit.Model, repo.ID, hubtest.RepoOptions{}))
	_, err := s.Commit(hubkit.Model, repo.ID, hfhub.DefaultBranch, "seed", hubtest.File{Path: "a.txt", Content: []byte("a")})
	require.NoError(t, err)
	s.SetStorageLock(hubkit.Model, repo.ID, true)
	// Without the git fallback (on by default, see fallback_test.go) the lock surfaces as is.
	h := hfhub.New(newHFTestClient(s, testworld.HFToken), hfhub.WithGitFallback(false))
	_, err = h.List(ctx, repo, "")
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.NotErrorIs(t, err, hubkit.ErrNotFound)
}

func TestHFHubLimitsOverride(t *testing.T) {
	s := newHFTestWorld(t).HF
	h := hfhub.New(newHFTestClient(s, testworld.HFToken), hfhub.WithLimits(migrate.Limits{MaxInlineFiles: 3}), hfhub.WithWebBase("https://huggingface.co"))
	require.Equal(t, migrate.Limits{MaxOps: hub.MaxCommitOps, MaxInlineFiles: 3, MaxInlineBytes: hub.MaxCommitInlineBytes}, h.Limits())
	require.Equal(t, "https://huggingface.co/a/b", h.WebURL(migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "a/b"}))
	require.Equal(t, "https://huggingface.co/datasets/a/b", h.WebURL(migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Dataset, ID: "a/b"}))
}
