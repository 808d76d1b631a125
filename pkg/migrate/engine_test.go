package migrate_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

var (
	msRepo = migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"}
	hfRepo = migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/model"}
)

const readme = "---\nlicense: Apache-2.0\ntags:\n  - x\n---\n# hubkit.Model\n\nlicense: MIT stays in the body\n"

func blob(size int64, seed uint64) *synth.Blob { return &synth.Blob{Size: size, Seed: seed} }

// seedSource fills an MS source with a typical model repo and returns the hubs.
func seedSource(t *testing.T) (src, dst *memhub.Hub) {
	t.Helper()
	src = memhub.New(migrate.ModelScope)
	dst = memhub.New(migrate.HuggingFace)
	src.Seed(msRepo, true,
		memhub.FileSpec{Path: "README.md", Data: []byte(readme)},
		memhub.FileSpec{Path: "config.json", Data: []byte(`{"a":1}`)},
		memhub.FileSpec{Path: "model.safetensors", Blob: blob(3<<20+11, 1)},
		memhub.FileSpec{Path: "weights/part-1.bin", Blob: blob(1<<20+5, 2)},
		memhub.FileSpec{Path: "weights/copy.bin", Blob: blob(1<<20+5, 2)},
		memhub.FileSpec{Path: "tokenizer.model", Data: []byte("tok\x00bin")},
	)
	return src, dst
}

type eventLog struct {
	mu     sync.Mutex
	events []migrate.Event
	active int
	maxAct int
}

func (l *eventLog) add(ev migrate.Event) {
	l.mu.Lock()
	l.active++
	l.maxAct = max(l.maxAct, l.active)
	l.events = append(l.events, ev)
	l.active--
	l.mu.Unlock()
}

func (l *eventLog) types() []migrate.EventType {
	var out []migrate.EventType
	for _, e := range l.events {
		out = append(out, e.Type)
	}
	return out
}

func run(t *testing.T, src, dst migrate.Hub, opts ...migrate.Option) (*migrate.Report, error) {
	t.Helper()
	m, err := migrate.New(src, dst, msRepo, hfRepo, opts...)
	require.NoError(t, err)
	return m.Run(context.Background())
}

func TestRunCopiesVerifiesAndReRunIsNoop(t *testing.T) {
	src, dst := seedSource(t)
	var log eventLog
	rep, err := run(t, src, dst, migrate.WithEvents(log.add))
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, 6, rep.FilesCopied)
	require.Zero(t, rep.FilesFailed)
	require.True(t, rep.Verification.OK())
	require.Equal(t, 6, rep.Verification.Matched)
	require.Zero(t, rep.Verification.NotCheckable)
	require.Len(t, rep.Notices, 1)

	// Destination content, visibility, commit message.
	private, exists := dst.Private(hfRepo)
	require.True(t, exists)
	require.True(t, private, "private source stays private")
	head, msg := dst.Head(hfRepo)
	require.Equal(t, rep.DestCommit, head)
	srcHead, _ := src.Head(msRepo)
	require.Equal(t, "Migrated from ms:alice/model@"+srcHead, msg)
	got, err := dst.ReadFile(hfRepo, "", "README.md")
	require.NoError(t, err)
	require.Equal(t, strings.Replace(readme, "Apache-2.0", "apache-2.0", 1), string(got))
	got, err = dst.ReadFile(hfRepo, "", "weights/copy.bin")
	require.NoError(t, err)
	require.Equal(t, blob(1<<20+5, 2).Bytes(), got)
	require.ElementsMatch(t, []string{".gitattributes", "README.md", "config.json", "model.safetensors",
		"tokenizer.model", "weights/copy.bin", "weights/part-1.bin"}, dst.Paths(hfRepo))
	st := dst.Stats()
	require.Equal(t, 3, st.BlobUploads, "2 distinct streamed blobs + tokenizer.model as LFS")
	require.Equal(t, 1, st.Commits)

	// Events: plan first, done last, verify before done, never concurrent.
	ty := log.types()
	require.Equal(t, migrate.EventPlan, ty[0])
	require.Equal(t, migrate.EventDone, ty[len(ty)-1])
	require.NotNil(t, log.events[len(ty)-1].Report)
	require.Less(t, indexOf(ty, migrate.EventCommit), indexOf(ty, migrate.EventVerify))
	require.Equal(t, 1, log.maxAct)

	// Re-run: nothing moves.
	dst.ResetStats()
	rep, err = run(t, src, dst)
	require.NoError(t, err)
	require.Equal(t, migrate.StatusUpToDate, rep.Status)
	require.Equal(t, 6, rep.FilesSkipped)
	require.Equal(t, memhub.Stats{}, withoutReads(dst.Stats()))
}

