package app

import (
	"context"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// runRefs carries out a refs request (Options.Refs): the plan of every ref for a dry run, else
// the refs run. A refs run cannot be detached: each ref's commit starts from the one before.
func (s *Service) runRefs(ctx context.Context, out *Outcome, m *migrate.Migrator, req Request) (*Outcome, error) {
	res := out.Resolved
	if req.Detach {
		return out, Usagef("detach cannot mirror refs (each ref's commit starts from the one before); run without it")
	}
	if req.DryRun {
		plans, err := m.PlanRefs(ctx)
		if err != nil {
			return out, err
		}
		out.RefPlans = plans
		out.Report = m.RefsPlanReport(plans)
		out.Report.Notices = append(append([]string(nil), res.Notices...), out.Report.Notices...)
		for _, p := range plans {
			if p.Kind == migrate.StepDefault {
				out.Plan = p.Plan
			}
		}
		return out, nil
	}
	rep, err := m.Run(ctx)
	if rep != nil {
		rep.Notices = append(append([]string(nil), res.Notices...), rep.Notices...)
	}
	out.Report = rep
	return out, err
}

// VerifyRefs compares every ref a refs run with opts.Refs mirrors with its destination ref,
// copying nothing: what `hf2ms verify --refs` prints.
func VerifyRefs(ctx context.Context, r *Resolved, opts migrate.Options) ([]migrate.RefVerification, error) {
	m, err := migrate.New(r.Src, r.Dst, r.From, r.To, migrate.WithOptions(opts))
	if err != nil {
		return nil, err
	}
	return m.VerifyRefs(ctx)
}
