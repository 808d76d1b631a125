package migrate

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/linaqruf/hf2ms/internal/rangeread"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Defaults of the connection options.
const (
	// DefaultConnections is the most ranged connections one file's single-stream upload reads
	// its source with.
	DefaultConnections = rangeread.DefaultConnections
	// DefaultHostConnections is the most connections to one source host of all the transfers of
	// a process together.
	DefaultHostConnections = 16
	// ParallelRangeSize is the bytes of one ranged read of a parallel read; files of at most
	// this size are read over one connection.
	ParallelRangeSize = rangeread.DefaultRangeSize
)

// hostBackoff is how long a source host's connection budget stays halved after it answered
// 429 or 503.
var hostBackoff = 30 * time.Second

// hostBudgets are the process's per-host connection budgets, keyed by source hub.
var hostBudgets rangeread.Budgets

// parallel is how a worker reads a file for a single-stream upload: over up to conns ranged
// connections, within its source host's budget.
type parallel struct {
	conns     int
	budget    *rangeread.Budget
	scheduled func() // called once a read has started all its ranges (nil: nothing)
}

// parallel returns the worker's parallel-read settings.
func (w *worker) parallel() parallel {
	o := w.job.Options
	b := hostBudgets.For(string(w.src.Name()), o.hostConnections())
	return parallel{conns: min(o.connections(), b.Size()), budget: b}
}

// wants reports whether a read of [off, off+n) of a file of size bytes is worth splitting: the
// whole file, more than one range, and more than one connection allowed.
func (p parallel) wants(size, off, n int64) bool {
	return p.conns > 1 && p.budget != nil && off == 0 && (n < 0 || n >= size) && size > ParallelRangeSize
}

// open reads the file from src with parallel ranged reads.
func (p parallel) open(ctx context.Context, src hubkit.Source, size int64) io.ReadCloser {
	opts := []rangeread.Option{rangeread.WithConnections(p.conns), rangeread.WithBudget(p.budget),
		rangeread.WithRangeSize(ParallelRangeSize)}
	if p.scheduled != nil {
		opts = append(opts, rangeread.WithScheduled(p.scheduled))
	}
	return rangeread.New(ctx, src, size, opts...)
}

// observe halves the source host's budget for a while when it answered 429 or a server error
// (503 most often): fewer connections, and so fewer requests, until it recovers.
func (p parallel) observe(err error) {
	if p.budget != nil && (errors.Is(err, hubkit.ErrRateLimited) || errors.Is(err, hubkit.ErrServer)) {
		p.budget.Backoff(hostBackoff)
	}
}

// smallReads is how many whole small files (regular files, read into memory) are read at once.
// Their time is round trips, not bytes (a Hugging Face read is two: resolve, then its
// redirect), so twice the host budget, and never fewer than two per file slot.
func (o Options) smallReads() int { return max(o.files()*2, 2*o.hostConnections()) }
