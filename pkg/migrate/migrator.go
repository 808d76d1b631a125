package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"golang.org/x/sync/errgroup"
)

// Migrator migrates one repository. Make one with New; Plan and Run may be called repeatedly.
type Migrator struct {
	src, dst Hub
	from, to Repo
	cfg      *config
}

// New prepares the migration of from (on src) to to (on dst). It checks the refs and that the
// migration is possible: a hubkit.Space cannot go to ModelScope (which has no API for Studios) unless the
// destination type is forced to model.
func New(src, dst Hub, from, to Repo, opts ...Option) (*Migrator, error) {
	if src == nil || dst == nil {
		return nil, fmt.Errorf("migrate: %w: nil hub", hubkit.ErrInvalid)
	}
	if from.Hub == "" {
		from.Hub = src.Name()
	}
	if to.Hub == "" {
		to.Hub = dst.Name()
	}
	if from.Type == "" {
		from.Type = hubkit.Model
	}
	if to.Type == "" {
		to.Type = from.Type
	}
	if from.Hub != src.Name() || to.Hub != dst.Name() {
		return nil, fmt.Errorf("migrate: %w: %s -> %s given hubs %s -> %s", ErrInvalidRef, from, to, src.Name(), dst.Name())
	}
	for _, r := range []Repo{from, to} {
		if err := checkRepoID(r); err != nil {
			return nil, err
		}
	}
	switch {
	case from.Type == hubkit.Space && to.Hub == ModelScope && to.Type == hubkit.Space:
		return nil, fmt.Errorf("%w: %s is a hubkit.Space and ModelScope has no API for Studios; "+
			"use --repo-type model to copy its files into a ModelScope model repository instead", ErrUnsupported, from)
	case to.Type == hubkit.Space && to.Hub == ModelScope:
		return nil, fmt.Errorf("%w: ModelScope has no API for Studios (%s)", ErrUnsupported, to)
	case from.Type != to.Type && !(from.Type == hubkit.Space && to.Type == hubkit.Model):
		return nil, fmt.Errorf("%w: cannot migrate a %s into a %s", ErrUnsupported, from.Type, to.Type)
	}
	if from == to {
		return nil, fmt.Errorf("%w: source and destination are the same repository %s", ErrUnsupported, from)
	}
	m := &Migrator{src: src, dst: dst, from: from, to: to, cfg: newConfig(opts)}
	m.src = forJob(m.src, m.cfg.opts)
	if _, err := newMatcher(m.cfg.opts.Include, m.cfg.opts.Exclude); err != nil {
		return nil, err
	}
	if m.cfg.executor == nil {
		m.cfg.executor = InProcess{Src: src, Dst: dst}
	}
	return m, nil
}

