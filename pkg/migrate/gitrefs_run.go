package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// RefResult is what a refs run did with one ref (Report.Refs).
type RefResult struct {
	RefStep
	// Status is StatusSucceeded, StatusUpToDate, StatusPlanned, StatusFailed, or RefSkipped for a
	// refused or kept ref and RefNotRun for a ref after a failure.
	Status string `json:"status"`
	// DestCommit is the destination commit the ref points to after the run.
	DestCommit   string        `json:"dest_commit,omitempty"`
	Plan         *PlanSummary  `json:"plan,omitempty"`
	FilesCopied  int           `json:"files_copied"`
	BytesCopied  int64         `json:"bytes_copied"`
	FilesDeleted int           `json:"files_deleted"`
	Commits      int           `json:"commits"`
	Verification *Verification `json:"verification,omitempty"`
	Error        string        `json:"error,omitempty"`

	err error // the failure itself, kept for errors.Is
}

// Ref statuses besides the run statuses.
const (
	RefSkipped = "skipped" // refused by the destination, or a kept destination tag
	RefNotRun  = "not_run" // the default branch failed, so the ref was not tried
)

// RefPlan is one ref of a refs dry run: the step and the plan of its content (nil for refused
// and deleted refs). The plan of a ref that does not exist on the destination yet is made
// against the commit it will start from (the destination's default branch), and every plan
// against the destination as it is now, before the refs before it are written.
type RefPlan struct {
	RefStep
	Plan *Plan `json:"plan,omitempty"`
}

// refsRun is one refs run's state.
type refsRun struct {
	m        *Migrator
	lister   RefLister
	writer   RefWriter
	destHas  bool
	migrated map[string]string // source commit -> destination commit holding its content
	// tagged is set once a ModelScope tag step changed master, so the default branch's commit
	// must remove what the tags left behind.
	tagged bool
}

// steps lists both sides' refs and maps them (mapRefs).
func (m *Migrator) steps(ctx context.Context) ([]RefStep, *refsRun, error) {
	o := m.cfg.opts
	if o.Revision != "" {
		return nil, nil, fmt.Errorf("%w: --revision and --refs exclude each other (the refs run pins every ref itself)", hubkit.ErrInvalid)
	}
	lister, ok := m.src.(RefLister)
	if !ok {
		return nil, nil, fmt.Errorf("%w: %s cannot list branches and tags", ErrUnsupported, m.from.Hub)
	}
	dl, ok1 := m.dst.(RefLister)
	dw, ok2 := m.dst.(RefWriter)
	if !ok1 || !ok2 {
		return nil, nil, fmt.Errorf("%w: %s cannot write branches and tags", ErrUnsupported, m.to.Hub)
	}
	srcInfo, err := m.src.Info(ctx, m.from)
	if err != nil {
		return nil, nil, fmt.Errorf("source %s on %s: %w", m.from.ID, m.from.Hub, err)
	}
	src, err := lister.Refs(ctx, m.from)
	if err != nil {
		return nil, nil, fmt.Errorf("source %s: list refs: %w", m.from, err)
	}
	run := &refsRun{m: m, lister: dl, writer: dw, migrated: map[string]string{}}
	in := refInput{src: src, srcDefault: srcInfo.DefaultBranch, destHub: m.to.Hub, destDefault: defaultBranch(m.to.Hub),
		patterns: o.Refs, delete: o.Delete}
	if in.srcDefault == "" {
		in.srcDefault = defaultBranch(m.from.Hub)
	}
	dinfo, err := m.dst.Info(ctx, m.to)
	switch {
	case errors.Is(err, hubkit.ErrNotFound):
	case err != nil:
		return nil, nil, fmt.Errorf("destination %s on %s: %w", m.to.ID, m.to.Hub, err)
	default:
		run.destHas = true
		if dinfo.DefaultBranch != "" {
			in.destDefault = dinfo.DefaultBranch
		}
		if in.dest, err = dl.Refs(ctx, m.to); err != nil {
			return nil, nil, fmt.Errorf("destination %s: list refs: %w", m.to, err)
		}
	}
	steps := mapRefs(in)
	if !hasDefault(steps) {
		commit, err := m.src.Resolve(ctx, m.from, "")
		if err != nil {
			return nil, nil, fmt.Errorf("source %s: resolve the default branch: %w", m.from, err)
		}
		def := RefStep{Kind: StepDefault, Source: GitRef{Kind: RefBranch, Name: in.srcDefault, Commit: commit},
			Dest: GitRef{Kind: RefBranch, Name: in.destDefault}}
		steps = insertDefault(steps, def, m.to.Hub)
	}
	return steps, run, nil
}

