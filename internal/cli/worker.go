package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

func (a *App) workerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Run one job of the worker protocol: job JSON on stdin (or $HF2MS_JOB), events as JSON lines on stdout",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in io.Reader = a.Stdin
			if j := a.svc.Env.Get(app.EnvJob); j != "" {
				in = strings.NewReader(j)
			}
			// A detached commit sandbox first waits, through Modal, for the run's blob shards; this
			// returns at once unless the sandbox was launched as one (HF2MS_AWAIT_RUN).
			if err := modal.AwaitShards(cmd.Context(), a.svc.Env.Getenv, a.Stdout); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			if err := worker.Serve(cmd.Context(), in, a.Stdout, a.svc.Hub, worker.WithRedact(a.svc.Redact)); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			return nil
		},
	}
}
