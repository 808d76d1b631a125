// Package proc runs one local process the way a Modal sandbox runs its entrypoint: output kept
// in memory and readable from any offset while the process runs, a wall-clock timeout (exit code
// 124), termination (exit code 137) and a result that outlives the process. The local sandbox
// backend of pkg/modal and the fake Modal control plane (pkg/modal/modaltest) share it.
package proc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Exit codes Modal reports for sandboxes that did not exit on their own.
const (
	ExitTimeout    = 124
	ExitTerminated = 137
)

// Status says how a process ended.
type Status int

// Process end states.
const (
	Running    Status = iota // not finished
	Exited                   // exited on its own (Code is its exit code)
	Terminated               // killed by Terminate
	TimedOut                 // killed by the timeout
)

// Result is how a process ended.
type Result struct {
	Status Status
	// Code is the exit code as Modal reports it: the real code, 124 on timeout, 137 when
	// terminated, 128+signal when killed by a signal from elsewhere.
	Code int
	// Err is set when the process could not be waited for.
	Err error
}

// Process is one running (or finished) local process.
type Process struct {
	cmd    *exec.Cmd
	stdout *Stream
	stderr *Stream
	done   chan struct{}

	mu     sync.Mutex
	result Result
	killed Status // Terminated or TimedOut once a kill was requested
	timer  *time.Timer
}

// Start runs path with args and exactly env (nothing is inherited). A timeout > 0 kills the
// process after that long and reports exit code 124.
func Start(path string, args []string, env []string, timeout time.Duration) (*Process, error) {
	cmd := exec.Command(path, args...)
	cmd.Env = env
	p := &Process{cmd: cmd, stdout: newStream(), stderr: newStream(), done: make(chan struct{})}
	cmd.Stdout = p.stdout
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	if timeout > 0 {
		p.timer = time.AfterFunc(timeout, func() { p.kill(TimedOut) })
	}
	go p.wait()
	return p, nil
}

func (p *Process) wait() {
	err := p.cmd.Wait()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Lock()
	res := Result{Status: Exited}
	var exitErr *exec.ExitError
	switch {
	case p.killed == Terminated:
		res = Result{Status: Terminated, Code: ExitTerminated}
	case p.killed == TimedOut:
		res = Result{Status: TimedOut, Code: ExitTimeout}
	case err == nil:
	case errors.As(err, &exitErr):
		res.Code = exitErr.ExitCode()
		if ws, ok := exitErr.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			res.Code = 128 + int(ws.Signal())
		}
	default:
		res = Result{Status: Exited, Code: -1, Err: err}
	}
	p.result = res
	p.mu.Unlock()
	p.stdout.close()
	p.stderr.close()
	close(p.done)
}

func (p *Process) kill(why Status) {
	p.mu.Lock()
	select {
	case <-p.done:
		p.mu.Unlock()
		return
	default:
	}
	if p.killed == Running {
		p.killed = why
	}
	p.mu.Unlock()
	_ = p.cmd.Process.Kill()
}

// Terminate kills the process; it then reports exit code 137. Terminating a finished process
// changes nothing.
func (p *Process) Terminate() { p.kill(Terminated) }

// Done is closed once the process has ended and its output is complete.
func (p *Process) Done() <-chan struct{} { return p.done }

// Result returns the result and true once the process has ended.
func (p *Process) Result() (Result, bool) {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.result, true
	default:
		return Result{}, false
	}
}

// Wait blocks until the process ends or ctx is done.
func (p *Process) Wait(ctx context.Context) (Result, error) {
	select {
	case <-p.done:
		r, _ := p.Result()
		return r, nil
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
}

// Stdout is the process's standard output.
func (p *Process) Stdout() *Stream { return p.stdout }

// Stderr is the process's standard error.
func (p *Process) Stderr() *Stream { return p.stderr }

// Stream is an append-only byte log readable from any offset, closed when the process ends.
type Stream struct {
	mu     sync.Mutex
	buf    []byte
	closed bool
	notify chan struct{}
}

func newStream() *Stream { return &Stream{notify: make(chan struct{})} }

// Write appends b (the process writes here).
func (s *Stream) Write(b []byte) (int, error) {
	s.mu.Lock()
	s.buf = append(s.buf, b...)
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
	return len(b), nil
}

func (s *Stream) close() {
	s.mu.Lock()
	s.closed = true
	close(s.notify)
	s.notify = make(chan struct{})
	s.mu.Unlock()
}

// Len is the number of bytes written so far.
func (s *Stream) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return int64(len(s.buf))
}

// ReadAt blocks until there are bytes at or after off, then returns a copy of up to max of them.
// It returns io.EOF once the stream is closed and off is at its end.
func (s *Stream) ReadAt(ctx context.Context, off int64, max int) ([]byte, error) {
	for {
		s.mu.Lock()
		if off < int64(len(s.buf)) {
			end := min(int64(len(s.buf)), off+int64(max))
			b := append([]byte(nil), s.buf[off:end]...)
			s.mu.Unlock()
			return b, nil
		}
		if s.closed {
			s.mu.Unlock()
			return nil, io.EOF
		}
		ch := s.notify
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Reader returns a reader of the stream from offset 0 that follows it until it closes or ctx
// is done.
func (s *Stream) Reader(ctx context.Context) io.ReadCloser {
	ctx, cancel := context.WithCancel(ctx)
	return &streamReader{s: s, ctx: ctx, cancel: cancel}
}

type streamReader struct {
	s      *Stream
	ctx    context.Context
	cancel context.CancelFunc
	off    int64
}

func (r *streamReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	b, err := r.s.ReadAt(r.ctx, r.off, len(p))
	if err != nil {
		return 0, err
	}
	r.off += int64(len(b))
	return copy(p, b), nil
}

func (r *streamReader) Close() error {
	r.cancel()
	return nil
}
