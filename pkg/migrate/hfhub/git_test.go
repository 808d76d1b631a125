package hfhub_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/stretchr/testify/require"
)

func TestGitFallbackOpenSwitchesMidRun(t *testing.T) {
	// The lock arrives after listing: Open switches, and only then.
	w := testworld.New(t)
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.Org + "/m"}
	w.Create(t, from, false)
	w.Seed(t, from, testworld.File{Path: "README.md", Content: []byte("# a model card\n")},
		testworld.File{Path: "config.json", Content: []byte(`{"seed": 3}`)},
		testworld.File{Path: "model.safetensors", Content: migratetest.Bytes(90<<10, 3), LFS: true})
	h := w.Hub(migrate.HuggingFace).(*hfhub.Hub)
	ctx := context.Background()
	files, err := h.List(ctx, from, "")
	require.NoError(t, err)
	require.Empty(t, h.Notices(from))
	w.HF.SetStorageLock(hubkit.Model, from.ID, true)
	for _, f := range files {
		rc, err := h.Open(ctx, from, "", f.Path, 0, -1)
		require.NoError(t, err, f.Path)
		b := readAllClose(t, rc)
		want, err := w.HF.ReadFile(hubkit.Model, from.ID, "main", f.Path)
		require.NoError(t, err)
		require.Equal(t, want, b, f.Path)
	}
	require.Len(t, h.Notices(from), 1)
	// Ranged reads through git: a regular file and an LFS file.
	for _, p := range []string{"README.md", "model.safetensors"} {
		rc, err := h.Open(ctx, from, "", p, 3, 7)
		require.NoError(t, err)
		want, _ := w.HF.ReadFile(hubkit.Model, from.ID, "main", p)
		require.Equal(t, want[3:10], readAllClose(t, rc), p)
	}
	_, err = h.Open(ctx, from, "", "no/such/file", 0, -1)
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func readAllClose(t *testing.T, rc interface {
	Read([]byte) (int, error)
	Close() error
}) []byte {
	t.Helper()
	var b strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := rc.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	require.NoError(t, rc.Close())
	return []byte(b.String())
}

// seedMany makes a repo of n files: every tenth an LFS file, the rest small regular files in
// 100 folders.
func seedMany(tb testing.TB, s *hubtest.Server, id string, n int) {
	tb.Helper()
	require.NoError(tb, s.CreateRepo(hubkit.Model, id, hubtest.RepoOptions{Private: true}))
	files := make([]hubtest.File, n)
	for i := range files {
		p := fmt.Sprintf("dir%02d/file%05d.txt", i%100, i)
		files[i] = hubtest.File{Path: p, Content: []byte(fmt.Sprintf("content of file %d\n", i))}
		if i%10 == 0 {
			files[i].Path = strings.TrimSuffix(p, ".txt") + ".bin"
			files[i].LFS = true
		}
	}
	_, err := s.Commit(hubkit.Model, id, "main", "many files", files...)
	require.NoError(tb, err)
}

func newManyHub(tb testing.TB, n int) (*hubtest.Server, *hub.Client) {
	tb.Helper()
	s := hubtest.NewServer()
	tb.Cleanup(s.Close)
	s.AddUser(testworld.User, testworld.Org)
	s.AddToken(testworld.HFToken, testworld.User, hubtest.RoleWrite)
	seedMany(tb, s, testworld.Org+"/many", n)
	return s, hub.NewClient(hub.WithEndpoint(s.URL()), hub.WithToken(testworld.HFToken))
}

func heapInuse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestGitListMemoryBound lists 5,000 files through git and checks the heap the listing keeps
// (files and the fetched objects) stays within a per-file bound, i.e. grows with the file count
// only by a small constant.
func TestGitListMemoryBound(t *testing.T) {
	const n = 5000
	_, c := newManyHub(t, n)
	repo := hubkit.Repo{Type: hubkit.Model, ID: testworld.Org + "/many"}
	before := heapInuse()
	snap, err := c.GitSnapshot(context.Background(), repo, "")
	require.NoError(t, err)
	require.Len(t, snap.Files(), n+1) // + .gitattributes
	kept := int64(heapInuse()) - int64(before)
	t.Logf("git snapshot of %d files keeps %.1f MiB (%.0f B/file)", n, float64(kept)/(1<<20), float64(kept)/n)
	// A file costs its listing row, its blob (pointer or small content) and its tree entry.
	require.Less(t, kept, int64(n*2048), "the git snapshot keeps %d bytes for %d files", kept, n)
	runtime.KeepAlive(snap)
}

// peakHeap samples HeapInuse every millisecond until stop is called, returning the peak above
// the starting point.
func peakHeap() (stop func() uint64) {
	base := heapInuse()
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		if p := peak.Load(); p > base {
			return p - base
		}
		return 0
	}
}

func benchList(b *testing.B, viaGit bool) {
	const n = 10000
	_, c := newManyHub(b, n)
	repo := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.Org + "/many"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		h := hfhub.New(c).ForJob(migrate.Options{UseGit: viaGit}) // a fresh adapter: no cached snapshot
		stop := peakHeap()
		files, err := h.List(ctx, repo, "")
		p := stop()
		require.NoError(b, err)
		require.Len(b, files, n+1)
		peak = max(peak, p)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
}

// BenchmarkListGit10k lists a 10,000-file repo through git (info/refs + a depth-1 pack).
func BenchmarkListGit10k(b *testing.B) { benchList(b, true) }

// BenchmarkListHTTP10k lists the same repo through the HTTP tree API (10 pages of 1,000).
func BenchmarkListHTTP10k(b *testing.B) { benchList(b, false) }
