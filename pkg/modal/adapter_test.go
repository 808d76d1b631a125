package modal

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal/modaltest"
)

// fakeModal starts the fake control plane with this test binary as the image's "hf2ms" and its
// "hf2ms-action" (which, given the worker's arguments, fails as the real Action would), the
// Dockerfile's ENTRYPOINT and CMD, and an Executor on the real SDK backend pointed at it. Not
// parallel: the SDK reads the process env.
func fakeModal(t *testing.T, behavior string, opts ...Option) (*Executor, *modaltest.Server, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "workers.log")
	srv := modaltest.New(t,
		modaltest.WithProgram("hf2ms", os.Args[0]),
		modaltest.WithProgram("hf2ms-action", os.Args[0]),
		modaltest.WithImageConfig(imageConfig(t)),
		modaltest.WithImageEnv(map[string]string{"HF2MS_TEST_WORKER": "1", "HF2MS_AWAIT_POLL": "100ms"}),
		modaltest.WithImages("ghcr.io/linaqruf/hf2ms:9.9.9"),
		modaltest.WithSecret("hf2ms-tokens", map[string]string{"HF_TOKEN": "hf_named", "MODELSCOPE_TOKEN": "ms_named"}),
	)
	base := []Option{
		WithVersion("9.9.9"),
		WithSecrets(map[string]string{"HF_TOKEN": "hf_fake_secret_value"}),
		WithEnv(map[string]string{"HF2MS_TEST_BEHAVIOR": behavior, "HF2MS_TEST_LOG": log}),
	}
	e, err := New(context.Background(), append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.Close()) })
	return e, srv, log
}

func TestModalAdapterRunStreamsAndWaits(t *testing.T) {
	e, srv, _ := fakeModal(t, "fail=3")
	var c collector
	errs := runAll(context.Background(), e, blobJobs("fake1", 3), c.emit)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.ErrorIs(t, errs[2], ErrWorkerFailed)
	require.Contains(t, errs[2].Error(), "boom in shard 3")
	require.Equal(t, map[int]int{1: 1, 2: 1}, c.byShard(migrate.EventDone))
	require.Equal(t, map[int]int{1: 1, 2: 1, 3: 1}, c.byShard(migrate.EventFileStart))

	boxes := srv.Sandboxes()
	require.Len(t, boxes, 3)
	for _, b := range boxes {
		require.Equal(t, "ghcr.io/linaqruf/hf2ms:9.9.9", b.Image)
		require.Equal(t, []string{DefaultEntrypoint, "worker"}, b.Command)
		require.Equal(t, b.Command, b.Argv)
		require.EqualValues(t, 24*60*60, b.TimeoutSecs)
		require.EqualValues(t, 1000, b.MilliCPU)
		require.EqualValues(t, 2048, b.MemoryMB)
		require.Equal(t, "fake1", b.Tags[TagRun])
		require.Equal(t, "hf_fake_secret_value", b.Env["HF_TOKEN"])
		require.Contains(t, b.Env[EnvJob], `"run_id":"fake1"`)
		require.False(t, slices.ContainsFunc(b.Command, func(a string) bool { return strings.Contains(a, "hf_fake") }))
		require.False(t, b.Running)
	}
	calls := srv.Calls()
	// Built once before fan-out: the registry image, then the layer clearing its ENTRYPOINT.
	require.Equal(t, 2, calls["ImageGetOrCreate"], "image built once before fan-out")
	require.Equal(t, 3, calls["SandboxCreateV2"])
}

