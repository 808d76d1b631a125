package modal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
)

// Defaults and limits of the executor.
const (
	// DefaultConcurrency is how many sandboxes run at once unless WithConcurrency says otherwise.
	DefaultConcurrency = 32
	// MaxConcurrency is the most sandboxes one run may have (migrate.MaxShards).
	MaxConcurrency = migrate.MaxShards
	// DefaultCPU is the physical cores a worker requests: streaming is network- and TLS-bound.
	DefaultCPU = 1.0
	// DefaultMemoryMiB is a worker's memory: parts in flight times part size, with headroom.
	DefaultMemoryMiB = 2048
	// MaxTimeout is Modal's longest sandbox lifetime, and the default.
	MaxTimeout = 24 * time.Hour
	// MaxJobBytes bounds the job JSON carried in the sandbox environment.
	MaxJobBytes = 64 << 10
	// DefaultImageRepo is the project's container image; the tag is the orchestrator's version.
	DefaultImageRepo = "ghcr.io/linaqruf/hf2ms"
	// DefaultEntrypoint is the worker binary inside the image, by absolute path: the sandbox
	// Command runs on an image whose ENTRYPOINT is cleared (see clearEntrypoint), so it
	// depends neither on the image's ENTRYPOINT nor on its PATH.
	DefaultEntrypoint = "/usr/local/bin/hf2ms"
)

// Environment variables the executor sets in worker sandboxes.
const (
	// EnvJob carries the job JSON; `hf2ms worker` reads it when no job comes on stdin.
	EnvJob = "HF2MS_JOB"
	// EnvAwaitRun, in the detached commit sandbox, names the run whose blob shards must finish
	// before the commit starts (see AwaitShards).
	EnvAwaitRun = "HF2MS_AWAIT_RUN"
	// EnvAwaitShards is how many blob shards EnvAwaitRun has.
	EnvAwaitShards = "HF2MS_AWAIT_SHARDS"
	// EnvModalApp is the Modal App the awaited shards belong to.
	EnvModalApp = "HF2MS_MODAL_APP"
)

// Secret keys the workers receive, read from the orchestrator's environment by default.
var workerSecretKeys = []string{"HF_TOKEN", "MODELSCOPE_TOKEN"}

// Non-secret variables passed through to workers when set.
var workerEnvKeys = []string{"HF_ENDPOINT", "MODELSCOPE_ENDPOINT", "MODELSCOPE_DOMAIN"}

// Executor errors.
var (
	// ErrTimeout: the sandbox reached its timeout (exit code 124).
	ErrTimeout = errors.New("sandbox timed out")
	// ErrTerminated: the sandbox was terminated (exit code 137): cancelled, or possibly out of
	// memory.
	ErrTerminated = errors.New("sandbox terminated")
	// ErrWorkerFailed: the worker exited non-zero.
	ErrWorkerFailed = errors.New("worker failed")
	// ErrNoDone: the worker exited 0 without its final done event (the worker protocol's
	// error, so errors.Is matches it whichever executor ran the job).
	ErrNoDone = worker.ErrNoDone
	// ErrJobTooLarge: the job JSON exceeds MaxJobBytes.
	ErrJobTooLarge = errors.New("job too large for the sandbox environment")
)

// ShardError is the failure of one sandbox.
type ShardError struct {
	Name     string // sandbox name
	Shard    int    // 1-based; 0 for the commit step
	Phase    string
	ExitCode int
	// Message is the worker's last error event, when it sent one.
	Message string
	Err     error // ErrTimeout, ErrTerminated, ErrWorkerFailed, ErrNoDone, or a platform error
}

