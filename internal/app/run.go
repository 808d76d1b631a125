package app

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// Executors.
const (
	ExecLocal      = "local"      // in this process
	ExecSubprocess = "subprocess" // `hf2ms worker` processes on this machine
	ExecModal      = "modal"      // Modal sandboxes
)

// ExecSpec says where workers run.
type ExecSpec struct {
	// Kind is ExecLocal (default), ExecSubprocess or ExecModal.
	Kind string
	// Workers is how many shard jobs (or repos) run at once (0: the executor's default).
	Workers int
	// ModalImage and ModalSecret override the worker image and name a Modal secret holding
	// the hub tokens.
	ModalImage, ModalSecret string
}

// Validate checks the spec against the rest of a request.
func (e ExecSpec) Validate(detach bool) error {
	switch e.Kind {
	case "", ExecLocal, ExecSubprocess, ExecModal:
	default:
		return Usagef("executor %q: want local, subprocess or modal", e.Kind)
	}
	if e.Workers < 0 || e.Workers > migrate.MaxShards {
		return Usagef("workers must be between 1 and %d", migrate.MaxShards)
	}
	if detach && e.Kind != ExecModal {
		return Usagef("detach needs the modal executor (a local run cannot outlive this process)")
	}
	return nil
}

// WorkerEnv is the environment handed to subprocess workers: what they need to reach the hubs,
// taken from this program's configuration (including .env), and nothing else.
func (s *Service) WorkerEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
		EnvHFToken, EnvHFEndpoint, EnvMSToken, EnvMSDomain, EnvMSEndpoint} {
		if v := s.Env.Get(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Modal connects to Modal with the environment's credentials, the worker image of this version
// (or image) and, when secret is set, a named secret for the workers' tokens.
func (s *Service) Modal(ctx context.Context, image, secret string, extra ...modal.Option) (*modal.Executor, error) {
	if err := modal.CheckCredentials(s.Env.Getenv); err != nil {
		return nil, err
	}
	opts := []modal.Option{modal.WithGetenv(s.Env.Getenv)}
	if version.Version != "dev" {
		// Workers run exactly this version's code: the image released with it.
		opts = append(opts, modal.WithVersion(version.Version))
	}
	if image != "" {
		opts = append(opts, modal.WithImage(image))
	}
	if secret != "" {
		opts = append(opts, modal.WithSecretName(secret))
	}
	return modal.New(ctx, append(opts, extra...)...)
}

// Executor returns the executor spec selects (nil = the engine's in-process default) and a
// function releasing it.
func (s *Service) Executor(ctx context.Context, spec ExecSpec) (migrate.Executor, func(), error) {
	switch spec.Kind {
	case "", ExecLocal:
		return nil, func() {}, nil
	case ExecSubprocess:
		exe := s.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, nil, fmt.Errorf("finding the hf2ms binary for subprocess workers: %w", err)
			}
		}
		return worker.Subprocess{Command: []string{exe, "worker"}, Env: s.WorkerEnv()}, func() {}, nil
	case ExecModal:
		var extra []modal.Option
		if spec.Workers > 0 {
			extra = append(extra, modal.WithConcurrency(spec.Workers))
		}
		e, err := s.Modal(ctx, spec.ModalImage, spec.ModalSecret, extra...)
		if err != nil {
			return nil, nil, err
		}
		return e, func() { _ = e.Close() }, nil
	}
	return nil, nil, Usagef("executor %q: want local, subprocess or modal", spec.Kind)
}

// engineOptions are the engine's options of a run: what it does, where its workers run (nil
// exec: the engine's in-process default), and who hears its events.
func (s *Service) engineOptions(o migrate.Options, dryRun bool, exec migrate.Executor, events func(migrate.Event)) []migrate.Option {
	opts := []migrate.Option{migrate.WithOptions(o), migrate.WithDryRun(dryRun),
		migrate.WithEndpoints(s.Env.Endpoints()), migrate.WithEvents(events)}
	if exec != nil {
		opts = append(opts, migrate.WithExecutor(exec))
	}
	return opts
}

// Request is one migration to run.
type Request struct {
	Target
	// Options are what the migration does.
	Options migrate.Options
	// DryRun stops after the plan; Detach starts the workers on Modal and returns.
	DryRun, Detach bool
	// Exec says where workers run.
	Exec ExecSpec
	// Events receives the run's events (progress display).
	Events func(migrate.Event)
}

// Outcome is what Run did. Report is set whenever the run got past resolving the repositories;
// Plan is set for dry runs and detached runs.
type Outcome struct {
	Resolved *Resolved
	Plan     *migrate.Plan
	Report   *migrate.Report
	// RefPlans is a refs dry run's plan of every ref (Options.Refs).
	RefPlans []migrate.RefPlan
	// Jobs is how many containers a detached run started.
	Jobs int
}

