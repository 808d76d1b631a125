package mshub_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

const (
	msTestUser  = testworld.User
	msTestToken = testworld.MSToken
	msTestRead  = testworld.MSReadToken
)

// newMSTestServer is the test world's fake ModelScope (alice, member of acme, with a write token
// and a read-only one) with user bob added (a namespace alice may not write to).
func newMSTestServer(t *testing.T, opts ...mstest.Option) *mstest.Server {
	t.Helper()
	s := testworld.New(t, testworld.WithMS(opts...)).MS
	s.AddUser("bob")
	return s
}

// newMSTestClient is a client of s with token, tuned for tests (short commit retry waits).
func newMSTestClient(s *mstest.Server, token string, opts ...msclient.Option) *msclient.Client {
	base := []msclient.Option{
		msclient.WithEndpoint(s.URL()),
		msclient.WithToken(token),
		msclient.WithCommitRetry(3, 10*time.Millisecond, 500*time.Millisecond),
	}
	return msclient.NewClient(append(base, opts...)...)
}

func TestMSHubContract(t *testing.T) {
	migratetest.Run(t, func(t *testing.T) migratetest.Env {
		s := newMSTestServer(t)
		repo := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: msTestUser + "/contract"}
		require.NoError(t, s.CreateRepo(hubkit.Model, repo.ID, mstest.RepoOptions{}))
		return migratetest.Env{
			Hub:      mshub.New(newMSTestClient(s, msTestToken)),
			BadToken: mshub.New(newMSTestClient(s, "ms-not-a-token")),
			Repo:     repo,
			Seed: func(t *testing.T, files ...migratetest.File) string {
				t.Helper()
				fs := make([]mstest.File, len(files))
				for i, f := range files {
					fs[i] = mstest.File{Path: f.Path, Content: f.Content, LFS: f.LFS}
				}
				sha, err := s.Commit(hubkit.Model, repo.ID, "", "seed", fs...)
				require.NoError(t, err)
				return sha
			},
			ForeignNS: "bob",
			TokenVar:  "MODELSCOPE_TOKEN",
			HasBlob:   s.HasLFSObject,
			Endpoint:  s.URL(),
		}
	})
}

func TestMSHubCheckWriteReadOnlyToken(t *testing.T) {
	s := newMSTestServer(t)
	h := mshub.New(newMSTestClient(s, msTestRead))
	err := h.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: msTestUser + "/x"})
	require.Error(t, err)
	require.True(t, errors.Is(err, hubkit.ErrForbidden) || errors.Is(err, hubkit.ErrUnauthorized), "got %v", err)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")
	require.NotContains(t, err.Error(), msTestRead)

	// No token at all fails here too, naming the variable to set.
	anon := mshub.New(newMSTestClient(s, ""))
	err = anon.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: msTestUser + "/x"})
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")

	// An organisation namespace passes (the fake, like the real hub, does not list orgs, so the
	// hub's create/commit answer decides).
	h = mshub.New(newMSTestClient(s, msTestToken))
	require.NoError(t, h.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "acme/x"}))
}

func TestMSHubSpacesUnsupported(t *testing.T) {
	s := newMSTestServer(t)
	h := mshub.New(newMSTestClient(s, msTestToken))
	space := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Space, ID: msTestUser + "/demo"}
	_, err := h.Info(context.Background(), space)
	require.ErrorIs(t, err, migrate.ErrUnsupported)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	require.ErrorIs(t, h.Create(context.Background(), space, false), migrate.ErrUnsupported)
}

func TestMSHubLimitsOverride(t *testing.T) {
	s := newMSTestServer(t)
	h := mshub.New(newMSTestClient(s, msTestToken), mshub.WithLimits(migrate.Limits{MaxOps: 7}), mshub.WithWebBase("https://www.modelscope.cn/"))
	require.Equal(t, migrate.Limits{MaxOps: 7, MaxInlineFiles: msclient.MaxCommitActions, MaxInlineBytes: msclient.MaxCommitInlineBytes, MaxFileSize: msclient.MaxFileSize}, h.Limits())
	require.Equal(t, "https://www.modelscope.cn/models/a/b", h.WebURL(migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/b"}))
	require.Equal(t, "https://www.modelscope.cn/datasets/a/b", h.WebURL(migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Dataset, ID: "a/b"}))
}