func withoutReads(s memhub.Stats) memhub.Stats { s.Opens = 0; return s }

func indexOf(ts []migrate.EventType, t migrate.EventType) int {
	for i, x := range ts {
		if x == t {
			return i
		}
	}
	return -1
}

func TestChangedSourceMovesOnlyChangesAndDelete(t *testing.T) {
	src, dst := seedSource(t)
	_, err := run(t, src, dst)
	require.NoError(t, err)
	src.Seed(msRepo, false,
		memhub.FileSpec{Path: "config.json", Data: []byte(`{"a":2}`)},
		memhub.FileSpec{Path: "model.safetensors", Blob: blob(3<<20+11, 9)},
		memhub.FileSpec{Path: "weights/copy.bin", Delete: true},
	)
	dst.ResetStats()
	rep, err := run(t, src, dst, migrate.WithOptions(migrate.Options{Delete: true}))
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, 2, rep.FilesCopied)
	require.Equal(t, 1, rep.FilesDeleted)
	require.Equal(t, 1, dst.Stats().BlobUploads)
	require.NotContains(t, dst.Paths(hfRepo), "weights/copy.bin")
	require.Contains(t, dst.Paths(hfRepo), ".gitattributes", "hub-managed file never deleted")
	require.True(t, rep.Verification.OK())
}

func TestHashMismatchFailsWithoutCommit(t *testing.T) {
	src, dst := seedSource(t)
	src.AddFault(memhub.Fault{Op: "open", Path: "model.safetensors", After: 1000, Corrupt: true})
	rep, err := run(t, src, dst)
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
	require.Equal(t, migrate.StatusFailed, rep.Status)
	require.Equal(t, 1, rep.FilesFailed)
	require.Zero(t, dst.Stats().Commits, "no commit after a failed blob")
	require.Equal(t, []string{".gitattributes"}, dst.Paths(hfRepo))
}

func TestInterruptedRunResumes(t *testing.T) {
	src, dst := seedSource(t)
	src.AddFault(memhub.Fault{Op: "open", Path: "model.safetensors", After: 4096, Err: hubkit.ErrForbidden})
	_, err := run(t, src, dst)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Equal(t, 1, dst.Stats().BlobUploads, "the other blob got stored")
	require.Zero(t, dst.Stats().Commits)

	src.ClearFaults()
	dst.ResetStats()
	rep, err := run(t, src, dst)
	require.NoError(t, err)
	require.Equal(t, 2, dst.Stats().BlobUploads, "only the missing blob and the LFS-mode regular file")
	var stored int
	for _, f := range rep.Files {
		if f.Action == migrate.ActionStored {
			stored++
		}
	}
	require.Equal(t, 2, stored, "weights/part-1.bin and weights/copy.bin share the stored blob")
}

func TestTransientReadIsRetried(t *testing.T) {
	src, dst := seedSource(t)
	src.AddFault(memhub.Fault{Op: "open", Path: "model.safetensors", After: 100, Times: 1, Err: hubkit.ErrServer})
	rep, err := run(t, src, dst)
	require.NoError(t, err)
	require.True(t, rep.Verification.OK())
}

