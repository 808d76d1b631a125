package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// migrateFlags are the flags shared by migrate, plan and batch. The names of the earlier Python
// tool (--source, --to, --dest, --repo-type, --parallel, --chunk-size, --use-git, --detach) are
// kept so its users' scripts keep working.
type migrateFlags struct {
	source, to, dest, repoType, revision string
	refs                                 string
	include, exclude                     []string
	del, dryRun, force, parallel, useGit bool
	detach, private, public              bool
	chunkSize                            string
	executor                             string
	workers, files, parts                int
	conns, hostConns                     int
	report                               string
	modalImage, modalSecret              string
	message                              string
	noReadmeFix                          bool
	json                                 bool
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
	fl.StringVar(&f.refs, "refs", "", refsUsage)
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
	fl.IntVar(&f.conns, "connections", 0, "most ranged connections reading one file for a single-stream upload (default 8; 1: one per file)")
	fl.IntVar(&f.hostConns, "host-connections", 0, "most connections to the source host of all transfers together (default 16)")
	fl.StringVar(&f.report, "report", "", "write the JSON report to this file")
	fl.StringVar(&f.modalImage, "modal-image", "", "worker image on Modal (default: this version's image)")
	fl.StringVar(&f.modalSecret, "modal-secret", "", "named Modal secret holding HF_TOKEN/MODELSCOPE_TOKEN (instead of sending them)")
	fl.StringVar(&f.message, "message", "", `commit message (default "Migrated from <hub>:<repo>@<commit>")`)
	fl.BoolVar(&f.noReadmeFix, "no-readme-fix", false, "keep README.md byte-identical on the way to Hugging Face (no license rewrite)")
	fl.BoolVar(&f.json, "json", false, jsonUsage)
}

// options turns the flags into the engine's serializable options.
func (f *migrateFlags) options() (migrate.Options, error) {
	o := migrate.Options{
		Revision:        f.revision,
		Include:         f.include,
		Exclude:         f.exclude,
		Delete:          f.del,
		Force:           f.force,
		Parallel:        f.parallel,
		Files:           f.files,
		Parts:           f.parts,
		Connections:     f.conns,
		HostConnections: f.hostConns,
		UseGit:          f.useGit,
		CommitMessage:   f.message,
		NoReadmeFix:     f.noReadmeFix,
	}
	if f.private && f.public {
		return o, app.Usagef("--private and --public exclude each other")
	}
	refs, err := migrate.ParseRefs(f.refs)
	if err != nil {
		return o, app.UsageError{Err: err}
	}
	if len(refs) > 0 && f.revision != "" {
		return o, app.Usagef("--revision and --refs exclude each other")
	}
	o.Refs = refs
	if f.private || f.public {
		o.Private = &f.private
	}
	n, err := units.ParseSize(f.chunkSize)
	if err != nil {
		return o, app.Usagef("--chunk-size: %v", err)
	}
	o.ChunkSize = n
	// The service checks these too; here the messages name the flags.
	if f.workers < 0 || f.workers > migrate.MaxShards {
		return o, app.Usagef("--workers must be between 1 and %d", migrate.MaxShards)
	}
	switch f.executor {
	case app.ExecLocal, app.ExecSubprocess, app.ExecModal:
	default:
		return o, app.Usagef("--executor %q: want local, subprocess or modal", f.executor)
	}
	if f.detach && f.executor != app.ExecModal {
		return o, app.Usagef("--detach needs --executor modal (a local run cannot outlive this process)")
	}
	return o, nil
}

// exec is the executor the flags select.
func (f *migrateFlags) exec() app.ExecSpec {
	return app.ExecSpec{Kind: f.executor, Workers: f.workers, ModalImage: f.modalImage, ModalSecret: f.modalSecret}
}

func (a *App) migrateCommand() *cobra.Command {
	return a.migrateLike(&cobra.Command{
		Use:   "migrate SOURCE",
		Short: "Migrate one repo to the other hub (or to another repo on the same hub)",
		Example: `  hf2ms migrate meta-llama/Llama-3.2-1B --to ms
  hf2ms migrate https://modelscope.cn/models/Qwen/Qwen3-0.6B --to hf --dest me/Qwen3-0.6B
  hf2ms migrate hf:datasets/me/data --to ms --include '*.parquet' --delete`,
	}, false)
}

func (a *App) planCommand() *cobra.Command {
	return a.migrateLike(&cobra.Command{
		Use:   "plan SOURCE",
		Short: "Dry run: what would be copied, skipped and deleted, with sizes and an ETA",
	}, true)
}

// migrateLike completes cmd as migrate (dryRun false: --dry-run decides) or plan (dryRun true):
// one optional SOURCE argument and the migration flags.
func (a *App) migrateLike(cmd *cobra.Command, dryRun bool) *cobra.Command {
	f := &migrateFlags{}
	cmd.Args = cobra.MaximumNArgs(1)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		f.dryRun = f.dryRun || dryRun
		return a.runMigrate(cmd.Context(), f, args)
	}
	f.register(cmd, true)
	return cmd
}

