package hub

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func TestRefs(t *testing.T) {
	e := setup(t)
	head := e.seed(t)
	ctx := context.Background()

	require.NoError(t, e.alice.CreateBranch(ctx, model, "dev", ""))
	err := e.alice.CreateBranch(ctx, model, "dev", "")
	require.ErrorIs(t, err, hubkit.ErrConflict)
	require.ErrorIs(t, e.alice.CreateBranch(ctx, model, "bad..name", ""), hubkit.ErrInvalid)
	require.ErrorIs(t, e.bob.CreateBranch(ctx, model, "other", ""), hubkit.ErrForbidden)
	require.NoError(t, e.alice.CreateTag(ctx, model, head, "v1.0", "first release"))
	require.ErrorIs(t, e.alice.CreateTag(ctx, model, "main", "v1.0", ""), hubkit.ErrConflict)
	require.ErrorIs(t, e.alice.CreateTag(ctx, model, "no-such-rev", "v2", ""), hubkit.ErrNotFound)

	refs, err := e.anon.ListRefs(ctx, model)
	require.NoError(t, err)
	assert.Equal(t, []GitRef{{Name: "dev", Ref: "refs/heads/dev", TargetCommit: head}, {Name: "main", Ref: "refs/heads/main", TargetCommit: head}}, refs.Branches)
	assert.Equal(t, []GitRef{{Name: "v1.0", Ref: "refs/tags/v1.0", TargetCommit: head}}, refs.Tags)

	// A commit to the new branch moves it, not main.
	ci, err := e.alice.Commit(ctx, model, "dev", CommitOptions{Summary: "on dev"}, []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "dev.txt", Content: []byte("d"), Size: 1}})
	require.NoError(t, err)
	dev, err := e.alice.ResolveRevision(ctx, model, "dev")
	require.NoError(t, err)
	assert.Equal(t, ci.OID, dev)
	main, err := e.alice.ResolveRevision(ctx, model, "main")
	require.NoError(t, err)
	assert.Equal(t, head, main)

	require.NoError(t, e.alice.DeleteTag(ctx, model, "v1.0"))
	require.ErrorIs(t, e.alice.DeleteTag(ctx, model, "v1.0"), hubkit.ErrNotFound)
	require.NoError(t, e.alice.DeleteBranch(ctx, model, "dev"))
	refs, err = e.alice.ListRefs(ctx, model)
	require.NoError(t, err)
	assert.Len(t, refs.Branches, 1)
	assert.Empty(t, refs.Tags)

	_, err = e.alice.ListRefs(ctx, hubkit.Repo{Type: hubkit.Model, ID: "alice/missing"})
	require.ErrorIs(t, err, ErrRepoNotFound)
}
