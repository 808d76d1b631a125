package mcpserver

import (
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal"
	"github.com/linaqruf/hf2ms/pkg/modal/modaltest"
)

// TestDetachedRunOnFakeModal plans, starts a detached parallel run on the fake Modal control
// plane (whose sandboxes run the real binary as `hf2ms worker`), follows it with the status
// tool until it finished, and verifies the destination: the agent's whole detached workflow.
func TestDetachedRunOnFakeModal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "hf2ms")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/linaqruf/hf2ms/cmd/hf2ms").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	srv := modaltest.New(t, modaltest.WithProgram("hf2ms", bin)) // points the Modal SDK at the fake
	w := testworld.New(t)
	w.SeedModel(t, src, 4)
	env := w.Env()
	for k, v := range srv.Env() {
		env[k] = v
	}
	s := connect(t, env)

	args := planArgs()
	args["parallel"], args["chunk_size"] = true, "100KiB"
	plan := s.plan(t, args)
	require.Greater(t, plan.Report.Plan.Shards, 1)

	args["plan_id"], args["confirm"] = plan.PlanID, true
	args["executor"], args["detach"] = "modal", true
	var started MigrateResult
	decode(t, s.call(t, "migrate", args, nil), &started)
	require.Equal(t, migrate.StatusDetached, started.Report.Status)
	runID := started.Report.RunID
	require.NotEmpty(t, runID)
	require.Equal(t, plan.Report.Plan.Shards+1, started.Jobs, "the blob shards and the commit step")
	require.Contains(t, started.Next, runID)

	// Follow the run as an agent would: poll status until it finished.
	var st StatusResult
	deadline := time.Now().Add(3 * time.Minute)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		decode(t, s.call(t, "status", map[string]any{"run_id": runID}, nil), &st)
		if st.Finished {
			break
		}
		require.True(t, time.Now().Before(deadline), "the run did not finish: %+v", st.Status)
		<-tick.C
	}
	require.False(t, st.Failed, "%+v", st.Status)
	require.Equal(t, len(st.Status.Shards), st.Status.Count(modal.StateDone))

	var v VerifyResult
	decode(t, s.call(t, "verify", map[string]any{"source": "hf:alice/model", "to": "ms"}, nil), &v)
	require.True(t, v.Verified, "%+v", v.Verification)
	require.Subset(t, w.Paths(t, dst), []string{"weights/part-000.bin", "weights/part-003.bin"})
	s.requireNoSecret(t)
}
