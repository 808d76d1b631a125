package migrate

import (
	"context"
	"fmt"
)

// RefVerification is the verification of one ref of a refs run (VerifyRefs).
type RefVerification struct {
	RefStep
	// Verification compares the destination ref with the source ref; nil for refs that are
	// not mirrored (refused, kept or deleted).
	Verification *Verification `json:"verification,omitempty"`
}

// VerifyRefs compares every ref a refs run (Options.Refs) mirrors with its destination ref, file
// by file, copying nothing: the default branch, each branch and each tag (a ref missing on the
// destination has every file missing). Refused and stale refs are listed without a verification.
func (m *Migrator) VerifyRefs(ctx context.Context) ([]RefVerification, error) {
	steps, run, err := m.steps(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]RefVerification, 0, len(steps))
	for _, st := range steps {
		rv := RefVerification{RefStep: st}
		switch st.Kind {
		case StepDefault, StepBranch, StepTag:
			o := run.refOptions(st, st.Dest.Name, false)
			plan, err := m.child(o).Plan(ctx)
			if err != nil {
				return out, fmt.Errorf("%s: %w", st.Source, err)
			}
			rev := ""
			if plan.DestExists && st.Dest.Commit != "" {
				rev = st.Dest.Name
			}
			if rv.Verification, err = VerifyDest(ctx, plan, m.dst, rev); err != nil {
				return out, fmt.Errorf("%s: %w", st.Source, err)
			}
		}
		out = append(out, rv)
	}
	return out, nil
}

// RefsPlanReport is the report of a refs dry run made from PlanRefs' answer: every ref with its
// plan summary, the default branch's also at the top.
func (m *Migrator) RefsPlanReport(plans []RefPlan) *Report {
	top := &Report{Source: m.from, Dest: m.to, SourceURL: m.src.WebURL(m.from), DestURL: m.dst.WebURL(m.to), RunID: m.cfg.runID}
	return plannedReport(top, plans)
}
