package rangeread

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func data(n int) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(1, uint64(n)))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// watched is a Source that checks, at every open, that the stream never reads further ahead of
// its reader than the window, and counts the connections open at once.
type watched struct {
	t        *testing.T
	src      hubkit.Source
	consumed *atomic.Int64
	window   int64
	slack    int64
	open     atomic.Int32
	maxOpen  atomic.Int32
	failAt   int64 // an open at this offset fails (-1: never)
	failErr  error
}

func (w *watched) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if w.consumed != nil {
		// The last range handed over is released before the reader's caller counts it.
		assert.LessOrEqual(w.t, off+n-w.consumed.Load(), w.window+w.slack, "read ahead beyond the window")
	}
	if off == w.failAt {
		return nil, w.failErr
	}
	k := w.open.Add(1)
	for m := w.maxOpen.Load(); k > m && !w.maxOpen.CompareAndSwap(m, k); m = w.maxOpen.Load() {
	}
	rc, err := w.src.OpenRange(ctx, off, n)
	if err != nil {
		w.open.Add(-1)
		return nil, err
	}
	return &closer{ReadCloser: rc, done: func() { w.open.Add(-1) }}, nil
}

type closer struct {
	io.ReadCloser
	once sync.Once
	done func()
}

func (c *closer) Close() error {
	c.once.Do(c.done)
	return c.ReadCloser.Close()
}

// countingWriter counts what the stream's reader has taken.
type countingWriter struct{ n *atomic.Int64 }

func (c countingWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

func TestOrderedAndBounded(t *testing.T) {
	for _, tc := range []struct {
		name        string
		size, rsize int64
		conns       int
		fixed       bool
	}{
		{"empty", 0, 1 << 10, 4, false},
		{"one byte", 1, 1 << 10, 4, false},
		{"exact ranges", 64 << 10, 4 << 10, 4, true},
		{"ragged tail", 1<<20 + 17, 16 << 10, 3, false},
		{"one connection", 100 << 10, 8 << 10, 1, true},
		{"range larger than file", 10 << 10, 1 << 20, 8, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := data(int(tc.size))
			var consumed atomic.Int64
			opts := []Option{WithRangeSize(tc.rsize), WithConnections(tc.conns)}
			if tc.fixed {
				opts = append(opts, WithFixed())
			}
			w := &watched{t: t, src: hubkit.Bytes(want), consumed: &consumed, window: Window(opts...), slack: tc.rsize, failAt: -1}
			b := NewBudget(tc.conns)
			rc := New(context.Background(), w, tc.size, append(opts, WithBudget(b))...)
			var got bytes.Buffer
			_, err := io.Copy(io.MultiWriter(&got, countingWriter{&consumed}), rc)
			require.NoError(t, err)
			require.NoError(t, rc.Close())
			assert.True(t, bytes.Equal(want, got.Bytes()), "bytes differ")
			assert.LessOrEqual(t, int(w.maxOpen.Load()), tc.conns)
			assert.Zero(t, w.open.Load(), "a range left open")
			assert.Zero(t, b.used, "a budget slot kept")
		})
	}
}

func TestErrorsEndTheStream(t *testing.T) {
	boom := errors.New("boom")
	want := data(256 << 10)
	w := &watched{t: t, src: hubkit.Bytes(want), failAt: 128 << 10, failErr: boom}
	b := NewBudget(4)
	rc := New(context.Background(), w, int64(len(want)), WithRangeSize(16<<10), WithConnections(4), WithFixed(), WithBudget(b))
	got, err := io.ReadAll(rc)
	require.ErrorIs(t, err, boom)
	assert.LessOrEqual(t, len(got), 128<<10)
	assert.True(t, bytes.Equal(want[:len(got)], got), "bytes before the failure are the file's")
	_, err = rc.Read(make([]byte, 1))
	assert.ErrorIs(t, err, boom, "the error sticks")
	require.NoError(t, rc.Close())
	assert.Zero(t, b.used)
	assert.Zero(t, w.open.Load())
}

// short is a Source whose ranges end early without an error.
type short struct{ hubkit.Source }

func (s short) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return s.Source.OpenRange(ctx, off, n-1)
}

func TestShortRangeIsAnError(t *testing.T) {
	rc := New(context.Background(), short{hubkit.Bytes(data(64 << 10))}, 64<<10, WithRangeSize(8<<10))
	defer rc.Close()
	_, err := io.ReadAll(rc)
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
}

// blocking is a Source whose bodies block until the context ends.
type blocking struct{ opened chan struct{} }

