package migrate

import (
	"cmp"
	"slices"
)

// ShardPlan splits files into shards of about chunkSize bytes (DefaultChunkSize when <= 0),
// raising the chunk size so that there are at most MaxShards, and never more shards than files.
// Files are placed largest first, each into the currently smallest shard (ties: the lower
// shard), so the split is deterministic for a given listing and balanced. Shards list their
// files largest first. An empty input gives no shards.
func ShardPlan(files []File, chunkSize int64) [][]File {
	if len(files) == 0 {
		return nil
	}
	if chunkSize <= 0 {
		chunkSize = DefaultChunkSize
	}
	sorted := slices.Clone(files)
	slices.SortFunc(sorted, func(a, b File) int {
		if c := cmp.Compare(b.Size, a.Size); c != 0 {
			return c
		}
		return cmp.Compare(a.Path, b.Path)
	})
	var total int64
	for _, f := range sorted {
		total += f.Size
	}
	n := int((total + chunkSize - 1) / chunkSize)
	n = max(1, min(n, MaxShards, len(sorted)))
	shards := make([][]File, n)
	sizes := make([]int64, n)
	for _, f := range sorted {
		best := 0
		for i := 1; i < n; i++ {
			if sizes[i] < sizes[best] {
				best = i
			}
		}
		shards[best] = append(shards[best], f)
		sizes[best] += f.Size
	}
	return shards
}
