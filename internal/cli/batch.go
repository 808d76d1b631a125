package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// BatchPlan is a batch after resolving every line: the items to run, and a failed report for
// each line that could not be resolved (nil where the line resolved).
type BatchPlan struct {
	Items  []migrate.BatchItem
	Failed []*migrate.Report // one slot per line
}

// ResolveBatch resolves every line (SOURCE and an optional DEST). A line whose repo cannot be
// found (or detected) fails on its own and the others go on; an input error or an authentication
// failure aborts the whole batch, before anything transfers.
func ResolveBatch(ctx context.Context, env *Env, lines [][2]string, to, repoType string) (*BatchPlan, error) {
	bp := &BatchPlan{Failed: make([]*migrate.Report, len(lines))}
	for i, l := range lines {
		r, err := Resolve(ctx, env, l[0], to, l[1], repoType)
		switch {
		case err == nil:
			bp.Items = append(bp.Items, migrate.BatchItem{Src: r.Src, Dst: r.Dst, From: r.From, To: r.To})
		case IsUsage(err), errors.Is(err, hubkit.ErrUnauthorized):
			return nil, fmt.Errorf("%s: %w", l[0], err)
		default:
			rep := &migrate.Report{Status: migrate.StatusFailed, Error: err.Error(),
				Started: time.Now().UTC(), Finished: time.Now().UTC()}
			if ref, perr := migrate.ParseRef(l[0]); perr == nil {
				rep.Source = migrate.Repo{Hub: ref.Hub, Type: ref.Type, ID: ref.ID}
			}
			bp.Failed[i] = rep
		}
	}
	return bp, nil
}

// Merge puts the lines that failed to resolve back among the batch's reports, in input order.
func (bp *BatchPlan) Merge(br *migrate.BatchReport) *migrate.BatchReport {
	if br == nil {
		br = &migrate.BatchReport{Started: time.Now().UTC(), Finished: time.Now().UTC()}
	}
	out := make([]*migrate.Report, 0, len(bp.Failed))
	k := 0
	for _, f := range bp.Failed {
		if f != nil {
			out = append(out, f)
			continue
		}
		if k < len(br.Repos) {
			out = append(out, br.Repos[k])
			k++
		}
	}
	br.Repos = append(out, br.Repos[k:]...)
	return br
}

// AnyFailed reports whether a line failed before running.
func (bp *BatchPlan) AnyFailed() bool {
	for _, f := range bp.Failed {
		if f != nil {
			return true
		}
	}
	return false
}
