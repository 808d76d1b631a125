package modal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	modalsdk "github.com/modal-labs/modal-client/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// SDKConfig configures the Modal backend.
type SDKConfig struct {
	// AppName is the Modal App (default AppName); created when missing.
	AppName string
	// Image is the registry tag of the worker image.
	Image string
	// Environment is the Modal environment ("" = the SDK's default).
	Environment string
	// Logger receives the SDK's logs (default: discard).
	Logger *slog.Logger
	// MaxThrottleWait bounds how long the SDK obeys server throttling (default 5 minutes).
	MaxThrottleWait time.Duration
	// TokenID and TokenSecret, when set, are the credentials (they override the SDK's own
	// sources); the Action's inputs and a .env file reach the SDK this way.
	TokenID, TokenSecret string
}

// clearEntrypoint is the image layer the Modal backend adds to the worker image: with it a
// sandbox runs its Command alone instead of the image's ENTRYPOINT followed by the Command (the
// fix used for registry images on Modal in PrimeIntellect-ai/verifiers PR #1863 and
// rllm-org/rllm PR #836). A Docker ENTRYPOINT also resets CMD, so neither is left.
var clearEntrypoint = []string{"ENTRYPOINT []"}

// SDKBackend is the Backend over Modal's official Go SDK (sandboxes on the V2 backend).
type SDKBackend struct {
	client *modalsdk.Client
	app    *modalsdk.App
	cfg    SDKConfig

	imageMu sync.Mutex
	image   *modalsdk.Image // built once, before fan-out (Build is not safe concurrently)

	secretMu sync.Mutex
	named    map[string]*modalsdk.Secret

	mu      sync.Mutex
	handles map[string]*modalsdk.Sandbox
}

