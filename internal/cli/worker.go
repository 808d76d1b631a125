package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// EnvJob carries a worker's job JSON when it cannot come on stdin (Modal sandboxes).
const EnvJob = "HF2MS_JOB"

func (a *App) workerCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "worker",
		Short:  "Run one job of the worker protocol: job JSON on stdin (or $HF2MS_JOB), events as JSON lines on stdout",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var in io.Reader = a.Stdin
			if j := a.lookup(EnvJob); j != "" {
				in = strings.NewReader(j)
			}
			// A detached commit sandbox first waits, through Modal, for the run's blob shards; this
			// returns at once unless the sandbox was launched as one (HF2MS_AWAIT_RUN).
			if err := modal.AwaitShards(cmd.Context(), a.env.Getenv, a.Stdout); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			if err := worker.Serve(cmd.Context(), in, a.Stdout, a.env.Hub); err != nil {
				return fmt.Errorf("worker: %w", err)
			}
			return nil
		},
	}
}

// workerEnv is the environment handed to subprocess workers: what they need to reach the hubs,
// taken from this process's configuration (including .env), and nothing else.
func (a *App) workerEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
		EnvHFToken, EnvHFEndpoint, EnvMSToken, EnvMSDomain, EnvMSEndpoint} {
		if v := a.env.Get(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// executor returns the Executor the flags select (nil = the engine's in-process default) and a
// function releasing it.
func (a *App) executor(ctx context.Context, f *migrateFlags, r *resolved) (migrate.Executor, func(), error) {
	switch f.executor {
	case "", "local":
		return nil, func() {}, nil
	case "subprocess":
		exe := a.Executable
		if exe == "" {
			var err error
			if exe, err = os.Executable(); err != nil {
				return nil, nil, fmt.Errorf("finding the hf2ms binary for subprocess workers: %w", err)
			}
		}
		return &worker.Subprocess{Command: []string{exe, "worker"}, Env: a.workerEnv()}, func() {}, nil
	case "modal":
		return a.modalExecutor(ctx, f)
	}
	return nil, nil, usagef("--executor %q: want local, subprocess or modal", f.executor)
}
