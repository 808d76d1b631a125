package modal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
)

// State is a shard's state in a detached run.
type State string

// Shard states.
const (
	StatePending State = "pending" // not started (yet)
	StateRunning State = "running"
	StateDone    State = "done"   // exit code 0 and a done event
	StateFailed  State = "failed" // anything else
)

// ShardStatus is one sandbox of a run.
type ShardStatus struct {
	Name      string `json:"name"`
	SandboxID string `json:"sandbox_id,omitempty"`
	Shard     int    `json:"shard"` // 1-based; 0 for the commit step
	Phase     string `json:"phase"`
	State     State  `json:"state"`
	ExitCode  *int   `json:"exit_code,omitempty"`
	// Error says why a failed shard failed.
	Error string `json:"error,omitempty"`
	// Note is a remark on the status (e.g. the output was not retained).
	Note string `json:"note,omitempty"`
	// Last is the last event the worker wrote, when its output could be read.
	Last *migrate.Event `json:"last,omitempty"`

	err error
}

// RunStatus is the state of every sandbox of a run.
type RunStatus struct {
	RunID  string        `json:"run_id"`
	Shards []ShardStatus `json:"shards"`
}

// Count returns how many shards are in state s.
func (r *RunStatus) Count(s State) int {
	n := 0
	for _, sh := range r.Shards {
		if sh.State == s {
			n++
		}
	}
	return n
}

// Finished reports whether the run has ended: every shard done, or a failure with nothing
// still running.
func (r *RunStatus) Finished() bool {
	if r.Count(StateRunning) > 0 {
		return false
	}
	return r.Count(StateFailed) > 0 || r.Count(StateDone) == len(r.Shards)
}

// Err joins the errors of the failed shards (nil when none failed).
func (r *RunStatus) Err() error {
	var errs []error
	for _, sh := range r.Shards {
		if sh.State != StateFailed {
			continue
		}
		if sh.err != nil {
			errs = append(errs, sh.err)
		} else {
			errs = append(errs, fmt.Errorf("%s: %s", sh.Name, sh.Error))
		}
	}
	return errors.Join(errs...)
}

// remoteAwaiter is implemented by backends whose sandboxes can find each other (Modal): the
// detached commit sandbox then waits for the blob shards itself.
type remoteAwaiter interface{ remoteAwait() bool }