func TestCommitFailureLeavesDestinationUnchanged(t *testing.T) {
	src, dst := seedSource(t)
	dst.AddFault(memhub.Fault{Op: "commit", Err: hubkit.ErrConflict})
	rep, err := run(t, src, dst)
	require.ErrorIs(t, err, hubkit.ErrConflict)
	require.Equal(t, migrate.StatusFailed, rep.Status)
	require.Nil(t, rep.Verification)
}

func TestDryRunWritesNothing(t *testing.T) {
	src, dst := seedSource(t)
	rep, err := run(t, src, dst, migrate.WithDryRun(true))
	require.NoError(t, err)
	require.Equal(t, migrate.StatusPlanned, rep.Status)
	require.Equal(t, 6, rep.Plan.CopyFiles)
	_, exists := dst.Private(hfRepo)
	require.False(t, exists)
}

func TestDestinationChecksFailFast(t *testing.T) {
	src, _ := seedSource(t)
	dst := memhub.New(migrate.HuggingFace, memhub.WithNamespaces("someone-else"))
	rep, err := run(t, src, dst)
	require.ErrorIs(t, err, hubkit.ErrForbidden)
	require.Contains(t, err.Error(), `namespace "bob"`)
	require.Contains(t, err.Error(), "Hugging Face")
	require.Zero(t, src.Stats().Opens-1, "only the README was read (planning)")
	require.Equal(t, migrate.StatusFailed, rep.Status)
}

func TestVisibility(t *testing.T) {
	for _, tc := range []struct {
		name       string
		existing   *bool
		opt        []migrate.Option
		wantPriv   bool
		srcPrivate bool
	}{
		{name: "new copies public source", srcPrivate: false, wantPriv: false},
		{name: "new copies private source", srcPrivate: true, wantPriv: true},
		{name: "forced public", srcPrivate: true, opt: []migrate.Option{migrate.WithOptions(migrate.Options{Private: new(false)})}, wantPriv: false},
		{name: "existing keeps own", srcPrivate: true, existing: new(bool), wantPriv: false},
		{name: "existing changed when asked", srcPrivate: false, existing: new(bool), opt: []migrate.Option{migrate.WithOptions(migrate.Options{Private: new(true)})}, wantPriv: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := memhub.New(migrate.ModelScope)
			dst := memhub.New(migrate.HuggingFace)
			src.Seed(msRepo, tc.srcPrivate, memhub.FileSpec{Path: "a.txt", Data: []byte("a")})
			if tc.existing != nil {
				dst.Seed(hfRepo, *tc.existing)
			}
			_, err := run(t, src, dst, tc.opt...)
			require.NoError(t, err)
			p, _ := dst.Private(hfRepo)
			require.Equal(t, tc.wantPriv, p)
		})
	}
}

func TestHostileListingRefusedBeforeWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []migrate.File
		want  string
	}{
		{"dotdot", []migrate.File{{Path: "../etc/passwd", Size: 1}}, "../etc/passwd"},
		{"absolute", []migrate.File{{Path: "/abs", Size: 1}}, "/abs"},
		{"backslash", []migrate.File{{Path: `a\b`, Size: 1}}, `a\\b`},
		{"nul", []migrate.File{{Path: "a\x00b", Size: 1}}, `a\x00b`},
		{"deep", []migrate.File{{Path: strings.Repeat("d/", 10000) + "f", Size: 1}}, "unsafe path"},
		{"case dup", []migrate.File{{Path: "README.md", Size: 1}, {Path: "readme.md", Size: 1}}, "readme.md"},
		{"huge", []migrate.File{{Path: "big", Size: 1 << 62, LFS: true, SHA256: strings.Repeat("a", 64)}}, "big"},
		{"lfs without hash", []migrate.File{{Path: "x.bin", Size: 5, LFS: true}}, "x.bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := &listingHub{Hub: memhub.New(migrate.ModelScope), files: tc.files}
			src.Seed(msRepo, false)
			dst := memhub.New(migrate.HuggingFace)
			m, err := migrate.New(src, dst, msRepo, hfRepo)
			require.NoError(t, err)
			_, err = m.Run(context.Background())
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.want)
			_, exists := dst.Private(hfRepo)
			require.False(t, exists, "nothing written")
		})
	}
}

