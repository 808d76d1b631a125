package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// BenchmarkXet compares, in one run, native Xet reads and writes with the LFS bridge / plain LFS
// path and with raw loopback HTTP, on in-memory random data (XET_BENCH_MIB, default 256 MiB;
// the fake CAS must hold real bytes). Run each case in its own process for a per-case peak RSS:
//
//	bash bench/xet.sh            (or: go test -run '^$' -bench 'BenchmarkXet' -benchtime 1x ./pkg/hub/)
//
// Both fakes do real work on arrival (the fake Hub hashes LFS uploads; the fake CAS recomputes
// every chunk and xorb hash and the SHA-256 of the file), as a strict server would.
func BenchmarkXet(b *testing.B) {
	size := int64(256) << 20
	if v, err := strconv.Atoi(os.Getenv("XET_BENCH_MIB")); err == nil && v > 0 {
		size = int64(v) << 20
	}
	data := xetData(77, size)
	sum := sha256.Sum256(data)
	hc := &http.Client{Transport: httpx.DefaultTransport()}

	b.Run("read/raw", func(b *testing.B) {
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(data))
		}))
		defer src.Close()
		runBench(b, size, func() {
			resp, err := hc.Get(src.URL)
			require.NoError(b, err)
			h := sha256.New()
			_, err = io.Copy(h, resp.Body)
			require.NoError(b, err)
			_ = resp.Body.Close()
			require.Equal(b, sum[:], h.Sum(nil))
		})
	})
	for _, tc := range []struct {
		name string
		xet  bool
	}{{"read/bridge", false}, {"read/xet", true}} {
		b.Run(tc.name, func(b *testing.B) {
			s, _ := benchServer(b, hubtest.WithXet(), hubtest.WithMemoryLimit(size+1))
			defer s.Close()
			c := NewClient(WithEndpoint(s.URL()), WithToken(writeTok), WithXet(tc.xet), WithHTTPClient(httpx.NewClient(httpx.WithGate(httpx.NewGate()))))
			uploadCommitB(b, c, "big.bin", data)
			_, _, isXet := c.XetFile(context.Background(), model, "main", "big.bin")
			require.Equal(b, tc.xet, isXet)
			runBench(b, size, func() {
				rc, err := c.Download(context.Background(), model, "main", "big.bin", 0, -1)
				require.NoError(b, err)
				h := sha256.New()
				_, err = io.Copy(h, rc)
				require.NoError(b, err)
				_ = rc.Close()
				require.Equal(b, sum[:], h.Sum(nil))
			})
		})
	}
	b.Run("write/raw", func(b *testing.B) {
		dst := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := sha256.New()
			_, _ = io.Copy(h, r.Body)
			if !bytes.Equal(h.Sum(nil), sum[:]) {
				http.Error(w, "bad", http.StatusBadRequest)
			}
		}))
		defer dst.Close()
		runBench(b, size, func() {
			req, err := http.NewRequest(http.MethodPut, dst.URL, bytes.NewReader(data))
			require.NoError(b, err)
			resp, err := hc.Do(req)
			require.NoError(b, err)
			_ = resp.Body.Close()
			require.Equal(b, http.StatusOK, resp.StatusCode)
		})
	})
	for _, tc := range []struct {
		name     string
		xet      bool
		transfer string
	}{{"write/lfs", false, lfs.TransferBasic}, {"write/xet", true, TransferXet}} {
		b.Run(tc.name, func(b *testing.B) {
			runBenchFresh(b, size, func() (func(), func()) {
				s, _ := benchServer(b, hubtest.WithXet(), hubtest.WithMemoryLimit(size+1))
				c := NewClient(WithEndpoint(s.URL()), WithToken(writeTok), WithXet(tc.xet), WithHTTPClient(httpx.NewClient(httpx.WithGate(httpx.NewGate()))))
				return func() {
					up := uploadB(b, c, data)
					require.Equal(b, tc.transfer, up.Transfer())
				}, s.Close
			})
		})
	}
	b.Run("write/xet-edited", func(b *testing.B) {
		edited := bytes.Clone(data)
		copy(edited[size/2:], "a small edit: only the chunks around it are new")
		var dedup int64
		runBenchFresh(b, size, func() (func(), func()) {
			s, c := benchServer(b, hubtest.WithXet(), hubtest.WithMemoryLimit(size+1))
			uploadCommitB(b, c, "base.bin", data)
			return func() { dedup = uploadB(b, c, edited).Deduplicated() }, s.Close
		})
		b.ReportMetric(100*float64(dedup)/float64(size), "dedup-%")
	})
}

func runBench(b *testing.B, size int64, f func()) {
	b.SetBytes(size)
	peak := startHeapPeak()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f()
	}
	b.StopTimer()
	peak.report(b)
	reportMaxRSS(b)
}

// runBenchFresh runs each iteration against fresh state from setup (untimed), so no upload is
// skipped as already stored.
func runBenchFresh(b *testing.B, size int64, setup func() (run, cleanup func())) {
	b.SetBytes(size)
	var peak *heapPeak
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		run, cleanup := setup()
		if peak == nil {
			peak = startHeapPeak()
		}
		b.StartTimer()
		run()
		b.StopTimer()
		cleanup()
	}
	peak.report(b)
	reportMaxRSS(b)
}

// reportMaxRSS reports the process's peak resident set so far (monotonic within a process).
func reportMaxRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "maxrss-MiB")
	}
}

func uploadB(b *testing.B, c *Client, data []byte) *LFSUpload {
	ctx := context.Background()
	obj := lfs.Object{OID: oidOf(data), Size: int64(len(data))}
	ups, err := c.PrepareLFSUpload(ctx, model, "main", []lfs.Object{obj})
	require.NoError(b, err)
	require.Len(b, ups, 1)
	require.NoError(b, ups[0].Upload(ctx, hubkit.Bytes(data)))
	return ups[0]
}

func uploadCommitB(b *testing.B, c *Client, path string, data []byte) {
	uploadB(b, c, data)
	_, err := c.Commit(context.Background(), model, "main", CommitOptions{Summary: "add"},
		[]hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: path, SHA256: oidOf(data), Size: int64(len(data))}})
	require.NoError(b, err)
}
