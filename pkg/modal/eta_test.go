package modal

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func TestFanOutEstimate(t *testing.T) {
	const GB = 1e9
	// The published case: 3.3 TB in 678 files; hf2ms cuts it into the most shards allowed.
	published := make([]Shard, migrate.MaxShards)
	for i := range published {
		published[i] = Shard{Bytes: 33 * GB, Files: 7, Largest: 4_714_285_714}
	}
	for _, tc := range []struct {
		name       string
		m          FanOut
		shards     []Shard
		want       time.Duration
		bottleneck string
	}{
		{"one big file into a single PUT", DefaultFanOut(migrate.HuggingFace, migrate.ModelScope, 32),
			[]Shard{{Bytes: 10 * GB, Files: 1, Largest: 10 * GB}},
			30*time.Second + 500*time.Second, "the largest file"},
		{"many shards on few containers", DefaultFanOut(migrate.HuggingFace, migrate.ModelScope, 2),
			[]Shard{{Bytes: 8 * GB, Files: 8, Largest: GB}, {Bytes: 8 * GB, Files: 8, Largest: GB}, {Bytes: 8 * GB, Files: 8, Largest: GB}, {Bytes: 8 * GB, Files: 8, Largest: GB}},
			2 * (30*time.Second + 100*time.Second), "2 containers at 80 MB/s"},
		{"the published case on 113 containers", DefaultFanOut(migrate.HuggingFace, migrate.ModelScope, 113),
			published, 30*time.Second + 1650*time.Second, "aggregate cap"},
		{"from ModelScope, read by ranges", DefaultFanOut(migrate.ModelScope, migrate.HuggingFace, 1),
			[]Shard{{Bytes: 19.2 * GB, Files: 8, Largest: 2.4 * GB}},
			30*time.Second + 100*time.Second, "source per-connection cap x 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := tc.m.Estimate(tc.shards)
			assert.InDelta(t, tc.want.Seconds(), e.Time.Seconds(), 1)
			assert.Contains(t, e.Bottleneck, tc.bottleneck)
		})
	}
	assert.Zero(t, DefaultFanOut(migrate.HuggingFace, migrate.ModelScope, 1).Estimate(nil).Time)
}

func TestParallelPlanText(t *testing.T) {
	sum := &migrate.PlanSummary{Source: migrate.Repo{Hub: migrate.HuggingFace, ID: "a/b"},
		Dest: migrate.Repo{Hub: migrate.ModelScope, ID: "a/b"}, SourceCommit: "0123456789abcdef", CopyFiles: 2, CopyBytes: 2e9}
	out := ParallelPlanText(sum, []Shard{{Bytes: 1e9, Files: 1, Largest: 1e9}, {Bytes: 1e9, Files: 1, Largest: 1e9}}, 32)
	assert.Contains(t, out, "2 shards on 2 containers at once")
	assert.Contains(t, out, "estimated time: 1m22s, bound by the largest file (1.0 GB) at one stream's 20 MB/s (destination single-stream cap)")
	assert.Contains(t, out, "model: source link near hub")
}