func (b blocking) OpenRange(ctx context.Context, _, _ int64) (io.ReadCloser, error) {
	select {
	case b.opened <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return nil, ctx.Err()
}

func TestCancellation(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	src := blocking{opened: make(chan struct{}, 1)}
	b := NewBudget(2)
	rc := New(ctx, src, 1<<20, WithRangeSize(64<<10), WithBudget(b))
	go func() {
		<-src.opened
		cancel()
	}()
	_, err := io.ReadAll(rc)
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, rc.Close())
	assert.Zero(t, b.used)
}

func TestCloseMidStream(t *testing.T) {
	want := data(512 << 10)
	w := &watched{t: t, src: hubkit.Bytes(want), failAt: -1}
	b := NewBudget(3)
	rc := New(context.Background(), w, int64(len(want)), WithRangeSize(8<<10), WithConnections(3), WithFixed(), WithBudget(b))
	buf := make([]byte, 10<<10)
	_, err := io.ReadFull(rc, buf)
	require.NoError(t, err)
	require.NoError(t, rc.Close())
	require.NoError(t, rc.Close())
	assert.Zero(t, b.used)
	assert.Zero(t, w.open.Load())
	_, err = rc.Read(buf)
	assert.Error(t, err)
}

func TestBudgetSharedByStreams(t *testing.T) {
	want := data(512 << 10)
	w := &watched{t: t, src: hubkit.Bytes(want), failAt: -1}
	b := NewBudget(3)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc := New(context.Background(), w, int64(len(want)), WithRangeSize(8<<10), WithConnections(3), WithFixed(), WithBudget(b))
			defer rc.Close()
			got, err := io.ReadAll(rc)
			assert.NoError(t, err)
			assert.True(t, bytes.Equal(want, got))
		}()
	}
	wg.Wait()
	assert.LessOrEqual(t, int(w.maxOpen.Load()), 3, "four streams share three slots")
	assert.Zero(t, b.used)
}

func TestBudgetBackoff(t *testing.T) {
	b := NewBudget(8)
	b.Backoff(0)
	assert.Equal(t, 8, b.Limit(), "a back-off of no time is over at once")
	b.Backoff(1 << 40)
	assert.Equal(t, 4, b.Limit())
	b.Backoff(1 << 40)
	assert.Equal(t, 2, b.Limit())
	ctx, cancel := context.WithCancel(context.Background())
	require.NoError(t, b.Acquire(ctx))
	require.NoError(t, b.Acquire(ctx))
	cancel()
	assert.ErrorIs(t, b.Acquire(ctx), context.Canceled, "the limit holds while backing off")
	var bs Budgets
	assert.Same(t, bs.For("a", 5), bs.For("a", 7))
	assert.NotSame(t, bs.For("a", 5), bs.For("b", 5))
	assert.Equal(t, 5, bs.For("a", 9).Size())
}

func TestControllerSteps(t *testing.T) {
	type m struct {
		rate    float64
		starved bool
		want    int
	}
	for _, tc := range []struct {
		name       string
		start, max int
		steps      []m
	}{
		{"grows while each connection adds rate", 1, 0, []m{
			{10, true, 2}, {15, true, 2} /* warm-up */, {20, true, 3}, {25, true, 3}, {30, true, 4}}},
		{"backs off when a connection adds nothing", 2, 0, []m{
			{20, true, 3}, {20, true, 3}, {21, true, 2}, {20, true, 2}}},
		{"holds after backing off, then probes again", 2, 0, []m{
			{20, true, 3}, {0, true, 3}, {20, true, 2}, {20, true, 2}, {20, true, 2}, {20, true, 2}, {20, true, 2}, {20, true, 2}, {20, true, 2}, {20, true, 3}}},
		{"never grows when the reader never waits", 2, 0, []m{{20, false, 2}, {20, false, 2}}},
		{"grows faster while growth pays, and gives back the last step", 4, 16, []m{
			{10, true, 5}, {10, true, 5}, {20, true, 7}, {20, true, 7}, {30, true, 10}, {30, true, 10}, {31, true, 7}}},
		{"stops at the upper bound", 3, 0, []m{{10, true, 4}, {10, true, 4}, {20, true, 4}, {30, true, 4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newController(tc.start, cmp.Or(tc.max, 4), false)
			for i, s := range tc.steps {
				c.step(s.rate, s.starved)
				assert.Equal(t, s.want, c.target(), "after step %d", i)
			}
		})
	}
}
