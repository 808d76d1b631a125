package migrate

import (
	"context"
	"errors"
	"fmt"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// do carries out one step and says what happened; the report is the single-revision run's,
// when there was one.
func (r *refsRun) do(ctx context.Context, st RefStep) (RefResult, *Report) {
	res := RefResult{RefStep: st}
	switch st.Kind {
	case StepRefused:
		res.Status = RefSkipped
		return res, nil
	case StepDelete:
		if err := r.writer.DeleteTag(ctx, r.m.to, st.Dest.Name); err != nil {
			return res.failed(fmt.Errorf("delete tag %s: %w", st.Dest.Name, err))
		}
		res.Status = StatusSucceeded
		return res, nil
	case StepDefault:
		return r.branch(ctx, st, res, "", r.tagged)
	case StepBranch:
		return r.hfBranch(ctx, st, res)
	case StepTag:
		if r.m.to.Hub == ModelScope {
			return r.msTag(ctx, st, res)
		}
		return r.hfTag(ctx, st, res)
	}
	return res.failed(fmt.Errorf("%w: unknown step %q", hubkit.ErrInvalid, st.Kind))
}

// branch runs the single-revision migration of st onto destBranch ("" = the default branch) and
// records which destination commit now holds the source commit's content.
func (r *refsRun) branch(ctx context.Context, st RefStep, res RefResult, destBranch string, exact bool) (RefResult, *Report) {
	rep, err := r.m.child(r.refOptions(st, destBranch, exact)).Run(ctx)
	res.fromReport(rep)
	if err != nil {
		return res.failed(err)
	}
	r.destHas = true
	head := res.DestCommit
	if head == "" {
		name := destBranch
		if name == "" {
			name = defaultBranch(r.m.to.Hub)
		}
		if head, err = r.m.dst.Resolve(ctx, r.m.to, name); err != nil {
			return res.failed(fmt.Errorf("resolve %s on the destination: %w", name, err))
		}
		res.DestCommit = head
	}
	r.migrated[st.Source.Commit] = head
	return res, rep
}

// hfBranch mirrors a branch to Hugging Face: created from the default branch when missing (so
// only the difference is committed, and files the source branch lacks are removed), then
// migrated incrementally.
func (r *refsRun) hfBranch(ctx context.Context, st RefStep, res RefResult) (RefResult, *Report) {
	created := false
	if st.Dest.Commit == "" {
		err := r.writer.CreateBranch(ctx, r.m.to, st.Dest.Name, defaultBranch(r.m.to.Hub))
		if err != nil && !errors.Is(err, hubkit.ErrConflict) {
			return res.failed(fmt.Errorf("create branch %s: %w", st.Dest.Name, err))
		}
		created = true
	}
	out, rep := r.branch(ctx, st, res, st.Dest.Name, created)
	if created && out.Status == StatusUpToDate {
		out.Status = StatusSucceeded // the branch itself is new
	}
	return out, rep
}

// holds reports whether the destination at rev holds exactly the content of the source commit
// of st (selection applied), with nothing to copy or delete.
func (r *refsRun) holds(ctx context.Context, st RefStep, rev string) (bool, *Plan, error) {
	p, err := r.m.child(r.refOptions(st, rev, true)).Plan(ctx)
	if err != nil {
		return false, nil, err
	}
	return p.Empty(), p, nil
}

// hfTag mirrors a tag to Hugging Face onto a commit holding exactly the tag's content: nothing
// when the destination tag already does; otherwise the head of a branch migrated from the same
// commit or of the default branch when it does, else a commit made on a short-lived branch
// started from the default branch. A destination tag with other content is moved.
func (r *refsRun) hfTag(ctx context.Context, st RefStep, res RefResult) (RefResult, *Report) {
	to := r.m.to
	if st.Dest.Commit != "" {
		same, p, err := r.holds(ctx, st, st.Dest.Name)
		if err != nil {
			return res.failed(err)
		}
		res.Plan = p.Summary()
		if same {
			res.Status, res.DestCommit = StatusUpToDate, st.Dest.Commit
			return res, nil
		}
	}
	target, rep, err := r.hfTagCommit(ctx, st, &res)
	if err != nil {
		return res.failed(err)
	}
	if st.Dest.Commit != "" {
		if err := r.writer.DeleteTag(ctx, to, st.Dest.Name); notFoundOK(err) != nil {
			return res.failed(fmt.Errorf("move tag %s: %w", st.Dest.Name, err))
		}
		res.Note = fmt.Sprintf("tag %s moved: its content on the source changed", st.Dest.Name)
	}
	if err := r.writer.CreateTag(ctx, to, st.Dest.Name, target); err != nil {
		return res.failed(fmt.Errorf("create tag %s: %w", st.Dest.Name, err))
	}
	res.Status, res.DestCommit = StatusSucceeded, target
	return res, rep
}

// hfTagCommit finds or makes the destination commit to tag for st.
func (r *refsRun) hfTagCommit(ctx context.Context, st RefStep, res *RefResult) (string, *Report, error) {
	var cands []string
	if c, ok := r.migrated[st.Source.Commit]; ok {
		cands = append(cands, c)
	}
	if r.destHas {
		head, err := r.m.dst.Resolve(ctx, r.m.to, defaultBranch(r.m.to.Hub))
		if notFoundOK(err) != nil {
			return "", nil, err
		}
		if head != "" {
			cands = append(cands, head)
		}
	}
	for _, c := range cands {
		same, p, err := r.holds(ctx, st, c)
		if err != nil {
			return "", nil, err
		}
		if same {
			res.Plan = p.Summary()
			return c, nil, nil
		}
	}
	tmp := "hf2ms-tag-" + shortName(st.Dest.Name)
	if err := r.writer.CreateBranch(ctx, r.m.to, tmp, defaultBranch(r.m.to.Hub)); err != nil && !errors.Is(err, hubkit.ErrConflict) {
		return "", nil, fmt.Errorf("create branch %s for tag %s: %w", tmp, st.Dest.Name, err)
	}
	// The tag keeps the commit; the branch only carried it.
	defer func() { _ = r.writer.DeleteBranch(context.WithoutCancel(ctx), r.m.to, tmp) }()
	out, rep := r.branch(ctx, st, *res, tmp, true)
	*res = out
	if out.Status == StatusFailed {
		if out.err != nil {
			return "", rep, out.err
		}
		return "", rep, errors.New(out.Error)
	}
	return out.DestCommit, rep, nil
}

// msTag mirrors a tag to ModelScope: its content committed to master (master then holds exactly
// the tag's content) and master tagged. A tag already there with the same content is left alone;
// one with other content fails, since ModelScope cannot move or delete a tag.
func (r *refsRun) msTag(ctx context.Context, st RefStep, res RefResult) (RefResult, *Report) {
	if st.Dest.Commit != "" {
		same, p, err := r.holds(ctx, st, st.Dest.Name)
		if err != nil {
			return res.failed(err)
		}
		res.Plan = p.Summary()
		if !same {
			return res.failed(fmt.Errorf("%w: tag %s on ModelScope differs from the source's (%d files to copy, %d to delete) "+
				"and ModelScope has no API to move or delete a tag: delete it on the website, then run again",
				hubkit.ErrConflict, st.Dest.Name, len(p.Copy), len(p.Delete)))
		}
		res.Status, res.DestCommit = StatusUpToDate, st.Dest.Commit
		return res, nil
	}
	out, rep := r.branch(ctx, st, res, "", true)
	if out.Status == StatusFailed {
		return out, rep
	}
	if out.Commits > 0 {
		r.tagged = true
	}
	master := defaultBranch(ModelScope)
	if err := r.writer.CreateTag(ctx, r.m.to, st.Dest.Name, master); err != nil {
		return out.failed(fmt.Errorf("create tag %s: %w", st.Dest.Name, err))
	}
	got, err := r.m.dst.Resolve(ctx, r.m.to, st.Dest.Name)
	if err != nil {
		return out.failed(fmt.Errorf("resolve the new tag %s: %w", st.Dest.Name, err))
	}
	if got != out.DestCommit {
		return out.failed(fmt.Errorf("%w: tag %s was made on %s, not on %s (master moved meanwhile?)", hubkit.ErrConflict, st.Dest.Name, got, out.DestCommit))
	}
	out.Status = StatusSucceeded
	return out, rep
}
