package modal

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// The test binary doubles as a fake `hf2ms` when HF2MS_TEST_WORKER=1: `version` prints a
// version, `worker` speaks the worker protocol (job from HF2MS_JOB or stdin, JSON-lines events
// on stdout) with behaviour chosen per shard by HF2MS_TEST_BEHAVIOR, e.g.
// "fail=2,nodone=3,sleep=300ms,hang=1,kill=4,exit=5:124,gate=*:PATH" (shard numbers; "*" =
// every shard; gate waits at a test's gate, see gate_test.go).
func TestMain(m *testing.M) {
	if os.Getenv("HF2MS_TEST_WORKER") == "1" {
		os.Exit(fakeWorker(os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeWorker(args []string) int {
	if len(args) > 0 && args[0] == "version" {
		fmt.Println("hf2ms test-version")
		return 0
	}
	if len(args) == 0 || args[0] != "worker" {
		fmt.Fprintln(os.Stderr, "usage: hf2ms worker|version")
		return 2
	}
	ctx := context.Background()
	enc := json.NewEncoder(os.Stdout)
	emit := func(ev migrate.Event) {
		ev.Time = time.Now()
		_ = enc.Encode(ev)
	}
	fmt.Println("a human log line the executor must ignore")
	// The detached commit step waits for the blob shards first, as `hf2ms worker` does.
	if err := AwaitShards(ctx, os.Getenv, os.Stdout); err != nil {
		emit(migrate.Event{Type: migrate.EventError, Error: err.Error()})
		return 1
	}
	raw := os.Getenv(EnvJob)
	if raw == "" {
		b, _ := io.ReadAll(os.Stdin)
		raw = string(b)
	}
	var job migrate.Job
	if err := json.Unmarshal([]byte(raw), &job); err != nil {
		emit(migrate.Event{Type: migrate.EventError, Error: "bad job: " + err.Error()})
		return 1
	}
	logLine(job, "start")
	defer logLine(job, "end")
	b := behavior(job.Shard)
	emit(migrate.Event{Type: migrate.EventNotice, Shard: job.Shard,
		Message: fmt.Sprintf("phase=%s hf_token=%t job_in_argv=%t", job.Phase, os.Getenv("HF_TOKEN") != "",
			strings.Contains(strings.Join(os.Args, " "), "source_commit"))})
	if p, ok := b["gate"]; ok {
		if err := passGate(p); err != nil {
			emit(migrate.Event{Type: migrate.EventError, Error: "gate: " + err.Error()})
			return 1
		}
	}
	path := fmt.Sprintf("file-%d.bin", job.Shard)
	emit(migrate.Event{Type: migrate.EventFileStart, Shard: job.Shard, Path: path, Size: 10})
	if d, ok := b["sleep"]; ok {
		dur, _ := time.ParseDuration(d)
		time.Sleep(dur)
	}
	if _, ok := b["hang"]; ok {
		time.Sleep(time.Hour)
	}
	if _, ok := b["kill"]; ok {
		logLine(job, "end")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	}
	if c, ok := b["exit"]; ok {
		code, _ := strconv.Atoi(c)
		logLine(job, "end")
		os.Exit(code)
	}
	if _, ok := b["fail"]; ok {
		emit(migrate.Event{Type: migrate.EventError, Shard: job.Shard, Error: fmt.Sprintf("boom in shard %d", job.Shard)})
		return 3
	}
	emit(migrate.Event{Type: migrate.EventProgress, Shard: job.Shard, Path: path, Bytes: 10})
	emit(migrate.Event{Type: migrate.EventFileDone, Shard: job.Shard, Path: path, Size: 10, Action: migrate.ActionCopied})
	if _, ok := b["nodone"]; ok {
		return 0
	}
	emit(migrate.Event{Type: migrate.EventDone, Shard: job.Shard})
	return 0
}

// behavior returns the directives of HF2MS_TEST_BEHAVIOR that apply to shard.
func behavior(shard int) map[string]string {
	out := map[string]string{}
	for _, d := range strings.Split(os.Getenv("HF2MS_TEST_BEHAVIOR"), ",") {
		key, val, ok := strings.Cut(d, "=")
		if !ok {
			continue
		}
		target, arg, _ := strings.Cut(val, ":")
		if key == "sleep" && arg == "" {
			target, arg = "*", val
		}
		if target == "*" || target == strconv.Itoa(shard) {
			out[key] = arg
		}
	}
	return out
}

// logLine appends "<phase> <shard> <what>" to HF2MS_TEST_LOG (one small O_APPEND write, so
// lines of concurrent workers never interleave and their order is the order of events).
func logLine(job migrate.Job, what string) {
	path := os.Getenv("HF2MS_TEST_LOG")
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = fmt.Fprintf(f, "%s %d %s\n", job.Phase, job.Shard, what)
}
