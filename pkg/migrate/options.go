package migrate

import (
	"context"
	"log/slog"
	"time"
)

// Option configures a Migrator (and RunBatch).
type Option func(*config)

// config is everything the options set.
type config struct {
	opts             Options
	dryRun           bool
	workers          int
	executor         Executor
	events           func(Event)
	runID            string
	endpoints        Endpoints
	logger           *slog.Logger
	batchConcurrency int
}

func newConfig(opts []Option) *config {
	c := &config{workers: 1, batchConcurrency: 4}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if c.workers < 1 {
		c.workers = 1
	}
	if c.batchConcurrency < 1 {
		c.batchConcurrency = 1
	}
	if c.runID == "" {
		c.runID = newRunID()
	}
	return c
}

// newRunID makes a short, sortable run id.
func newRunID() string { return time.Now().UTC().Format("20060102T150405.000000000Z") }

// WithOptions replaces the whole serializable Options struct (the options workers receive). Later
// options such as WithInclude still apply on top of it.
func WithOptions(o Options) Option {
	return func(c *config) {
		o.Include = append([]string(nil), o.Include...)
		o.Exclude = append([]string(nil), o.Exclude...)
		c.opts = o
	}
}

// WithRevision sets the source branch, tag or commit ("" = the source's default branch).
func WithRevision(rev string) Option { return func(c *config) { c.opts.Revision = rev } }

// WithInclude adds doublestar globs; only matching source paths are migrated. A pattern without
// a slash also matches a file's base name in any folder ("*.json").
func WithInclude(globs ...string) Option {
	return func(c *config) { c.opts.Include = append(c.opts.Include, globs...) }
}

// WithExclude adds doublestar globs; matching paths are neither copied nor deleted.
func WithExclude(globs ...string) Option {
	return func(c *config) { c.opts.Exclude = append(c.opts.Exclude, globs...) }
}

// WithDelete removes destination files the source (selection) does not have.
func WithDelete(on bool) Option { return func(c *config) { c.opts.Delete = on } }

// WithForce copies every selected file even when the destination already has it.
func WithForce(on bool) Option { return func(c *config) { c.opts.Force = on } }

// WithDryRun makes Run stop after the plan: nothing is created or written.
func WithDryRun(on bool) Option { return func(c *config) { c.dryRun = on } }

// WithParallel splits the LFS files into shards of about the chunk size (at most MaxShards) that
// the executor may run side by side (see WithWorkers).
func WithParallel(on bool) Option { return func(c *config) { c.opts.Parallel = on } }

// WithChunkSize sets the target bytes per shard (default DefaultChunkSize).
func WithChunkSize(n int64) Option { return func(c *config) { c.opts.ChunkSize = n } }

// WithConcurrency sets how many files a worker transfers at once and how many parts of one
// multipart upload are in flight (0 keeps the default).
func WithConcurrency(files, parts int) Option {
	return func(c *config) { c.opts.Files, c.opts.Parts = files, parts }
}

// WithWorkers sets how many shard jobs run at once (default 1).
func WithWorkers(n int) Option { return func(c *config) { c.workers = n } }

// WithExecutor sets where jobs run (default: InProcess with the Migrator's hubs).
func WithExecutor(e Executor) Option { return func(c *config) { c.executor = e } }

// WithEvents receives every event of the run. It is called serially, never concurrently, and
// should return quickly.
func WithEvents(fn func(Event)) Option { return func(c *config) { c.events = fn } }

// WithRunID names the run (default: a timestamp).
func WithRunID(id string) Option { return func(c *config) { c.runID = id } }

// WithEndpoints sets the hub base URLs written into jobs for remote workers.
func WithEndpoints(ep Endpoints) Option { return func(c *config) { c.endpoints = ep } }

// WithPrivate forces the destination's visibility: a new destination is created with it and an
// existing one is changed to it. Without it a new destination copies the source's visibility and
// an existing one keeps its own.
func WithPrivate(private bool) Option {
	return func(c *config) { p := private; c.opts.Private = &p }
}

// WithLogger sets a logger for debug output (default: discard). Tokens are never logged.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithBatchConcurrency sets how many repositories RunBatch migrates at once (default 4).
func WithBatchConcurrency(n int) Option { return func(c *config) { c.batchConcurrency = n } }

// WithCommitMessage overrides the commit message "Migrated from <hub>:<repo>@<commit>".
func WithCommitMessage(msg string) Option { return func(c *config) { c.opts.CommitMessage = msg } }

// WithNoReadmeFix disables the README license rewrite on the way to Hugging Face.
func WithNoReadmeFix(on bool) Option { return func(c *config) { c.opts.NoReadmeFix = on } }

type partsKey struct{}

// ContextWithParts returns ctx carrying the number of parts of one multipart upload to keep in
// flight. The engine sets it from Options.Parts before calling BlobUpload.Upload; hub adapters
// read it with PartsFromContext.
func ContextWithParts(ctx context.Context, n int) context.Context {
	return context.WithValue(ctx, partsKey{}, n)
}

// PartsFromContext returns the parts concurrency set by ContextWithParts, or 0 (the uploader's
// default).
func PartsFromContext(ctx context.Context) int {
	n, _ := ctx.Value(partsKey{}).(int)
	return n
}

// Defaults for Options fields left zero.
const (
	// DefaultFiles is how many files one worker transfers at once.
	DefaultFiles = 4
	// DefaultParts is how many parts of one multipart upload are in flight.
	DefaultParts = 4
)

func (o Options) files() int {
	if o.Files > 0 {
		return o.Files
	}
	return DefaultFiles
}

func (o Options) chunkSize() int64 {
	if o.ChunkSize > 0 {
		return o.ChunkSize
	}
	return DefaultChunkSize
}
