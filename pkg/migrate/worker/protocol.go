// Package worker is hf2ms's worker protocol, the one contract between an orchestrator and the
// workers it starts in other processes or containers: a job as one JSON document in
// (migrate.Job), the job's events as JSON lines out (migrate.Event), and the done rule — a job
// succeeded only when the worker exited 0 after writing a done event.
//
// Serve is the worker's main (`hf2ms worker`); Subprocess is a migrate.Executor running jobs as
// worker processes; the Modal executor (pkg/modal) reads sandbox output with Decoder. It may
// import pkg/migrate; the engine does not import it.
package worker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Protocol limits.
const (
	// MaxJobSize is the largest job document accepted. Jobs are small (refs, the pinned commit,
	// the shard selector and options; never a listing) and must fit the 64 KiB a Modal sandbox's
	// environment variable may hold.
	MaxJobSize = 64 << 10
	// MaxLineSize is the longest event line read: a verify event lists every bad file.
	MaxLineSize = 16 << 20
)

// EncodeJob is the job's JSON document, refused when over MaxJobSize.
func EncodeJob(job migrate.Job) ([]byte, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return nil, fmt.Errorf("encode job: %w", err)
	}
	if len(b) > MaxJobSize {
		return nil, fmt.Errorf("encode job: %d bytes, over the %d the protocol allows: %w", len(b), MaxJobSize, hubkit.ErrInvalid)
	}
	return b, nil
}

// DecodeJob reads one job document from r.
func DecodeJob(r io.Reader) (migrate.Job, error) {
	var job migrate.Job
	dec := json.NewDecoder(io.LimitReader(r, MaxJobSize+1))
	if err := dec.Decode(&job); err != nil {
		return job, fmt.Errorf("read job: %w: %w", hubkit.ErrInvalid, err)
	}
	return job, nil
}

// Encoder writes events to w, one JSON object a line, flushing after each. It is safe for
// concurrent use; Err reports the first write error (later events are dropped).
type Encoder struct {
	redact func(string) string // nil: as is

	mu  sync.Mutex
	bw  *bufio.Writer
	enc *json.Encoder
	err error
}

// NewEncoder returns an Encoder writing to w.
func NewEncoder(w io.Writer) *Encoder {
	bw := bufio.NewWriter(w)
	return &Encoder{bw: bw, enc: json.NewEncoder(bw)}
}

// Emit writes ev, stamping its time when unset.
func (e *Encoder) Emit(ev migrate.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	if ev.Time.IsZero() {
		ev.Time = time.Now().UTC()
	}
	if e.redact != nil {
		ev.Error, ev.Message = e.redact(ev.Error), e.redact(ev.Message)
	}
	if e.err = e.enc.Encode(ev); e.err == nil {
		e.err = e.bw.Flush()
	}
}

// Err is the first write error.
func (e *Encoder) Err() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Decoder reads a worker's event stream and remembers what the done rule needs. Lines that are
// not events (a human log line, a panic trace) are skipped and the first few kept for errors.
type Decoder struct {
	// Shard fills events that carry no shard number.
	Shard int
	// Done reports a done event was read.
	Done bool
	// LastError is the last error event's message.
	LastError string
	// Last is the last event read.
	Last *migrate.Event
	// Events counts the events read.
	Events int
	// Junk holds the first lines that were not events (cut to 200 bytes each).
	Junk []string
}

// Decode reads events from r until it ends, passing each to emit (when not nil). It returns the
// error that stopped reading, if any (a line over MaxLineSize, a broken pipe).
func (d *Decoder) Decode(r io.Reader, emit func(migrate.Event)) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), MaxLineSize)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var ev migrate.Event
		if json.Unmarshal(line, &ev) != nil || ev.Type == "" {
			if len(d.Junk) < 10 {
				d.Junk = append(d.Junk, string(line[:min(len(line), 200)]))
			}
			continue
		}
		if ev.Shard == 0 {
			ev.Shard = d.Shard
		}
		d.Events++
		switch ev.Type {
		case migrate.EventDone:
			d.Done = true
		case migrate.EventError:
			d.LastError = ev.Error
		}
		d.Last = &ev
		if emit != nil {
			emit(ev)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("reading events: %w", err)
	}
	return nil
}

// ErrNoDone is the done rule's failure: the worker exited 0 without a done event.
var ErrNoDone = errors.New("exited without a done event")

// Outcome applies the done rule to a worker that exited with exitErr (nil for exit 0).
func (d *Decoder) Outcome(exitErr error) error {
	switch {
	case exitErr != nil:
		return exitErr
	case !d.Done:
		return ErrNoDone
	}
	return nil
}
