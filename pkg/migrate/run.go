package migrate

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Jobs returns the jobs that carry out plan. A parallel plan gives one blob job per shard, then
// the commit job (which also verifies): run the blob jobs (in any order, side by side) and, only
// when all succeeded, the commit job. Otherwise it is a single PhaseAll job. The jobs carry plan
// itself for in-process workers; a worker elsewhere derives the same plan again from the pinned
// listing (the plan does not travel in the job's JSON).
func Jobs(plan *Plan, runID string, opts Options, ep Endpoints) []Job {
	base := Job{RunID: runID, Source: plan.Source, Dest: plan.Dest, SourceCommit: plan.SourceCommit,
		Shards: len(plan.Shards), Options: opts, Endpoints: ep, plan: plan}
	if !opts.Parallel {
		// Not split: one worker uploads every blob and commits (one container per repo on Modal,
		// and the plan is derived once, not once per phase).
		base.Phase = PhaseAll
		return []Job{base}
	}
	jobs := make([]Job, 0, len(plan.Shards)+1)
	for i := range plan.Shards {
		j := base
		j.Phase, j.Shard = PhaseBlobs, i+1
		jobs = append(jobs, j)
	}
	c := base
	c.Phase = PhaseCommit
	return append(jobs, c)
}

// serialEmitter makes emit safe to call from many goroutines, stamping each event's time.
func serialEmitter(emit func(Event)) func(Event) {
	var mu sync.Mutex
	return func(ev Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		if emit == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		emit(ev)
	}
}

// worker is one job's state.
type worker struct {
	job      Job
	src, dst Hub
	emit     func(Event)
	plan     *Plan
}

// RunJob is the worker: it takes the job's plan (derived again from the pinned source listing,
// the destination listing and the options when the job came from elsewhere), carries out its
// phase, emits events, and ends with a done event on success or an error event on failure (whose
// error it returns).
func RunJob(ctx context.Context, job Job, src, dst Hub, emit func(Event)) error {
	w := &worker{job: job, src: forJob(src, job.Options), dst: dst, emit: serialEmitter(emit)}
	err := w.run(ctx)
	if err != nil {
		w.emit(Event{Type: EventError, Shard: job.Shard, Error: err.Error()})
		return err
	}
	w.emit(Event{Type: EventDone, Shard: job.Shard})
	return nil
}

func (w *worker) run(ctx context.Context) error {
	if err := w.check(); err != nil {
		return err
	}
	j := w.job
	p, err := w.planFor(ctx)
	if err != nil {
		return err
	}
	w.plan = p
	switch j.Phase {
	case PhaseBlobs:
		if j.Shard < 1 || j.Shard > len(p.Shards) || len(p.Shards) != j.Shards {
			return fmt.Errorf("shard %d of %d: the plan now has %d shards (did the destination change since planning?): %w",
				j.Shard, j.Shards, len(p.Shards), hubkit.ErrConflict)
		}
		return w.blobs(ctx, p.Shards[j.Shard-1], j.Shard)
	case PhaseCommit:
		return w.commit(ctx)
	default: // PhaseAll
		for i, s := range p.Shards {
			if err := w.blobs(ctx, s, i+1); err != nil {
				return err
			}
		}
		return w.commit(ctx)
	}
}

// check refuses a job that cannot be run.
func (w *worker) check() error {
	j := w.job
	switch {
	case w.src == nil || w.dst == nil:
		return fmt.Errorf("job %s: %w: nil hub", j.Phase, hubkit.ErrInvalid)
	case j.SourceCommit == "":
		return fmt.Errorf("job: %w: no pinned source commit", hubkit.ErrInvalid)
	case j.Phase != PhaseBlobs && j.Phase != PhaseCommit && j.Phase != PhaseAll:
		return fmt.Errorf("job: %w: unknown phase %q", hubkit.ErrInvalid, j.Phase)
	case j.Source.Hub != w.src.Name() || j.Dest.Hub != w.dst.Name():
		return fmt.Errorf("job: %w: hubs %s->%s do not match %s->%s", hubkit.ErrInvalid, j.Source.Hub, j.Dest.Hub, w.src.Name(), w.dst.Name())
	}
	return nil
}

// planFor returns the job's plan: the orchestrator's when the job ran in its process, else
// derived again from the pinned listing.
func (w *worker) planFor(ctx context.Context) (*Plan, error) {
	j := w.job
	if j.plan != nil {
		return j.plan, nil
	}
	info, err := w.dst.Info(ctx, j.Dest)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", j.Dest, err)
	}
	return buildPlan(ctx, planInput{src: w.src, dst: w.dst, from: j.Source, to: j.Dest, commit: j.SourceCommit, destInfo: info, opts: j.Options})
}