// Error implements error: the shard, and what went wrong with it.
func (e *ShardError) Error() string {
	what := fmt.Sprintf("shard %d", e.Shard)
	if e.Phase == migrate.PhaseCommit {
		what = "commit step"
	}
	msg := fmt.Sprintf("%s (%s): %v", what, e.Name, e.Err)
	if e.ExitCode != 0 {
		msg += fmt.Sprintf(" (exit code %d)", e.ExitCode)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Unwrap returns the error kind.
func (e *ShardError) Unwrap() error { return e.Err }

// Executor runs migrate jobs on sandboxes: attached (Run, a migrate.Executor) or detached
// (Launch, then Status, Wait and Cancel find the run again by its id).
type Executor struct {
	backend     Backend
	ownsBackend bool
	image       string
	entrypoint  string
	secretName  string
	secrets     map[string]string
	env         map[string]string
	concurrency int
	cpu         float64
	memoryMiB   int
	timeout     time.Duration
	environment string
	appName     string
	logger      *slog.Logger
	getenv      func(string) string
	drain       time.Duration

	fan     *fanout
	backoff func() backoff.BackOff // between creates refused for lack of capacity

	mu     sync.Mutex
	commit map[string]chan struct{} // local detached runs: closed when the commit step started
}

// Option configures an Executor.
type Option func(*Executor)

// WithImage sets the worker image (default DefaultImageRepo tagged with the version from
// WithVersion, "latest" without one).
func WithImage(image string) Option { return func(e *Executor) { e.image = image } }

// WithVersion sets the orchestrator's version; the default image is tagged with it so workers
// run exactly the orchestrator's code.
func WithVersion(v string) Option {
	return func(e *Executor) {
		if v != "" {
			e.image = DefaultImageRepo + ":" + v
		}
	}
}

// WithEntrypoint sets the worker binary's path inside the image (default DefaultEntrypoint).
func WithEntrypoint(path string) Option { return func(e *Executor) { e.entrypoint = path } }

// WithSecretName makes workers take their tokens from a Secret stored on Modal instead of from
// this process (which then sends no tokens at all, whatever WithSecrets says).
func WithSecretName(name string) Option { return func(e *Executor) { e.secretName = name } }

// WithSecrets sets the secret environment of workers (default: HF_TOKEN and MODELSCOPE_TOKEN
// from this process's environment, when set).
func WithSecrets(kv map[string]string) Option {
	return func(e *Executor) { e.secrets = maps.Clone(kv) }
}

// WithEnv adds non-secret environment to every worker.
func WithEnv(kv map[string]string) Option {
	return func(e *Executor) { maps.Copy(e.env, kv) }
}

// WithConcurrency bounds how many sandboxes run at once (default 32, at most 100).
func WithConcurrency(n int) Option { return func(e *Executor) { e.concurrency = n } }

// WithCPU sets the physical cores a worker requests (default 1).
func WithCPU(cores float64) Option { return func(e *Executor) { e.cpu = cores } }

// WithMemoryMiB sets a worker's memory (default 2048 MiB).
func WithMemoryMiB(mib int) Option { return func(e *Executor) { e.memoryMiB = mib } }

// WithTimeout sets a sandbox's lifetime (default and maximum 24 h).
func WithTimeout(d time.Duration) Option { return func(e *Executor) { e.timeout = d } }

// WithEnvironment selects the Modal environment (default: the SDK's, MODAL_ENVIRONMENT).
func WithEnvironment(name string) Option { return func(e *Executor) { e.environment = name } }

// WithApp sets the Modal App name (default AppName, "hf2ms").
func WithApp(name string) Option {
	return func(e *Executor) {
		if name != "" {
			e.appName = name
		}
	}
}

// WithBackend replaces the Modal backend (tests use LocalBackend or the modaltest fake).
func WithBackend(b Backend) Option { return func(e *Executor) { e.backend = b } }

// WithLogger sets the logger (default: discard).
func WithLogger(l *slog.Logger) Option { return func(e *Executor) { e.logger = l } }

// WithGetenv replaces os.Getenv for reading tokens and pass-through settings.
func WithGetenv(getenv func(string) string) Option { return func(e *Executor) { e.getenv = getenv } }

// New returns an Executor. Without WithBackend it connects to Modal with the credentials of
// MODAL_TOKEN_ID/MODAL_TOKEN_SECRET (or the SDK's profile) and gets or creates the App.
func New(ctx context.Context, opts ...Option) (*Executor, error) {
	e := &Executor{
		entrypoint:  DefaultEntrypoint,
		appName:     AppName,
		image:       DefaultImageRepo + ":latest",
		env:         map[string]string{},
		concurrency: DefaultConcurrency,
		cpu:         DefaultCPU,
		memoryMiB:   DefaultMemoryMiB,
		timeout:     MaxTimeout,
		getenv:      os.Getenv,
		drain:       30 * time.Second,
		backoff:     capacityBackoff,
		commit:      map[string]chan struct{}{},
	}
	for _, o := range opts {
		o(e)
	}
	if e.logger == nil {
		e.logger = slog.New(slog.DiscardHandler)
	}
	if e.concurrency <= 0 || e.concurrency > MaxConcurrency {
		return nil, fmt.Errorf("modal: concurrency %d: want 1-%d", e.concurrency, MaxConcurrency)
	}
	if e.timeout <= 0 || e.timeout > MaxTimeout {
		return nil, fmt.Errorf("modal: timeout %v: want at most %v", e.timeout, MaxTimeout)
	}
	if e.cpu <= 0 || e.memoryMiB <= 0 {
		return nil, fmt.Errorf("modal: cpu and memory must be positive")
	}
	if e.secretName != "" {
		e.secrets = nil // the named secret holds the tokens: send none from here
	} else if e.secrets == nil {
		e.secrets = map[string]string{}
		for _, k := range workerSecretKeys {
			if v := e.getenv(k); v != "" {
				e.secrets[k] = v
			}
		}
	}
	for _, k := range workerEnvKeys {
		if v := e.getenv(k); v != "" {
			if _, set := e.env[k]; !set {
				e.env[k] = v
			}
		}
	}
	if e.backend == nil {
		if err := CheckCredentials(e.getenv); err != nil {
			return nil, err
		}
		b, err := NewSDKBackend(ctx, SDKConfig{
			AppName:     e.appName,
			Image:       e.image,
			Environment: e.environment,
			Logger:      e.logger,
			// From the executor's getenv (the Action's inputs, a .env file), which the SDK,
			// reading only the process environment, would not see.
			TokenID:     e.getenv("MODAL_TOKEN_ID"),
			TokenSecret: e.getenv("MODAL_TOKEN_SECRET"),
		})
		if err != nil {
			return nil, err
		}
		e.backend, e.ownsBackend = b, true
	}
	e.fan = newFanout(e.concurrency)
	return e, nil
}

// Close releases the Modal connection (sandboxes keep running).
func (e *Executor) Close() error {
	if e.ownsBackend {
		return e.backend.Close()
	}
	return nil
}

// Image is the worker image the executor starts.
func (e *Executor) Image() string { return e.image }

// spec builds the sandbox spec of job (index numbers batch jobs).
func (e *Executor) spec(job migrate.Job, index, shards int) (Spec, error) {
	if err := CheckRunID(job.RunID); err != nil {
		return Spec{}, err
	}
	b, err := json.Marshal(job)
	if err != nil {
		return Spec{}, fmt.Errorf("encode job: %w", err)
	}
	if len(b) >= MaxJobBytes {
		return Spec{}, fmt.Errorf("job of %s: %d bytes: %w", job.Source, len(b), ErrJobTooLarge)
	}
	env := maps.Clone(e.env)
	env[EnvJob] = string(b)
	if shards == 0 {
		shards = job.Shards
	}
	shard := job.Shard
	if job.Phase == migrate.PhaseAll && shard == 0 {
		shard = index
	}
	return Spec{
		Name: jobName(job, index),
		Tags: map[string]string{
			TagRun:    job.RunID,
			TagShard:  strconv.Itoa(shard),
			TagShards: strconv.Itoa(shards),
			TagPhase:  job.Phase,
		},
		Command:    []string{e.entrypoint, "worker"},
		Env:        env,
		Secrets:    maps.Clone(e.secrets),
		SecretName: e.secretName,
		CPU:        e.cpu,
		MemoryMiB:  e.memoryMiB,
		Timeout:    e.timeout,
	}, nil
}

// maxCapacityRetries is how many times in a row a sandbox create is retried for lack of capacity
// while none of the executor's other sandboxes runs (so none will free capacity by ending).
const maxCapacityRetries = 8

// capacityBackoff is the wait between creates refused for lack of capacity: exponential from 1 s
// to 30 s, with jitter.
func capacityBackoff() backoff.BackOff {
	return &backoff.ExponentialBackOff{
		InitialInterval:     time.Second,
		RandomizationFactor: 0.5,
		Multiplier:          2,
		MaxInterval:         30 * time.Second,
		Stop:                backoff.Stop,
		Clock:               backoff.SystemClock,
	}
}

// startOnce starts spec. A live sandbox of the same name (an earlier launch of this run) is
// reused, so a launch is idempotent; existed reports that.
func (e *Executor) startOnce(ctx context.Context, spec Spec) (h Handle, existed bool, err error) {
	h, err = e.backend.Start(ctx, spec)
	if errors.Is(err, ErrAlreadyExists) {
		h, err = e.backend.Lookup(ctx, spec.Name)
		return h, err == nil, err
	}
	return h, false, err
}

// start starts spec (detached mode), retrying with backoff while Modal has no capacity, at
// most maxCapacityRetries times.
func (e *Executor) start(ctx context.Context, spec Spec) (Handle, bool, error) {
	bo := backoff.WithContext(backoff.WithMaxRetries(e.backoff(), maxCapacityRetries), ctx)
	var h Handle
	existed := false
	err := backoff.Retry(func() error {
		var err error
		h, existed, err = e.startOnce(ctx, spec)
		if errors.Is(err, ErrCapacity) {
			e.logger.WarnContext(ctx, "no capacity for sandbox, retrying", "name", spec.Name)
			return err
		}
		if err != nil {
			return backoff.Permanent(err)
		}
		return nil
	}, bo)
	if err != nil {
		return Handle{}, false, fmt.Errorf("start sandbox %s: %w", spec.Name, err)
	}
	return h, existed, nil
}

// startInFanout takes a fan-out slot and starts spec in it (attached mode); the caller releases
// the slot when the sandbox has ended. When Modal has no capacity the refusal counts against the
// fan-out: the limit drops to the sandboxes still held, the slot is given back, and the create
// is tried again when one of those ends or after a backoff, whichever comes first. With none of
// the executor's sandboxes running it gives up after maxCapacityRetries refusals in a row.
func (e *Executor) startInFanout(ctx context.Context, spec Spec, shard int, emit func(migrate.Event)) (Handle, bool, error) {
	bo := e.backoff()
	probe, refusals := false, 0
	for {
		ticket, err := e.fan.acquire(ctx, probe)
		if err != nil {
			return Handle{}, false, err
		}
		h, existed, err := e.startOnce(ctx, spec)
		if err == nil {
			e.fan.started(ticket)
			return h, existed, nil
		}
		if !errors.Is(err, ErrCapacity) {
			e.fan.release()
			return Handle{}, false, fmt.Errorf("start sandbox %s: %w", spec.Name, err)
		}
		others, changed := e.fan.refused()
		if others > 0 {
			refusals = 0
		} else if refusals++; refusals > maxCapacityRetries {
			return Handle{}, false, fmt.Errorf("start sandbox %s: %w", spec.Name, err)
		}
		delay := bo.NextBackOff()
		limit, _ := e.fan.current()
		msg := fmt.Sprintf("Modal has no capacity for sandbox %s: running at most %d at once, retrying", spec.Name, limit)
		e.logger.WarnContext(ctx, msg, "retry_in", delay)
		if emit != nil {
			emit(migrate.Event{Type: migrate.EventNotice, Time: time.Now(), Shard: shard, Message: msg})
		}
		timer := time.NewTimer(delay)
		select {
		case <-changed: // a sandbox ended or the limit moved: try within the limit
			probe = false
		case <-timer.C: // test whether Modal has capacity again, beyond the limit
			probe = true
		case <-ctx.Done():
			timer.Stop()
			return Handle{}, false, ctx.Err()
		}
		timer.Stop()
	}
}

// Run implements migrate.Executor: it starts job's sandbox (at most the configured number at
// once, fewer while Modal has no capacity), streams the worker's events to emit, waits for it
// and maps its end to an error. When ctx is cancelled it terminates the sandbox before
// returning.
func (e *Executor) Run(ctx context.Context, job migrate.Job, emit func(migrate.Event)) error {
	spec, err := e.spec(job, job.Shard, 0)
	if err != nil {
		return err
	}
	h, existed, err := e.startInFanout(ctx, spec, job.Shard, emit)
	if err != nil {
		return err
	}
	defer e.fan.release()
	msg := "started sandbox " + h.Name
	if existed {
		msg = "attached to running sandbox " + h.Name
	}
	emit(migrate.Event{Type: migrate.EventNotice, Time: time.Now(), Shard: job.Shard, Message: msg})
	return e.follow(ctx, h, job.Phase, job.Shard, emit)
}

// follow streams h's events to emit until it ends and returns its outcome.
func (e *Executor) follow(ctx context.Context, h Handle, phase string, shard int, emit func(migrate.Event)) error {
	readCtx, stopRead := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRead()
	d := &worker.Decoder{Shard: shard}
	readDone := make(chan struct{})
	out, err := e.backend.Output(readCtx, h)
	if err != nil {
		e.logger.WarnContext(ctx, "cannot read sandbox output", "name", h.Name, "error", err)
		close(readDone)
	} else {
		go func() {
			defer close(readDone)
			defer out.Close()
			e.readEvents(readCtx, d, out, h.Name, emit)
		}()
	}
	code, werr := e.backend.Wait(ctx, h)
	if ctx.Err() != nil {
		e.terminate(ctx, h)
		stopRead()
		<-readDone
		return fmt.Errorf("%s: %w", h.Name, ctx.Err())
	}
	select {
	case <-readDone:
	case <-time.After(e.drain):
		stopRead()
		<-readDone
	}
	if werr != nil {
		return &ShardError{Name: h.Name, Shard: shard, Phase: phase, Err: werr}
	}
	return outcome(d, h.Name, phase, shard, code)
}

// terminate stops h on a context that survives ctx's cancellation.
func (e *Executor) terminate(ctx context.Context, h Handle) {
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.backend.Terminate(tctx, h); err != nil {
		e.logger.WarnContext(ctx, "terminate sandbox", "name", h.Name, "error", err)
	}
}

// readEvents decodes a worker's event stream from r into d, passing each event to emit.
func (e *Executor) readEvents(ctx context.Context, d *worker.Decoder, r io.Reader, name string, emit func(migrate.Event)) {
	if err := d.Decode(r, emit); err != nil && ctx.Err() == nil {
		e.logger.WarnContext(ctx, "sandbox output", "name", name, "error", err)
	}
}

// outcome maps a sandbox's exit code and the events its worker wrote to the shard's result
// (the worker protocol's done rule, plus Modal's exit codes).
func outcome(d *worker.Decoder, name, phase string, shard, code int) error {
	se := &ShardError{Name: name, Shard: shard, Phase: phase, ExitCode: code, Message: d.LastError}
	switch {
	case code == 0 && d.Done:
		return nil
	case code == 0:
		se.Err = ErrNoDone
	case code == 124:
		se.Err = ErrTimeout
	case code == 137:
		se.Err = ErrTerminated
	default:
		se.Err = ErrWorkerFailed
	}
	if d.Events == 0 && len(d.Junk) > 0 {
		// Not a worker speaking the protocol (the wrong program, a crash before the first
		// event): what it printed is the only clue.
		se.Message = "output: " + strings.Join(d.Junk[:min(len(d.Junk), 2)], " | ")
	}
	return se
}