// checkRepoID checks that r.ID is "namespace/name" with safe characters.
func checkRepoID(r Repo) error {
	ns, name, ok := strings.Cut(r.ID, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") ||
		strings.ContainsAny(r.ID, "\\ \t\r\n\x00?#%") || ns == ".." || name == ".." || ns == "." || name == "." {
		return fmt.Errorf("%w: %q is not namespace/name", ErrInvalidRef, r.ID)
	}
	switch r.Type {
	case hubkit.Model, hubkit.Dataset, hubkit.Space:
	default:
		return fmt.Errorf("%w: unknown repo type %q", ErrInvalidRef, r.Type)
	}
	return nil
}

// Source and Dest return the repositories of the migration.
func (m *Migrator) Source() Repo { return m.from }

// Dest returns the destination repository.
func (m *Migrator) Dest() Repo { return m.to }

// Plan pins the source revision, lists both sides and decides per file. It writes nothing.
func (m *Migrator) Plan(ctx context.Context) (*Plan, error) {
	srcInfo, err := m.src.Info(ctx, m.from)
	if err != nil {
		return nil, fmt.Errorf("source %s on %s: %w", m.from.ID, m.from.Hub, err)
	}
	commit, err := m.src.Resolve(ctx, m.from, m.cfg.opts.Revision)
	if err != nil {
		rev := m.cfg.opts.Revision
		if rev == "" {
			rev = "default branch"
		}
		return nil, fmt.Errorf("source %s: resolve %s: %w", m.from, rev, err)
	}
	dstInfo, err := m.dst.Info(ctx, m.to)
	switch {
	case errors.Is(err, hubkit.ErrNotFound):
		dstInfo = nil
	case err != nil:
		return nil, fmt.Errorf("destination %s on %s: %w", m.to.ID, m.to.Hub, err)
	}
	p, err := buildPlan(ctx, planInput{src: m.src, dst: m.dst, from: m.from, to: m.to, commit: commit,
		srcPrivate: srcInfo.Private, destInfo: dstInfo, opts: m.cfg.opts})
	if p != nil {
		p.Notices = append(p.Notices, hubNotices(m.src, m.from)...) // e.g. the git fallback (Noticer)
	}
	return p, err
}

// Run migrates: plan, check and create the destination, upload the blobs (shard jobs on the
// executor), commit and verify. With Options.Refs it is RunRefs. The error is non-nil (and the report's status "failed") on any
// failure, verification mismatches included (matching ErrVerify).
func (m *Migrator) Run(ctx context.Context) (*Report, error) {
	if len(m.cfg.opts.Refs) > 0 {
		return m.RunRefs(ctx) // every selected ref, each through this path
	}
	rep := &Report{Source: m.from, Dest: m.to, SourceURL: m.src.WebURL(m.from), DestURL: m.dst.WebURL(m.to),
		RunID: m.cfg.runID, Started: time.Now().UTC()}
	col := &collector{rep: rep}
	user := m.cfg.events
	emit := serialEmitter(func(ev Event) {
		col.handle(ev)
		if user != nil {
			user(ev)
		}
	})
	finish := func(status string, err error) (*Report, error) {
		rep.Status = status
		rep.Finished = time.Now().UTC()
		if err != nil {
			rep.Status = StatusFailed
			if n := col.committedOps(); n > 0 && n < rep.FilesToCommit && status == StatusFailed {
				// Some commits landed: the destination is usable (layout orders the commits so)
				// and a re-run moves only the rest.
				rep.Status = StatusPartial
				rep.FilesCommitted = n
				err = fmt.Errorf("%w: %d of %d files committed to %s (re-run to finish): %w", ErrPartial, n, rep.FilesToCommit, m.to, err)
			}
			rep.Error = err.Error()
			emit(Event{Type: EventError, Error: err.Error()})
		}
		done := *rep
		emit(Event{Type: EventDone, Report: &done})
		return rep, err
	}

	plan, err := m.Plan(ctx)
	if err != nil {
		return finish(StatusFailed, err)
	}
	rep.SourceCommit = plan.SourceCommit
	rep.Plan = plan.Summary()
	rep.FilesToCommit = len(plan.Copy) + len(plan.Delete)
	emit(Event{Type: EventPlan, Plan: rep.Plan})
	for _, n := range plan.Notices {
		emit(Event{Type: EventNotice, Message: n})
	}
	for _, f := range plan.Skip {
		emit(Event{Type: EventFileDone, Path: f.Path, Size: f.Size, Action: ActionSkipped})
	}
	if m.cfg.dryRun {
		return finish(StatusPlanned, nil)
	}
	if err := m.prepareDest(ctx, plan, emit); err != nil {
		return finish(StatusFailed, err)
	}
	if plan.Empty() {
		return finish(StatusUpToDate, nil)
	}
	jobs := Jobs(plan, m.cfg.runID, m.cfg.opts, m.cfg.endpoints)
	// Jobs' own done and error events end a job, not the run: the executor's result says the
	// same, and the run ends with exactly one done event of its own.
	jobEmit := func(ev Event) {
		if ev.Type != EventDone && ev.Type != EventError {
			emit(ev)
		}
	}
	if err := m.runJobs(ctx, jobs, jobEmit); err != nil {
		return finish(StatusFailed, err)
	}
	if !col.verified() {
		return finish(StatusFailed, fmt.Errorf("%w: the commit step reported no verification", ErrVerify))
	}
	rep.FilesCommitted = col.committedOps()
	return finish(StatusSucceeded, nil)
}

// runJobs runs the blob jobs (WithWorkers at once) and, when all succeeded, the commit job.
func (m *Migrator) runJobs(ctx context.Context, jobs []Job, emit func(Event)) error {
	blobJobs, commitJob := jobs[:len(jobs)-1], jobs[len(jobs)-1]
	var mu sync.Mutex
	var errs []error
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.workers)
	for _, j := range blobJobs {
		g.Go(func() error {
			if err := m.cfg.executor.Run(gctx, j, emit); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("shard %d/%d: %w", j.Shard, j.Shards, err))
				mu.Unlock()
			}
			return nil
		})
	}
	_ = g.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(errs) > 0 {
		return fmt.Errorf("blob upload failed, nothing committed (re-run to resume): %w", errors.Join(errs...))
	}
	if err := m.cfg.executor.Run(ctx, commitJob, emit); err != nil {
		if commitJob.Phase == PhaseAll { // blobs and commit in one job: do not blame the commit
			return fmt.Errorf("migration failed (re-run to resume: blobs already stored are not uploaded again): %w", err)
		}
		return fmt.Errorf("commit step: %w", err)
	}
	return nil
}

