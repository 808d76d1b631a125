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
		w := testworld.New(t)
		return w.ContractEnv(t, migrate.ModelScope, func(token string) migrate.Hub {
			return mshub.New(newMSTestClient(w.MS, token))
		})
	})
}

func TestMSHubCheckWriteReadOnlyToken(t *testing.T) {
	s := testworld.New(t).MS
	h := mshub.New(newMSTestClient(s, testworld.MSReadToken))
	err := h.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/x"})
	require.Error(t, err)
	require.True(t, errors.Is(err, hubkit.ErrForbidden) || errors.Is(err, hubkit.ErrUnauthorized), "got %v", err)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")
	require.NotContains(t, err.Error(), testworld.MSReadToken)

	// No token at all fails here too, naming the variable to set.
	anon := mshub.New(newMSTestClient(s, ""))
	err = anon.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/x"})
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")

	// An organisation namespace passes (the fake, like the real hub, does not list orgs, so the
	// hub's create/commit answer decides).
	h = mshub.New(newMSTestClient(s, testworld.MSToken))
	require.NoError(t, h.CheckWrite(context.Background(), migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "acme/x"}))
}

func TestMSHubSpacesUnsupported(t *testing.T) {
	s := testworld.New(t).MS
	h := mshub.New(newMSTestClient(s, testworld.MSToken))
	space := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Space, ID: testworld.User + "/demo"}
	_, err := h.Info(context.Background(), space)
	require.ErrorIs(t, err, migrate.ErrUnsupported)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	require.ErrorIs(t, h.Create(context.Background(), space, false), migrate.ErrUnsupported)
}

func TestMSHubLimitsOverride(t *testing.T) {
	s := testworld.New(t).MS
	h := mshub.New(newMSTestClient(s, testworld.MSToken), mshub.WithLimits(migrate.Limits{MaxOps: 7}), mshub.WithWebBase("https://www.modelscope.cn/"))
	require.Equal(t, migrate.Limits{MaxOps: 7, MaxInlineFiles: msclient.MaxCommitActions, MaxInlineBytes: msclient.MaxCommitInlineBytes, MaxFileSize: msclient.MaxFileSize}, h.Limits())
	require.Equal(t, "https://www.modelscope.cn/models/a/b", h.WebURL(migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/b"}))
	require.Equal(t, "https://www.modelscope.cn/datasets/a/b", h.WebURL(migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Dataset, ID: "a/b"}))
}