func hasDefault(steps []RefStep) bool {
	for _, s := range steps {
		if s.Kind == StepDefault {
			return true
		}
	}
	return false
}

// insertDefault puts the default step where mapRefs would have: first, or after the tags on
// ModelScope.
func insertDefault(steps []RefStep, def RefStep, dest HubName) []RefStep {
	at := 0
	if dest == ModelScope {
		for at < len(steps) && steps[at].Kind == StepTag {
			at++
		}
	}
	return append(steps[:at:at], append([]RefStep{def}, steps[at:]...)...)
}

// child is a single-revision migrator for one ref, sharing m's hubs, executor and events.
func (m *Migrator) child(o Options) *Migrator {
	cfg := *m.cfg
	o.Refs = nil
	cfg.opts = o
	return &Migrator{src: m.src, dst: m.dst, from: m.from, to: m.to, cfg: &cfg}
}

// refOptions are the options of the single-revision run of step: pinned to the source commit,
// written to the destination ref (branch, or the tag itself when only its content is compared),
// deleting what the ref must not hold.
func (r *refsRun) refOptions(st RefStep, destBranch string, exact bool) Options {
	o := r.m.cfg.opts
	o.Revision, o.DestBranch = st.Source.Commit, destBranch
	o.Delete = o.Delete || exact
	if o.CommitMessage == "" {
		o.CommitMessage = fmt.Sprintf("Migrated %s from %s@%s", st.Source, r.m.from, st.Source.Commit)
	}
	return o
}

// PlanRefs is the dry run of a refs run (Options.Refs): every step with the plan of its content.
// It writes nothing.
func (m *Migrator) PlanRefs(ctx context.Context) ([]RefPlan, error) {
	return eachStep(ctx, m, func(st RefStep, run *refsRun) (RefPlan, error) {
		rp := RefPlan{RefStep: st}
		o, ok := run.planOptions(st)
		if !ok {
			return rp, nil
		}
		var err error
		if rp.Plan, err = m.child(o).Plan(ctx); err != nil {
			return rp, err
		}
		if st.Kind == StepTag && m.to.Hub == ModelScope && st.Dest.Commit == "" && !rp.Plan.Empty() {
			run.tagged = true
		}
		return rp, nil
	})
}

