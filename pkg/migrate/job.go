package migrate

import "context"

// Job phases.
const (
	// PhaseBlobs uploads the LFS blobs of one shard.
	PhaseBlobs = "blobs"
	// PhaseCommit writes regular files and LFS pointers in the commit step, then verifies.
	PhaseCommit = "commit"
	// PhaseAll runs every shard's blobs and then the commit in one worker (batch mode).
	PhaseAll = "all"
)

// Options are the plan's options. They travel inside a Job so that every worker derives the same
// plan, deterministically, from the pinned source listing.
type Options struct {
	// Revision is the source branch, tag or commit ("" = default branch).
	Revision string `json:"revision,omitempty"`
	// Include and Exclude are doublestar globs over repo paths.
	Include []string `json:"include,omitempty"`
	Exclude []string `json:"exclude,omitempty"`
	// Delete removes destination files the source does not have (within the include/exclude
	// selection).
	Delete bool `json:"delete,omitempty"`
	// Force copies every file even when the destination already has it.
	Force bool `json:"force,omitempty"`
	// ChunkSize is the target bytes per shard (default 20 GiB; raised to stay within MaxShards).
	ChunkSize int64 `json:"chunk_size,omitempty"`
	// Parallel splits the run into shards (at most MaxShards) that executors run side by side.
	Parallel bool `json:"parallel,omitempty"`
	// Files is how many files transfer at once within a worker; Parts how many parts of one
	// multipart upload.
	Files int `json:"files,omitempty"`
	Parts int `json:"parts,omitempty"`
	// Connections is the most ranged connections one file streamed into a single-stream upload
	// reads its source with (default DefaultConnections; 1 reads each file over one connection);
	// HostConnections the most connections to the source host of all the process's transfers
	// together (default DefaultHostConnections). Both are upper bounds: the engine measures and
	// adds connections only while they add throughput.
	Connections     int `json:"connections,omitempty"`
	HostConnections int `json:"host_connections,omitempty"`
	// UseGit reads a Hugging Face source through git and the LFS batch API from the start.
	UseGit bool `json:"use_git,omitempty"`
	// Private, when set, forces the destination's visibility; otherwise a new destination copies
	// the source's and an existing one keeps its own.
	Private *bool `json:"private,omitempty"`
	// CommitMessage overrides "Migrated from <hub>:<repo>@<commit>".
	CommitMessage string `json:"commit_message,omitempty"`
	// NoReadmeFix disables the README license rewrite on the way to Hugging Face.
	NoReadmeFix bool `json:"no_readme_fix,omitempty"`
	// Refs selects the source branches and tags to mirror besides the default branch (see
	// ParseRefs and RunRefs); empty: the default branch only.
	Refs []string `json:"refs,omitempty"`
	// DestBranch is the destination branch written to ("" = its default branch). The refs loop
	// sets it per ref; a worker reads it from the job.
	DestBranch string `json:"dest_branch,omitempty"`
}

// Endpoints are the hub base URLs a worker talks to ("" = the hub's default).
type Endpoints struct {
	HF string `json:"hf,omitempty"`
	MS string `json:"ms,omitempty"`
}

// Job is the worker protocol's input: a small JSON document. Tokens never travel in a job; a
// worker reads them from its environment.
type Job struct {
	RunID        string    `json:"run_id"`
	Source       Repo      `json:"source"`
	Dest         Repo      `json:"dest"`
	SourceCommit string    `json:"source_commit"`
	Phase        string    `json:"phase"`
	Shard        int       `json:"shard"`  // 1-based; 0 for the commit phase
	Shards       int       `json:"shards"` // n
	Options      Options   `json:"options"`
	Endpoints    Endpoints `json:"endpoints"`

	// plan is the orchestrator's plan, for workers in its process; it does not travel.
	plan *Plan
}

// Executor runs jobs: in-process, as `hf2ms worker` subprocesses, or on Modal sandboxes. Run
// blocks until the job finishes, passing every event of the job to emit (from one goroutine per
// job), and returns an error when the worker failed. A job counts as done only when Run returns
// nil after a done event.
type Executor interface {
	Run(ctx context.Context, job Job, emit func(Event)) error
}

// MaxShards is the maximum fan-out of one run, a Modal limit the engine keeps everywhere.
const MaxShards = 100

// DefaultChunkSize is the target size of a shard.
const DefaultChunkSize int64 = 20 << 30
