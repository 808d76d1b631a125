package modal

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// localExec returns an Executor on a LocalBackend whose "hf2ms" is this test binary acting as
// a fake worker, and the path of the workers' start/end log.
func localExec(t *testing.T, behavior string, opts ...Option) (*Executor, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "workers.log")
	b := NewLocalBackend(
		WithProgram("hf2ms", os.Args[0]),
		WithBaseEnv([]string{"HF2MS_TEST_WORKER=1", "PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}),
	)
	base := []Option{
		WithBackend(b),
		WithGetenv(func(string) string { return "" }),
		WithSecrets(map[string]string{"HF_TOKEN": "hf_fake_secret_value"}),
		WithEnv(map[string]string{"HF2MS_TEST_BEHAVIOR": behavior, "HF2MS_TEST_LOG": log}),
	}
	e, err := New(context.Background(), append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e, log
}

func blobJobs(runID string, n int) []migrate.Job {
	var jobs []migrate.Job
	for i := 1; i <= n; i++ {
		jobs = append(jobs, migrate.Job{
			RunID: runID, Phase: migrate.PhaseBlobs, Shard: i, Shards: n,
			Source:       migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "org/model"},
			Dest:         migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "org/model"},
			SourceCommit: strings.Repeat("a", 40),
		})
	}
	return jobs
}

func commitJob(runID string, n int) migrate.Job {
	j := blobJobs(runID, 1)[0]
	j.Phase, j.Shard, j.Shards = migrate.PhaseCommit, 0, n
	return j
}

// collector gathers events from several goroutines.
type collector struct {
	mu     sync.Mutex
	events []migrate.Event
}

func (c *collector) emit(ev migrate.Event) {
	c.mu.Lock()
	c.events = append(c.events, ev)
	c.mu.Unlock()
}

func (c *collector) byShard(typ migrate.EventType) map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for _, ev := range c.events {
		if ev.Type == typ {
			out[ev.Shard]++
		}
	}
	return out
}

// runAll runs jobs side by side through e.Run, as the engine does, and returns each job's error.
func runAll(ctx context.Context, e *Executor, jobs []migrate.Job, emit func(migrate.Event)) []error {
	errs := make([]error, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Go(func() { errs[i] = e.Run(ctx, j, emit) })
	}
	wg.Wait()
	return errs
}

// maxOverlap reads the workers' log and returns the most workers running at once.
func maxOverlap(t *testing.T, log string) int {
	t.Helper()
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	cur, most := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		switch {
		case strings.HasSuffix(line, " start"):
			cur++
			most = max(most, cur)
		case strings.HasSuffix(line, " end"):
			cur--
		}
	}
	return most
}

func TestRunStreamsEventsOfEveryShard(t *testing.T) {
	e, _ := localExec(t, "")
	var c collector
	errs := runAll(context.Background(), e, blobJobs("run1", 3), c.emit)
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, map[int]int{1: 1, 2: 1, 3: 1}, c.byShard(migrate.EventDone))
	require.Equal(t, map[int]int{1: 1, 2: 1, 3: 1}, c.byShard(migrate.EventFileDone))
	// Tokens arrive as secret env; the job never appears on the command line.
	var notices []string
	for _, ev := range c.events {
		if ev.Type == migrate.EventNotice && strings.HasPrefix(ev.Message, "phase=") {
			notices = append(notices, ev.Message)
		}
	}
	require.Len(t, notices, 3)
	for _, n := range notices {
		require.Equal(t, "phase=blobs hf_token=true job_in_argv=false", n)
	}
}

func TestRunRespectsConcurrencyLimit(t *testing.T) {
	// Workers wait at a gate that opens once `limit` of them are there: the overlap reaches the
	// limit (the fan-out happens), and a worker over the limit would show in the log.
	for _, limit := range []int{2, 3} {
		t.Run(strings.Repeat("n", limit), func(t *testing.T) {
			g := newGate(t)
			e, log := localExec(t, g.directive("*"), WithConcurrency(limit))
			var c collector
			done := make(chan []error, 1)
			go func() { done <- runAll(context.Background(), e, blobJobs("lim", 4), c.emit) }()
			g.waitArrivals(limit)
			g.Open()
			for _, err := range <-done {
				require.NoError(t, err)
			}
			require.Equal(t, limit, maxOverlap(t, log))
		})
	}
}

func TestRunMapsWorkerEnds(t *testing.T) {
	cases := []struct {
		name     string
		behavior string
		timeout  time.Duration
		want     error
		code     int
		message  string
	}{
		{name: "done", behavior: ""},
		{name: "error event and exit 3", behavior: "fail=1", want: ErrWorkerFailed, code: 3, message: "boom in shard 1"},
		{name: "exit 0 without done", behavior: "nodone=1", want: ErrNoDone},
		{name: "killed 137", behavior: "kill=1", want: ErrTerminated, code: 137},
		{name: "worker exit 124", behavior: "exit=1:124", want: ErrTimeout, code: 124},
		{name: "sandbox timeout", behavior: "hang=1", timeout: 500 * time.Millisecond, want: ErrTimeout, code: 124},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := []Option{}
			if tc.timeout > 0 {
				opts = append(opts, WithTimeout(tc.timeout))
			}
			e, _ := localExec(t, tc.behavior, opts...)
			var c collector
			err := e.Run(context.Background(), blobJobs("ends", 1)[0], c.emit)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			var se *ShardError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tc.code, se.ExitCode)
			require.Equal(t, tc.message, se.Message)
			require.Equal(t, ShardName("ends", 1), se.Name)
		})
	}
}

