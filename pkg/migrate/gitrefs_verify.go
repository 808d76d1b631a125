package migrate

import (
	"context"
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
	return eachStep(ctx, m, func(st RefStep, run *refsRun) (RefVerification, error) {
		rv := RefVerification{RefStep: st}
		if st.Kind != StepDefault && st.Kind != StepBranch && st.Kind != StepTag {
			return rv, nil // refused, kept or deleted: nothing to compare
		}
		plan, err := m.child(run.refOptions(st, st.Dest.Name, false)).Plan(ctx)
		if err != nil {
			return rv, err
		}
		rev := ""
		if plan.DestExists && st.Dest.Commit != "" {
			rev = st.Dest.Name
		}
		rv.Verification, err = VerifyDest(ctx, plan, m.dst, rev)
		return rv, err
	})
}

// RefsPlanReport is the report of a refs dry run made from PlanRefs' answer: every ref with its
// plan summary, the default branch's also at the top.
func (m *Migrator) RefsPlanReport(plans []RefPlan) *Report {
	top := &Report{Source: m.from, Dest: m.to, SourceURL: m.src.WebURL(m.from), DestURL: m.dst.WebURL(m.to), RunID: m.cfg.runID}
	return plannedReport(top, plans)
}