// runMigrate runs migrate and plan: the source is the argument or --source, not both.
func (a *App) runMigrate(ctx context.Context, f *migrateFlags, args []string) error {
	if len(args) == 1 {
		if f.source != "" {
			return app.Usagef("give the source once: as an argument or with --source")
		}
		f.source = args[0]
	}
	opts, err := f.options()
	if err != nil {
		return err
	}
	prog := a.newProgress()
	out, runErr := a.svc.Run(ctx, app.Request{
		Target:  app.Target{Source: f.source, To: f.to, Dest: f.dest, RepoType: f.repoType},
		Options: opts, DryRun: f.dryRun, Detach: f.detach, Exec: f.exec(), Events: prog.Event,
	})
	prog.Close()
	if out == nil || out.Report == nil {
		return runErr
	}
	for _, n := range out.Resolved.Notices {
		fmt.Fprintf(a.Stderr, "note: %s\n", n)
	}
	switch {
	case f.json:
		if err := a.printJSON(out.Report); err != nil {
			return err
		}
	case f.detach:
		fmt.Fprint(a.Stdout, app.ModalPlanText(out.Plan, f.workers))
		if runErr == nil {
			id := out.Report.RunID
			fmt.Fprintf(a.Stdout, "\nrun %s started (%d containers); follow it with:\n  hf2ms status %s\n  hf2ms wait %s\n  hf2ms cancel %s\n",
				id, out.Jobs, id, id, id)
		}
	case f.dryRun && len(out.RefPlans) > 0:
		printRefPlans(a.Stdout, out.RefPlans)
	case f.dryRun:
		printPlan(a.Stdout, out.Plan)
		if f.parallel && out.Plan != nil {
			fmt.Fprintf(a.Stdout, "\nparallel run:\n%s", app.ModalPlanText(out.Plan, f.workers))
		}
	default:
		printReport(a.Stdout, out.Report)
	}
	if err := app.WriteReport(f.report, out.Report); err != nil {
		return err
	}
	return runErr
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
					return app.UsageError{Err: err}
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
	cmd.Flags().StringVar(&f.refs, "refs", "", refsUsage)
	cmd.Flags().StringArrayVar(&f.include, "include", nil, "only paths matching this glob")
	cmd.Flags().StringArrayVar(&f.exclude, "exclude", nil, "skip paths matching this glob")
	cmd.Flags().StringVar(&f.report, "report", "", "write the JSON result to this file")
	cmd.Flags().BoolVar(&f.json, "json", false, jsonUsage)
	return cmd
}

func (a *App) runVerify(ctx context.Context, source, dest string, f *migrateFlags) error {
	r, err := a.svc.Resolve(ctx, app.Target{Source: source, To: f.to, Dest: dest, RepoType: f.repoType})
	if err != nil {
		return err
	}
	if f.refs != "" {
		return a.runVerifyRefs(ctx, r, f)
	}
	v, err := app.Verify(ctx, r, migrate.Options{Revision: f.revision, Include: f.include, Exclude: f.exclude})
	if err != nil {
		return err
	}
	if f.json {
		if err := a.printJSON(v); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "%s  vs  %s\n\n", r.Src.WebURL(r.From), r.Dst.WebURL(r.To))
		printVerification(a.Stdout, v)
	}
	if err := app.WriteReport(f.report, v); err != nil {
		return err
	}
	if !v.OK() {
		return exitError{ExitFailure}
	}
	return nil
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
				b, err := a.readBatchFile(file)
				if err != nil {
					return app.Usagef("--file: %v", err)
				}
				text += "\n" + string(b)
			}
			lines, err := app.ParseBatch(text)
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

// readBatchFile reads a batch list from path ("-": stdin), at most app.MaxBatchText bytes.
func (a *App) readBatchFile(path string) ([]byte, error) {
	var r io.Reader = a.Stdin
	if path != "-" {
		fh, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	b, err := io.ReadAll(io.LimitReader(r, app.MaxBatchText+1))
	if err == nil && len(b) > app.MaxBatchText {
		err = fmt.Errorf("larger than %s", units.Bytes(app.MaxBatchText))
	}
	return b, err
}

func (a *App) runBatch(ctx context.Context, lines []app.BatchLine, f *migrateFlags, concurrency int) error {
	opts, err := f.options()
	if err != nil {
		return err
	}
	prog := a.newProgress()
	rep, err := a.svc.RunBatch(ctx, app.BatchRequest{Lines: lines, To: f.to, RepoType: f.repoType, Options: opts,
		DryRun: f.dryRun, Exec: f.exec(), Concurrency: concurrency, Events: prog.Event})
	prog.Close()
	if rep == nil {
		return err
	}
	if f.json {
		if jerr := a.printJSON(rep); jerr != nil {
			return jerr
		}
	} else {
		printBatch(a.Stdout, rep)
	}
	if werr := app.WriteReport(f.report, rep); werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if app.Failed(rep) {
		return exitError{ExitFailure}
	}
	return nil
}
