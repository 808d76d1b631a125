package msclient

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

func TestRevisionsAndTags(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	r := model("alice/tagged")
	require.NoError(t, s.CreateRepo(hubkit.Model, r.ID, mstest.RepoOptions{}))
	first, err := s.Commit(hubkit.Model, r.ID, "master", "one", mstest.File{Path: "a.txt", Content: []byte("1")})
	require.NoError(t, err)
	require.NoError(t, c.CreateTag(ctx, r, "v1", ""))
	require.ErrorIs(t, c.CreateTag(ctx, r, "master", ""), hubkit.ErrInvalid)
	second, err := s.Commit(hubkit.Model, r.ID, "master", "two", mstest.File{Path: "a.txt", Content: []byte("2")})
	require.NoError(t, err)
	require.NoError(t, c.CreateTag(ctx, r, "v2", "master"))
	require.Error(t, c.CreateTag(ctx, r, "v2", "master"), "an existing tag is refused")

	revs, err := c.ListRevisions(ctx, r)
	require.NoError(t, err)
	require.Len(t, revs.Branches, 1)
	assert.Equal(t, "master", revs.Branches[0].Name)
	assert.Equal(t, second, revs.Branches[0].Commit)
	tags := map[string]string{}
	for _, tg := range revs.Tags {
		tags[tg.Name] = tg.Commit
		assert.False(t, tg.Created.IsZero())
	}
	assert.Equal(t, map[string]string{"v1": first, "v2": second}, tags)

	_, err = newClient(s, bobToken).ListRevisions(ctx, model("alice/missing"))
	requireKind(t, err, hubkit.ErrNotFound)
	requireKind(t, newClient(s, bobToken).CreateTag(ctx, r, "v3", ""), hubkit.ErrForbidden)
}

// TestCommitMasterOnly: the fake, like ModelScope, takes commits on master only.
func TestCommitMasterOnly(t *testing.T) {
	s, c := setup(t)
	r := model("alice/branches")
	require.NoError(t, s.CreateRepo(hubkit.Model, r.ID, mstest.RepoOptions{}))
	_, err := s.Commit(hubkit.Model, r.ID, "master", "one", mstest.File{Path: "a.txt", Content: []byte("1")})
	require.NoError(t, err)
	require.NoError(t, s.CreateBranch(hubkit.Model, r.ID, "dev", ""))
	_, err = c.Commit(context.Background(), r, "dev", "on dev", []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "b.txt", Content: []byte("b"), Size: 1}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "master only")
}

func TestUnixish(t *testing.T) {
	for in, want := range map[string]int64{`1700000000`: 1700000000, `"1700000000"`: 1700000000, `1700000000123`: 1700000000, `null`: 0, `""`: 0, `"x"`: 0} {
		got := unixish([]byte(in))
		if want == 0 {
			assert.True(t, got.IsZero(), in)
			continue
		}
		assert.Equal(t, want, got.Unix(), in)
	}
}
