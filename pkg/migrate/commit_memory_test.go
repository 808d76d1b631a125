package migrate_test

import (
	"context"
	"fmt"
	"io"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// countingSrc counts the source reads of regular files.
type countingSrc struct {
	migrate.Hub
	opens atomic.Int64
}

func (c *countingSrc) Open(ctx context.Context, r migrate.Repo, rev, p string, off, n int64) (io.ReadCloser, error) {
	c.opens.Add(1)
	return c.Hub.Open(ctx, r, rev, p, off, n)
}

// checkingDst records, at each commit, how many regular files had been read so far.
type checkingDst struct {
	migrate.Hub
	src       *countingSrc
	committed int64
	maxAhead  int64
}

func (c *checkingDst) Commit(ctx context.Context, r migrate.Repo, branch, msg string, ops []hubkit.CommitOp) (string, error) {
	c.committed += int64(len(ops))
	c.maxAhead = max(c.maxAhead, c.src.opens.Load()-c.committed)
	return c.Hub.Commit(ctx, r, branch, msg, ops)
}

// Regular files are read one commit batch at a time, so memory holds at most one commit's
// content however many small files a repo has (20,000 small files once took 300 MiB).
func TestCommitReadsInlineFilesPerBatch(t *testing.T) {
	from := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/many"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/many-copy"}
	hub := memhub.New(migrate.ModelScope, memhub.WithLimits(migrate.Limits{MaxOps: 1000, MaxInlineFiles: 50, MaxInlineBytes: 1 << 20}))
	var files []memhub.FileSpec
	for i := range 600 {
		files = append(files, memhub.FileSpec{Path: fmt.Sprintf("data/%04d.txt", i), Data: []byte(fmt.Sprintf("row %d\n", i))})
	}
	hub.Seed(from, false, files...)
	src := &countingSrc{Hub: hub}
	dst := &checkingDst{Hub: hub, src: src}
	m, err := migrate.New(src, dst, from, to)
	require.NoError(t, err)
	rep, err := m.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 600, rep.FilesCopied)
	require.LessOrEqual(t, dst.maxAhead, int64(0), "a commit's files are read just before it, never ahead")
	require.Positive(t, src.opens.Load())
}