// Launch starts every job of run runID and returns at once (detached mode). Blob shards and
// batch repositories start right away (at most the configured concurrency of creations at a
// time); the commit job starts too, and waits inside its sandbox until every blob shard is done
// (AwaitShards), so the run completes with no orchestrator alive. Launching a run again starts
// only what is not already running.
func (e *Executor) Launch(ctx context.Context, runID string, jobs []migrate.Job) error {
	if err := CheckRunID(runID); err != nil {
		return err
	}
	var blobs, batch []migrate.Job
	var commit *migrate.Job
	for _, j := range jobs {
		if j.RunID == "" {
			j.RunID = runID
		}
		if j.RunID != runID {
			return fmt.Errorf("launch %s: job for run %s", runID, j.RunID)
		}
		switch j.Phase {
		case migrate.PhaseBlobs:
			blobs = append(blobs, j)
		case migrate.PhaseCommit:
			if commit != nil {
				return fmt.Errorf("launch %s: more than one commit job", runID)
			}
			commit = &j
		case migrate.PhaseAll:
			batch = append(batch, j)
		default:
			return fmt.Errorf("launch %s: unknown phase %q", runID, j.Phase)
		}
	}
	if len(blobs) > 0 && len(batch) > 0 {
		return fmt.Errorf("launch %s: blob shards and batch jobs in one run", runID)
	}
	if len(blobs)+len(batch) > MaxConcurrency {
		return fmt.Errorf("launch %s: %d sandboxes, at most %d", runID, len(blobs)+len(batch), MaxConcurrency)
	}
	var specs []Spec
	for i, j := range blobs {
		s, err := e.spec(j, i+1, len(blobs))
		if err != nil {
			return err
		}
		specs = append(specs, s)
	}
	for i, j := range batch {
		s, err := e.spec(j, i+1, len(batch))
		if err != nil {
			return err
		}
		specs = append(specs, s)
	}
	var commitSpec Spec
	remote := false
	if commit != nil {
		var err error
		commitSpec, err = e.spec(*commit, 0, len(blobs))
		if err != nil {
			return err
		}
		if ra, ok := e.backend.(remoteAwaiter); ok && ra.remoteAwait() && len(blobs) > 0 {
			remote = true
			if err := e.awaitSpec(&commitSpec, runID, len(blobs)); err != nil {
				return err
			}
		}
	}
	handles := make([]Handle, len(specs))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(e.concurrency)
	for i, s := range specs {
		g.Go(func() error {
			h, _, err := e.start(gctx, s)
			handles[i] = h
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("launch %s: %w", runID, err)
	}
	if commit == nil {
		return nil
	}
	if remote || len(blobs) == 0 {
		if _, _, err := e.start(ctx, commitSpec); err != nil {
			return fmt.Errorf("launch %s: %w", runID, err)
		}
		return nil
	}
	// A local backend cannot be reached from its sandboxes: sequence the commit here, for as
	// long as this process lives.
	e.sequenceLocally(runID, handles, commitSpec)
	return nil
}

// awaitSpec turns the commit spec into one that waits for the run's blob shards via Modal.
func (e *Executor) awaitSpec(s *Spec, runID string, shards int) error {
	s.Env[EnvAwaitRun] = runID
	s.Env[EnvAwaitShards] = strconv.Itoa(shards)
	s.Env[EnvModalApp] = e.appName
	if env := firstNonEmpty(e.environment, e.getenv("MODAL_ENVIRONMENT")); env != "" {
		s.Env["MODAL_ENVIRONMENT"] = env
	}
	if u := e.getenv("MODAL_SERVER_URL"); u != "" {
		s.Env["MODAL_SERVER_URL"] = u
	}
	id, secret := e.getenv("MODAL_TOKEN_ID"), e.getenv("MODAL_TOKEN_SECRET")
	if id == "" || secret == "" {
		if s.SecretName != "" {
			return nil // the named secret is expected to hold the Modal token as well
		}
		return errors.New("detached parallel run: the commit step waits for the shards through Modal " +
			"and needs MODAL_TOKEN_ID and MODAL_TOKEN_SECRET in the environment (or in the --modal-secret)")
	}
	if s.Secrets == nil {
		s.Secrets = map[string]string{}
	}
	s.Secrets["MODAL_TOKEN_ID"], s.Secrets["MODAL_TOKEN_SECRET"] = id, secret
	return nil
}

func (e *Executor) sequenceLocally(runID string, handles []Handle, commit Spec) {
	ready := make(chan struct{})
	e.mu.Lock()
	if prev, ok := e.commit[runID]; ok {
		select {
		case <-prev:
		default:
			e.mu.Unlock()
			return // already waiting to start this run's commit step
		}
	}
	e.commit[runID] = ready
	e.mu.Unlock()
	go func() {
		defer close(ready)
		ctx := context.Background()
		for _, h := range handles {
			if st := e.inspect(ctx, h, true); st.State != StateDone {
				e.logger.Warn("blob shard failed, not starting the commit step", "run", runID, "shard", h.Name)
				return
			}
		}
		if _, _, err := e.start(ctx, commit); err != nil {
			e.logger.Warn("start commit step", "run", runID, "error", err)
		}
	}()
}

// expectsLocalCommit reports whether this process sequences runID's commit step.
func (e *Executor) expectsLocalCommit(runID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, ok := e.commit[runID]
	return ok
}

// pendingLocal reports whether this process still has to start runID's commit step.
func (e *Executor) pendingLocal(runID string) bool {
	e.mu.Lock()
	ch, ok := e.commit[runID]
	e.mu.Unlock()
	if !ok {
		return false
	}
	select {
	case <-ch:
		return false
	default:
		return true
	}
}

// shardStatuses finds the status of n shards, 16 lookups at once: status(ctx, i) for each i
// in [0, n), in order.
func shardStatuses(ctx context.Context, n int, status func(ctx context.Context, i int) (ShardStatus, error)) ([]ShardStatus, error) {
	out := make([]ShardStatus, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range n {
		g.Go(func() error {
			st, err := status(gctx, i)
			out[i] = st
			return err
		})
	}
	return out, g.Wait()
}

// shardStatus inspects the sandbox name of runID without waiting for it: the handle from known
// if it is there, else the one Modal looks up by name; a sandbox Modal does not have (yet) has
// the status pending.
func (e *Executor) shardStatus(ctx context.Context, runID, name string, known map[string]Handle, pending ShardStatus) (ShardStatus, error) {
	h, ok := known[name]
	if !ok {
		var err error
		h, err = e.backend.Lookup(ctx, name)
		if errors.Is(err, ErrNotFound) {
			return pending, nil
		}
		if err != nil {
			return ShardStatus{}, err
		}
	}
	if h.Tags == nil {
		h.Tags = map[string]string{TagRun: runID}
	}
	return e.inspect(ctx, h, false), nil
}

// inspect reports h's state. With wait it blocks until h ends.
func (e *Executor) inspect(ctx context.Context, h Handle, wait bool) ShardStatus {
	phase, n, _ := parseName(h.Tags[TagRun], h.Name)
	if h.Tags[TagPhase] != "" {
		phase = h.Tags[TagPhase]
	}
	if v, err := strconv.Atoi(h.Tags[TagShard]); err == nil {
		n = v
	}
	st := ShardStatus{Name: h.Name, SandboxID: h.ID, Shard: n, Phase: phase}
	var code *int
	var err error
	if wait {
		var c int
		c, err = e.backend.Wait(ctx, h)
		code = &c
	} else {
		code, err = e.backend.Poll(ctx, h)
	}
	if err != nil {
		st.State, st.Error, st.err = StateFailed, err.Error(), err
		return st
	}
	d := &worker.Decoder{Shard: n}
	readFor := 15 * time.Second
	if code == nil {
		readFor = time.Second // a live stream never ends: take what is there
	}
	rctx, cancel := context.WithTimeout(ctx, readFor)
	defer cancel()
	out, oerr := e.backend.Output(rctx, h)
	if oerr == nil {
		e.readEvents(rctx, d, out, h.Name, nil)
		_ = out.Close()
	}
	st.Last = d.Last
	if code == nil {
		st.State = StateRunning
		return st
	}
	st.ExitCode = code
	if *code == 0 && d.Events == 0 {
		// The output was not retained or not readable: trust the exit code.
		st.State, st.Note = StateDone, "worker events not available"
		return st
	}
	if err := outcome(d, h.Name, phase, n, *code); err != nil {
		st.State, st.Error, st.err = StateFailed, err.Error(), err
		return st
	}
	st.State = StateDone
	return st
}

// runShape finds how many shards run runID has and whether it is a batch run.
func (e *Executor) runShape(ctx context.Context, runID string, live []Handle) (n int, batch bool, err error) {
	fromTags := func(tags map[string]string) bool {
		v, err := strconv.Atoi(tags[TagShards])
		if err != nil {
			return false
		}
		n, batch = v, tags[TagPhase] == migrate.PhaseAll
		return true
	}
	for _, h := range live {
		if fromTags(h.Tags) {
			return n, batch, nil
		}
	}
	for _, name := range []string{CommitName(runID), ShardName(runID, 1), RepoName(runID, 1)} {
		h, err := e.backend.Lookup(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return 0, false, err
		}
		if fromTags(h.Tags) {
			return n, batch, nil
		}
		phase, _, _ := parseName(runID, name)
		return 1, phase == migrate.PhaseAll, nil // tags unreadable: at least this one
	}
	return 0, false, fmt.Errorf("run %s: %w", runID, ErrNotFound)
}

// Status reports every sandbox of run runID: live ones by the run tag, finished ones by their
// deterministic names.
func (e *Executor) Status(ctx context.Context, runID string) (*RunStatus, error) {
	if err := CheckRunID(runID); err != nil {
		return nil, err
	}
	live, err := e.backend.List(ctx, runID)
	if err != nil {
		e.logger.WarnContext(ctx, "list run", "run", runID, "error", err)
		live = nil // names still find every sandbox
	}
	n, batch, err := e.runShape(ctx, runID, live)
	if err != nil {
		return nil, err
	}
	var names []string
	for i := 1; i <= n; i++ {
		if batch {
			names = append(names, RepoName(runID, i))
		} else {
			names = append(names, ShardName(runID, i))
		}
	}
	if !batch {
		names = append(names, CommitName(runID))
	}
	byName := map[string]Handle{}
	for _, h := range live {
		byName[h.Name] = h
	}
	out, err := shardStatuses(ctx, len(names), func(ctx context.Context, i int) (ShardStatus, error) {
		name := names[i]
		phase, k, _ := parseName(runID, name)
		pending := ShardStatus{Name: name, Shard: k, Phase: phase, State: StatePending}
		if phase == migrate.PhaseCommit && !e.expectsLocalCommit(runID) {
			// Launch starts the commit sandbox with the shards: a run
			// without one has no commit step (a blob-only launch).
			pending.State = ""
		}
		return e.shardStatus(ctx, runID, name, byName, pending)
	})
	if err != nil {
		return nil, fmt.Errorf("status of run %s: %w", runID, err)
	}
	out = slices.DeleteFunc(out, func(s ShardStatus) bool { return s.State == "" })
	return &RunStatus{RunID: runID, Shards: out}, nil
}

// Wait polls Status every poll until the run has finished; it returns the final status and
// the failed shards' errors.
func (e *Executor) Wait(ctx context.Context, runID string, poll time.Duration) (*RunStatus, error) {
	if poll <= 0 {
		poll = 10 * time.Second
	}
	for {
		st, err := e.Status(ctx, runID)
		if err != nil {
			return nil, err
		}
		if st.Finished() && !e.pendingLocal(runID) {
			return st, st.Err()
		}
		select {
		case <-ctx.Done():
			return st, ctx.Err()
		case <-time.After(poll):
		}
	}
}

// Cancel terminates every live sandbox of run runID and returns how many it terminated.
func (e *Executor) Cancel(ctx context.Context, runID string) (int, error) {
	if err := CheckRunID(runID); err != nil {
		return 0, err
	}
	e.mu.Lock()
	delete(e.commit, runID) // a locally sequenced commit step no longer matters
	e.mu.Unlock()
	live, err := e.backend.List(ctx, runID)
	if err != nil {
		e.logger.WarnContext(ctx, "list run", "run", runID, "error", err)
	}
	targets := map[string]Handle{}
	for _, h := range live {
		targets[h.ID] = h
	}
	// List may miss sandboxes (see the protocol note): look the names up as well.
	if n, batch, err := e.runShape(ctx, runID, live); err == nil {
		names := []string{CommitName(runID)}
		for i := 1; i <= n; i++ {
			if batch {
				names = append(names, RepoName(runID, i))
			} else {
				names = append(names, ShardName(runID, i))
			}
		}
		for _, name := range names {
			h, err := e.backend.Lookup(ctx, name)
			if err != nil {
				continue
			}
			if code, err := e.backend.Poll(ctx, h); err == nil && code == nil {
				targets[h.ID] = h
			}
		}
	}
	var mu sync.Mutex
	count := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for _, h := range targets {
		g.Go(func() error {
			if err := e.backend.Terminate(gctx, h); err != nil {
				return fmt.Errorf("terminate %s: %w", h.Name, err)
			}
			mu.Lock()
			count++
			mu.Unlock()
			return nil
		})
	}
	err = g.Wait()
	return count, err
}

// AwaitShards runs inside a detached commit sandbox before the commit: when the environment
// names a run (HF2MS_AWAIT_RUN, set by Launch), it waits through Modal until every blob shard of
// that run is done and fails naming the shards that failed. Without HF2MS_AWAIT_RUN it returns
// nil at once, so `hf2ms worker` may always call it. Progress goes to w as notice events (one
// JSON object a line, the worker protocol).
func AwaitShards(ctx context.Context, getenv func(string) string, w io.Writer, opts ...Option) error {
	runID := getenv(EnvAwaitRun)
	if runID == "" {
		return nil
	}
	n, err := strconv.Atoi(getenv(EnvAwaitShards))
	if err != nil || n < 1 || n > MaxConcurrency {
		return fmt.Errorf("%s=%q: want 1-%d", EnvAwaitShards, getenv(EnvAwaitShards), MaxConcurrency)
	}
	poll := 5 * time.Second
	if d, err := time.ParseDuration(getenv("HF2MS_AWAIT_POLL")); err == nil && d > 0 {
		poll = d
	}
	base := []Option{WithGetenv(getenv), WithEnvironment(getenv("MODAL_ENVIRONMENT")), WithApp(getenv(EnvModalApp))}
	e, err := New(ctx, append(base, opts...)...)
	if err != nil {
		return fmt.Errorf("await shards of run %s: %w", runID, err)
	}
	defer e.Close()
	return e.awaitBlobs(ctx, runID, n, poll, w)
}

func (e *Executor) awaitBlobs(ctx context.Context, runID string, n int, poll time.Duration, w io.Writer) error {
	notice := func(msg string) {
		b, _ := json.Marshal(migrate.Event{Type: migrate.EventNotice, Time: time.Now(), Message: msg})
		_, _ = w.Write(append(b, '\n'))
	}
	notice(fmt.Sprintf("waiting for %d blob shards of run %s", n, runID))
	const missingGrace = 5 * time.Minute
	start := time.Now()
	lastDone := -1
	for {
		states, err := shardStatuses(ctx, n, func(ctx context.Context, i int) (ShardStatus, error) {
			name := ShardName(runID, i+1)
			return e.shardStatus(ctx, runID, name, nil, ShardStatus{Name: name, Shard: i + 1, State: StatePending})
		})
		if err != nil {
			return fmt.Errorf("await shards of run %s: %w", runID, err)
		}
		st := &RunStatus{RunID: runID, Shards: states}
		if err := st.Err(); err != nil {
			return fmt.Errorf("blob shards of run %s failed: %w", runID, err)
		}
		done := st.Count(StateDone)
		if done == n {
			notice(fmt.Sprintf("all %d blob shards done", n))
			return nil
		}
		if st.Count(StatePending) > 0 && time.Since(start) > missingGrace {
			return fmt.Errorf("run %s: %d blob shards never started", runID, st.Count(StatePending))
		}
		if done != lastDone {
			notice(fmt.Sprintf("%d of %d blob shards done", done, n))
			lastDone = done
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
