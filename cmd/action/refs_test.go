package main

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// TestRefsInput: the refs input mirrors tags; the summary and the report list every ref; a
// scheduled re-run with nothing new commits nothing; refs with revision is refused.
func TestRefsInput(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/model", 2)
	require.NoError(t, w.HF.CreateTag(hubkit.Model, "alice/model", "v1", "main"))
	require.NoError(t, w.HF.CreateBranch(hubkit.Model, "alice/model", "exp", "main"))

	plan := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms", "refs", "all", "dry_run", "true"))
	require.Equal(t, 0, plan.code, plan.log)
	require.Contains(t, plan.summary, "### Refs (3)")
	require.Contains(t, plan.summary, "📝 planned")
	require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"))

	res := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms", "refs", "all"))
	require.Equal(t, 0, res.code, res.log)
	require.Contains(t, res.summary, "| `tag v1` | `tag v1` | ✅ mirrored |")
	require.Contains(t, res.summary, "| `branch exp` | `–` | ⏭️ skipped |")
	var rep migrate.Report
	require.NoError(t, json.Unmarshal([]byte(res.report), &rep))
	require.Len(t, rep.Refs, 3)
	head, err := w.MS.Head(hubkit.Model, "alice/model", "master")
	require.NoError(t, err)

	again := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms", "refs", "all"))
	require.Equal(t, 0, again.code, again.log)
	require.Contains(t, again.summary, "already up to date")
	after, err := w.MS.Head(hubkit.Model, "alice/model", "master")
	require.NoError(t, err)
	require.Equal(t, head, after, "no commit on a scheduled run with nothing new")

	bad := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms", "refs", "all", "revision", "main"))
	require.NotEqual(t, 0, bad.code)
	require.Contains(t, bad.log, `input "refs"`)
}
