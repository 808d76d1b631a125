package xet

import (
	"context"
	"encoding/binary"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// noise is an endless stream of bytes that never repeat within a test, so nothing deduplicates.
type noise struct {
	x uint64
	n int64
}

// Read is exempt from race instrumentation, which would make generating the test's 576 MiB the
// slowest part of a -race run; it only writes p and its own state.
//
//go:norace
func (r *noise) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.n)&^7]
	if len(p) == 0 {
		return 0, io.ErrShortBuffer
	}
	for i := 0; i < len(p); i += 8 {
		r.x ^= r.x << 13
		r.x ^= r.x >> 7
		r.x ^= r.x << 17
		binary.LittleEndian.PutUint64(p[i:], r.x)
	}
	r.n -= int64(len(p))
	return len(p), nil
}

type staticTokens struct{ url string }

func (s staticTokens) Token(context.Context) (Token, error) {
	return Token{AccessToken: "t", CasURL: s.url, Expires: time.Now().Add(time.Hour)}, nil
}
func (staticTokens) Invalidate(Token) {}

// sinkCAS accepts every xorb and shard without keeping them, so the only large buffers of an
// upload are the Uploader's own.
func sinkCAS(t testing.TB, inUse func()) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v1/xorbs/"):
			inUse()
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, `{"was_inserted":true}`)
		case r.Method == http.MethodPost && r.URL.Path == "/v1/shards":
			_, _ = io.Copy(io.Discard, r.Body)
			_, _ = io.WriteString(w, `{"result":1}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

// peakHeap runs f while sampling the heap and returns the largest HeapAlloc seen (f's own
// allocations dominate: the samples only need to catch the xorb buffers, which live for a whole
// xorb's worth of chunking).
func peakHeap(f func() error) (uint64, error) {
	runtime.GC()
	runtime.GC() // twice: the first moves pooled xorb buffers to the victim cache, the second frees them
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	err := f()
	close(stop)
	wg.Wait()
	return peak.Load(), err
}

// TestXorbBudgetBoundsConcurrentUploads uploads four files of two xorbs each at once, with the
// default budget and with one large enough for every Uploader to hold two buffers, and compares
// the peak heap of the two runs.
func TestXorbBudgetBoundsConcurrentUploads(t *testing.T) {
	const files, size = 4, MaxXorbUnpacked + 8<<20
	run := func(b *XorbBudget) (uint64, int, error) {
		var most atomic.Int64
		cas := sinkCAS(t, func() {
			if n := int64(b.InUse()); n > most.Load() {
				most.Store(n)
			}
		})
		c := NewClient(staticTokens{cas.URL}, WithCompression(CompressNone), WithDedup(false), WithXorbBudget(b))
		peak, err := peakHeap(func() error {
			var g errgroup.Group
			for i := range files {
				g.Go(func() error {
					res, err := c.Upload(context.Background(), &noise{x: uint64(i)*0x9E3779B97F4A7C15 + 1, n: size})
					if err == nil && res.Xorbs != 2 {
						t.Errorf("file %d: %d xorbs, want 2", i, res.Xorbs)
					}
					return err
				})
			}
			return g.Wait()
		})
		require.Zero(t, b.InUse(), "every buffer went back to the budget")
		return peak, int(most.Load()), err
	}
	wide, wideMost, err := run(NewXorbBudget(2 * files * MaxXorbBytes))
	require.NoError(t, err)
	bounded, boundedMost, err := run(NewXorbBudget(DefaultXorbMemory))
	require.NoError(t, err)
	t.Logf("peak heap: %d MiB with a budget of %d buffers (at most %d in use), %d MiB with the default %d (at most %d in use); ratio %.2f",
		wide>>20, 2*files, wideMost, bounded>>20, DefaultXorbMemory/MaxXorbBytes, boundedMost, float64(bounded)/float64(wide))
	require.LessOrEqual(t, boundedMost, DefaultXorbMemory/MaxXorbBytes)
	require.Greater(t, wideMost, boundedMost, "without the bound the uploads hold more buffers at once")
	// The buffer counts above are the exact check. The heap ratio is a coarse one: HeapAlloc also
	// counts garbage the collector has not reached yet, so under load it varies (0.5 on a quiet
	// machine, up to about 0.8 seen at load average 10); without the budget it is about 1.
	require.Less(t, float64(bounded)/float64(wide), 0.9, "the default budget lowers the peak heap")
}

// TestXorbBudgetReleasedOnError checks that failed uploads give their buffers back.
func TestXorbBudgetReleasedOnError(t *testing.T) {
	cas := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "no", http.StatusBadRequest)
	}))
	defer cas.Close()
	b := NewXorbBudget(MaxXorbBytes)
	c := NewClient(staticTokens{cas.URL}, WithCompression(CompressNone), WithDedup(false), WithXorbBudget(b), WithRetries(1, 0))
	for i, n := range []int64{1 << 20, MaxXorbUnpacked + 1<<20, 1 << 20} {
		_, err := c.Upload(context.Background(), &noise{x: uint64(i) + 7, n: n})
		require.Error(t, err)
		require.Zero(t, b.InUse())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.Upload(ctx, &noise{x: 99, n: 1 << 20})
	require.Error(t, err)
	require.Zero(t, b.InUse())
}
