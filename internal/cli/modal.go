package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/pkg/modal"
)

func (a *App) modalCommands() []*cobra.Command {
	var image, secret string
	var poll time.Duration
	var asJSON bool
	// command is one Modal command: it takes the image and secret flags, and run gets an
	// executor connected for it (closed after it).
	command := func(use, short string, args cobra.PositionalArgs, run func(*cobra.Command, []string, *modal.Executor) error) *cobra.Command {
		c := &cobra.Command{Use: use, Short: short, Args: args, RunE: func(cmd *cobra.Command, args []string) error {
			e, err := a.svc.Modal(cmd.Context(), image, secret)
			if err != nil {
				return err
			}
			defer e.Close()
			return run(cmd, args, e)
		}}
		c.Flags().StringVar(&image, "modal-image", "", "worker image (default: this version's image)")
		c.Flags().StringVar(&secret, "modal-secret", "", "named Modal secret for the workers")
		return c
	}
	hello := command("hello", "Start one Modal container with the worker image, run `hf2ms version` in it, time the cold start", cobra.NoArgs,
		func(cmd *cobra.Command, _ []string, e *modal.Executor) error {
			res, err := e.Hello(cmd.Context())
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "image %s\ncontainer printed: %s\ncold start %s, total %s\n",
				res.Image, strings.TrimSpace(res.Output), res.ColdStart.Round(time.Millisecond), res.Total.Round(time.Millisecond))
			return nil
		})
	status := command("status RUN", "Show each shard of a detached Modal run: running, done or failed", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			st, err := e.Status(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return a.printJSON(st)
			}
			fmt.Fprint(a.Stdout, a.svc.Redact(statusText(st)))
			return nil
		})
	status.Flags().BoolVar(&asJSON, "json", false, "print the run's status as one JSON document on stdout")
	wait := command("wait RUN", "Wait for a detached Modal run to finish; exit non-zero if any shard failed", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			st, err := e.Wait(cmd.Context(), args[0], poll)
			if st != nil {
				fmt.Fprint(a.Stdout, a.svc.Redact(statusText(st)))
			}
			if err != nil {
				return err
			}
			if st.Err() != nil {
				return exitError{ExitFailure}
			}
			return nil
		})
	wait.Flags().DurationVar(&poll, "poll", 15*time.Second, "how often to poll")
	cancel := command("cancel RUN", "Terminate every container of a Modal run", cobra.ExactArgs(1),
		func(cmd *cobra.Command, args []string, e *modal.Executor) error {
			n, err := e.Cancel(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(a.Stdout, "run %s: terminated %d container(s)\n", args[0], n)
			return nil
		})
	return []*cobra.Command{hello, status, wait, cancel}
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
