package migrate

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// The git fallback end to end: a storage-locked Hugging Face source read through git smart HTTP
// and the LFS batch API, migrated to ModelScope, verified.

func useGit(on bool) Option { return func(c *config) { c.opts.UseGit = on } }

// gitNotices returns the run's notices about git.
func gitNotices(rep *Report) []string {
	var out []string
	for _, n := range rep.Notices {
		if strings.Contains(n, "git") {
			out = append(out, n)
		}
	}
	return out
}

func TestGitFallbackMigratesStorageLockedRepo(t *testing.T) {
	tests := []struct {
		name   string
		typ    hubkit.RepoType
		locked bool
		useGit bool
		pinned bool // migrate the first of two commits
		notice string
	}{
		{"private model, locked", hubkit.Model, true, false, false, "storage locked"},
		{"private dataset, locked", hubkit.Dataset, true, false, false, "storage locked"},
		{"private model, locked, pinned revision", hubkit.Model, true, false, true, "storage locked"},
		{"private model, --use-git", hubkit.Model, false, true, false, "--use-git"},
		{"private dataset, locked and --use-git", hubkit.Dataset, true, true, true, "storage locked"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newE2EWorld(t, e2eConfig{})
			from := Repo{Hub: HuggingFace, Type: tc.typ, ID: fmt.Sprintf("%s/locked-%d", e2eOrg, i)}
			to := Repo{Hub: ModelScope, Type: tc.typ, ID: fmt.Sprintf("%s/mirror-%d", e2eUser, i)}
			w.create(t, from, true)
			first := w.seed(t, from, e2eModelFiles(byte(i))...)
			w.seed(t, from, e2eFile{Path: "later.txt", Content: []byte("only in the second commit")},
				e2eFile{Path: "late.bin", Content: contractBytes(10<<10, 9), LFS: true})
			rev := ""
			if tc.pinned {
				rev = first
			}
			w.hf.SetStorageLock(hfType(tc.typ), from.ID, tc.locked)

			var mu sync.Mutex
			var notices []string
			rep, err := w.migrate(t, from, to, WithRevision(rev), useGit(tc.useGit), WithEvents(func(ev Event) {
				if ev.Type == EventNotice && strings.Contains(ev.Message, "git") {
					mu.Lock()
					notices = append(notices, ev.Message)
					mu.Unlock()
				}
			}))
			require.NoError(t, err)
			require.Equal(t, StatusSucceeded, rep.Status)
			require.True(t, rep.Verification.OK(), "%+v", rep.Verification)

			// Exactly one notice, in the progress stream and in the report.
			require.Len(t, notices, 1, "%q", notices)
			require.Contains(t, notices[0], tc.notice)
			require.Equal(t, notices, gitNotices(rep))

			// The destination holds the source at the migrated revision, and stays private.
			want := map[string]string{}
			srcRev := rev
			if srcRev == "" {
				srcRev = HFDefaultBranch
			}
			files, err := w.hf.Files(hfType(tc.typ), from.ID, srcRev)
			require.NoError(t, err)
			for _, f := range files {
				if f.Path == ".gitattributes" {
					continue
				}
				b, err := w.hf.ReadFile(hfType(tc.typ), from.ID, srcRev, f.Path)
				require.NoError(t, err)
				want[f.Path] = contractSHA(b)
			}
			got := w.contents(t, to)
			delete(got, ".gitattributes")
			require.Equal(t, want, got)
			require.True(t, w.private(to))
			if tc.pinned {
				require.Equal(t, first, rep.SourceCommit)
				require.NotContains(t, got, "later.txt")
			}

			c := w.hf.Faults().Counts()
			require.Positive(t, c[hubtest.RouteGitUploadPack])
			if tc.useGit {
				// Never the HTTP API's downloads: no resolve, CDN redirect, tree or paths-info; LFS
				// bytes came only through the LFS batch API's links.
				for _, route := range hubtest.HTTPDownloadRoutes {
					require.Zero(t, c[route], "%s: %v", route, c)
				}
				require.Positive(t, c[hubtest.RouteLFSDownload], "%v", c)
			}
		})
	}
}

