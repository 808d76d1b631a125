package cli

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlanParallelShowsTheModelsBottleneck(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 3)
	res := run{env: w.env()}.exec(t, "plan", "hf:alice/model", "--to", "ms", "--parallel", "--chunk-size", "64KiB")
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "parallel run:")
	require.Regexp(t, `\d+ shards on \d+ containers at once`, res.stdout)
	require.Regexp(t, `estimated time: \S+, bound by `, res.stdout)
	require.Contains(t, res.stdout, "model: source link")
	require.False(t, w.MS.RepoExists("model", "alice/model"), "a plan creates nothing")
}
