package modal

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"

	"github.com/linaqruf/hf2ms/pkg/modal/internal/proc"
)

// LocalBackend runs each "sandbox" as a local subprocess. It serves unit tests and
// local debugging: the same orchestration, names, tags, exit codes and
// event streams as on Modal, without Modal. Its sandboxes live only as long as this process
// (a detached local run cannot be found again from another process).
type LocalBackend struct {
	programs map[string]string
	baseEnv  []string

	mu     sync.Mutex
	seq    int
	boxes  map[string]*localBox
	byName map[string][]*localBox
}

type localBox struct {
	h    Handle
	seq  int
	proc *proc.Process
}

// LocalOption configures a LocalBackend.
type LocalOption func(*LocalBackend)

// WithProgram runs path when a sandbox's Command[0] is name (or has base name name); by default
// "hf2ms" is this executable.
func WithProgram(name, path string) LocalOption {
	return func(b *LocalBackend) { b.programs[name] = path }
}

// WithBaseEnv sets the environment every local sandbox starts from before its spec's Env and
// Secrets (default: this process's environment).
func WithBaseEnv(env []string) LocalOption {
	return func(b *LocalBackend) { b.baseEnv = env }
}

// NewLocalBackend returns a backend running sandboxes as local subprocesses.
func NewLocalBackend(opts ...LocalOption) *LocalBackend {
	b := &LocalBackend{
		programs: map[string]string{},
		baseEnv:  os.Environ(),
		boxes:    map[string]*localBox{},
		byName:   map[string][]*localBox{},
	}
	if exe, err := os.Executable(); err == nil {
		b.programs["hf2ms"] = exe
	}
	for _, o := range opts {
		o(b)
	}
	return b
}

func (b *LocalBackend) program(argv0 string) (string, error) {
	if p, ok := b.programs[argv0]; ok {
		return p, nil
	}
	if p, ok := b.programs[filepath.Base(argv0)]; ok {
		return p, nil
	}
	p, err := exec.LookPath(argv0)
	if err != nil {
		return "", fmt.Errorf("local sandbox: program %q: %w", argv0, err)
	}
	return p, nil
}

// Start implements Backend.
func (b *LocalBackend) Start(ctx context.Context, spec Spec) (Handle, error) {
	if len(spec.Command) == 0 {
		return Handle{}, fmt.Errorf("local sandbox: empty command")
	}
	path, err := b.program(spec.Command[0])
	if err != nil {
		return Handle{}, err
	}
	env := append([]string(nil), b.baseEnv...)
	for _, m := range []map[string]string{spec.Env, spec.Secrets} {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			env = append(env, k+"="+m[k])
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if spec.Name != "" {
		for _, box := range b.byName[spec.Name] {
			if _, done := box.proc.Result(); !done {
				return Handle{}, fmt.Errorf("local sandbox %s: %w", spec.Name, ErrAlreadyExists)
			}
		}
	}
	p, err := proc.Start(path, spec.Command[1:], env, spec.Timeout)
	if err != nil {
		return Handle{}, err
	}
	b.seq++
	h := Handle{ID: fmt.Sprintf("local-%d", b.seq), Name: spec.Name, Tags: maps.Clone(spec.Tags)}
	box := &localBox{h: h, seq: b.seq, proc: p}
	b.boxes[h.ID] = box
	if spec.Name != "" {
		b.byName[spec.Name] = append(b.byName[spec.Name], box)
	}
	return h, nil
}

func (b *LocalBackend) box(h Handle) (*localBox, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	box, ok := b.boxes[h.ID]
	if !ok {
		return nil, fmt.Errorf("local sandbox %s: %w", h.ID, ErrNotFound)
	}
	return box, nil
}

// Output implements Backend.
func (b *LocalBackend) Output(ctx context.Context, h Handle) (io.ReadCloser, error) {
	box, err := b.box(h)
	if err != nil {
		return nil, err
	}
	return box.proc.Stdout().Reader(ctx), nil
}

// Wait implements Backend.
func (b *LocalBackend) Wait(ctx context.Context, h Handle) (int, error) {
	box, err := b.box(h)
	if err != nil {
		return 0, err
	}
	r, err := box.proc.Wait(ctx)
	if err != nil {
		return 0, err
	}
	return r.Code, r.Err
}

// Poll implements Backend.
func (b *LocalBackend) Poll(ctx context.Context, h Handle) (*int, error) {
	box, err := b.box(h)
	if err != nil {
		return nil, err
	}
	r, done := box.proc.Result()
	if !done {
		return nil, nil
	}
	return &r.Code, nil
}

// Terminate implements Backend.
func (b *LocalBackend) Terminate(ctx context.Context, h Handle) error {
	box, err := b.box(h)
	if err != nil {
		return err
	}
	box.proc.Terminate()
	_, err = box.proc.Wait(ctx)
	return err
}

// List implements Backend.
func (b *LocalBackend) List(ctx context.Context, runID string) ([]Handle, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var boxes []*localBox
	for _, box := range b.boxes {
		if _, done := box.proc.Result(); done || box.h.Tags[TagRun] != runID {
			continue
		}
		boxes = append(boxes, box)
	}
	sort.Slice(boxes, func(i, j int) bool { return boxes[i].seq < boxes[j].seq })
	out := make([]Handle, len(boxes))
	for i, box := range boxes {
		out[i] = box.h
	}
	return out, nil
}

// Lookup implements Backend.
func (b *LocalBackend) Lookup(ctx context.Context, name string) (Handle, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	boxes := b.byName[name]
	if len(boxes) == 0 {
		return Handle{}, fmt.Errorf("local sandbox %s: %w", name, ErrNotFound)
	}
	for _, box := range boxes {
		if _, done := box.proc.Result(); !done {
			return box.h, nil
		}
	}
	return boxes[len(boxes)-1].h, nil
}

// Close implements Backend; local sandboxes keep running until they end or are terminated.
func (b *LocalBackend) Close() error { return nil }
