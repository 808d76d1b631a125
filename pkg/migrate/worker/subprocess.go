package worker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Subprocess is a migrate.Executor that runs each job in a worker process (`hf2ms worker`): the
// job on stdin, events on stdout. Lines of stdout that are not events are ignored (and quoted in
// the error when the job fails); stderr's tail is captured into the error.
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

// Run implements migrate.Executor.
func (s Subprocess) Run(ctx context.Context, job migrate.Job, emit func(migrate.Event)) error {
	if len(s.Command) == 0 {
		return fmt.Errorf("subprocess executor: %w: no command", hubkit.ErrInvalid)
	}
	in, err := EncodeJob(job)
	if err != nil {
		return fmt.Errorf("subprocess executor: %w", err)
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
	d := Decoder{Shard: job.Shard}
	scanErr := d.Decode(out, emit)
	waitErr := cmd.Wait()
	if ctx.Err() != nil {
		return fmt.Errorf("worker %s shard %d: %w", job.Phase, job.Shard, ctx.Err())
	}
	outcome := d.Outcome(waitErr)
	if outcome == nil && scanErr == nil {
		return nil
	}
	primary, extra := outcome, ""
	switch {
	case primary == nil:
		primary = scanErr
	case scanErr != nil:
		extra = "; " + scanErr.Error()
	}
	if d.LastError != "" {
		extra += ": " + d.LastError
	}
	if len(d.Junk) > 0 {
		extra += "; other output: " + strings.Join(d.Junk, " | ")
	}
	if t := strings.TrimSpace(stderr.buf.String()); t != "" {
		extra += "; stderr: " + t
	}
	return fmt.Errorf("worker %s shard %d: %w%s", job.Phase, job.Shard, primary, extra)
}
