package worker

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// HubFactory builds the hub a worker talks to, with its token from the worker's environment
// (never from the job) and the job's endpoints.
type HubFactory func(name migrate.HubName, ep migrate.Endpoints) (migrate.Hub, error)

// ServeOption configures Serve.
type ServeOption func(*serveConfig)

type serveConfig struct{ redact func(string) string }

// WithRedact passes every error and notice text through redact before it is written (the
// program's secret redaction: events are read, and shown, by the orchestrator).
func WithRedact(redact func(string) string) ServeOption {
	return func(c *serveConfig) { c.redact = redact }
}

// Serve is the worker process's main: it reads one job from r, builds both hubs with hubs, runs
// the job (migrate.RunJob) and writes its events to w. It returns the job's error. A job that
// cannot be read or whose hubs cannot be built is reported as an error event too, since the
// orchestrator reads events, not stderr.
func Serve(ctx context.Context, r io.Reader, w io.Writer, hubs HubFactory, opts ...ServeOption) error {
	var cfg serveConfig
	for _, o := range opts {
		o(&cfg)
	}
	enc := NewEncoder(w)
	enc.redact = cfg.redact
	fail := func(job migrate.Job, err error) error {
		enc.Emit(migrate.Event{Type: migrate.EventError, Shard: job.Shard, Error: err.Error()})
		return errors.Join(err, enc.Err())
	}
	job, err := DecodeJob(r)
	if err != nil {
		return fail(job, err)
	}
	src, err := hubs(job.Source.Hub, job.Endpoints)
	if err != nil {
		return fail(job, fmt.Errorf("worker hubs: %w", err))
	}
	dst, err := hubs(job.Dest.Hub, job.Endpoints)
	if err != nil {
		return fail(job, fmt.Errorf("worker hubs: %w", err))
	}
	err = migrate.RunJob(ctx, job, src, dst, enc.Emit)
	return errors.Join(err, enc.Err())
}