// listingHub serves a fixed (hostile) listing.
type listingHub struct {
	*memhub.Hub
	files []migrate.File
}

func (l *listingHub) List(context.Context, migrate.Repo, string) ([]migrate.File, error) {
	return l.files, nil
}

func TestSpaceToModelScopeRefused(t *testing.T) {
	src, dst := memhub.New(migrate.HuggingFace), memhub.New(migrate.ModelScope)
	space := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Space, ID: "a/s"}
	_, err := migrate.New(src, dst, space, migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Space, ID: "a/s"})
	require.ErrorIs(t, err, migrate.ErrUnsupported)
	require.Contains(t, err.Error(), "--repo-type model")
	_, err = migrate.New(src, dst, space, migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/s"})
	require.NoError(t, err)
}

func TestParallelShardsAndManyFiles(t *testing.T) {
	src := memhub.New(migrate.ModelScope)
	dst := memhub.New(migrate.HuggingFace)
	var files []memhub.FileSpec
	for i := range 3100 {
		files = append(files, memhub.FileSpec{Path: fmt.Sprintf("data/%04d.json", i), Data: fmt.Appendf(nil, `{"i":%d}`, i)})
	}
	for i := range 8 {
		files = append(files, memhub.FileSpec{Path: fmt.Sprintf("shards/%d.bin", i), Blob: blob(int64(64<<10+i), uint64(100+i))})
	}
	src.Seed(msRepo, false, files...)
	var log eventLog
	rep, err := run(t, src, dst, migrate.WithOptions(migrate.Options{Parallel: true, ChunkSize: 128 << 10, Files: 4, Parts: 2}),
		migrate.WithWorkers(3), migrate.WithEvents(log.add))
	require.NoError(t, err)
	require.Equal(t, 5, rep.Plan.Shards, "512 KiB + 28 bytes in 128 KiB chunks")
	require.Equal(t, 3108, rep.FilesCopied)
	require.Equal(t, 3108, rep.Verification.Matched)
	require.Equal(t, 31, dst.Stats().Commits, "3100 inline files, 100 a commit on Hugging Face (LFS pointers ride along)")
	_, msg := dst.Head(hfRepo)
	require.Contains(t, msg, "(part 31/31)")

	dst.ResetStats()
	rep, err = run(t, src, dst)
	require.NoError(t, err)
	require.Equal(t, migrate.StatusUpToDate, rep.Status)
	require.Zero(t, dst.Stats().Commits)
}

func TestHFToMSRegularFilesHashedWhenNoCommonHash(t *testing.T) {
	hf := memhub.New(migrate.HuggingFace)
	ms := memhub.New(migrate.ModelScope, memhub.WithGitOIDs(false))
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Dataset, ID: "bob/ds"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Dataset, ID: "alice/ds"}
	hf.Seed(from, false, memhub.FileSpec{Path: "README.md", Data: []byte(readme)}, memhub.FileSpec{Path: "a.csv", Data: []byte("x,y\n")})
	m, err := migrate.New(hf, ms, from, to)
	require.NoError(t, err)
	rep, err := m.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, 2, rep.Verification.Matched)
	got, _ := ms.ReadFile(to, "", "README.md")
	require.Equal(t, readme, string(got), "no README rewrite towards ModelScope")

	rep, err = m.Run(context.Background())
	require.NoError(t, err)
	require.Equal(t, migrate.StatusUpToDate, rep.Status)
}

