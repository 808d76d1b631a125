package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/worker"
)

var (
	msRepo = migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"}
	hfRepo = migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/model"}
)

// eventLog collects events (RunJob and executors call emit from one goroutine per job).
type eventLog struct {
	mu     sync.Mutex
	events []migrate.Event
}

func (l *eventLog) add(ev migrate.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, ev)
}

// workerEnv switches this test binary into a fake `hf2ms worker` (see TestSubprocessWorkerHelper).
const workerEnv = "HF2MS_TEST_WORKER"

// TestSubprocessWorkerHelper is not a test: re-executed with workerEnv set, it plays a worker
// process. "serve" runs the real ServeWorker on memhub hubs seeded alike in every process.
func TestSubprocessWorkerHelper(t *testing.T) {
	mode := os.Getenv(workerEnv)
	if mode == "" {
		return
	}
	switch mode {
	case "serve":
		src, dst := workerHubs()
		err := worker.Serve(context.Background(), os.Stdin, os.Stdout, func(h migrate.HubName, _ migrate.Endpoints) (migrate.Hub, error) {
			if h == migrate.ModelScope {
				return src, nil
			}
			return dst, nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, "worker:", err)
			os.Exit(1)
		}
	case "nodone":
		fmt.Println(`{"type":"file_start","path":"a"}`)
	case "fail":
		fmt.Println("not json at all")
		fmt.Println(`{"type":"error","error":"quota exceeded"}`)
		fmt.Fprintln(os.Stderr, "boom on stderr")
		os.Exit(3)
	case "hang":
		fmt.Println(`{"type":"notice","message":"started"}`)
		time.Sleep(time.Minute)
	}
	os.Exit(0)
}

func workerHubs() (src, dst *memhub.Hub) {
	src = memhub.New(migrate.ModelScope)
	dst = memhub.New(migrate.HuggingFace)
	src.Seed(msRepo, false,
		memhub.FileSpec{Path: "config.json", Data: []byte(`{}`)},
		memhub.FileSpec{Path: "model.safetensors", Blob: &synth.Blob{Size: 256 << 10, Seed: 7}},
	)
	dst.Seed(hfRepo, false)
	return src, dst
}

func subprocess(mode string) worker.Subprocess {
	return worker.Subprocess{
		Command: []string{os.Args[0], "-test.run=^TestSubprocessWorkerHelper$"},
		Env:     []string{workerEnv + "=" + mode},
	}
}

func TestSubprocessExecutor(t *testing.T) {
	src, dst := workerHubs()
	m, err := migrate.New(src, dst, msRepo, hfRepo)
	require.NoError(t, err)
	plan, err := m.Plan(context.Background())
	require.NoError(t, err)
	jobs := migrate.Jobs(plan, "run1", plan.Options, migrate.Endpoints{})
	all := jobs[len(jobs)-1]
	all.Phase = migrate.PhaseAll

	for _, tc := range []struct {
		name    string
		mode    string
		job     migrate.Job
		wantErr []string
		want    []migrate.EventType
	}{
		{name: "real worker", mode: "serve", job: all,
			want: []migrate.EventType{migrate.EventFileStart, migrate.EventFileDone, migrate.EventCommit, migrate.EventFileDone, migrate.EventVerify, migrate.EventDone}},
		{name: "worker error", mode: "serve", job: migrate.Job{Phase: "bogus", Source: msRepo, Dest: hfRepo, SourceCommit: "x"},
			wantErr: []string{"exit status 1", "unknown phase", "stderr: worker:"}},
		{name: "missing done", mode: "nodone", job: all, wantErr: []string{"without a done event"}},
		{name: "exit code, junk and stderr", mode: "fail", job: all,
			wantErr: []string{"exit status 3", "quota exceeded", "not json at all", "boom on stderr"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log eventLog
			err := subprocess(tc.mode).Run(context.Background(), tc.job, log.add)
			if tc.wantErr == nil {
				require.NoError(t, err)
				var got []migrate.EventType
				for _, ev := range log.events {
					if ev.Type != migrate.EventProgress {
						got = append(got, ev.Type)
					}
				}
				require.Equal(t, tc.want, got)
				return
			}
			require.Error(t, err)
			for _, w := range tc.wantErr {
				require.ErrorContains(t, err, w)
			}
		})
	}
}

func TestSubprocessCancelKillsWorker(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan struct{})
	go func() {
		<-started
		cancel()
	}()
	var once bool
	t0 := time.Now()
	err := subprocess("hang").Run(ctx, migrate.Job{Phase: migrate.PhaseBlobs}, func(ev migrate.Event) {
		if !once {
			once = true
			close(started)
		}
	})
	require.ErrorIs(t, err, context.Canceled)
	require.Less(t, time.Since(t0), 20*time.Second)
}

func TestSubprocessExecutorRunsMigration(t *testing.T) {
	// The orchestrator's plan and the worker's (in another process, on identically seeded hubs)
	// agree; the run drives blob and commit jobs through the protocol.
	src, dst := workerHubs()
	var log eventLog
	m, err := migrate.New(src, dst, msRepo, hfRepo, migrate.WithExecutor(subprocess("serve")), migrate.WithEvents(log.add))
	require.NoError(t, err)
	rep, err := m.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, 2, rep.FilesCopied)
	require.True(t, rep.Verification.OK())
}

func TestServeReportsABadJobAsAnEvent(t *testing.T) {
	var out strings.Builder
	err := worker.Serve(context.Background(), strings.NewReader("{not json"), &out, nil)
	require.ErrorIs(t, err, hubkit.ErrInvalid)
	var ev migrate.Event
	require.NoError(t, json.Unmarshal([]byte(out.String()), &ev), out.String())
	require.Equal(t, migrate.EventError, ev.Type)
	require.Contains(t, ev.Error, "read job")
}
