package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Run with: go test -run '^$' -bench . -benchtime 1x ./pkg/hub/
// Each benchmark moves a 1 GiB synthetic blob over loopback and reports MB/s and the peak heap
// in use (sampled) while it ran, which stays flat whatever the file size.

const benchSize = 1 << 30

var benchBlob = synth.Blob{Size: benchSize, Seed: 4242}

// heapPeak samples HeapInuse until stopped and reports the maximum in MiB.
type heapPeak struct {
	max  atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{})}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > h.max.Load() {
				h.max.Store(m.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapPeak) report(b *testing.B) {
	close(h.stop)
	h.wg.Wait()
	b.ReportMetric(float64(h.max.Load())/(1<<20), "peak-heap-MiB")
}

// BenchmarkLoopbackRaw is the machine's raw rate: a plain GET from one httptest server streamed
// into a PUT to another, no hashing, no hub logic. The hub benchmarks compare against it.
func BenchmarkLoopbackRaw(b *testing.B) {
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "", time.Time{}, io.NewSectionReader(benchBlob, 0, benchSize))
	}))
	defer src.Close()
	dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		if n != benchSize {
			http.Error(w, "short", http.StatusBadRequest)
		}
	}))
	defer dst.Close()
	hc := &http.Client{Transport: httpx.DefaultTransport()}
	b.SetBytes(benchSize)
	peak := startHeapPeak()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := hc.Get(src.URL)
		require.NoError(b, err)
		req, err := http.NewRequest(http.MethodPut, dst.URL, resp.Body)
		require.NoError(b, err)
		req.ContentLength = benchSize
		put, err := hc.Do(req)
		require.NoError(b, err)
		require.Equal(b, http.StatusOK, put.StatusCode)
		put.Body.Close()
		resp.Body.Close()
	}
	b.StopTimer()
	peak.report(b)
}

func benchServer(b *testing.B, opts ...hubtest.Option) (*hubtest.Server, *Client) {
	s := hubtest.NewServer(opts...)
	s.AddUser("alice")
	s.AddToken(writeTok, "alice", hubtest.RoleWrite)
	require.NoError(b, s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	c := NewClient(WithEndpoint(s.URL()), WithToken(writeTok), WithHTTPClient(httpx.NewClient(httpx.WithGate(httpx.NewGate()))))
	return s, c
}

// BenchmarkUploadLFS uploads 1 GiB through PrepareLFSUpload + Upload into hubtest: one
// streaming PUT (basic), and 16 MiB parts, 4 in flight (multipart). Both hash every byte in
// flight; the fake hashes it again on arrival.
func BenchmarkUploadLFS(b *testing.B) {
	oid := benchBlob.SHA256() // registers the blob so the fake stores a reference, not 1 GiB
	for _, tc := range []struct {
		name string
		opts []hubtest.Option
	}{
		{name: "basic"},
		{name: "multipart", opts: []hubtest.Option{hubtest.WithMultipartThreshold(64 << 20), hubtest.WithChunkSize(16 << 20)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(benchSize)
			var peak *heapPeak
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				s, c := benchServer(b, tc.opts...)
				if peak == nil {
					peak = startHeapPeak()
				}
				b.StartTimer()
				ups, err := c.PrepareLFSUpload(context.Background(), model, "main", []LFSObject{{OID: oid, Size: benchSize}})
				require.NoError(b, err)
				require.Len(b, ups, 1)
				require.Equal(b, tc.name, ups[0].Transfer())
				require.NoError(b, ups[0].Upload(context.Background(), hubkit.ReaderAtSource(benchBlob)))
				b.StopTimer()
				require.True(b, s.HasLFSObject(oid))
				s.Close()
			}
			peak.report(b)
		})
	}
}

// BenchmarkDownloadLFS downloads 1 GiB through Download (resolve, 302 to the fake CDN) and
// hashes it, as the migration engine does.
func BenchmarkDownloadLFS(b *testing.B) {
	s, c := benchServer(b)
	defer s.Close()
	_, err := s.Commit(hubkit.Model, model.ID, "main", "big", hubtest.File{Path: "big.bin", Blob: &benchBlob})
	require.NoError(b, err)
	want := benchBlob.SHA256()
	b.SetBytes(benchSize)
	peak := startHeapPeak()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rc, err := c.Download(context.Background(), model, "", "big.bin", 0, -1)
		require.NoError(b, err)
		h := newSHA256()
		n, err := io.Copy(h, rc)
		require.NoError(b, err)
		rc.Close()
		require.EqualValues(b, benchSize, n)
		require.Equal(b, want, hexSum(h))
	}
	b.StopTimer()
	peak.report(b)
}

func newSHA256() hash.Hash { return sha256.New() }

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }
