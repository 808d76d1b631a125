package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// migrateFlags are the flags shared by migrate, plan and batch. The names of the earlier Python
// tool (--source, --to, --dest, --repo-type, --parallel, --chunk-size, --use-git, --detach) are
// kept so its users' scripts keep working.
type migrateFlags struct {
	source, to, dest, repoType, revision string
	include, exclude                     []string
	del, dryRun, force, parallel, useGit bool
	detach, private, public              bool
	chunkSize                            string
	executor                             string
	workers, files, parts                int
	report                               string
	modalImage, modalSecret              string
	message                              string
	noReadmeFix                          bool
}

func (f *migrateFlags) register(cmd *cobra.Command, withSource bool) {
	fl := cmd.Flags()
	if withSource {
		fl.StringVar(&f.source, "source", "", "source repo (alternative to the positional argument)")
		fl.StringVar(&f.dest, "dest", "", "destination repo id (default: the source id)")
	}
	fl.StringVar(&f.to, "to", "", "destination hub: hf or ms (default: the other hub)")
	fl.StringVar(&f.repoType, "repo-type", "", "model, dataset or space (default: detected)")
	fl.StringVar(&f.revision, "revision", "", "source branch, tag or commit (default: the default branch)")
	fl.StringArrayVar(&f.include, "include", nil, "only paths matching this glob (repeatable, ** allowed)")
	fl.StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this glob (repeatable)")
	fl.BoolVar(&f.del, "delete", false, "delete destination files the source does not have")
	fl.BoolVar(&f.dryRun, "dry-run", false, "print the plan and change nothing")
	fl.BoolVar(&f.force, "force", false, "copy every file even when the destination already has it")
	fl.BoolVar(&f.parallel, "parallel", false, "split the repo into shards run by parallel workers")
	fl.StringVar(&f.chunkSize, "chunk-size", "20GiB", "target bytes per shard with --parallel")
	fl.BoolVar(&f.useGit, "use-git", false, "read a Hugging Face source through git + LFS from the start")
	fl.BoolVar(&f.detach, "detach", false, "start the workers on Modal and return a run id at once")
	fl.BoolVar(&f.private, "private", false, "make the destination private")
	fl.BoolVar(&f.public, "public", false, "make the destination public")
	fl.StringVar(&f.executor, "executor", "local", "where workers run: local (in-process), subprocess, or modal")
	fl.IntVar(&f.workers, "workers", 0, "shards run at once (default: 2 local, 32 on Modal; at most 100)")
	fl.IntVar(&f.files, "files", 0, "files transferred at once per worker (default 4)")
	fl.IntVar(&f.parts, "parts", 0, "parts of one multipart upload in flight (default 4)")
	fl.StringVar(&f.report, "report", "", "write the JSON report to this file")
	fl.StringVar(&f.modalImage, "modal-image", "", "worker image on Modal (default: this version's image)")
	fl.StringVar(&f.modalSecret, "modal-secret", "", "named Modal secret holding HF_TOKEN/MODELSCOPE_TOKEN (instead of sending them)")
	fl.StringVar(&f.message, "message", "", `commit message (default "Migrated from <hub>:<repo>@<commit>")`)
	fl.BoolVar(&f.noReadmeFix, "no-readme-fix", false, "keep README.md byte-identical on the way to Hugging Face (no license rewrite)")
}

// options turns the flags into the engine's serializable options.
func (f *migrateFlags) options() (migrate.Options, error) {
	o := migrate.Options{
		Revision:      f.revision,
		Include:       f.include,
		Exclude:       f.exclude,
		Delete:        f.del,
		Force:         f.force,
		Parallel:      f.parallel,
		Files:         f.files,
		Parts:         f.parts,
		UseGit:        f.useGit,
		CommitMessage: f.message,
		NoReadmeFix:   f.noReadmeFix,
	}
	if f.private && f.public {
		return o, usagef("--private and --public exclude each other")
	}
	if f.private || f.public {
		p := f.private
		o.Private = &p
	}
	n, err := ParseSize(f.chunkSize)
	if err != nil {
		return o, usagef("--chunk-size: %v", err)
	}
	o.ChunkSize = n
	if f.workers < 0 || f.workers > migrate.MaxShards {
		return o, usagef("--workers must be between 1 and %d", migrate.MaxShards)
	}
	switch f.executor {
	case "local", "subprocess", "modal":
	default:
		return o, usagef("--executor %q: want local, subprocess or modal", f.executor)
	}
	if f.detach && f.executor != "modal" {
		return o, usagef("--detach needs --executor modal (a local run cannot outlive this process)")
	}
	return o, nil
}

