package modal

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func TestCheckCredentials(t *testing.T) {
	home := t.TempDir()
	withProfile := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(withProfile, ".modal.toml"), []byte("[me]\ntoken_id = \"ak-1\"\nactive = true\n"), 0o600))
	cases := []struct {
		name    string
		env     map[string]string
		missing string // "" = ok
	}{
		{"both set", map[string]string{"MODAL_TOKEN_ID": "ak", "MODAL_TOKEN_SECRET": "as"}, ""},
		{"secret missing", map[string]string{"MODAL_TOKEN_ID": "ak"}, "MODAL_TOKEN_SECRET is not set"},
		{"id missing", map[string]string{"MODAL_TOKEN_SECRET": "as"}, "MODAL_TOKEN_ID is not set"},
		{"none", map[string]string{"HOME": home}, "MODAL_TOKEN_ID and MODAL_TOKEN_SECRET are not set"},
		{"profile", map[string]string{"HOME": withProfile}, ""},
		{"config path", map[string]string{"MODAL_CONFIG_PATH": filepath.Join(withProfile, ".modal.toml")}, ""},
		{"oauth", map[string]string{"MODAL_OAUTH_REFRESH_TOKEN": "r"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckCredentials(func(k string) string { return tc.env[k] })
			if tc.missing == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, ErrNoCredentials)
			require.Contains(t, err.Error(), tc.missing)
			for _, v := range tc.env {
				if v != home {
					require.NotContains(t, err.Error(), v)
				}
			}
		})
	}
}

func TestNames(t *testing.T) {
	id := strings.Repeat("r", MaxRunIDLen)
	require.NoError(t, CheckRunID(id))
	for _, name := range []string{ShardName(id, 100), CommitName(id), RepoName(id, 7)} {
		require.LessOrEqual(t, len(name), 64, name)
	}
	cases := []struct {
		name  string
		phase string
		n     int
	}{
		{ShardName("run", 7), migrate.PhaseBlobs, 7},
		{RepoName("run", 12), migrate.PhaseAll, 12},
		{CommitName("run"), migrate.PhaseCommit, 0},
	}
	for _, tc := range cases {
		phase, n, ok := parseName("run", tc.name)
		require.True(t, ok)
		require.Equal(t, tc.phase, phase)
		require.Equal(t, tc.n, n)
	}
	_, _, ok := parseName("run", "hf2ms-other-s001")
	require.False(t, ok)
	require.Equal(t, "hf2ms-run-s003", nameFromTags(map[string]string{TagRun: "run", TagShard: "3", TagPhase: migrate.PhaseBlobs}))
	for _, bad := range []string{"", "a/b", "-x", strings.Repeat("r", MaxRunIDLen+1)} {
		require.Error(t, CheckRunID(bad), bad)
	}
	require.NoError(t, CheckRunID(NewRunID()))
}

func TestEstimate(t *testing.T) {
	const g = 1e9
	cases := []struct {
		name       string
		shards     []int64
		containers int
		want       time.Duration
	}{
		{"none", nil, 4, 0},
		{"one per container", []int64{g, g, g}, 3, 10*time.Second + 10*time.Second},
		{"two waves", []int64{g, g, g, g}, 2, 2 * (10*time.Second + 10*time.Second)},
		{"largest first", []int64{g, 3 * g, g}, 2, 30*time.Second + 10*time.Second},
		{"uneven", []int64{3 * g, g, g, g}, 2, 3 * (10*time.Second + 10*time.Second)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, Estimate(tc.shards, tc.containers, 100e6, 10*time.Second))
		})
	}
}

func TestPlanText(t *testing.T) {
	sum := &migrate.PlanSummary{
		Source:       migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "org/m"},
		Dest:         migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "org/m"},
		SourceCommit: "0123456789abcdef0123",
		CopyFiles:    3, CopyBytes: 3e9, Shards: 2,
	}
	got := PlanText(sum, []int64{2e9, 1e9}, 32)
	require.Contains(t, got, "hf:org/m@0123456789ab -> ms:org/m")
	require.Contains(t, got, "copy 3 files (3.0 GB)")
	require.Contains(t, got, "2 shards on 2 containers at once")
	require.Contains(t, got, "shard   1      2.0 GB")
	require.Contains(t, got, "estimated time: 50s")
}
