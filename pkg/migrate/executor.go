package migrate

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// InProcess is the default Executor: it runs RunJob in this process with the given hubs.
type InProcess struct {
	Src, Dst Hub
}

// Run implements Executor.
func (e InProcess) Run(ctx context.Context, job Job, emit func(Event)) error {
	return RunJob(ctx, job, e.Src, e.Dst, emit)
}

// Subprocess is an Executor that runs each job in a worker process (`hf2ms worker`): the job as
// JSON on stdin, JSON-lines events on stdout. A job succeeds only when the process exits 0 AND
// wrote a done event. Lines of stdout that are not events are ignored (and quoted in the error
// when the job fails), stderr's tail is captured into the error.
type Subprocess struct {
	// Command is the program and its arguments, e.g. {"/usr/bin/hf2ms", "worker"}.
	Command []string
	// Env is added to this process's environment (tokens are passed this way, never in the job).
	Env []string
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

// Run implements Executor.
func (s Subprocess) Run(ctx context.Context, job Job, emit func(Event)) error {
	if len(s.Command) == 0 {
		return fmt.Errorf("subprocess executor: %w: no command", hubkit.ErrInvalid)
	}
	in, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("subprocess executor: encode job: %w", err)
	}
	cmd := exec.CommandContext(ctx, s.Command[0], s.Command[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdin = bytes.NewReader(in)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stderr := &tailBuffer{max: 8 << 10}
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("subprocess executor: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("subprocess executor: start %s: %w", s.Command[0], err)
	}
	var done bool
	var lastErr string
	var junk []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev Event
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" {
			if len(junk) < 10 {
				junk = append(junk, string(line[:min(len(line), 200)]))
			}
			continue
		}
		switch ev.Type {
		case EventDone:
			done = true
		case EventError:
			lastErr = ev.Error
		}
		if emit != nil {
			emit(ev)
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("worker %s shard %d: %w", job.Phase, job.Shard, ctx.Err())
	}
	var why []string
	if waitErr != nil {
		why = append(why, waitErr.Error())
	}
	if scanErr != nil {
		why = append(why, "reading events: "+scanErr.Error())
	}
	if waitErr == nil && !done {
		why = append(why, "exited without a done event")
	}
	if len(why) == 0 {
		return nil
	}
	msg := strings.Join(why, "; ")
	if lastErr != "" {
		msg += ": " + lastErr
	}
	if len(junk) > 0 {
		msg += "; other output: " + strings.Join(junk, " | ")
	}
	if t := strings.TrimSpace(stderr.buf.String()); t != "" {
		msg += "; stderr: " + t
	}
	err = errors.New(msg)
	if lastErr == "" && waitErr == nil {
		return fmt.Errorf("worker %s shard %d: %w", job.Phase, job.Shard, err)
	}
	return fmt.Errorf("worker %s shard %d: %w", job.Phase, job.Shard, err)
}
