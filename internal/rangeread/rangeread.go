// Package rangeread reads one object with several ranged connections at once and hands the bytes
// on as one ordered stream, for destinations that take a file as a single upload stream while the
// path from the source caps each connection.
//
// Memory is bounded by the window: at most Connections ranges of RangeSize bytes are fetched or
// waiting to be read at any time. How many connections a file uses adapts to what is measured
// (Controller): a connection is added while the reader of the stream waits for bytes and the last
// connection added raised the rate; one is taken away when it did not. Every connection holds a
// slot of a Budget shared by all the streams reading from one host, so the process as a whole
// stays within a per-host connection count (and so within Budget × RangeSize bytes of windows).
//
// Retrying is not done here: the Source's readers resume a range cut short (they retry within
// the range), and any error that reaches this package ends the stream with that error, for the
// caller's own retry of the whole object.
//
// rangeread imports only pkg/hubkit; the engine imports it.
package rangeread

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Defaults of the options.
const (
	// DefaultRangeSize is the bytes one ranged request reads.
	DefaultRangeSize = 4 << 20
	// DefaultConnections is the most connections one stream opens at once.
	DefaultConnections = 8
)

// Option configures New.
type Option func(*config)

type config struct {
	rangeSize int64
	conns     int
	start     int
	budget    *Budget
	interval  time.Duration
	fixed     bool
	scheduled func()
}

// WithScheduled calls fn once every range of the stream has been started (the stream opens no
// more connections; what is left is to finish them and to drain the window): a caller may start
// its next transfer then.
func WithScheduled(fn func()) Option { return func(c *config) { c.scheduled = fn } }

// WithRangeSize sets the bytes of one ranged read (default DefaultRangeSize).
func WithRangeSize(n int64) Option {
	return func(c *config) {
		if n > 0 {
			c.rangeSize = n
		}
	}
}

// WithConnections sets the most connections the stream opens at once (default
// DefaultConnections): an upper bound, the controller chooses below it.
func WithConnections(n int) Option {
	return func(c *config) {
		if n > 0 {
			c.conns = n
		}
	}
}

// WithFixed turns adaptation off: the stream keeps WithConnections connections busy.
func WithFixed() Option { return func(c *config) { c.fixed = true } }

// WithBudget makes every connection hold a slot of b (default: a budget of the stream's own).
func WithBudget(b *Budget) Option { return func(c *config) { c.budget = b } }

// WithInterval sets how often the controller measures (default: three times the time to the
// first byte of a range, within 150 ms..1 s, so a new connection shows its worth in one interval
// on a slow link and the count settles fast on a quick one).
func WithInterval(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.interval = d
		}
	}
}

// Window is the most bytes a stream with these options holds at once.
func Window(opts ...Option) int64 {
	c := newConfig(opts)
	return int64(c.conns) * c.rangeSize
}

func newConfig(opts []Option) config {
	c := config{rangeSize: DefaultRangeSize, conns: DefaultConnections, start: 4}
	for _, o := range opts {
		o(&c)
	}
	if c.fixed {
		c.start = c.conns
	}
	c.start = min(c.start, c.conns)
	return c
}

