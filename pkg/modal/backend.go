package modal

import (
	"context"
	"errors"
	"io"
	"time"
)

// Backend errors. Backends wrap them so callers can branch with errors.Is.
var (
	// ErrAlreadyExists: a live sandbox already has the requested name (an earlier launch of the
	// same run is still running).
	ErrAlreadyExists = errors.New("sandbox already exists")
	// ErrNotFound: no sandbox has that name or id.
	ErrNotFound = errors.New("sandbox not found")
	// ErrCapacity: the platform could not schedule the sandbox now; retrying later may work.
	ErrCapacity = errors.New("no capacity for sandbox")
)

// Spec describes one sandbox to start.
type Spec struct {
	// Name is unique among the App's live sandboxes ("" = unnamed).
	Name string
	// Tags are attached at creation; List finds sandboxes by the run tag.
	Tags map[string]string
	// Command is the entrypoint argv (fixed: the worker binary and "worker").
	Command []string
	// Env is non-secret environment (the job JSON, endpoints).
	Env map[string]string
	// Secrets is secret environment (tokens); it reaches the sandbox as a Modal Secret and is
	// never logged.
	Secrets map[string]string
	// SecretName names a Secret stored on Modal whose keys become environment variables.
	SecretName string
	// CPU is physical cores requested; MemoryMiB the memory requested.
	CPU       float64
	MemoryMiB int
	// Timeout is the sandbox's whole lifetime (at most 24 h).
	Timeout time.Duration
}

// Handle identifies a sandbox.
type Handle struct {
	ID   string
	Name string
	Tags map[string]string
}

// Backend starts and finds sandboxes. It is implemented over the Modal Go SDK (NewSDKBackend)
// and over local subprocesses (NewLocalBackend); the orchestration sees only this interface.
type Backend interface {
	// Start creates a sandbox running spec.Command. A live sandbox with the same name makes it
	// fail with ErrAlreadyExists; no capacity with ErrCapacity.
	Start(ctx context.Context, spec Spec) (Handle, error)
	// Output reads the entrypoint's stdout from its beginning (as far as it is retained) and
	// follows it until the sandbox ends (io.EOF) or ctx is done.
	Output(ctx context.Context, h Handle) (io.ReadCloser, error)
	// Wait blocks until the sandbox ends and returns its exit code (124 timeout, 137
	// terminated).
	Wait(ctx context.Context, h Handle) (int, error)
	// Poll returns the exit code, or nil while the sandbox runs.
	Poll(ctx context.Context, h Handle) (*int, error)
	// Terminate stops the sandbox; stopping a finished one is not an error.
	Terminate(ctx context.Context, h Handle) error
	// List returns the live sandboxes tagged with runID.
	List(ctx context.Context, runID string) ([]Handle, error)
	// Lookup finds a sandbox by name: the live one, else the most recent finished one;
	// ErrNotFound when none ever had the name.
	Lookup(ctx context.Context, name string) (Handle, error)
	// Close releases the backend's connections; sandboxes keep running.
	Close() error
}