func TestOneShardFailingLeavesOthersDone(t *testing.T) {
	e, _ := localExec(t, "fail=2")
	var c collector
	errs := runAll(context.Background(), e, blobJobs("onefail", 3), c.emit)
	require.NoError(t, errs[0])
	require.NoError(t, errs[2])
	require.ErrorIs(t, errs[1], ErrWorkerFailed)
	require.Contains(t, errs[1].Error(), "boom in shard 2")
	require.Equal(t, map[int]int{1: 1, 3: 1}, c.byShard(migrate.EventDone))
}

func TestCancelTerminatesEverySandbox(t *testing.T) {
	e, _ := localExec(t, "hang=*")
	ctx, cancel := context.WithCancel(context.Background())
	var c collector
	started := make(chan struct{}, 3)
	emit := func(ev migrate.Event) {
		c.emit(ev)
		if ev.Type == migrate.EventFileStart {
			started <- struct{}{}
		}
	}
	done := make(chan []error)
	go func() { done <- runAll(ctx, e, blobJobs("cancel", 3), emit) }()
	for range 3 {
		<-started
	}
	cancel()
	select {
	case errs := <-done:
		for _, err := range errs {
			require.ErrorIs(t, err, context.Canceled)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	live, err := e.backend.List(context.Background(), "cancel")
	require.NoError(t, err)
	require.Empty(t, live)
}

func TestRunAttachesToLiveSandboxOfSameName(t *testing.T) {
	// The first sandbox waits at the gate until Run has attached to it (its first event).
	g := newGate(t)
	e, _ := localExec(t, g.directive("*"))
	job := blobJobs("again", 1)[0]
	spec, err := e.spec(job, 1, 1)
	require.NoError(t, err)
	_, err = e.backend.Start(context.Background(), spec)
	require.NoError(t, err)
	var c collector
	emit := func(ev migrate.Event) { c.emit(ev); g.Open() }
	require.NoError(t, e.Run(context.Background(), job, emit))
	require.Contains(t, c.events[0].Message, "attached to running sandbox "+ShardName("again", 1))
}

func TestSpecLimits(t *testing.T) {
	e, _ := localExec(t, "")
	job := blobJobs("big", 1)[0]
	job.Options.Include = []string{strings.Repeat("x", MaxJobBytes)}
	_, err := e.spec(job, 1, 1)
	require.ErrorIs(t, err, ErrJobTooLarge)

	job = blobJobs(strings.Repeat("r", MaxRunIDLen+1), 1)[0]
	_, err = e.spec(job, 1, 1)
	require.Error(t, err)

	spec, err := e.spec(blobJobs("ok", 1)[0], 1, 1)
	require.NoError(t, err)
	require.Equal(t, []string{DefaultEntrypoint, "worker"}, spec.Command)
	require.Equal(t, MaxTimeout, spec.Timeout)
	require.NotContains(t, spec.Env, "HF_TOKEN")
	require.Equal(t, "hf_fake_secret_value", spec.Secrets["HF_TOKEN"])
	require.Equal(t, map[string]string{TagRun: "ok", TagShard: "1", TagShards: "1", TagPhase: migrate.PhaseBlobs}, spec.Tags)
}

func TestNewValidatesOptions(t *testing.T) {
	b := NewLocalBackend()
	for _, opt := range []Option{WithConcurrency(0), WithConcurrency(101), WithTimeout(25 * time.Hour), WithCPU(0)} {
		_, err := New(context.Background(), WithBackend(b), opt)
		require.Error(t, err)
	}
	e, err := New(context.Background(), WithBackend(b), WithVersion("1.2.3"))
	require.NoError(t, err)
	require.Equal(t, "ghcr.io/linaqruf/hf2ms:1.2.3", e.Image())
}

func TestNewWithoutCredentialsNamesTheVariable(t *testing.T) {
	env := map[string]string{"MODAL_TOKEN_ID": "ak-x", "HOME": t.TempDir()}
	_, err := New(context.Background(), WithGetenv(func(k string) string { return env[k] }))
	require.ErrorIs(t, err, ErrNoCredentials)
	require.Contains(t, err.Error(), "MODAL_TOKEN_SECRET")
	require.NotContains(t, err.Error(), "ak-x")
}

func TestShardErrorText(t *testing.T) {
	err := &ShardError{Name: "hf2ms-r-commit", Phase: migrate.PhaseCommit, ExitCode: 1, Message: "verify failed", Err: ErrWorkerFailed}
	require.Equal(t, "commit step (hf2ms-r-commit): worker failed (exit code 1): verify failed", err.Error())
	require.True(t, errors.Is(err, ErrWorkerFailed))
}

// A program that does not speak the worker protocol (the wrong binary in the image) fails the
// shard with what it printed, the only clue there is.
func TestRunNamesOutputOfANonWorker(t *testing.T) {
	e, _ := localExec(t, "", WithEntrypoint("/bin/echo"))
	err := e.Run(context.Background(), blobJobs("echo", 1)[0], nil2)
	require.ErrorIs(t, err, ErrNoDone)
	var se *ShardError
	require.ErrorAs(t, err, &se)
	require.Equal(t, "output: worker", se.Message)
}