// NewSDKBackend connects to Modal (credentials from cfg when set, else as the SDK resolves them:
// the MODAL_* environment, then ~/.modal.toml) and gets or creates the App.
func NewSDKBackend(ctx context.Context, cfg SDKConfig) (*SDKBackend, error) {
	if cfg.AppName == "" {
		cfg.AppName = AppName
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxThrottleWait == 0 {
		cfg.MaxThrottleWait = 5 * time.Minute
	}
	wait := cfg.MaxThrottleWait
	client, err := modalsdk.NewClientWithOptions(&modalsdk.ClientParams{
		TokenID:         cfg.TokenID,
		TokenSecret:     cfg.TokenSecret,
		Environment:     cfg.Environment,
		Logger:          cfg.Logger,
		MaxThrottleWait: &wait,
	})
	if err != nil {
		return nil, fmt.Errorf("modal: connect: %w", err)
	}
	app, err := client.Apps.FromName(ctx, cfg.AppName, &modalsdk.AppFromNameParams{
		Environment:     cfg.Environment,
		CreateIfMissing: true,
	})
	if err != nil {
		client.Close()
		return nil, fmt.Errorf("modal: app %s: %w", cfg.AppName, err)
	}
	return &SDKBackend{
		client:  client,
		app:     app,
		cfg:     cfg,
		named:   map[string]*modalsdk.Secret{},
		handles: map[string]*modalsdk.Sandbox{},
	}, nil
}

// remoteAwait reports that sandboxes of this backend can find each other through Modal, so a
// detached commit sandbox can wait for the blob shards itself.
func (b *SDKBackend) remoteAwait() bool { return true }

func (b *SDKBackend) builtImage(ctx context.Context) (*modalsdk.Image, error) {
	b.imageMu.Lock()
	defer b.imageMu.Unlock()
	if b.image != nil {
		return b.image, nil
	}
	// Modal appends a sandbox's Command to the image's ENTRYPOINT (the project image's is the
	// GitHub Action), so the image is started with its ENTRYPOINT cleared and the Command alone
	// decides what runs, whatever image was chosen.
	img, err := b.client.Images.FromRegistry(b.cfg.Image, nil).
		DockerfileCommands(clearEntrypoint, nil).
		Build(ctx, b.app, nil)
	if err != nil {
		return nil, fmt.Errorf("modal: image %s: %w", b.cfg.Image, err)
	}
	b.image = img
	return img, nil
}

func (b *SDKBackend) namedSecret(ctx context.Context, name string) (*modalsdk.Secret, error) {
	b.secretMu.Lock()
	defer b.secretMu.Unlock()
	if s, ok := b.named[name]; ok {
		return s, nil
	}
	s, err := b.client.Secrets.FromName(ctx, name, &modalsdk.SecretFromNameParams{Environment: b.cfg.Environment})
	if err != nil {
		return nil, fmt.Errorf("modal: secret %s: %w", name, mapErr(err))
	}
	b.named[name] = s
	return s, nil
}

// Start implements Backend.
func (b *SDKBackend) Start(ctx context.Context, spec Spec) (Handle, error) {
	img, err := b.builtImage(ctx)
	if err != nil {
		return Handle{}, err
	}
	var secrets []*modalsdk.Secret
	if spec.SecretName != "" {
		s, err := b.namedSecret(ctx, spec.SecretName)
		if err != nil {
			return Handle{}, err
		}
		secrets = append(secrets, s)
	}
	if len(spec.Secrets) > 0 {
		s, err := b.client.Secrets.FromMap(ctx, spec.Secrets, &modalsdk.SecretFromMapParams{Environment: b.cfg.Environment})
		if err != nil {
			// The SDK's error names keys only, never values.
			return Handle{}, fmt.Errorf("modal: secrets: %w", err)
		}
		secrets = append(secrets, s)
	}
	sb, err := b.client.Sandboxes.Create(ctx, b.app, img, &modalsdk.SandboxCreateParams{
		Command:   spec.Command,
		Env:       spec.Env,
		Secrets:   secrets,
		Timeout:   spec.Timeout,
		CPU:       spec.CPU,
		MemoryMiB: spec.MemoryMiB,
		Name:      spec.Name,
		Tags:      spec.Tags,
	})
	if err != nil {
		return Handle{}, fmt.Errorf("modal: create sandbox %s: %w", spec.Name, mapErr(err))
	}
	b.mu.Lock()
	b.handles[sb.SandboxID] = sb
	b.mu.Unlock()
	return Handle{ID: sb.SandboxID, Name: spec.Name, Tags: spec.Tags}, nil
}

// mapErr adds the Backend error kinds to SDK errors.
func mapErr(err error) error {
	var exists modalsdk.AlreadyExistsError
	var notFound modalsdk.NotFoundError
	var exhausted modalsdk.ResourceExhaustedError
	switch {
	case errors.As(err, &exists):
		return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
	case errors.As(err, &notFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.As(err, &exhausted):
		return fmt.Errorf("%w: %w", ErrCapacity, err)
	}
	switch status.Code(err) {
	case codes.NotFound:
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case codes.ResourceExhausted, codes.Unavailable:
		return fmt.Errorf("%w: %w", ErrCapacity, err)
	case codes.AlreadyExists:
		return fmt.Errorf("%w: %w", ErrAlreadyExists, err)
	}
	return err
}

func (b *SDKBackend) sandbox(ctx context.Context, h Handle) (*modalsdk.Sandbox, error) {
	b.mu.Lock()
	sb, ok := b.handles[h.ID]
	b.mu.Unlock()
	if ok {
		return sb, nil
	}
	sb, err := b.client.Sandboxes.FromID(ctx, h.ID, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	b.mu.Lock()
	b.handles[h.ID] = sb
	b.mu.Unlock()
	return sb, nil
}

// Output implements Backend. Every call opens a fresh handle, so the stream starts at offset 0
// (Modal keeps only the most recent part of a long output).
func (b *SDKBackend) Output(ctx context.Context, h Handle) (io.ReadCloser, error) {
	sb, err := b.client.Sandboxes.FromID(ctx, h.ID, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	rc := sb.Stdout
	stop := context.AfterFunc(ctx, func() { _ = rc.Close() })
	return &ctxReader{rc: rc, ctx: ctx, stop: stop, sb: sb}, nil
}

type ctxReader struct {
	rc   io.ReadCloser
	ctx  context.Context
	stop func() bool
	sb   *modalsdk.Sandbox
	once sync.Once
}

func (r *ctxReader) Read(p []byte) (int, error) {
	n, err := r.rc.Read(p)
	if err != nil && r.ctx.Err() != nil {
		return n, r.ctx.Err()
	}
	return n, err
}

func (r *ctxReader) Close() error {
	r.once.Do(func() {
		r.stop()
		_ = r.rc.Close()
		_ = r.sb.Detach()
	})
	return nil
}

// Wait implements Backend.
func (b *SDKBackend) Wait(ctx context.Context, h Handle) (int, error) {
	sb, err := b.sandbox(ctx, h)
	if err != nil {
		return 0, err
	}
	code, err := sb.Wait(ctx, nil)
	if err != nil {
		return 0, mapErr(err)
	}
	return code, nil
}

// Poll implements Backend.
func (b *SDKBackend) Poll(ctx context.Context, h Handle) (*int, error) {
	sb, err := b.sandbox(ctx, h)
	if err != nil {
		return nil, err
	}
	code, err := sb.Poll(ctx, nil)
	if err != nil {
		return nil, mapErr(err)
	}
	return code, nil
}

// Terminate implements Backend.
func (b *SDKBackend) Terminate(ctx context.Context, h Handle) error {
	sb, err := b.sandbox(ctx, h)
	if err != nil {
		return err
	}
	if _, err := sb.Terminate(ctx, nil); err != nil {
		return mapErr(err)
	}
	return nil
}

// List implements Backend. It returns only running sandboxes (the SDK never lists finished
// ones); the names come from the tags.
func (b *SDKBackend) List(ctx context.Context, runID string) ([]Handle, error) {
	seq, err := b.client.Sandboxes.List(ctx, &modalsdk.SandboxListParams{
		AppID: b.app.AppID,
		Tags:  map[string]string{TagRun: runID},
	})
	if err != nil {
		return nil, fmt.Errorf("modal: list run %s: %w", runID, mapErr(err))
	}
	var out []Handle
	for sb, err := range seq {
		if err != nil {
			return nil, fmt.Errorf("modal: list run %s: %w", runID, mapErr(err))
		}
		tags, err := sb.GetTags(ctx, nil)
		if err != nil {
			return nil, fmt.Errorf("modal: tags of %s: %w", sb.SandboxID, mapErr(err))
		}
		if tags[TagRun] != runID {
			continue // the server ignored the filter: check ourselves
		}
		out = append(out, Handle{ID: sb.SandboxID, Name: nameFromTags(tags), Tags: tags})
	}
	return out, nil
}

// nameFromTags rebuilds a worker sandbox's name from its tags.
func nameFromTags(tags map[string]string) string {
	run := tags[TagRun]
	n, _ := strconv.Atoi(tags[TagShard])
	switch tags[TagPhase] {
	case migrate.PhaseCommit:
		return CommitName(run)
	case migrate.PhaseAll:
		return RepoName(run, n)
	case migrate.PhaseBlobs:
		return ShardName(run, n)
	}
	return ""
}

// Lookup implements Backend.
func (b *SDKBackend) Lookup(ctx context.Context, name string) (Handle, error) {
	sb, err := b.client.Sandboxes.FromName(ctx, b.cfg.AppName, name, &modalsdk.SandboxFromNameParams{
		Environment:       b.cfg.Environment,
		IncludeTerminated: true,
	})
	if err != nil {
		return Handle{}, fmt.Errorf("modal: sandbox %s: %w", name, mapErr(err))
	}
	h := Handle{ID: sb.SandboxID, Name: name}
	// Tags of a finished sandbox may not be readable: the name alone is enough.
	if tags, err := sb.GetTags(ctx, nil); err == nil {
		h.Tags = tags
	}
	b.mu.Lock()
	b.handles[sb.SandboxID] = sb
	b.mu.Unlock()
	return h, nil
}

// Close implements Backend.
func (b *SDKBackend) Close() error {
	b.client.Close()
	return nil
}
