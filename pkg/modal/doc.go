// Package modal is hf2ms's Modal executor: it runs migration jobs (blob shards, the commit step,
// batch repositories) as `hf2ms worker` processes inside Modal sandboxes, started from the
// project's own container image at the orchestrator's version.
//
// Attached mode (Executor.Run, a migrate.Executor) starts one sandbox per job with bounded
// concurrency, streams the worker's JSON-lines events into the engine's event stream, maps exit
// codes (124 timeout, 137 terminated) to errors, and terminates the sandbox when its context is
// cancelled. Detached mode (Executor.Launch) starts a run's sandboxes and returns; Status, Wait
// and Cancel find them again by the run tag and their deterministic names
// (hf2ms-<run>-s<NNN>, hf2ms-<run>-commit). Hello runs `hf2ms version` in one sandbox and times
// the cold start.
//
// The job travels in the sandbox environment (HF2MS_JOB), never on the command line; tokens
// travel as Modal Secrets only. All orchestration goes through the small Backend interface,
// implemented over Modal's Go SDK (SDKBackend) and over local subprocesses (LocalBackend); the
// subpackage modaltest is a fake Modal control plane for tests.
package modal