func TestModalAdapterDetachListTerminate(t *testing.T) {
	e, srv, _ := fakeModal(t, "hang=*")
	ctx := context.Background()
	require.NoError(t, e.Launch(ctx, "fake2", blobJobs("fake2", 3)))
	// Idempotent: the live names are taken, nothing new starts.
	require.NoError(t, e.Launch(ctx, "fake2", blobJobs("fake2", 3)))
	require.Len(t, srv.Sandboxes(), 3)

	live, err := e.backend.List(ctx, "fake2")
	require.NoError(t, err)
	require.Len(t, live, 3) // the fake pages by 2: the SDK's iterator followed the pages
	names := []string{}
	for _, h := range live {
		names = append(names, h.Name)
	}
	require.ElementsMatch(t, []string{ShardName("fake2", 1), ShardName("fake2", 2), ShardName("fake2", 3)}, names)

	st, err := e.Status(ctx, "fake2")
	require.NoError(t, err)
	require.Equal(t, 3, st.Count(StateRunning))
	require.Len(t, st.Shards, 3, "a blob-only launch has no commit step")

	n, err := e.Cancel(ctx, "fake2")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	st, err = e.Status(ctx, "fake2")
	require.NoError(t, err)
	require.Equal(t, 3, st.Count(StateFailed))
	require.ErrorIs(t, st.Err(), ErrTerminated)
	for _, b := range srv.Sandboxes() {
		require.Equal(t, 137, b.ExitCode)
	}
}

func TestModalAdapterDetachedCommitWaitsForShards(t *testing.T) {
	e, srv, log := fakeModal(t, "sleep=1:1s")
	ctx := context.Background()
	require.NoError(t, e.Launch(ctx, "fake3", append(blobJobs("fake3", 2), commitJob("fake3", 2))))
	st, err := e.Wait(ctx, "fake3", 200*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, 3, st.Count(StateDone))
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Equal(t, []string{"commit 0 start", "commit 0 end"}, lines[len(lines)-2:])
	// Only the commit sandbox got Modal credentials, as a secret.
	for _, b := range srv.Sandboxes() {
		_, has := b.Env["MODAL_TOKEN_SECRET"]
		require.Equal(t, b.Name == CommitName("fake3"), has, b.Name)
	}
}

func TestModalAdapterDetachedCommitFailsWithShard(t *testing.T) {
	e, _, _ := fakeModal(t, "fail=2")
	ctx := context.Background()
	require.NoError(t, e.Launch(ctx, "fake4", append(blobJobs("fake4", 2), commitJob("fake4", 2))))
	st, err := e.Wait(ctx, "fake4", 200*time.Millisecond)
	require.Error(t, err)
	got := states(st)
	require.Equal(t, StateFailed, got[ShardName("fake4", 2)])
	require.Equal(t, StateFailed, got[CommitName("fake4")])
	for _, s := range st.Shards {
		if s.Name == CommitName("fake4") {
			require.Contains(t, s.Error, "boom in shard 2")
		}
	}
}

func TestModalAdapterNamedSecretAndHello(t *testing.T) {
	e, srv, _ := fakeModal(t, "", WithSecretName("hf2ms-tokens"))
	res, err := e.Hello(context.Background())
	require.NoError(t, err)
	require.Equal(t, "hf2ms test-version", res.Output)
	require.Equal(t, "ghcr.io/linaqruf/hf2ms:9.9.9", res.Image)

	require.NoError(t, e.Run(context.Background(), blobJobs("fake5", 1)[0], nil2))
	boxes := srv.Sandboxes()
	require.Equal(t, "hf_named", boxes[len(boxes)-1].Env["HF_TOKEN"])
}

func TestModalAdapterStatusWithoutRetainedOutput(t *testing.T) {
	srv := modaltest.New(t,
		modaltest.WithProgram("hf2ms", os.Args[0]),
		modaltest.WithImageConfig(imageConfig(t)),
		modaltest.WithImageEnv(map[string]string{"HF2MS_TEST_WORKER": "1"}),
		modaltest.WithoutFinishedOutput(),
	)
	e, err := New(context.Background(), WithSecrets(map[string]string{}))
	require.NoError(t, err)
	defer e.Close()
	require.NoError(t, e.Launch(context.Background(), "fake6", blobJobs("fake6", 1)))
	st, err := e.Wait(context.Background(), "fake6", 100*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, StateDone, st.Shards[0].State)
	require.Equal(t, "worker events not available", st.Shards[0].Note)
	require.Len(t, srv.Sandboxes(), 1)
}