// Resolved is a source and destination ready to migrate.
type Resolved struct {
	From, To migrate.Repo
	Src, Dst migrate.Hub
	Notices  []string
}

type resolved = Resolved

func (a *App) resolve(ctx context.Context, source, to, dest, repoType string) (*resolved, error) {
	return Resolve(ctx, a.env, source, to, dest, repoType)
}

// Resolve parses the source and destination references and builds both hubs from env; the
// repo type is detected on the source hub when repoType is "". Errors caused by the input are
// usage errors (IsUsage).
func Resolve(ctx context.Context, env *Env, source, to, dest, repoType string) (*Resolved, error) {
	if source == "" {
		return nil, usagef("no source repo given")
	}
	ref, err := migrate.ParseRef(source)
	if err != nil {
		return nil, usageError{err}
	}
	if repoType != "" {
		t, err := parseRepoType(repoType)
		if err != nil {
			return nil, err
		}
		ref.Type = t
	}
	from, toRepo, err := migrate.ResolveDirection(ref, to, dest)
	if err != nil {
		return nil, usageError{err}
	}
	ep := env.Endpoints()
	r := &Resolved{From: from, To: toRepo}
	if r.Src, err = env.Hub(from.Hub, ep); err != nil {
		return nil, err
	}
	if r.Dst, err = env.Hub(toRepo.Hub, ep); err != nil {
		return nil, err
	}
	if ref.Type == "" {
		d, err := migrate.Detect(ctx, r.Src, from.Hub, from.ID)
		if err != nil {
			return nil, err
		}
		if d.Notice != "" {
			r.Notices = append(r.Notices, d.Notice)
		}
		r.From.Type, r.To.Type = d.Type, d.Type
	}
	return r, nil
}

// IsUsage reports whether err was caused by the caller's input (flags, references).
func IsUsage(err error) bool { return errors.As(err, new(usageError)) }

func parseRepoType(s string) (hubkit.RepoType, error) {
	switch strings.ToLower(s) {
	case "model", "models":
		return hubkit.Model, nil
	case "dataset", "datasets":
		return hubkit.Dataset, nil
	case "space", "spaces":
		return hubkit.Space, nil
	}
	return "", usagef("--repo-type %q: want model, dataset or space", s)
}

func (a *App) migrateCommand() *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "migrate SOURCE",
		Short: "Migrate one repo to the other hub (or to another repo on the same hub)",
		Example: `  hf2ms migrate meta-llama/Llama-3.2-1B --to ms
  hf2ms migrate https://modelscope.cn/models/Qwen/Qwen3-0.6B --to hf --dest me/Qwen3-0.6B
  hf2ms migrate hf:datasets/me/data --to ms --include '*.parquet' --delete`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if f.source != "" {
					return usagef("give the source once: as an argument or with --source")
				}
				f.source = args[0]
			}
			return a.runMigrate(cmd.Context(), &f)
		},
	}
	f.register(cmd, true)
	return cmd
}

func (a *App) planCommand() *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "plan SOURCE",
		Short: "Dry run: what would be copied, skipped and deleted, with sizes and an ETA",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				f.source = args[0]
			}
			f.dryRun = true
			return a.runMigrate(cmd.Context(), &f)
		},
	}
	f.register(cmd, true)
	return cmd
}