func TestIncludeExclude(t *testing.T) {
	src, dst := seedSource(t)
	m, err := migrate.New(src, dst, msRepo, hfRepo, migrate.WithOptions(migrate.Options{Include: []string{"*.bin", "*.json"}, Exclude: []string{"weights/copy.bin"}}))
	require.NoError(t, err)
	p, err := m.Plan(context.Background())
	require.NoError(t, err)
	var paths []string
	for _, f := range p.Copy {
		paths = append(paths, f.Path)
	}
	require.Equal(t, []string{"config.json", "weights/part-1.bin"}, paths)
	_, err = migrate.New(src, dst, msRepo, hfRepo, migrate.WithOptions(migrate.Options{Include: []string{"[bad"}}))
	require.ErrorIs(t, err, hubkit.ErrInvalid)
}

func TestBatch(t *testing.T) {
	src, dst := seedSource(t)
	upToDate := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/small"}
	missing := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/missing"}
	src.Seed(upToDate, false, memhub.FileSpec{Path: "a.txt", Data: []byte("a")})
	pre, err := migrate.New(src, dst, upToDate, migrate.Repo{Hub: migrate.HuggingFace, ID: "bob/small"})
	require.NoError(t, err)
	_, err = pre.Run(context.Background())
	require.NoError(t, err)
	items := []migrate.BatchItem{
		{Src: src, Dst: dst, From: msRepo, To: hfRepo},
		{Src: src, Dst: dst, From: upToDate, To: migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/small"}},
		{Src: src, Dst: dst, From: missing, To: migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/missing"}},
	}
	var log eventLog
	br, err := migrate.RunBatch(context.Background(), items, migrate.WithEvents(log.add), migrate.WithBatchConcurrency(2))
	require.Error(t, err)
	s, u, f := br.Counts()
	require.Equal(t, [3]int{1, 1, 1}, [3]int{s, u, f})
	require.Equal(t, migrate.StatusFailed, br.Repos[2].Status)
	require.ErrorContains(t, err, "1 of 3")
	require.Equal(t, 1, log.maxAct)
	for _, ev := range log.events {
		require.NotEmpty(t, ev.Repo)
	}

	// An authentication failure while checking aborts everything before any transfer.
	dst2 := memhub.New(migrate.HuggingFace)
	dst2.AddFault(memhub.Fault{Op: "checkwrite", Err: hubkit.ErrUnauthorized, Times: 1})
	for i := range items {
		items[i].Dst = dst2
	}
	br, err = migrate.RunBatch(context.Background(), items, migrate.WithBatchConcurrency(1))
	require.ErrorIs(t, err, hubkit.ErrUnauthorized)
	require.Zero(t, dst2.Stats().BlobUploads)
	require.Zero(t, dst2.Stats().Creates)
	for _, r := range br.Repos {
		require.Equal(t, migrate.StatusFailed, r.Status)
	}
}

func TestRunJobShardMismatchDetected(t *testing.T) {
	src, dst := seedSource(t)
	m, err := migrate.New(src, dst, msRepo, hfRepo, migrate.WithOptions(migrate.Options{Parallel: true}))
	require.NoError(t, err)
	p, err := m.Plan(context.Background())
	require.NoError(t, err)
	dst.Seed(hfRepo, false)
	jobs := migrate.Jobs(p, "r", p.Options, migrate.Endpoints{})
	require.Len(t, jobs, 2, "one blob shard and the commit")

	// Unsplit, the whole migration is one job that uploads and commits.
	single := migrate.Jobs(p, "r", migrate.Options{}, migrate.Endpoints{})
	require.Len(t, single, 1)
	require.Equal(t, migrate.PhaseAll, single[0].Phase)
	job := jobs[0]
	job.Shards = 7
	var log eventLog
	err = migrate.RunJob(context.Background(), job, src, dst, log.add)
	require.ErrorIs(t, err, hubkit.ErrConflict)
	require.Equal(t, migrate.EventError, log.events[len(log.events)-1].Type)
	require.True(t, errors.Is(migrate.RunJob(context.Background(), migrate.Job{}, src, dst, nil), hubkit.ErrInvalid))
}
