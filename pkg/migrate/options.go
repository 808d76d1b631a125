package migrate

import "time"

// Option configures a Migrator (and RunBatch): where and how a migration runs. What it does is
// the serializable Options, set with WithOptions.
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
	batchConcurrency int
}

func newConfig(opts []Option) *config {
	c := &config{workers: 1, batchConcurrency: 4}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.workers = max(c.workers, 1)
	c.batchConcurrency = max(c.batchConcurrency, 1)
	if c.runID == "" {
		c.runID = newRunID()
	}
	return c
}

// newRunID makes a short, sortable run id.
func newRunID() string { return time.Now().UTC().Format("20060102T150405.000000000Z") }

// WithOptions sets what the migration does: the serializable Options every worker receives
// (revision, include/exclude, delete, force, parallel shards, concurrency, visibility, commit
// message, README fix).
func WithOptions(o Options) Option {
	return func(c *config) {
		o.Include = append([]string(nil), o.Include...)
		o.Exclude = append([]string(nil), o.Exclude...)
		c.opts = o
	}
}

// WithDryRun makes Run stop after the plan: nothing is created or written.
func WithDryRun(on bool) Option { return func(c *config) { c.dryRun = on } }

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

// WithBatchConcurrency sets how many repositories RunBatch migrates at once (default 4).
func WithBatchConcurrency(n int) Option { return func(c *config) { c.batchConcurrency = n } }

// Defaults for Options fields left zero.
const (
	// DefaultFiles is how many files one worker transfers at once.
	DefaultFiles = 4
	// DefaultParts is how many parts of one multipart upload are in flight.
	DefaultParts = 4
)

// positiveOr returns v, or def when v is zero or negative (an Options field left unset).
func positiveOr[T int | int64](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

func (o Options) files() int       { return positiveOr(o.Files, DefaultFiles) }
func (o Options) chunkSize() int64 { return positiveOr(o.ChunkSize, DefaultChunkSize) }
func (o Options) connections() int { return positiveOr(o.Connections, DefaultConnections) }
func (o Options) hostConnections() int {
	return positiveOr(o.HostConnections, DefaultHostConnections)
}
