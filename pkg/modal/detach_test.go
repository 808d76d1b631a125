package modal

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func states(st *RunStatus) map[string]State {
	out := map[string]State{}
	for _, s := range st.Shards {
		out[s.Name] = s.State
	}
	return out
}

func TestLaunchThenStatusAndWaitFindTheRun(t *testing.T) {
	// The blob shards wait at the gate while the status is taken.
	g := newGate(t)
	e, log := localExec(t, g.directive("*"))
	ctx := context.Background()
	jobs := append(blobJobs("det1", 3), commitJob("det1", 3))
	require.NoError(t, e.Launch(ctx, "det1", jobs))
	// A second launch while the shards run starts nothing new.
	require.NoError(t, e.Launch(ctx, "det1", jobs))

	st, err := e.Status(ctx, "det1")
	require.NoError(t, err)
	require.Len(t, st.Shards, 4)
	require.Equal(t, 3, st.Count(StateRunning))
	require.Equal(t, StatePending, states(st)[CommitName("det1")])
	require.False(t, st.Finished())

	g.Open()
	final, err := e.Wait(ctx, "det1", 50*time.Millisecond)
	require.NoError(t, err)
	require.True(t, final.Finished())
	require.Equal(t, 4, final.Count(StateDone))
	for _, s := range final.Shards {
		require.NotNil(t, s.Last, s.Name)
		require.Equal(t, migrate.EventDone, s.Last.Type, s.Name)
		require.Equal(t, 0, *s.ExitCode)
	}
	// Each shard ran once, and the commit step only after every blob shard ended.
	b, err := os.ReadFile(log)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 8)
	require.Equal(t, []string{"commit 0 start", "commit 0 end"}, lines[6:])
}

func TestDetachedShardFailureFailsTheRun(t *testing.T) {
	e, _ := localExec(t, "fail=2")
	ctx := context.Background()
	require.NoError(t, e.Launch(ctx, "det2", append(blobJobs("det2", 3), commitJob("det2", 3))))
	st, err := e.Wait(ctx, "det2", 50*time.Millisecond)
	require.ErrorIs(t, err, ErrWorkerFailed)
	require.Contains(t, err.Error(), "boom in shard 2")
	got := states(st)
	require.Equal(t, StateFailed, got[ShardName("det2", 2)])
	require.Equal(t, StateDone, got[ShardName("det2", 1)])
	require.Equal(t, StatePending, got[CommitName("det2")], "no commit after a failed shard")
}

func TestCancelRunTerminatesLiveSandboxes(t *testing.T) {
	e, _ := localExec(t, "hang=*")
	ctx := context.Background()
	require.NoError(t, e.Launch(ctx, "det3", blobJobs("det3", 3)))
	n, err := e.Cancel(ctx, "det3")
	require.NoError(t, err)
	require.Equal(t, 3, n)
	st, err := e.Status(ctx, "det3")
	require.NoError(t, err)
	require.Equal(t, 3, st.Count(StateFailed))
	require.ErrorIs(t, st.Err(), ErrTerminated)
	n, err = e.Cancel(ctx, "det3")
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestBatchLaunchNamesReposByIndex(t *testing.T) {
	e, _ := localExec(t, "")
	ctx := context.Background()
	var jobs []migrate.Job
	for range 2 {
		j := blobJobs("batch", 1)[0]
		j.Phase, j.Shard, j.Shards = migrate.PhaseAll, 0, 0
		jobs = append(jobs, j)
	}
	require.NoError(t, e.Launch(ctx, "batch", jobs))
	st, err := e.Wait(ctx, "batch", 50*time.Millisecond)
	require.NoError(t, err)
	require.Equal(t, map[string]State{RepoName("batch", 1): StateDone, RepoName("batch", 2): StateDone}, states(st))
}

func TestStatusOfUnknownRun(t *testing.T) {
	e, _ := localExec(t, "")
	_, err := e.Status(context.Background(), "nope")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = e.Status(context.Background(), "bad/run")
	require.Error(t, err)
}

func TestLaunchRejects(t *testing.T) {
	e, _ := localExec(t, "")
	ctx := context.Background()
	mixed := append(blobJobs("x", 1), migrate.Job{RunID: "x", Phase: migrate.PhaseAll})
	require.ErrorContains(t, e.Launch(ctx, "x", mixed), "batch")
	require.ErrorContains(t, e.Launch(ctx, "x", blobJobs("y", 1)), "job for run y")
	require.ErrorContains(t, e.Launch(ctx, "x", blobJobs("x", MaxConcurrency+1)), "at most")
}

func TestHelloLocal(t *testing.T) {
	e, _ := localExec(t, "")
	res, err := e.Hello(context.Background())
	require.NoError(t, err)
	require.Equal(t, "hf2ms test-version", res.Output)
	require.Positive(t, res.ColdStart)
	require.GreaterOrEqual(t, res.Total, res.ColdStart)
}