func TestModalAdapterUnknownImageFails(t *testing.T) {
	e, _, _ := fakeModal(t, "", WithImage("ghcr.io/linaqruf/hf2ms:missing"))
	err := e.Run(context.Background(), blobJobs("fake7", 1)[0], nil2)
	require.ErrorContains(t, err, "pull access denied")
}

func nil2(migrate.Event) {}

// Credentials that exist only in the executor's getenv (the Action's inputs, a .env file) reach
// the SDK, which on its own reads only the process environment.
func TestModalAdapterCredentialsFromGetenv(t *testing.T) {
	srv := modaltest.New(t,
		modaltest.WithProgram("hf2ms", os.Args[0]),
		modaltest.WithImageConfig(imageConfig(t)),
		modaltest.WithImageEnv(map[string]string{"HF2MS_TEST_WORKER": "1"}),
	)
	env := srv.Env()
	t.Setenv("MODAL_TOKEN_ID", "")
	t.Setenv("MODAL_TOKEN_SECRET", "")
	getenv := func(k string) string { return env[k] }
	e, err := New(context.Background(), WithGetenv(getenv), WithSecrets(map[string]string{}))
	require.NoError(t, err)
	defer e.Close()
	require.NoError(t, e.Run(context.Background(), blobJobs("fake9", 1)[0], nil2))
}

// When Modal has no capacity the refusal counts against the fan-out: the executor waits for
// one of its running sandboxes to end before creating the next, and every job still runs.
func TestModalAdapterNoCapacityShrinksTheFanOut(t *testing.T) {
	g := newGate(t)
	e, srv, log := fakeModal(t, g.directive("*"), WithConcurrency(3))
	srv.SetCapacity(1)
	e.backoff = func() backoff.BackOff { return backoff.NewConstantBackOff(time.Hour) } // no probes: only ends free a slot
	var c collector
	refused := make(chan struct{}, 100)
	emit := func(ev migrate.Event) {
		c.emit(ev)
		if ev.Type == migrate.EventNotice && strings.Contains(ev.Message, "no capacity") {
			refused <- struct{}{}
		}
	}
	done := make(chan []error, 1)
	go func() { done <- runAll(context.Background(), e, blobJobs("cap1", 3), emit) }()
	// One sandbox runs (held at the gate); the two other creates were refused.
	g.waitArrivals(1)
	<-refused
	<-refused
	limit, held := e.fan.current()
	require.Equal(t, 1, limit)
	require.Equal(t, 1, held)
	// The first ends; of the two waiting, one starts (held at the gate) and the other, let in by
	// the limit raised after that success, is refused once more while it runs.
	g.releaseHeld()
	g.waitArrivals(1)
	<-refused
	g.releaseHeld()
	g.waitArrivals(1)
	g.Open()
	for _, err := range <-done {
		require.NoError(t, err)
	}
	require.Equal(t, map[int]int{1: 1, 2: 1, 3: 1}, c.byShard(migrate.EventDone))
	require.Equal(t, 1, maxOverlap(t, log))
	require.Len(t, srv.Sandboxes(), 3)
	// Never a retry without one of the executor's sandboxes having ended.
	require.Equal(t, 3, srv.Exhausted())
	require.Equal(t, 6, srv.Calls()["SandboxCreateV2"])
}

// With none of its own sandboxes running, the executor retries a refused create with backoff a
// bounded number of times and then fails with ErrCapacity.
func TestModalAdapterNoCapacityAtAllFails(t *testing.T) {
	e, srv, _ := fakeModal(t, "")
	srv.SetCapacity(0)
	e.backoff = func() backoff.BackOff { return backoff.NewConstantBackOff(time.Millisecond) }
	err := e.Run(context.Background(), blobJobs("cap0", 1)[0], nil2)
	require.ErrorIs(t, err, ErrCapacity)
	require.Contains(t, err.Error(), "Insufficient capacity")
	require.Equal(t, maxCapacityRetries+1, srv.Exhausted())
	require.Empty(t, srv.Sandboxes())
}
