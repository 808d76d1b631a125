package migrate_test

import (
	"context"
	"io"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// openLog is a source Hub that records the ranges opened per path.
type openLog struct {
	migrate.Hub
	mu     sync.Mutex
	ranges map[string][][2]int64
}

func (o *openLog) Open(ctx context.Context, r migrate.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	o.mu.Lock()
	if o.ranges == nil {
		o.ranges = map[string][][2]int64{}
	}
	o.ranges[path] = append(o.ranges[path], [2]int64{off, n})
	o.mu.Unlock()
	return o.Hub.Open(ctx, r, rev, path, off, n)
}

// A destination that takes each file as one stream gets it from parallel ranged reads of the
// source (unless the job allows one connection), reassembled in order: the destination's
// SHA-256 check passes, and a cut range is retried by the engine's whole-blob retry.
func TestSingleStreamUploadReadsRangesInParallel(t *testing.T) {
	const size = 5*migrate.ParallelRangeSize + 12345
	for _, tc := range []struct {
		name       string
		conns      int
		fault      bool
		wantRanges int // opens of the big file with n == ParallelRangeSize (at least)
	}{
		{"parallel", 0, false, 5},
		{"one connection per file", 1, false, 0},
		{"a range cut mid-way", 4, true, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := memhub.New(migrate.ModelScope)
			ms.Seed(msRepo, true, memhub.FileSpec{Path: "big.safetensors", Blob: blob(size, 7)},
				memhub.FileSpec{Path: "small.safetensors", Blob: blob(migrate.ParallelRangeSize-1, 8)})
			if tc.fault {
				ms.AddFault(memhub.Fault{Op: "open", Path: "big.safetensors", After: 3 << 20, Times: 1})
			}
			src := &openLog{Hub: ms}
			dst := memhub.New(migrate.HuggingFace, memhub.WithPartSize(1<<40)) // one stream per blob
			rep, err := run(t, src, dst, migrate.WithOptions(migrate.Options{Connections: tc.conns}))
			require.NoError(t, err)
			require.Equal(t, migrate.StatusSucceeded, rep.Status)
			var ranged int
			for _, r := range src.ranges["big.safetensors"] {
				if r[1] == migrate.ParallelRangeSize {
					ranged++
				}
			}
			assert.GreaterOrEqual(t, ranged, tc.wantRanges)
			if tc.wantRanges == 0 {
				assert.Zero(t, ranged, "one connection: the file is read whole")
			}
			for _, r := range src.ranges["small.safetensors"] {
				assert.Equal(t, int64(0), r[0], "a file of one range is read whole")
			}
			assert.Equal(t, 2, dst.Stats().BlobUploads)
		})
	}
}
