package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	gha "github.com/sethvargo/go-githubactions"

	"github.com/linaqruf/hf2ms/internal/cli"
	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// reportName is the JSON report the action leaves in the workspace (output `report`).
const reportName = "hf2ms-report.json"

// errFailed fails the step after the summary and annotations already said why.
var errFailed = errors.New("migration failed")

// runner is one execution of the action, with its I/O injectable for tests.
type runner struct {
	a      *gha.Action
	getenv func(string) string // the container's environment (endpoints, GITHUB_*)
	log    io.Writer           // the step log (the same writer as the action's commands)
}

// run executes the action: inputs -> migrate -> outputs, summary and annotations.
func (r *runner) run(ctx context.Context) error {
	maskTokens(r.a) // before anything else can print
	in, err := readInputs(r.a)
	if err != nil {
		r.a.Errorf("%s", httpx.Redact(err.Error()))
		return err
	}
	env, err := cli.NewEnv(r.lookup(in), "")
	if err != nil {
		return err
	}
	for _, t := range []string{in.hfToken, in.msToken, in.modalTokenID, in.modalTokenSecret} {
		if t != "" {
			httpx.RegisterSecret(t)
		}
	}
	if len(in.batch) > 0 {
		return r.runBatch(ctx, in, env)
	}
	return r.runOne(ctx, in, env)
}

// lookup serves tokens from the inputs (falling back to the environment) and everything else
// from the environment.
func (r *runner) lookup(in *inputs) func(string) (string, bool) {
	fromInputs := map[string]string{
		cli.EnvHFToken:          in.hfToken,
		cli.EnvMSToken:          in.msToken,
		cli.EnvMSDomain:         in.msDomain,
		cli.EnvModalTokenID:     in.modalTokenID,
		cli.EnvModalTokenSecret: in.modalTokenSecret,
	}
	return func(k string) (string, bool) {
		if v := fromInputs[k]; v != "" {
			return v, true
		}
		v := r.getenv(k)
		return v, v != ""
	}
}

func (r *runner) group(title string, f func() error) error {
	r.a.Group(title)
	defer r.a.EndGroup()
	return f()
}