func (a *App) runMigrate(ctx context.Context, f *migrateFlags) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	r, err := a.resolve(ctx, f.source, f.to, f.dest, f.repoType)
	if err != nil {
		return err
	}
	for _, n := range r.Notices {
		fmt.Fprintf(a.Stderr, "note: %s\n", n)
	}
	exec, closeExec, err := a.executor(ctx, f, r)
	if err != nil {
		return err
	}
	defer closeExec()

	prog := a.newProgress()
	mopts := []migrate.Option{
		migrate.WithOptions(opts),
		migrate.WithDryRun(f.dryRun),
		migrate.WithEndpoints(a.env.Endpoints()),
		migrate.WithEvents(prog.Event),
	}
	if exec != nil {
		mopts = append(mopts, migrate.WithExecutor(exec))
	}
	if f.workers > 0 {
		mopts = append(mopts, migrate.WithWorkers(f.workers))
	}
	m, err := migrate.New(r.Src, r.Dst, r.From, r.To, mopts...)
	if err != nil {
		return err
	}
	if f.dryRun {
		plan, err := m.Plan(ctx)
		prog.Close()
		if err != nil {
			return err
		}
		printPlan(a.Stdout, plan)
		return writeReport(f.report, planReport(plan, r))
	}
	if f.detach {
		prog.Close()
		return a.runDetached(ctx, f, m, r)
	}
	rep, runErr := m.Run(ctx)
	prog.Close()
	if rep != nil {
		rep.Notices = append(r.Notices, rep.Notices...)
		printReport(a.Stdout, rep)
		if err := writeReport(f.report, rep); err != nil {
			return err
		}
	}
	if runErr != nil {
		return runErr
	}
	return nil
}

// planReport is the JSON report of a dry run.
func planReport(p *migrate.Plan, r *resolved) *migrate.Report {
	return &migrate.Report{
		Status:       migrate.StatusPlanned,
		Source:       r.From,
		Dest:         r.To,
		SourceURL:    r.Src.WebURL(r.From),
		DestURL:      r.Dst.WebURL(r.To),
		SourceCommit: p.SourceCommit,
		Plan:         p.Summary(),
		Notices:      r.Notices,
	}
}

// writeReport writes v as indented JSON to path ("" = no report).
func writeReport(path string, v any) error {
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

func (a *App) verifyCommand() *cobra.Command {
	var f migrateFlags
	cmd := &cobra.Command{
		Use:   "verify SOURCE DEST",
		Short: "Compare two repos file by file (size and hash) without copying anything",
		Example: `  hf2ms verify hf:me/model ms:me/model
  hf2ms verify me/model --to ms`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest := f.dest
			if len(args) == 2 {
				ref, err := migrate.ParseRef(args[1])
				if err != nil {
					return usageError{err}
				}
				if ref.Hub != "" && f.to == "" {
					f.to = string(ref.Hub)
				}
				dest = ref.ID
			}
			return a.runVerify(cmd.Context(), args[0], dest, &f)
		},
	}
	cmd.Flags().StringVar(&f.to, "to", "", "hub of the second repo: hf or ms")
	cmd.Flags().StringVar(&f.dest, "dest", "", "id of the second repo (default: the source id)")
	cmd.Flags().StringVar(&f.repoType, "repo-type", "", "model, dataset or space (default: detected)")
	cmd.Flags().StringVar(&f.revision, "revision", "", "source revision")
	cmd.Flags().StringArrayVar(&f.include, "include", nil, "only paths matching this glob")
	cmd.Flags().StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this glob")
	cmd.Flags().StringVar(&f.report, "report", "", "write the JSON result to this file")
	return cmd
}

