package migrate

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

const (
	msTestUser  = "alice"
	msTestToken = "ms-test-write-token"
	msTestRead  = "ms-test-read-token"
)

// newMSTestServer starts a fake ModelScope with user alice (member of org acme), a write token
// and a read-only token, and user bob (a namespace alice may not write to).
func newMSTestServer(t *testing.T, opts ...mstest.Option) *mstest.Server {
	t.Helper()
	s := mstest.NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUser(msTestUser, "acme")
	s.AddUser("bob")
	s.AddToken(msTestToken, msTestUser)
	s.AddReadOnlyToken(msTestRead, msTestUser)
	return s
}

// newMSTestClient is a client of s with token, tuned for tests (short commit retry waits).
func newMSTestClient(s *mstest.Server, token string, opts ...msclient.Option) *msclient.Client {
	base := []msclient.Option{
		msclient.WithEndpoint(s.URL()),
		msclient.WithToken(token),
		msclient.WithCommitRetry(3, 10*time.Millisecond, 500*time.Millisecond),
		msclient.WithUploadRetry(2, 10*time.Millisecond),
	}
	return msclient.NewClient(append(base, opts...)...)
}

func msKind(t hubkit.RepoType) hubkit.RepoType {
	if t == hubkit.Dataset {
		return hubkit.Dataset
	}
	return hubkit.Model
}

func TestMSHubContract(t *testing.T) {
	testHubContract(t, func(t *testing.T) contractEnv {
		s := newMSTestServer(t)
		repo := Repo{Hub: ModelScope, Type: hubkit.Model, ID: msTestUser + "/contract"}
		require.NoError(t, s.CreateRepo(hubkit.Model, repo.ID, mstest.Public))
		return contractEnv{
			hub:      NewMSHub(newMSTestClient(s, msTestToken)),
			badToken: NewMSHub(newMSTestClient(s, "ms-not-a-token")),
			repo:     repo,
			seed: func(t *testing.T, files ...contractFile) string {
				t.Helper()
				fs := make([]mstest.File, len(files))
				for i, f := range files {
					fs[i] = mstest.File{Path: f.Path, Content: f.Content, LFS: f.LFS}
				}
				sha, err := s.Commit(hubkit.Model, repo.ID, "", "seed", fs...)
				require.NoError(t, err)
				return sha
			},
			foreignNS: "bob",
			tokenVar:  "MODELSCOPE_TOKEN",
			hasBlob:   s.HasBlob,
			endpoint:  s.URL(),
		}
	})
}

func TestMSHubCheckWriteReadOnlyToken(t *testing.T) {
	s := newMSTestServer(t)
	h := NewMSHub(newMSTestClient(s, msTestRead))
	err := h.CheckWrite(context.Background(), Repo{Hub: ModelScope, Type: hubkit.Model, ID: msTestUser + "/x"})
	require.Error(t, err)
	require.True(t, isAnyKind(err, hubkit.ErrForbidden, hubkit.ErrUnauthorized), "got %v", err)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")
	require.NotContains(t, err.Error(), msTestRead)

	// No token at all fails here too, naming the variable to set.
	anon := NewMSHub(newMSTestClient(s, ""))
	err = anon.CheckWrite(context.Background(), Repo{Hub: ModelScope, Type: hubkit.Model, ID: msTestUser + "/x"})
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Contains(t, err.Error(), "MODELSCOPE_TOKEN")

	// An organisation namespace passes (the fake, like the real hub, does not list orgs, so the
	// hub's create/commit answer decides).
	h = NewMSHub(newMSTestClient(s, msTestToken))
	require.NoError(t, h.CheckWrite(context.Background(), Repo{Hub: ModelScope, Type: hubkit.Model, ID: "acme/x"}))
}

func TestMSHubSpacesUnsupported(t *testing.T) {
	s := newMSTestServer(t)
	h := NewMSHub(newMSTestClient(s, msTestToken))
	space := Repo{Hub: ModelScope, Type: hubkit.Space, ID: msTestUser + "/demo"}
	_, err := h.Info(context.Background(), space)
	require.ErrorIs(t, err, ErrUnsupported)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
	require.ErrorIs(t, h.Create(context.Background(), space, false), ErrUnsupported)
}

func TestMSWantsLFS(t *testing.T) {
	tests := []struct {
		typ  hubkit.RepoType
		path string
		size int64
		want bool
	}{
		{hubkit.Model, "README.md", MSMaxInlineBytes, false},
		{hubkit.Model, "README.md", MSMaxInlineBytes + 1, true},
		{hubkit.Model, "sub/config.json", 1 << 20, false},
		{hubkit.Model, "configuration.json", 100, false},
		{hubkit.Model, "model.msc", 1 << 20, false},
		{hubkit.Model, "small.txt", MSInlineThreshold, false},
		{hubkit.Model, "small.txt", MSInlineThreshold + 1, true},
		{hubkit.Model, "tiny.safetensors", 10, true},
		{hubkit.Model, "w/model.BIN", 10, true},
		{hubkit.Model, "empty.bin", 0, false},
		{hubkit.Model, "img.png", 100, false},
		{hubkit.Dataset, "img.png", 100, true},
		{hubkit.Dataset, "data/train.jsonl", 100, true},
		{hubkit.Dataset, "data/train.csv", 100, false},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, msWantsLFS(tt.typ, tt.path, tt.size), "%s %s %d", tt.typ, tt.path, tt.size)
	}
}

func TestMSHubLimitsOverride(t *testing.T) {
	s := newMSTestServer(t)
	h := NewMSHub(newMSTestClient(s, msTestToken), WithHubLimits(Limits{MaxOps: 7}), WithWebBase("https://www.modelscope.cn/"))
	require.Equal(t, Limits{MaxOps: 7, MaxInlineFiles: MSMaxInlineFiles, MaxInlineBytes: MSMaxInlineBytes}, h.Limits())
	require.Equal(t, "https://www.modelscope.cn/models/a/b", h.WebURL(Repo{Hub: ModelScope, Type: hubkit.Model, ID: "a/b"}))
	require.Equal(t, "https://www.modelscope.cn/datasets/a/b", h.WebURL(Repo{Hub: ModelScope, Type: hubkit.Dataset, ID: "a/b"}))
}