// Run carries out req: a dry run (the plan), a detached run on Modal (plan, then start every
// worker and return its run id), or a migration. The error is non-nil when the migration failed,
// including a destination that did not verify (migrate.ErrVerify).
func (s *Service) Run(ctx context.Context, req Request) (*Outcome, error) {
	if err := req.Exec.Validate(req.Detach); err != nil {
		return nil, err
	}
	res, err := s.Resolve(ctx, req.Target)
	if err != nil {
		return nil, err
	}
	out := &Outcome{Resolved: res}
	exec, release, err := s.Executor(ctx, req.Exec)
	if err != nil {
		return out, err
	}
	defer release()
	opts := s.engineOptions(req.Options, req.DryRun, exec, req.Events)
	if req.Exec.Workers > 0 {
		opts = append(opts, migrate.WithWorkers(req.Exec.Workers))
	}
	m, err := migrate.New(res.Src, res.Dst, res.From, res.To, opts...)
	if err != nil {
		return out, err
	}
	if len(req.Options.Refs) > 0 {
		return s.runRefs(ctx, out, m, req)
	}
	if req.DryRun || req.Detach {
		return s.plan(ctx, out, m, req, exec)
	}
	rep, err := m.Run(ctx)
	if rep != nil {
		rep.Notices = append(append([]string(nil), res.Notices...), rep.Notices...)
	}
	out.Report = rep
	return out, err
}

// plan makes a dry run's report, or starts a detached run's workers on Modal.
func (s *Service) plan(ctx context.Context, out *Outcome, m *migrate.Migrator, req Request, exec migrate.Executor) (*Outcome, error) {
	res := out.Resolved
	plan, err := m.Plan(ctx)
	if err != nil {
		return out, err
	}
	out.Plan = plan
	out.Report = &migrate.Report{Status: migrate.StatusPlanned, Source: res.From, Dest: res.To,
		SourceURL: res.Src.WebURL(res.From), DestURL: res.Dst.WebURL(res.To),
		SourceCommit: plan.SourceCommit, Plan: plan.Summary(), Notices: res.Notices, Started: time.Now().UTC()}
	if !req.Detach {
		return out, nil
	}
	mexec, ok := exec.(*modal.Executor)
	if !ok {
		return out, Usagef("detach needs the modal executor")
	}
	if err := m.PrepareDest(ctx, plan); err != nil {
		return out, err
	}
	runID := NewRunID()
	jobs := migrate.Jobs(plan, runID, req.Options, s.Env.Endpoints())
	out.Report.Status, out.Report.RunID, out.Jobs = migrate.StatusDetached, runID, len(jobs)
	if err := mexec.Launch(ctx, runID, jobs); err != nil {
		return out, fmt.Errorf("starting run %s on Modal: %w", runID, err)
	}
	return out, nil
}

// Verify compares the resolved destination with the source (opts select the revision and the
// paths), copying nothing: what `hf2ms verify` prints.
func Verify(ctx context.Context, r *Resolved, opts migrate.Options) (*migrate.Verification, error) {
	m, err := migrate.New(r.Src, r.Dst, r.From, r.To, migrate.WithOptions(opts))
	if err != nil {
		return nil, err
	}
	plan, err := m.Plan(ctx)
	if err != nil {
		return nil, err
	}
	rev := ""
	if plan.DestExists {
		rev = plan.DestBranch
	}
	return migrate.VerifyDest(ctx, plan, r.Dst, rev)
}

// BatchRequest is many migrations run together.
type BatchRequest struct {
	Lines        []BatchLine
	To, RepoType string
	Options      migrate.Options
	DryRun       bool
	Exec         ExecSpec
	Concurrency  int
	Events       func(migrate.Event)
	OnResolved   func(*BatchPlan) // called once the lines are resolved, before any transfer
}

// RunBatch resolves every line and migrates the batch (one worker, one container on Modal, per
// repo). The report lists every line in input order, lines that failed to resolve included; it
// is nil only when the batch was refused before it started (bad input, a rejected token).
func (s *Service) RunBatch(ctx context.Context, req BatchRequest) (*migrate.BatchReport, error) {
	if err := req.Exec.Validate(false); err != nil {
		return nil, err
	}
	bp, err := s.ResolveBatch(ctx, req.Lines, req.To, req.RepoType)
	if err != nil {
		return nil, err
	}
	if req.OnResolved != nil {
		req.OnResolved(bp)
	}
	exec, release, err := s.Executor(ctx, req.Exec)
	if err != nil {
		return nil, err
	}
	defer release()
	opts := s.engineOptions(req.Options, req.DryRun, exec, req.Events)
	if req.Concurrency > 0 {
		opts = append(opts, migrate.WithBatchConcurrency(req.Concurrency))
	}
	var br *migrate.BatchReport
	if len(bp.Items) > 0 {
		br, err = migrate.RunBatch(ctx, bp.Items, opts...)
	}
	if br == nil && !bp.AnyFailed() {
		return nil, err
	}
	return bp.Merge(br), err
}

// Failed reports whether any repository of br failed.
func Failed(br *migrate.BatchReport) bool {
	for _, r := range br.Repos {
		if r.Status == migrate.StatusFailed {
			return true
		}
	}
	return false
}

// NewRunID returns a short random run id (lower-case, safe in sandbox names and tags).
func NewRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "="))
}

// ModalPlanText renders a plan before a parallel run: shards, bytes and files per shard,
// containers at once (workers, 0 = the executor's default) and the fan-out model's estimate with
// the bottleneck it assumes (modal.FanOut).
func ModalPlanText(plan *migrate.Plan, workers int) string {
	if workers <= 0 {
		workers = modal.DefaultConcurrency
	}
	return modal.ParallelPlanText(plan.Summary(), modal.ShardsOf(plan), workers)
}

// WriteReport writes v as indented JSON to path ("" = no report).
func WriteReport(path string, v any) error {
	if path == "" {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}