func (a *App) runVerify(ctx context.Context, source, dest string, f *migrateFlags) error {
	r, err := a.resolve(ctx, source, f.to, dest, f.repoType)
	if err != nil {
		return err
	}
	m, err := migrate.New(r.Src, r.Dst, r.From, r.To, migrate.WithOptions(migrate.Options{
		Revision: f.revision, Include: f.include, Exclude: f.exclude,
	}))
	if err != nil {
		return err
	}
	plan, err := m.Plan(ctx)
	if err != nil {
		return err
	}
	rev := ""
	if plan.DestExists {
		rev = plan.DestBranch
	}
	v, err := migrate.VerifyDest(ctx, plan, r.Dst, rev)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.Stdout, "%s  vs  %s\n\n", r.Src.WebURL(r.From), r.Dst.WebURL(r.To))
	printVerification(a.Stdout, v)
	if err := writeReport(f.report, v); err != nil {
		return err
	}
	if !v.OK() {
		return exitError{ExitFailure}
	}
	return nil
}

// batchItemsFromLines parses a batch list: one repo a line ("SOURCE" or "SOURCE DEST"), blank
// lines and # comments ignored.
func batchItemsFromLines(text string) ([][2]string, error) {
	var out [][2]string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if j := strings.Index(line, "#"); j == 0 {
			continue
		}
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		switch len(fields) {
		case 1:
			out = append(out, [2]string{fields[0], ""})
		case 2:
			out = append(out, [2]string{fields[0], fields[1]})
		default:
			return nil, usagef("batch line %d: want SOURCE [DEST], got %q", i+1, line)
		}
	}
	if len(out) == 0 {
		return nil, usagef("the batch list is empty")
	}
	return out, nil
}

func (a *App) batchCommand() *cobra.Command {
	var f migrateFlags
	var file string
	var concurrency int
	cmd := &cobra.Command{
		Use:   "batch [REPO...]",
		Short: "Migrate many repos in one run (repos as arguments or --file, one per line)",
		Example: `  hf2ms batch --to ms me/model-a me/model-b hf:datasets/me/data
  hf2ms batch --to hf --file repos.txt   # lines: SOURCE [DEST]`,
		RunE: func(cmd *cobra.Command, args []string) error {
			text := strings.Join(args, "\n")
			if file != "" {
				var b []byte
				var err error
				if file == "-" {
					b, err = readAllLimited(a.Stdin, 1<<20)
				} else {
					b, err = os.ReadFile(file)
				}
				if err != nil {
					return usagef("--file: %v", err)
				}
				text += "\n" + string(b)
			}
			lines, err := batchItemsFromLines(text)
			if err != nil {
				return err
			}
			return a.runBatch(cmd.Context(), lines, &f, concurrency)
		},
	}
	f.register(cmd, false)
	cmd.Flags().StringVar(&file, "file", "", "file listing the repos, one per line (- for stdin)")
	cmd.Flags().IntVar(&concurrency, "concurrency", 2, "repos migrated at once")
	return cmd
}

func (a *App) runBatch(ctx context.Context, lines [][2]string, f *migrateFlags, concurrency int) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	bp, err := ResolveBatch(ctx, a.env, lines, f.to, f.repoType)
	if err != nil {
		return err
	}
	exec, closeExec, err := a.executor(ctx, f, nil)
	if err != nil {
		return err
	}
	defer closeExec()
	bopts := []migrate.Option{
		migrate.WithOptions(opts),
		migrate.WithDryRun(f.dryRun),
		migrate.WithEndpoints(a.env.Endpoints()),
		migrate.WithBatchConcurrency(concurrency),
	}
	if exec != nil {
		// One worker (one container on Modal) per repo.
		bopts = append(bopts, migrate.WithExecutor(exec))
	}
	prog := a.newProgress()
	var rep *migrate.BatchReport
	if len(bp.Items) > 0 {
		rep, err = migrate.RunBatch(ctx, bp.Items, append(bopts, migrate.WithEvents(prog.Event))...)
	}
	prog.Close()
	if rep != nil || bp.AnyFailed() {
		rep = bp.Merge(rep)
		printBatch(a.Stdout, rep)
		if werr := writeReport(f.report, rep); werr != nil {
			return werr
		}
	}
	if err != nil {
		return err
	}
	for _, r := range rep.Repos {
		if r.Status == migrate.StatusFailed {
			return exitError{ExitFailure}
		}
	}
	return nil
}
