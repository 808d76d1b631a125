package migrate

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"golang.org/x/sync/errgroup"
)

// BatchItem is one repository of a batch.
type BatchItem struct {
	Src, Dst Hub
	From, To Repo
}

// RunBatch migrates many repositories with bounded concurrency (WithBatchConcurrency). It first
// checks every item (source readable, destination writable): an authentication failure aborts the
// whole batch before any transfer. After that one repository's failure does not stop the others;
// repositories whose destination already matches finish "up_to_date". The options apply to every
// item; events carry the source repository in Event.Repo and are delivered serially. The error
// is non-nil when the batch was aborted or any repository failed; the report lists every
// repository in input order.
func RunBatch(ctx context.Context, items []BatchItem, opts ...Option) (*BatchReport, error) {
	cfg := newConfig(opts)
	br := &BatchReport{Started: time.Now().UTC(), Repos: make([]*Report, len(items))}
	var mu sync.Mutex
	user := cfg.events
	migrators := make([]*Migrator, len(items))
	failItem := func(i int, err error) {
		it := items[i]
		br.Repos[i] = &Report{Status: StatusFailed, Source: it.From, Dest: it.To, Error: err.Error(),
			Started: time.Now().UTC(), Finished: time.Now().UTC()}
	}
	for i, it := range items {
		repo := it.From.String()
		o := append(append([]Option(nil), opts...), WithEvents(func(ev Event) {
			if user == nil {
				return
			}
			ev.Repo = repo
			mu.Lock()
			defer mu.Unlock()
			user(ev)
		}), WithRunID(fmt.Sprintf("%s-%d", cfg.runID, i+1)))
		m, err := New(it.Src, it.Dst, it.From, it.To, o...)
		if err != nil {
			failItem(i, err)
			continue
		}
		migrators[i] = m
	}

	// Check phase: all items, before any transfer.
	checkErrs := make([]error, len(items))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.batchConcurrency)
	for i, m := range migrators {
		if m == nil {
			continue
		}
		g.Go(func() error {
			if _, err := m.src.Info(gctx, m.from); err != nil {
				checkErrs[i] = fmt.Errorf("source %s on %s: %w", m.from.ID, m.from.Hub, err)
			} else if !cfg.dryRun {
				if err := m.dst.CheckWrite(gctx, m.to); err != nil {
					checkErrs[i] = fmt.Errorf("destination %s on %s: cannot write: %w", m.to.ID, m.to.Hub, err)
				}
			}
			if errors.Is(checkErrs[i], hubkit.ErrUnauthorized) {
				return checkErrs[i]
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		br.Finished = time.Now().UTC()
		for i := range items {
			if br.Repos[i] == nil {
				failItem(i, fmt.Errorf("batch aborted: %w", err))
			}
		}
		return br, fmt.Errorf("batch aborted before any transfer: %w", err)
	}

	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(cfg.batchConcurrency)
	for i, m := range migrators {
		if m == nil {
			continue
		}
		if checkErrs[i] != nil {
			failItem(i, checkErrs[i])
			continue
		}
		g.Go(func() error {
			rep, err := m.Run(gctx)
			if rep == nil {
				failItem(i, err)
				return nil
			}
			br.Repos[i] = rep
			return nil
		})
	}
	_ = g.Wait()
	br.Finished = time.Now().UTC()
	var failed int
	for _, r := range br.Repos {
		if r.Status == StatusFailed {
			failed++
		}
	}
	if failed > 0 {
		return br, fmt.Errorf("%d of %d repositories failed", failed, len(items))
	}
	return br, ctx.Err()
}

// Counts returns how many repositories succeeded, were up to date, and failed (planned and
// detached ones count as succeeded).
func (b *BatchReport) Counts() (succeeded, upToDate, failed int) {
	for _, r := range b.Repos {
		switch r.Status {
		case StatusUpToDate:
			upToDate++
		case StatusFailed:
			failed++
		default:
			succeeded++
		}
	}
	return
}