func TestGitFallbackNotOnMissingOrUnauthorized(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	priv := Repo{Hub: HuggingFace, Type: hubkit.Model, ID: e2eOrg + "/private"}
	w.create(t, priv, true)
	w.seed(t, priv, e2eModelFiles(1)...)
	gated := Repo{Hub: HuggingFace, Type: hubkit.Model, ID: "bob/gated"}
	w.hf.AddUser("bob")
	require.NoError(t, w.hf.CreateRepo(hubkit.Model, gated.ID, hubtest.RepoOptions{Gated: "manual"}))
	w.hf.SetStorageLock(hubkit.Model, priv.ID, true) // even a locked repo: the 401/404 comes first

	bad := NewHFHub(hub.NewClient(hub.WithEndpoint(w.hf.URL()), hub.WithToken("hf_not_a_token")))
	anon := NewHFHub(hub.NewClient(hub.WithEndpoint(w.hf.URL())))
	tests := []struct {
		name string
		src  Hub
		from Repo
		want error
	}{
		{"404: no such repo", w.hubs[HuggingFace], Repo{Hub: HuggingFace, Type: hubkit.Model, ID: e2eOrg + "/nope"}, hubkit.ErrNotFound},
		{"401: invalid token", bad, priv, hubkit.ErrUnauthorized},
		{"401: anonymous on a private repo", anon, priv, hubkit.ErrNotFound},
		{"403: gated, not a storage lock", w.hubs[HuggingFace], gated, hubkit.ErrGated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.hf.Faults().Counts()
			m, err := New(tc.src, w.hubs[ModelScope], tc.from, Repo{Hub: ModelScope, Type: hubkit.Model, ID: e2eUser + "/x"})
			require.NoError(t, err)
			rep, err := m.Run(context.Background())
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, gitNotices(rep))
			after := w.hf.Faults().Counts()
			require.Equal(t, before[hubtest.RouteGitRefs], after[hubtest.RouteGitRefs], "git was tried")
			require.Equal(t, before[hubtest.RouteGitUploadPack], after[hubtest.RouteGitUploadPack], "git was tried")
		})
	}
	// The switch can be turned off.
	off := NewHFHub(hub.NewClient(hub.WithEndpoint(w.hf.URL()), hub.WithToken(e2eHFToken)), WithGitFallback(false))
	_, err := off.List(context.Background(), priv, "")
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
}

func TestGitFallbackOpenSwitchesMidRun(t *testing.T) {
	// The lock arrives after listing: Open switches, and only then.
	w := newE2EWorld(t, e2eConfig{})
	from := Repo{Hub: HuggingFace, Type: hubkit.Model, ID: e2eOrg + "/m"}
	w.create(t, from, false)
	w.seed(t, from, e2eModelFiles(3)...)
	h := w.hubs[HuggingFace]
	ctx := context.Background()
	files, err := h.List(ctx, from, "")
	require.NoError(t, err)
	require.Empty(t, hubNotices(h, from))
	w.hf.SetStorageLock(hubkit.Model, from.ID, true)
	for _, f := range files {
		rc, err := h.Open(ctx, from, "", f.Path, 0, -1)
		require.NoError(t, err, f.Path)
		b := readAllClose(t, rc)
		want, err := w.hf.ReadFile(hubkit.Model, from.ID, "main", f.Path)
		require.NoError(t, err)
		require.Equal(t, want, b, f.Path)
	}
	require.Len(t, hubNotices(h, from), 1)
	// Ranged reads through git: a regular file and an LFS file.
	for _, p := range []string{"README.md", "model.safetensors"} {
		rc, err := h.Open(ctx, from, "", p, 3, 7)
		require.NoError(t, err)
		want, _ := w.hf.ReadFile(hubkit.Model, from.ID, "main", p)
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
	s.AddUser(e2eUser, e2eOrg)
	s.AddToken(e2eHFToken, e2eUser, hubtest.RoleWrite)
	seedMany(tb, s, e2eOrg+"/many", n)
	return s, hub.NewClient(hub.WithEndpoint(s.URL()), hub.WithToken(e2eHFToken))
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
	repo := hubkit.Repo{Type: hubkit.Model, ID: e2eOrg + "/many"}
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
	repo := Repo{Hub: HuggingFace, Type: hubkit.Model, ID: e2eOrg + "/many"}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var peak uint64
	for b.Loop() {
		h := withUseGit(NewHFHub(c), viaGit) // a fresh adapter: no cached snapshot
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