// eachStep calls fn for the steps of the refs run in order and collects what it returns; the
// first error ends it with the results before it, the error named by the step's source ref.
func eachStep[T any](ctx context.Context, m *Migrator, fn func(RefStep, *refsRun) (T, error)) ([]T, error) {
	steps, run, err := m.steps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(steps))
	for _, st := range steps {
		v, err := fn(st, run)
		if err != nil {
			return out, fmt.Errorf("%s: %w", st.Source, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// planOptions are the options a dry run plans step with; false for steps that move no content.
func (r *refsRun) planOptions(st RefStep) (Options, bool) {
	def := defaultBranch(r.m.to.Hub)
	switch st.Kind {
	case StepDefault:
		return r.refOptions(st, "", r.tagged), true
	case StepBranch:
		if st.Dest.Commit == "" {
			return r.refOptions(st, def, true), true
		}
		return r.refOptions(st, st.Dest.Name, false), true
	case StepTag:
		if st.Dest.Commit != "" {
			return r.refOptions(st, st.Dest.Name, true), true
		}
		return r.refOptions(st, def, true), true
	}
	return Options{}, false
}

// RunRefs mirrors the default branch and every branch and tag Options.Refs selects, in the order
// and onto the refs mapRefs decides, each as an incremental single-revision migration pinned to
// its commit (blobs the destination stores already, shared by several refs, upload once). The
// report is the default branch's, with every ref in Report.Refs; a run that finds nothing new
// makes no commit and creates no tag. A ref that fails fails the run but not the refs after it,
// except the default branch, without which no other ref runs.
func (m *Migrator) RunRefs(ctx context.Context) (*Report, error) {
	started := time.Now().UTC()
	top := &Report{Source: m.from, Dest: m.to, SourceURL: m.src.WebURL(m.from), DestURL: m.dst.WebURL(m.to),
		RunID: m.cfg.runID, Started: started}
	fail := func(err error) (*Report, error) {
		top.Status, top.Error, top.Finished = StatusFailed, err.Error(), time.Now().UTC()
		return top, err
	}
	if m.cfg.dryRun {
		plans, err := m.PlanRefs(ctx)
		if err != nil {
			return fail(err)
		}
		return plannedReport(top, plans), nil
	}
	steps, run, err := m.steps(ctx)
	if err != nil {
		return fail(err)
	}
	var errs []error
	stopped := false
	for _, st := range steps {
		if stopped {
			top.Refs = append(top.Refs, RefResult{RefStep: st, Status: RefNotRun})
			continue
		}
		m.notice(fmt.Sprintf("ref %s -> %s", st.Source, destLabel(st)))
		res, rep := run.do(ctx, st)
		if rep != nil && st.Kind == StepDefault {
			refs := top.Refs
			*top = *rep
			top.Refs = refs
		}
		if res.Note != "" {
			top.Notices = append(top.Notices, res.Note)
		}
		if res.Status == StatusFailed {
			cause := res.err
			if cause == nil {
				cause = errors.New(res.Error)
			}
			errs = append(errs, fmt.Errorf("%s: %w", st.Source, cause))
			// Branches and tags start from the default branch: without it nothing else runs.
			stopped = st.Kind == StepDefault
		}
		top.Refs = append(top.Refs, res)
	}
	top.Started, top.Finished = started, time.Now().UTC()
	top.Status = refsStatus(top.Refs)
	if err := errors.Join(errs...); err != nil {
		top.Error = err.Error()
		return top, err
	}
	return top, nil
}

// destLabel names where a step writes.
func destLabel(st RefStep) string {
	if st.Dest.Name == "" {
		return "(not mirrored)"
	}
	return st.Dest.Kind.label() + " " + st.Dest.Name
}

func (k RefKind) label() string {
	if k == "" {
		return "ref"
	}
	return string(k)
}

// notice emits a notice event to the run's listener.
func (m *Migrator) notice(msg string) {
	if m.cfg.events != nil {
		m.cfg.events(Event{Type: EventNotice, Time: time.Now().UTC(), Message: msg})
	}
}

// plannedReport is a dry run's report: every ref with its plan summary.
func plannedReport(top *Report, plans []RefPlan) *Report {
	top.Status, top.Finished = StatusPlanned, time.Now().UTC()
	if top.Started.IsZero() {
		top.Started = top.Finished
	}
	for _, p := range plans {
		res := RefResult{RefStep: p.RefStep, Status: StatusPlanned}
		if p.Kind == StepRefused {
			res.Status = RefSkipped
		}
		if p.Plan != nil {
			res.Plan = p.Plan.Summary()
			if p.Kind == StepDefault {
				top.Plan, top.SourceCommit = res.Plan, p.Plan.SourceCommit
			}
		}
		if p.Note != "" {
			top.Notices = append(top.Notices, p.Note)
		}
		top.Refs = append(top.Refs, res)
	}
	return top
}

// refsStatus is the run's status from its refs': failed if any failed, succeeded if any moved
// something, else up to date.
func refsStatus(refs []RefResult) string {
	status := StatusUpToDate
	for _, r := range refs {
		switch r.Status {
		case StatusFailed:
			return StatusFailed
		case StatusSucceeded:
			status = StatusSucceeded
		}
	}
	return status
}

// fromReport fills res from a single-revision run's report.
func (res *RefResult) fromReport(rep *Report) {
	if rep == nil {
		return
	}
	res.Plan, res.Verification = rep.Plan, rep.Verification
	res.FilesCopied, res.BytesCopied, res.FilesDeleted = rep.FilesCopied, rep.BytesCopied, rep.FilesDeleted
	if rep.DestCommit != "" {
		res.DestCommit = rep.DestCommit
		res.Commits++
	}
	res.Status = rep.Status
	if rep.Error != "" {
		res.Error = rep.Error
	}
}

// failed marks res failed with err.
func (res *RefResult) failed(err error) (RefResult, *Report) {
	res.Status, res.Error, res.err = StatusFailed, err.Error(), err
	return *res, nil
}

// notFoundOK is err, or nil when it only says the thing is not there.
func notFoundOK(err error) error {
	if errors.Is(err, hubkit.ErrNotFound) {
		return nil
	}
	return err
}

// shortName makes a tag name safe inside a branch name.
func shortName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == ':' {
			return '-'
		}
		return r
	}, s)
}