// New returns the bytes [0,size) of src as one stream, read by ranges over several connections.
// Closing it stops every read; cancelling ctx ends it with ctx's error.
func New(ctx context.Context, src hubkit.Source, size int64, opts ...Option) io.ReadCloser {
	c := newConfig(opts)
	if c.budget == nil {
		c.budget = NewBudget(c.conns)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	r := &reader{
		cfg: c, src: src, size: size, ctx: ctx, cancel: cancel,
		order: make(chan *slot, c.conns),
		freed: make(chan struct{}, 1),
		ctl:   newController(c.start, c.conns, c.fixed),
	}
	r.wg.Add(1)
	go r.schedule()
	return r
}

// slot is one range: its buffer, filled by one fetch and read as it fills.
type slot struct {
	off  int64
	buf  []byte
	got  atomic.Int64  // bytes of buf filled so far
	more chan struct{} // a signal that got grew
	err  error         // set before done is closed
	done chan struct{}
}

type reader struct {
	cfg    config
	src    hubkit.Source
	size   int64
	ctx    context.Context
	cancel context.CancelCauseFunc
	wg     sync.WaitGroup

	order chan *slot    // ranges in order, at most cfg.conns of them started and unread
	freed chan struct{} // a slot was read: room in the window
	ctl   *controller

	outstanding atomic.Int64 // slots started and not yet read
	fetched     atomic.Int64 // bytes fetched so far
	ttfb        atomic.Int64 // the shortest time to a range's first byte so far, in ns
	starved     atomic.Bool  // the stream's reader waited for a range since the last measurement

	cur     *slot
	pos     int
	read    int64
	closed  bool
	failure error
}

// schedule starts the ranges in order, keeping the controller's number of them in flight.
func (r *reader) schedule() {
	defer r.wg.Done()
	defer close(r.order)
	tick := time.NewTimer(r.interval())
	defer tick.Stop()
	for off := int64(0); off < r.size; off += r.cfg.rangeSize {
		for r.outstanding.Load() >= int64(r.ctl.target()) {
			select {
			case <-r.freed:
			case <-tick.C:
				r.ctl.measure(r.fetched.Load(), r.starved.Swap(false))
				tick.Reset(r.interval())
			case <-r.ctx.Done():
				return
			}
		}
		if err := r.cfg.budget.Acquire(r.ctx); err != nil {
			return
		}
		s := &slot{off: off, buf: getBuf(r.cfg.rangeSize)[:min(r.cfg.rangeSize, r.size-off)],
			more: make(chan struct{}, 1), done: make(chan struct{})}
		r.outstanding.Add(1)
		r.order <- s // never blocks: outstanding < cfg.conns = cap(order)
		r.wg.Add(1)
		go r.fetch(s)
	}
	if r.cfg.scheduled != nil {
		r.cfg.scheduled()
	}
}

// fetch reads one range into its slot's buffer.
func (r *reader) fetch(s *slot) {
	defer r.wg.Done()
	defer close(s.done)
	n := int64(len(s.buf))
	start := time.Now()
	rc, err := r.src.OpenRange(r.ctx, s.off, n)
	if err != nil {
		s.err = err
		r.cancel(err)
		return
	}
	defer rc.Close()
	var got int
	for got < len(s.buf) {
		k, err := rc.Read(s.buf[got:min(len(s.buf), got+256<<10)])
		if got == 0 && k > 0 {
			r.sawFirstByte(time.Since(start))
		}
		got += k
		if k > 0 {
			r.fetched.Add(int64(k))
			s.got.Store(int64(got))
			select {
			case s.more <- struct{}{}:
			default:
			}
		}
		if err == io.EOF && got < len(s.buf) {
			err = fmt.Errorf("range %d+%d: ended after %d bytes: %w", s.off, n, got, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			s.err = err
			r.cancel(err)
			return
		}
		if err == io.EOF {
			break
		}
	}
}

// sawFirstByte records a range's time to first byte.
func (r *reader) sawFirstByte(d time.Duration) {
	for {
		old := r.ttfb.Load()
		if old != 0 && old <= int64(d) || r.ttfb.CompareAndSwap(old, int64(d)) {
			return
		}
	}
}

// interval is the time between two measurements.
func (r *reader) interval() time.Duration {
	if r.cfg.interval > 0 {
		return r.cfg.interval
	}
	t := time.Duration(r.ttfb.Load())
	if t == 0 {
		return time.Second // no range has started yet
	}
	return min(time.Second, max(150*time.Millisecond, 3*t))
}

// Read implements io.Reader: the ranges' bytes, in order, each range's as soon as they arrive.
func (r *reader) Read(p []byte) (int, error) {
	if r.failure != nil {
		return 0, r.failure
	}
	if r.read >= r.size {
		return 0, io.EOF
	}
	if r.cur == nil {
		s, ok := <-r.order
		if !ok {
			r.failure = r.err()
			return 0, r.failure
		}
		r.cur, r.pos = s, 0
	}
	s := r.cur
	for {
		if avail := int(s.got.Load()); avail > r.pos {
			n := copy(p, s.buf[r.pos:avail])
			r.pos += n
			r.read += int64(n)
			if r.pos == len(s.buf) {
				r.release()
			}
			return n, nil
		}
		select {
		case <-s.done:
			if s.got.Load() > int64(r.pos) {
				continue
			}
			r.release()
			r.failure = r.err()
			return 0, r.failure
		default:
		}
		r.starved.Store(true)
		select {
		case <-s.more:
		case <-s.done:
		}
	}
}

// release gives the current slot's buffer, budget and window room back once its fetch has
// ended (closed its body, and will write no more).
func (r *reader) release() {
	<-r.cur.done
	putBuf(r.cur.buf)
	r.cur.buf = nil
	r.cur = nil
	r.outstanding.Add(-1)
	r.cfg.budget.Release()
	select {
	case r.freed <- struct{}{}:
	default:
	}
}

// err is why the stream ended early.
func (r *reader) err() error {
	if r.closed {
		return errors.New("rangeread: read after close")
	}
	if err := context.Cause(r.ctx); err != nil {
		return err
	}
	return fmt.Errorf("rangeread: stream ended at byte %d of %d: %w", r.read, r.size, io.ErrUnexpectedEOF)
}

// Close implements io.Closer: it stops every fetch and returns their budget slots.
func (r *reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.cancel(context.Canceled)
	if r.cur != nil {
		r.release()
	}
	r.wg.Wait()
	for s := range r.order { // slots started and never read
		<-s.done
		putBuf(s.buf)
		r.outstanding.Add(-1)
		r.cfg.budget.Release()
	}
	return nil
}

// bufs pools range buffers by size, so that a process streaming file after file reuses its
// windows instead of leaving them to the garbage collector.
var bufs sync.Map // int64 -> *sync.Pool of *[]byte

func getBuf(size int64) []byte {
	p, _ := bufs.LoadOrStore(size, &sync.Pool{})
	if b, ok := p.(*sync.Pool).Get().(*[]byte); ok {
		return (*b)[:size]
	}
	return make([]byte, size)
}

func putBuf(b []byte) {
	if b == nil {
		return
	}
	b = b[:cap(b)]
	if p, ok := bufs.Load(int64(len(b))); ok {
		p.(*sync.Pool).Put(&b)
	}
}