func (r *runner) runOne(ctx context.Context, in *inputs, env *cli.Env) error {
	var res *cli.Resolved
	err := r.group("Resolve source and destination", func() error {
		var err error
		res, err = cli.Resolve(ctx, env, in.source, normHub(in.to), in.dest, in.repoType)
		if err == nil {
			fmt.Fprintf(r.log, "%s -> %s\n", res.From, res.To)
			for _, n := range res.Notices {
				r.a.Noticef("%s", n)
			}
		}
		return err
	})
	if err != nil {
		return r.fail(err, nil)
	}
	opts := in.options()
	prog := cli.NewProgress(r.log, false)
	mopts := []migrate.Option{
		migrate.WithOptions(opts),
		migrate.WithDryRun(in.dryRun),
		migrate.WithEndpoints(env.Endpoints()),
		migrate.WithEvents(prog.Event),
	}
	var mexec *modal.Executor
	if in.executor == "modal" {
		if mexec, err = modal.New(ctx, modal.WithGetenv(env.Getenv)); err != nil {
			return r.fail(err, nil)
		}
		defer mexec.Close()
		mopts = append(mopts, migrate.WithExecutor(mexec))
	}
	m, err := migrate.New(res.Src, res.Dst, res.From, res.To, mopts...)
	if err != nil {
		return r.fail(err, nil)
	}

	if in.dryRun || in.detach {
		var plan *migrate.Plan
		err := r.group("Plan", func() error {
			var err error
			plan, err = m.Plan(ctx)
			return err
		})
		prog.Close()
		if err != nil {
			return r.fail(err, nil)
		}
		rep := &migrate.Report{Status: migrate.StatusPlanned, Source: res.From, Dest: res.To,
			SourceURL: res.Src.WebURL(res.From), DestURL: res.Dst.WebURL(res.To),
			SourceCommit: plan.SourceCommit, Plan: plan.Summary(), Notices: res.Notices}
		if in.detach {
			rep.Status = migrate.StatusDetached
			rep.RunID = cli.NewRunID()
			jobs := migrate.Jobs(plan, rep.RunID, opts, env.Endpoints())
			fmt.Fprint(r.log, cli.ModalPlanText(plan, 0))
			if err := mexec.Launch(ctx, rep.RunID, jobs); err != nil {
				return r.fail(fmt.Errorf("starting run %s on Modal: %w", rep.RunID, err), rep)
			}
			r.a.Noticef("run %s started on Modal: follow it with `hf2ms status %s`", rep.RunID, rep.RunID)
		}
		return r.finish(in, rep, plan)
	}

	var rep *migrate.Report
	var runErr error
	_ = r.group("Migrate", func() error {
		rep, runErr = m.Run(ctx)
		return nil
	})
	prog.Close()
	if rep == nil {
		return r.fail(runErr, nil)
	}
	rep.Notices = append(res.Notices, rep.Notices...)
	if err := r.finish(in, rep, nil); err != nil {
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
func (r *runner) finish(in *inputs, rep *migrate.Report, plan *migrate.Plan) error {
	path, err := r.writeReport(rep)
	if err != nil {
		return err
	}
	r.setOutputs(rep, path)
	r.a.AddStepSummary(summaryMarkdown(rep, plan))
	annotate(r.a, []*migrate.Report{rep})
	return nil
}

func (r *runner) runBatch(ctx context.Context, in *inputs, env *cli.Env) error {
	var bp *cli.BatchPlan
	err := r.group("Resolve the batch", func() error {
		lines := make([][2]string, 0, len(in.batch))
		for _, line := range in.batch {
			f := strings.Fields(line)
			switch len(f) {
			case 1:
				lines = append(lines, [2]string{f[0], ""})
			case 2:
				lines = append(lines, [2]string{f[0], f[1]})
			default:
				return &inputError{"batch", line, "want one repo a line: SOURCE [DEST]"}
			}
		}
		var err error
		if bp, err = cli.ResolveBatch(ctx, env, lines, normHub(in.to), in.repoType); err != nil {
			return err
		}
		for _, it := range bp.Items {
			fmt.Fprintf(r.log, "%s -> %s\n", it.From, it.To)
		}
		return nil
	})
	if err != nil {
		return r.fail(err, nil)
	}
	bopts := []migrate.Option{
		migrate.WithOptions(in.options()),
		migrate.WithDryRun(in.dryRun),
		migrate.WithEndpoints(env.Endpoints()),
	}
	if in.executor == "modal" {
		mexec, err := modal.New(ctx, modal.WithGetenv(env.Getenv))
		if err != nil {
			return r.fail(err, nil)
		}
		defer mexec.Close()
		bopts = append(bopts, migrate.WithExecutor(mexec)) // one container per repo
	}
	prog := cli.NewProgress(r.log, false)
	var br *migrate.BatchReport
	var runErr error
	_ = r.group("Migrate the batch", func() error {
		if len(bp.Items) > 0 {
			br, runErr = migrate.RunBatch(ctx, bp.Items, append(bopts, migrate.WithEvents(prog.Event))...)
		}
		return nil
	})
	prog.Close()
	if br == nil && !bp.AnyFailed() {
		return r.fail(runErr, nil)
	}
	br = bp.Merge(br)
	path, err := r.writeReport(br)
	if err != nil {
		return err
	}
	r.setBatchOutputs(br, path)
	r.a.AddStepSummary(batchSummaryMarkdown(br))
	annotate(r.a, br.Repos)
	if runErr != nil {
		return errFailed
	}
	for _, rep := range br.Repos {
		if rep.Status == migrate.StatusFailed {
			if rep.Verification != nil && !rep.Verification.OK() && rep.FilesFailed == 0 && !in.failOnMismatch {
				continue
			}
			return errFailed
		}
	}
	return nil
}

// fail reports an error that ended the run before a report existed: one annotation, a short
// summary, and the error returned.
func (r *runner) fail(err error, rep *migrate.Report) error {
	msg := httpx.Redact(err.Error())
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
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("writing the report: %w", err)
	}
	return path, nil
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
}

func normHub(s string) string {
	switch s {
	case "huggingface":
		return "hf"
	case "modelscope":
		return "ms"
	}
	return s
}
