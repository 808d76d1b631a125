package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	gha "github.com/sethvargo/go-githubactions"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/progress"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// reportName is the JSON report the action leaves in the workspace (output `report`).
const reportName = "hf2ms-report.json"

// errFailed fails the step after the summary and annotations already said why.
var errFailed = errors.New("migration failed")

// runner is one execution of the action, with its I/O injectable for tests.
type runner struct {
	a       *gha.Action
	svc     *app.Service        // set once the inputs are read
	secrets redact.Set          // the token inputs, from the first line on
	getenv  func(string) string // the container's environment (endpoints, GITHUB_*)
	log     io.Writer           // the step log (the same writer as the action's commands)
}

// run executes the action: inputs -> migrate -> outputs, summary and annotations.
func (r *runner) run(ctx context.Context) error {
	r.secrets.Add(maskTokens(r.a)...) // before anything else can print
	in, err := readInputs(r.a)
	if err != nil {
		r.a.Errorf("%s", r.redact(err.Error()))
		return err
	}
	env, err := app.NewEnv(r.lookup(in), "")
	if err != nil {
		return err
	}
	r.svc = app.New(env)
	if len(in.batch) > 0 {
		return r.runBatch(ctx, in)
	}
	return r.runOne(ctx, in)
}

// lookup serves tokens from the inputs (falling back to the environment) and everything else
// from the environment.
func (r *runner) lookup(in *inputs) func(string) (string, bool) {
	fromInputs := map[string]string{
		app.EnvHFToken:          in.hfToken,
		app.EnvMSToken:          in.msToken,
		app.EnvMSDomain:         in.msDomain,
		app.EnvModalTokenID:     in.modalTokenID,
		app.EnvModalTokenSecret: in.modalTokenSecret,
	}
	return func(k string) (string, bool) {
		if v := fromInputs[k]; v != "" {
			return v, true
		}
		v := r.getenv(k)
		return v, v != ""
	}
}

// redact removes the token inputs, the service's secrets and credential shapes from s.
func (r *runner) redact(s string) string {
	s = r.secrets.String(s)
	if r.svc != nil {
		s = r.svc.Redact(s)
	}
	return s
}

func (r *runner) group(title string, f func() error) error {
	r.a.Group(title)
	defer r.a.EndGroup()
	return f()
}

func (r *runner) runOne(ctx context.Context, in *inputs) error {
	prog := progress.New(r.log, false, r.svc.Redact)
	var out *app.Outcome
	var runErr error
	_ = r.group("Migrate", func() error {
		out, runErr = r.svc.Run(ctx, app.Request{
			Target:  app.Target{Source: in.source, To: in.to, Dest: in.dest, RepoType: in.repoType},
			Options: in.options(), DryRun: in.dryRun, Detach: in.detach,
			Exec: app.ExecSpec{Kind: in.executor}, Events: prog.Event,
		})
		return nil
	})
	prog.Close()
	if out == nil || out.Report == nil {
		return r.fail(runErr, nil)
	}
	fmt.Fprintf(r.log, "%s -> %s\n", out.Resolved.From, out.Resolved.To)
	for _, n := range out.Resolved.Notices {
		r.a.Noticef("%s", r.svc.Redact(n))
	}
	rep := out.Report
	if in.detach {
		fmt.Fprint(r.log, app.ModalPlanText(out.Plan, 0))
		if runErr != nil {
			return r.fail(runErr, rep)
		}
		r.a.Noticef("run %s started on Modal: follow it with `hf2ms status %s`", rep.RunID, rep.RunID)
	}
	if err := r.finish(rep, out.Plan); err != nil {
		return err
	}
	if runErr != nil {
		if errors.Is(runErr, migrate.ErrVerify) && !in.failOnMismatch {
			r.a.Warningf("the destination does not match the source, and fail_on_mismatch is false")
			return nil
		}
		return errFailed
	}
	return nil
}

// finish writes the report, the outputs, the summary and the annotations of one run.
func (r *runner) finish(rep *migrate.Report, plan *migrate.Plan) error {
	path, err := r.writeReport(rep)
	if err != nil {
		return err
	}
	r.setOutputs(rep, path)
	r.a.AddStepSummary(summaryMarkdown(rep, plan, r.svc.Redact))
	annotate(r.a, []*migrate.Report{rep}, r.svc.Redact)
	return nil
}

func (r *runner) runBatch(ctx context.Context, in *inputs) error {
	lines, err := app.ParseBatch(strings.Join(in.batch, "\n"))
	if err != nil {
		return r.fail(&inputError{"batch", "", err.Error()}, nil)
	}
	prog := progress.New(r.log, false, r.svc.Redact)
	var br *migrate.BatchReport
	var runErr error
	_ = r.group("Migrate the batch", func() error {
		br, runErr = r.svc.RunBatch(ctx, app.BatchRequest{Lines: lines, To: in.to, RepoType: in.repoType,
			Options: in.options(), DryRun: in.dryRun, Exec: app.ExecSpec{Kind: in.executor}, Events: prog.Event,
			OnResolved: func(bp *app.BatchPlan) {
				for _, it := range bp.Items {
					fmt.Fprintf(r.log, "%s -> %s\n", it.From, it.To)
				}
			}})
		return nil
	})
	prog.Close()
	if br == nil {
		return r.fail(runErr, nil)
	}
	path, err := r.writeReport(br)
	if err != nil {
		return err
	}
	r.setBatchOutputs(br, path)
	r.a.AddStepSummary(batchSummaryMarkdown(br, r.svc.Redact))
	annotate(r.a, br.Repos, r.svc.Redact)
	for _, rep := range br.Repos {
		if rep.Status == migrate.StatusFailed {
			if rep.Verification != nil && !rep.Verification.OK() && rep.FilesFailed == 0 && !in.failOnMismatch {
				continue
			}
			return errFailed
		}
	}
	if runErr != nil {
		return errFailed
	}
	return nil
}

// fail reports an error that ended the run before a report existed: one annotation, a short
// summary, and the error returned.
func (r *runner) fail(err error, rep *migrate.Report) error {
	msg := r.redact(err.Error())
	r.a.Errorf("%s", msg)
	r.a.AddStepSummary("## hf2ms: failed\n\n" + mdEscape(msg) + "\n")
	if rep != nil {
		rep.Status, rep.Error = migrate.StatusFailed, msg
		if path, werr := r.writeReport(rep); werr == nil {
			r.a.SetOutput("report", path)
		}
	}
	return err
}

func (r *runner) writeReport(v any) (string, error) {
	dir := r.getenv("GITHUB_WORKSPACE")
	if dir == "" {
		dir = "."
	}
	path := filepath.Join(dir, reportName)
	return path, app.WriteReport(path, v)
}

func (r *runner) setOutputs(rep *migrate.Report, path string) {
	o := r.a.SetOutput
	o("destination_url", rep.DestURL)
	o("files_copied", strconv.Itoa(rep.FilesCopied))
	o("files_skipped", strconv.Itoa(rep.FilesSkipped))
	o("files_deleted", strconv.Itoa(rep.FilesDeleted))
	o("bytes_copied", strconv.FormatInt(rep.BytesCopied, 10))
	o("verified", strconv.FormatBool(rep.Verification.OK()))
	o("commit", rep.DestCommit)
	o("report", path)
	o("run_id", rep.RunID)
	o("status", rep.Status)
	o("files_committed", strconv.Itoa(rep.FilesCommitted))
}

func (r *runner) setBatchOutputs(br *migrate.BatchReport, path string) {
	var copied, skipped, deleted int
	var bytes int64
	verified := len(br.Repos) > 0
	var urls []string
	for _, rep := range br.Repos {
		copied += rep.FilesCopied
		skipped += rep.FilesSkipped
		deleted += rep.FilesDeleted
		bytes += rep.BytesCopied
		verified = verified && (rep.Verification.OK() || rep.Status == migrate.StatusUpToDate)
		urls = append(urls, rep.DestURL)
	}
	o := r.a.SetOutput
	o("destination_url", strings.Join(urls, " "))
	o("files_copied", strconv.Itoa(copied))
	o("files_skipped", strconv.Itoa(skipped))
	o("files_deleted", strconv.Itoa(deleted))
	o("bytes_copied", strconv.FormatInt(bytes, 10))
	o("verified", strconv.FormatBool(verified))
	o("commit", "")
	o("report", path)
	o("run_id", "")
	o("status", "")
	o("files_committed", "")
}