// PrepareDest checks and, when it does not exist, creates the destination of plan, as Run does
// before any byte moves: what a caller that launches the plan's jobs itself (a detached run)
// must do first, since workers only write to an existing repository.
// Its warnings (a visibility the hub did not apply) go to the WithEvents sink.
func (m *Migrator) PrepareDest(ctx context.Context, plan *Plan) error {
	return m.prepareDest(ctx, plan, func(ev Event) {
		if m.cfg.events != nil {
			m.cfg.events(ev)
		}
	})
}

// prepareDest checks the destination before any byte moves: write access to the namespace, then
// creation (visibility: WithPrivate, else the source's) or, when asked, a visibility change. It
// reads the visibility back and warns when the hub did not apply it.
func (m *Migrator) prepareDest(ctx context.Context, plan *Plan, emit func(Event)) error {
	hub := m.to.Hub.String()
	if err := m.dst.CheckWrite(ctx, m.to); err != nil {
		if refusedAccess(err) {
			return fmt.Errorf("destination %s: cannot write to namespace %q on %s (check the token's write permission and that the namespace exists): %w",
				m.to, strings.SplitN(m.to.ID, "/", 2)[0], hub, err)
		}
		return fmt.Errorf("destination %s: could not check write access (%s answered an error; try again later): %w", m.to, hub, err)
	}
	want := plan.DestPrivate
	if !plan.DestExists {
		if err := m.create(ctx, want); err != nil {
			return err
		}
	} else if p := m.cfg.opts.Private; p != nil {
		want = *p
		info, err := m.dst.Info(ctx, m.to)
		if err != nil {
			return fmt.Errorf("destination %s: %w", m.to, err)
		}
		if info.Private == want {
			return nil
		}
		if err := m.dst.SetPrivate(ctx, m.to, want); err != nil {
			return fmt.Errorf("destination %s: set visibility: %w", m.to, err)
		}
	} else {
		return nil
	}
	info, err := m.dst.Info(ctx, m.to)
	if err == nil && info.Private != want {
		emit(Event{Type: EventWarning, Message: fmt.Sprintf("%s was asked to be %s but %s reports it %s; change it on the hub's settings page",
			m.to, visibilityWord(want), hub, visibilityWord(info.Private))})
	}
	return nil
}

// create creates the destination. A create that fails with a server error or no answer may still
// have happened: the hub is asked whether the repo exists before the run gives up.
func (m *Migrator) create(ctx context.Context, private bool) error {
	err := m.dst.Create(ctx, m.to, private)
	if err == nil || errors.Is(err, hubkit.ErrConflict) {
		return nil
	}
	if mayHaveLanded(err) {
		if _, ierr := m.dst.Info(ctx, m.to); ierr == nil {
			return nil
		}
	}
	return fmt.Errorf("destination %s: create on %s: %w", m.to, m.to.Hub, err)
}

// refusedAccess reports whether err is the hub refusing the caller (not an outage).
func refusedAccess(err error) bool {
	return errors.Is(err, hubkit.ErrUnauthorized) || errors.Is(err, hubkit.ErrForbidden) || errors.Is(err, hubkit.ErrNotFound)
}

func visibilityWord(private bool) string {
	if private {
		return "private"
	}
	return "public"
}

// collector aggregates events into a Report.
type collector struct {
	mu     sync.Mutex
	rep    *Report
	verify bool
	ops    int // operations committed
}

func (c *collector) handle(ev Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rep
	switch ev.Type {
	case EventFileDone:
		r.Files = append(r.Files, FileResult{Path: ev.Path, Size: ev.Size, Action: ev.Action, Error: ev.Error, Transfer: ev.Transfer})
		r.BytesDeduplicated += ev.Deduplicated
		switch ev.Action {
		case ActionCopied:
			r.FilesCopied++
			r.BytesCopied += ev.Size
		case ActionStored:
			r.FilesCopied++
		case ActionSkipped:
			r.FilesSkipped++
		case ActionDeleted:
			r.FilesDeleted++
		case ActionFailed:
			r.FilesFailed++
		}
	case EventCommit:
		r.DestCommit = ev.Commit
		c.ops += int(ev.Size)
	case EventVerify:
		r.Verification = ev.Verify
		c.verify = true
	case EventNotice:
		r.Notices = append(r.Notices, ev.Message)
	case EventWarning:
		r.Warnings = append(r.Warnings, ev.Message)
	}
}

// committedOps is how many operations the commits seen so far carried.
func (c *collector) committedOps() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops
}

func (c *collector) verified() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.verify
}
