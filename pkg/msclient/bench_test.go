package msclient

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// benchSize is the blob the benchmarks move: 1 GiB, generated on the fly.
const benchSize = 1 << 30

// heapPeak samples the live heap until stop is called and returns the peak in MiB.
func heapPeak() (stop func() float64) {
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() float64 {
		close(done)
		wg.Wait()
		return float64(peak.Load()) / (1 << 20)
	}
}

func benchServer(b *testing.B) (*mstest.Server, *Client) {
	s := mstest.NewServer(mstest.WithMemoryLimit(8 << 20))
	s.AddUser("alice")
	s.AddToken(aliceToken, "alice", mstest.RoleWrite)
	c := NewClient(WithEndpoint(s.URL()), WithToken(aliceToken))
	return s, c
}

// benchSeeded is a bench server holding blob as the LFS file big.bin of alice/bench, and its
// client.
func benchSeeded(b *testing.B, blob *synth.Blob) (*mstest.Server, *Client) {
	s, c := benchServer(b)
	require.NoError(b, s.CreateRepo(hubkit.Model, "alice/bench", mstest.RepoOptions{}))
	_, err := s.Commit(hubkit.Model, "alice/bench", "", "seed", mstest.File{Path: "big.bin", Blob: blob, LFS: true})
	require.NoError(b, err)
	return s, c
}

// benchPeak times b.N runs of run (b.SetBytes(size) each) and reports the peak live heap
// during them. setup, outside the timer, prepares each run and returns it with what to do after
// it, also outside the timer (nil: nothing).
func benchPeak(b *testing.B, size int64, setup func() (run, after func())) {
	b.SetBytes(size)
	var peak float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run, after := setup()
		stop := heapPeak()
		b.StartTimer()
		run()
		b.StopTimer()
		peak = max(peak, stop())
		if after != nil {
			after()
		}
		b.StartTimer()
	}
	b.ReportMetric(peak, "peak-heap-MiB")
}

// benchUpload uploads o, read from src, b.N times, each time into a fresh fake (which compares
// it with o as it arrives and stores nothing big), timing only the upload.
func benchUpload(b *testing.B, o Object, src hubkit.Source) {
	benchPeak(b, o.Size, func() (run, after func()) {
		dst, c := benchServer(b)
		require.NoError(b, dst.CreateRepo(hubkit.Model, "alice/bench", mstest.RepoOptions{}))
		ups, err := c.PrepareUpload(context.Background(), model("alice/bench"), []Object{o})
		require.NoError(b, err)
		require.Len(b, ups, 1)
		run = func() { require.NoError(b, ups[0].Upload(context.Background(), src)) }
		after = func() {
			require.True(b, dst.HasLFSObject(o.OID))
			dst.Close()
		}
		return run, after
	})
}

// BenchmarkUpload streams a 1 GiB synthetic blob through BlobUpload.Upload into the fake.
func BenchmarkUpload(b *testing.B) {
	blob := synth.Blob{Size: benchSize, Seed: 7}
	benchUpload(b, Object{OID: blob.SHA256(), Size: blob.Size}, blobSource{blob})
}

// BenchmarkDownload reads a 1 GiB LFS file through Download (API 302, then the CDN).
func BenchmarkDownload(b *testing.B) {
	blob := synth.Blob{Size: benchSize, Seed: 8}
	s, c := benchSeeded(b, &blob)
	defer s.Close()
	benchPeak(b, benchSize, func() (run, after func()) {
		return func() {
			rc, err := c.Download(context.Background(), model("alice/bench"), "", "big.bin", 0, -1)
			require.NoError(b, err)
			n, err := io.Copy(io.Discard, rc)
			rc.Close()
			require.NoError(b, err)
			require.Equal(b, int64(benchSize), n)
		}, nil
	})
	require.Empty(b, s.AuthLeaks())
}

// downloadSource adapts Client.Download to hubkit.Source: what the engine does to stream one hub's
// file into another's upload.
type downloadSource struct {
	c    *Client
	repo hubkit.Repo
	path string
}

func (d downloadSource) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return d.c.Download(ctx, d.repo, "", d.path, off, n)
}

// BenchmarkHubToHub streams a 1 GiB file from one fake's download straight into another fake's
// upload, hashing in flight: the migration's hot path.
func BenchmarkHubToHub(b *testing.B) {
	blob := synth.Blob{Size: benchSize, Seed: 9}
	src, srcClient := benchSeeded(b, &blob)
	defer src.Close()
	benchUpload(b, Object{OID: blob.SHA256(), Size: blob.Size}, downloadSource{srcClient, model("alice/bench"), "big.bin"})
}

// BenchmarkRawLoopbackCopy is the yardstick: a plain GET from one httptest server piped into a
// PUT to another, no hashing, no client, same blob and machine.
func BenchmarkRawLoopbackCopy(b *testing.B) {
	blob := synth.Blob{Size: benchSize, Seed: 10}
	get := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.FormatInt(blob.Size, 10))
		buf := make([]byte, 1<<20)
		_, _ = io.CopyBuffer(w, blob.NewReader(0, blob.Size), buf)
	}))
	defer get.Close()
	put := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 1<<20)
		n, _ := io.CopyBuffer(io.Discard, r.Body, buf)
		if n != blob.Size {
			w.WriteHeader(http.StatusBadRequest)
		}
	}))
	defer put.Close()
	hc := httpx.NewClient()
	benchPeak(b, benchSize, func() (run, after func()) {
		return func() {
			resp, err := hc.Get(get.URL)
			require.NoError(b, err)
			req, err := http.NewRequest(http.MethodPut, put.URL, resp.Body)
			require.NoError(b, err)
			req.ContentLength = resp.ContentLength
			presp, err := hc.Do(req)
			require.NoError(b, err)
			presp.Body.Close()
			resp.Body.Close()
			require.Equal(b, http.StatusOK, presp.StatusCode)
		}, nil
	})
}
