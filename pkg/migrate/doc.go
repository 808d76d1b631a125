// Package migrate is the hf2ms engine: it moves a repository from one hub to another (Hugging
// Face and ModelScope, in any direction) by streaming every file from the source's download into
// the destination's upload, so the machine running it never holds the files.
//
// A Migrator plans once (pins the source revision, lists both sides, decides per file whether to
// copy, skip or delete), checks and creates the destination, uploads LFS blobs (in shards that
// Executors may run elsewhere), then writes everything in commits ("blobs first, commit last")
// and verifies the destination against the source.
//
// The engine knows hubs only through the Hub interface in this package and imports no hub
// client: the adapters live in pkg/migrate/hfhub (Hugging Face, with its git fallback) and
// pkg/migrate/mshub (ModelScope); the worker wire protocol in pkg/migrate/worker; the contract
// every Hub implementation must pass in pkg/migrate/migratetest. Shared value types (Source,
// Repo, CommitOp, the error kinds) come from pkg/hubkit, which imports nothing of hf2ms.
//
// # Who retries what
//
// Each kind of failure has one owner, so a request is never retried by two stacked layers:
//
//   - The HTTP transport (internal/httpx, used by both clients) retries idempotent requests —
//     GET, HEAD and calls the client marks idempotent — on connection errors, 408, 429 and 5xx,
//     honouring Retry-After and the Hub's RateLimit headers. It never retries a request whose
//     body is a stream (blob PUTs, LFS parts, commits).
//   - The resuming reader (internal/httpx) continues a ranged download that was cut mid-body
//     from the byte where it stopped, within the same Open.
//   - The clients retry only what their hub defines as "refused, not processed": the ModelScope
//     client waits out commit-frequency refusals and "try again" ref conflicts within a
//     per-commit budget; the Hugging Face client waits out a 429 on its commit. Neither retries
//     a commit that may have landed (5xx, lost answer); the engine checks what the destination
//     holds instead.
//   - The engine (this package) retries a whole blob upload — read from the source, write to the
//     destination, verify — a bounded number of times, because only the engine can re-open the
//     source. Clients do not retry blob uploads themselves.
package migrate
