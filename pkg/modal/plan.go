package modal

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Assumptions of the pre-run estimate (not measured on Modal yet: see the protocol note §6.10).
const (
	// AssumedWorkerRate is the bytes per second one container is assumed to stream.
	AssumedWorkerRate = 100e6
	// AssumedColdStart is the assumed time for a container to start.
	AssumedColdStart = 30 * time.Second
)

// Estimate returns how long shards of the given sizes take on containers running at once, each
// streaming rate bytes/s after coldStart: shards are placed largest first on the container that
// frees up first.
func Estimate(shardBytes []int64, containers int, rate float64, coldStart time.Duration) time.Duration {
	if len(shardBytes) == 0 || rate <= 0 {
		return 0
	}
	containers = max(1, min(containers, len(shardBytes)))
	sizes := append([]int64(nil), shardBytes...)
	sort.Slice(sizes, func(i, j int) bool { return sizes[i] > sizes[j] })
	busy := make([]time.Duration, containers)
	for _, sz := range sizes {
		k := 0
		for i := range busy {
			if busy[i] < busy[k] {
				k = i
			}
		}
		busy[k] += coldStart + time.Duration(float64(sz)/rate*float64(time.Second))
	}
	var longest time.Duration
	for _, b := range busy {
		longest = max(longest, b)
	}
	return longest
}

// writePlanSummary writes the first lines of a plan text: the source at its commit (shortened to
// 12 characters), the destination, and what the plan copies, skips and deletes.
func writePlanSummary(b *strings.Builder, sum *migrate.PlanSummary) {
	commit := sum.SourceCommit
	if len(commit) > 12 {
		commit = commit[:12]
	}
	fmt.Fprintf(b, "%s@%s -> %s\n", sum.Source, commit, sum.Dest)
	fmt.Fprintf(b, "copy %d files (%s), skip %d (%s), delete %d\n",
		sum.CopyFiles, humanBytes(sum.CopyBytes), sum.SkipFiles, humanBytes(sum.SkipBytes), sum.DeleteFiles)
}

// PlanText renders the plan of a parallel run before it starts: what moves, the shards with
// their bytes, how many containers run at once and an estimated time.
func PlanText(sum *migrate.PlanSummary, shardBytes []int64, containers int) string {
	var b strings.Builder
	if sum != nil {
		writePlanSummary(&b, sum)
	}
	containers = max(1, min(containers, max(1, len(shardBytes))))
	fmt.Fprintf(&b, "%d shards on %d containers at once, then one commit step\n", len(shardBytes), containers)
	for i, n := range shardBytes {
		fmt.Fprintf(&b, "  shard %3d  %10s\n", i+1, humanBytes(n))
	}
	est := Estimate(shardBytes, containers, AssumedWorkerRate, AssumedColdStart)
	fmt.Fprintf(&b, "estimated time: %s (assuming %s/s a container and %s cold start)\n",
		est.Round(time.Second), humanBytes(int64(AssumedWorkerRate)), AssumedColdStart)
	return b.String()
}

func humanBytes(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", float64(n)/float64(div), "kMGTPE"[exp])
}
