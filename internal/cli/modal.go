package cli

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// NewRunID returns a short random run id (lower-case, safe in sandbox names and tags).
func NewRunID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(b[:]), "="))
}

// modalOptions are the Modal settings shared by migrate and the run commands.
func (a *App) modalOptions(image, secret string) []modal.Option {
	opts := []modal.Option{modal.WithGetenv(a.env.Getenv)}
	if httpx.Version != "dev" {
		// Workers run exactly this version's code: the image released with it.
		opts = append(opts, modal.WithVersion(httpx.Version))
	}
	if image != "" {
		opts = append(opts, modal.WithImage(image))
	}
	if secret != "" {
		opts = append(opts, modal.WithSecretName(secret))
	}
	return opts
}

func (a *App) newModal(ctx context.Context, image, secret string, extra ...modal.Option) (*modal.Executor, error) {
	if err := modal.CheckCredentials(a.env.Getenv); err != nil {
		return nil, err
	}
	return modal.New(ctx, append(a.modalOptions(image, secret), extra...)...)
}

func (a *App) modalExecutor(ctx context.Context, f *migrateFlags) (migrate.Executor, func(), error) {
	var extra []modal.Option
	if f.workers > 0 {
		extra = append(extra, modal.WithConcurrency(f.workers))
	}
	e, err := a.newModal(ctx, f.modalImage, f.modalSecret, extra...)
	if err != nil {
		return nil, nil, err
	}
	return e, func() { _ = e.Close() }, nil
}

// runDetached plans, prints the plan, starts every worker on Modal and returns the run id.
func (a *App) runDetached(ctx context.Context, f *migrateFlags, m *migrate.Migrator, r *resolved) error {
	plan, err := m.Plan(ctx)
	if err != nil {
		return err
	}
	opts, _ := f.options()
	runID := NewRunID()
	jobs := migrate.Jobs(plan, runID, opts, a.env.Endpoints())
	fmt.Fprint(a.Stdout, ModalPlanText(plan, f.workers))
	e, err := a.newModal(ctx, f.modalImage, f.modalSecret)
	if err != nil {
		return err
	}
	defer e.Close()
	if err := e.Launch(ctx, runID, jobs); err != nil {
		return fmt.Errorf("starting run %s on Modal: %w", runID, err)
	}
	rep := &migrate.Report{Status: migrate.StatusDetached, Source: r.From, Dest: r.To, RunID: runID,
		SourceURL: r.Src.WebURL(r.From), DestURL: r.Dst.WebURL(r.To), SourceCommit: plan.SourceCommit, Plan: plan.Summary()}
	fmt.Fprintf(a.Stdout, "\nrun %s started (%d containers); follow it with:\n  hf2ms status %s\n  hf2ms wait %s\n  hf2ms cancel %s\n",
		runID, len(jobs), runID, runID, runID)
	return writeReport(f.report, rep)
}

func (a *App) modalCommands() []*cobra.Command {
	var image, secret string
	var poll time.Duration
	// withModal connects to Modal for one command and closes the connection after it.
	withModal := func(run func(*cobra.Command, []string, *modal.Executor) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			e, err := a.newModal(cmd.Context(), image, secret)
			if err != nil {
				return err
			}
			defer e.Close()
			return run(cmd, args, e)
		}
	}
	addFlags := func(c *cobra.Command) {
		c.Flags().StringVar(&image, "modal-image", "", "worker image (default: this version's image)")
		c.Flags().StringVar(&secret, "modal-secret", "", "named Modal secret for the workers")
	}
	hello := &cobra.Command{
		Use:   "hello",
		Short: "Start one Modal container with the worker image, run `hf2ms version` in it, time the cold start",
		Args:  cobra.NoArgs,
		RunE: withModal(func(cmd *cobra.Command, _ []string, e *modal.Executor) error {
			res, err := e.Hello(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "image %s\ncontainer printed: %s\ncold start %s, total %s\n",
				res.Image, strings.TrimSpace(res.Output), res.ColdStart.Round(time.Millisecond), res.Total.Round(time.Millisecond))
			return nil
		}),
	}
	addFlags(hello)
	status := &cobra.Command{
		Use:   "status RUN",
		Short: "Show each shard of a detached Modal run: running, done or failed",
		Args:  cobra.ExactArgs(1),
		RunE: withModal(func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			st, err := e.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprint(a.Stdout, httpx.Redact(statusText(st)))
			return nil
		}),
	}
	addFlags(status)
	wait := &cobra.Command{
		Use:   "wait RUN",
		Short: "Wait for a detached Modal run to finish; exit non-zero if any shard failed",
		Args:  cobra.ExactArgs(1),
		RunE: withModal(func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			st, err := e.Wait(cmd.Context(), args[0], poll)
			if st != nil {
				fmt.Fprint(a.Stdout, httpx.Redact(statusText(st)))
			}
			if err != nil {
				return err
			}
			if st.Err() != nil {
				return exitError{ExitFailure}
			}
			return nil
		}),
	}
	addFlags(wait)
	wait.Flags().DurationVar(&poll, "poll", 15*time.Second, "how often to poll")
	cancel := &cobra.Command{
		Use:   "cancel RUN",
		Short: "Terminate every container of a Modal run",
		Args:  cobra.ExactArgs(1),
		RunE: withModal(func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			n, err := e.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "run %s: terminated %d container(s)\n", args[0], n)
			return nil
		}),
	}
	addFlags(cancel)
	return []*cobra.Command{hello, status, wait, cancel}
}

// ModalPlanText renders a plan before a Modal run: shards, bytes per shard, containers at once
// (workers, 0 = the executor's default) and an estimated time.
func ModalPlanText(plan *migrate.Plan, workers int) string {
	shardBytes := make([]int64, len(plan.Shards))
	for i, sh := range plan.Shards {
		for _, f := range sh {
			shardBytes[i] += f.Size
		}
	}
	if workers <= 0 {
		workers = modal.DefaultConcurrency
	}
	return modal.PlanText(plan.Summary(), shardBytes, workers)
}

// statusText renders a run's status, one line per shard.
func statusText(st *modal.RunStatus) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %d running, %d done, %d failed, %d pending\n", st.RunID,
		st.Count(modal.StateRunning), st.Count(modal.StateDone), st.Count(modal.StateFailed), st.Count(modal.StatePending))
	for _, sh := range st.Shards {
		fmt.Fprintf(&b, "  %-28s %-7s %-8s", sh.Name, sh.Phase, sh.State)
		if sh.ExitCode != nil {
			fmt.Fprintf(&b, " exit %d", *sh.ExitCode)
		}
		if sh.Error != "" {
			fmt.Fprintf(&b, "  %s", oneLine(sh.Error))
		}
		if sh.Note != "" {
			fmt.Fprintf(&b, "  (%s)", sh.Note)
		}
		b.WriteString("\n")
	}
	if st.Finished() {
		if st.Err() == nil {
			b.WriteString("finished: every shard done\n")
		} else {
			b.WriteString("finished with failures\n")
		}
	}
	return b.String()
}
