package migrate_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// End-to-end migrations through the real clients, the real adapters and the engine, between the
// two fake hubs. Files are small; multipart and CDN thresholds are lowered so every transfer path
// (basic and multipart LFS, direct and redirected downloads) is taken.

// e2eWorld is the shared test world with the hubs a test migrates through (the fault matrix
// swaps in clients with fast backoff).
type e2eWorld struct {
	*testworld.World
	hubs map[migrate.HubName]migrate.Hub
}

// newE2EWorld lowers the fakes' thresholds so every transfer path (basic and multipart LFS,
// direct and redirected downloads) is taken by small files.
func newE2EWorld(t *testing.T, opts ...testworld.Option) *e2eWorld {
	t.Helper()
	base := []testworld.Option{
		testworld.WithHF(hubtest.WithTreePageSize(100), hubtest.WithMultipartThreshold(256<<10), hubtest.WithChunkSize(96<<10)),
		testworld.WithMS(mstest.WithRedirectThreshold(64 << 10)),
	}
	w := testworld.New(t, append(base, opts...)...)
	return &e2eWorld{World: w, hubs: map[migrate.HubName]migrate.Hub{
		migrate.HuggingFace: w.Hub(migrate.HuggingFace), migrate.ModelScope: w.Hub(migrate.ModelScope)}}
}

// migrate runs one migration with opts (3 files and 2 parts at once unless opts say otherwise).
func (w *e2eWorld) migrate(t *testing.T, from, to migrate.Repo, o migrate.Options, extra ...migrate.Option) (*migrate.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if o.Files == 0 {
		o.Files, o.Parts = 3, 2
	}
	m, err := migrate.New(w.hubs[from.Hub], w.hubs[to.Hub], from, to, append([]migrate.Option{migrate.WithOptions(o)}, extra...)...)
	require.NoError(t, err)
	return m.Run(ctx)
}

// requireMirrored checks that every source file is in the destination with identical bytes
// (the destination may only add a .gitattributes, which Hugging Face maintains itself), and the
// other way round.
func (w *e2eWorld) requireMirrored(t *testing.T, from, to migrate.Repo, skip ...string) {
	t.Helper()
	src, dst := w.Contents(t, from), w.Contents(t, to)
	ignore := map[string]bool{".gitattributes": true}
	for _, s := range skip {
		ignore[s] = true
	}
	for p := range ignore {
		delete(src, p)
		delete(dst, p)
	}
	require.Equal(t, src, dst)
}

// e2eModelFiles is a small repository exercising every path: inline text, nested folders, small
// LFS (basic upload on both hubs) and a LFS file above the HF fake's multipart threshold.
func e2eModelFiles(seed byte) []testworld.File {
	return []testworld.File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# hubkit.Model\n")},
		{Path: "config.json", Content: []byte(fmt.Sprintf(`{"seed": %d}`, seed))},
		{Path: "tokenizer/vocab.txt", Content: []byte("a\nb\nc\n")},
		{Path: "model.safetensors", Content: migratetest.Bytes(90<<10, seed), LFS: true},
		{Path: "shards/model-00001.bin", Content: migratetest.Bytes(300<<10, seed+1), LFS: true},
		{Path: "data/train.parquet", Content: migratetest.Bytes(20<<10, seed+2), LFS: true},
	}
}

func TestE2EDirections(t *testing.T) {
	tests := []struct {
		name    string
		from    migrate.Repo
		to      migrate.Repo
		private bool
	}{
		{"HF to MS model public", migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/bert"}, migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/bert"}, false},
		{"HF to MS dataset private", migrate.Repo{migrate.HuggingFace, hubkit.Dataset, testworld.User + "/squad"}, migrate.Repo{migrate.ModelScope, hubkit.Dataset, testworld.User + "/squad"}, true},
		{"MS to HF model private", migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/qwen"}, migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/qwen"}, true},
		{"MS to HF dataset public", migrate.Repo{migrate.ModelScope, hubkit.Dataset, testworld.User + "/cmrc"}, migrate.Repo{migrate.HuggingFace, hubkit.Dataset, testworld.User + "/cmrc"}, false},
		{"HF to HF org copy", migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/bert"}, migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.Org + "/bert"}, true},
		{"MS to MS org copy", migrate.Repo{migrate.ModelScope, hubkit.Dataset, testworld.User + "/cmrc"}, migrate.Repo{migrate.ModelScope, hubkit.Dataset, testworld.Org + "/cmrc-copy"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newE2EWorld(t)
			w.Create(t, tt.from, tt.private)
			w.Seed(t, tt.from, e2eModelFiles(7)...)
			require.False(t, w.Exists(tt.to))

			var events []migrate.Event
			rep, err := w.migrate(t, tt.from, tt.to, migrate.Options{}, migrate.WithEvents(func(ev migrate.Event) { events = append(events, ev) }))
			require.NoError(t, err, "report: %+v", rep)
			require.Equal(t, migrate.StatusSucceeded, rep.Status)
			require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
			require.True(t, w.Exists(tt.to))
			require.Equal(t, tt.private, w.Private(tt.to), "visibility must be carried over")
			w.requireMirrored(t, tt.from, tt.to)
			require.Equal(t, w.hubs[tt.to.Hub].WebURL(tt.to), rep.DestURL)
			require.NotEmpty(t, rep.DestCommit)
			require.Equal(t, migrate.EventDone, events[len(events)-1].Type)
			commits := len(w.History(t, tt.to))

			// A second run finds nothing to do and writes nothing.
			up := w.Uploads(tt.to.Hub)
			rep, err = w.migrate(t, tt.from, tt.to, migrate.Options{})
			require.NoError(t, err)
			require.Equal(t, migrate.StatusUpToDate, rep.Status)
			require.Zero(t, rep.FilesCopied)
			require.Equal(t, up, w.Uploads(tt.to.Hub))
			require.Len(t, w.History(t, tt.to), commits)
		})
	}
}

func TestE2ESpaceToMSUnsupported(t *testing.T) {
	w := newE2EWorld(t)
	_, err := migrate.New(w.hubs[migrate.HuggingFace], w.hubs[migrate.ModelScope], migrate.Repo{migrate.HuggingFace, hubkit.Space, testworld.User + "/demo"}, migrate.Repo{migrate.ModelScope, hubkit.Space, testworld.User + "/demo"})
	require.ErrorIs(t, err, migrate.ErrUnsupported)
}

func TestE2EDetectAndRefs(t *testing.T) {
	w := newE2EWorld(t)
	src := migrate.Repo{migrate.HuggingFace, hubkit.Dataset, testworld.User + "/squad"}
	w.Create(t, src, false)
	w.Seed(t, src, e2eModelFiles(3)...)

	ref, err := migrate.ParseRef("https://huggingface.co/datasets/" + src.ID)
	require.NoError(t, err)
	from, to, err := migrate.ResolveDirection(ref, "", "")
	require.NoError(t, err)
	require.Equal(t, src, from)
	require.Equal(t, migrate.Repo{migrate.ModelScope, hubkit.Dataset, src.ID}, to)

	// A bare reference: the type is detected on the source.
	bare, err := migrate.ParseRef(src.ID)
	require.NoError(t, err)
	from, to, err = migrate.ResolveDirection(bare, "ms", "")
	require.NoError(t, err)
	typ, err := migrate.DetectType(context.Background(), w.hubs[from.Hub], from.Hub, from.ID)
	require.NoError(t, err)
	from.Type, to.Type = typ, typ
	rep, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	w.requireMirrored(t, from, to)

	_, err = migrate.DetectType(context.Background(), w.hubs[migrate.ModelScope], "", testworld.User+"/nothing-here")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

// forEachDirection runs test once each way between the two hubs, each time in a fresh e2e
// world, from and to being the model User/name on either side, from created (public, empty).
func forEachDirection(t *testing.T, name string, test func(t *testing.T, w *e2eWorld, from, to migrate.Repo)) {
	for _, dir := range [][2]migrate.HubName{{migrate.HuggingFace, migrate.ModelScope}, {migrate.ModelScope, migrate.HuggingFace}} {
		t.Run(fmt.Sprintf("%s to %s", dir[0], dir[1]), func(t *testing.T) {
			w := newE2EWorld(t)
			from := migrate.Repo{Hub: dir[0], Type: hubkit.Model, ID: testworld.User + "/" + name}
			to := migrate.Repo{Hub: dir[1], Type: hubkit.Model, ID: testworld.User + "/" + name}
			w.Create(t, from, false)
			test(t, w, from, to)
		})
	}
}

func TestE2EIncludeExcludeDelete(t *testing.T) {
	forEachDirection(t, "sel", func(t *testing.T, w *e2eWorld, from, to migrate.Repo) {
		w.Seed(t, from, e2eModelFiles(11)...)
		w.Create(t, to, false)
		w.Seed(t, to,
			testworld.File{Path: "stale.txt", Content: []byte("old")},
			testworld.File{Path: "tokenizer/old.txt", Content: []byte("old")},
			testworld.File{Path: "data/keep.parquet", Content: migratetest.Bytes(5<<10, 99), LFS: true},
			testworld.File{Path: "config.json", Content: []byte(`{"seed": 0}`)},
		)

		rep, err := w.migrate(t, from, to, migrate.Options{Include: []string{"*.json", "*.md", "tokenizer/**", "*.safetensors"}, Exclude: []string{"README.md"}, Delete: true})
		require.NoError(t, err, "%+v", rep)
		dst := w.Contents(t, to)
		src := w.Contents(t, from)
		delete(dst, ".gitattributes")
		require.Equal(t, map[string]string{
			"config.json":         src["config.json"],
			"tokenizer/vocab.txt": src["tokenizer/vocab.txt"],
			"model.safetensors":   src["model.safetensors"],
			// Outside the selection: neither copied nor deleted.
			"data/keep.parquet": dst["data/keep.parquet"],
			"stale.txt":         dst["stale.txt"],
		}, dst)
		require.NotContains(t, dst, "tokenizer/old.txt", "deleted: inside the selection, not in the source")
		require.Equal(t, 1, rep.FilesDeleted)
	})
}

func TestE2EInterruptedRunResumes(t *testing.T) {
	forEachDirection(t, "resume", func(t *testing.T, w *e2eWorld, from, to migrate.Repo) {
		// Four small blobs (below the cut) and one big one (above it, basic upload on both
		// hubs' fakes: the HF multipart threshold is 256 KiB).
		files := []testworld.File{{Path: "README.md", Content: []byte("# resume\n")}}
		for i := range 4 {
			files = append(files, testworld.File{Path: fmt.Sprintf("small-%d.bin", i), Content: migratetest.Bytes(20<<10, byte(20+i)), LFS: true})
		}
		files = append(files, testworld.File{Path: "big.bin", Content: migratetest.Bytes(200<<10, 30), LFS: true})
		w.Seed(t, from, files...)
		remove := w.Faults(to.Hub).Add(fault.Rule{Route: testworld.RoutesOf(to.Hub).Upload, CutAfter: 100 << 10})

		rep, err := w.migrate(t, from, to, migrate.Options{})
		require.Error(t, err)
		require.Equal(t, migrate.StatusFailed, rep.Status)
		var historyAfterFailure []testworld.Commit
		if w.Exists(to) {
			historyAfterFailure = w.History(t, to)
			for p := range w.Contents(t, to) {
				require.NotContains(t, p, ".bin", "a failed run commits nothing")
			}
		}
		remove()
		before := w.Uploads(to.Hub)

		rep, err = w.migrate(t, from, to, migrate.Options{})
		require.NoError(t, err, "%+v", rep)
		require.Equal(t, migrate.StatusSucceeded, rep.Status)
		w.requireMirrored(t, from, to)
		require.Equal(t, 1, w.Uploads(to.Hub)-before, "only the blob the first run could not store is uploaded again")
		stored := 0
		for _, f := range rep.Files {
			if f.Action == migrate.ActionStored {
				stored++
			}
		}
		require.Equal(t, 4, stored, "%+v", rep.Files)
		require.Len(t, w.History(t, to), len(historyAfterFailure)+1)
	})
}

func TestE2ESourceChangesBetweenRuns(t *testing.T) {
	w := newE2EWorld(t)
	from := migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/evolving"}
	to := migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/evolving"}
	w.Create(t, from, false)
	w.Seed(t, from, e2eModelFiles(40)...)
	_, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err)
	commits := len(w.History(t, to))

	w.Seed(t, from,
		testworld.File{Path: "model.safetensors", Content: migratetest.Bytes(90<<10, 41), LFS: true}, // changed
		testworld.File{Path: "config.json", Content: []byte(`{"seed": "changed"}`)},                  // changed
		testworld.File{Path: "extra/new.bin", Content: migratetest.Bytes(10<<10, 42), LFS: true},     // added
	)
	before := w.Uploads(migrate.ModelScope)
	rep, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err, "%+v", rep)
	require.Equal(t, 3, rep.FilesCopied, "%+v", rep.Files)
	require.Equal(t, 2, w.Uploads(migrate.ModelScope)-before, "only the two new blobs move")
	require.Len(t, w.History(t, to), commits+1)
	w.requireMirrored(t, from, to)
}

func TestE2EHashMismatchCommitsNothing(t *testing.T) {
	forEachDirection(t, "corrupt", func(t *testing.T, w *e2eWorld, from, to migrate.Repo) {
		w.Seed(t, from, e2eModelFiles(50)...)
		w.Create(t, to, false)
		w.Seed(t, to, testworld.File{Path: "existing.txt", Content: []byte("keep me")})
		hist := w.History(t, to)

		// The source's CDN serves wrong bytes (same length) for every LFS download.
		cdn := testworld.RoutesOf(from.Hub).CDN
		w.Faults(from.Hub).Add(fault.Rule{Route: cdn, Corrupt: true})
		rep, err := w.migrate(t, from, to, migrate.Options{})
		require.ErrorIs(t, err, hubkit.ErrHashMismatch)
		require.Equal(t, migrate.StatusFailed, rep.Status)
		require.Equal(t, hist, w.History(t, to), "no new commit on the destination")
		require.Positive(t, w.Faults(from.Hub).Count(cdn))
	})
}

func TestE2EManyFilesPastMSListingCut(t *testing.T) {
	const n = 3100
	w := newE2EWorld(t)
	from := migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/many"}
	to := migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.Org + "/many"}
	w.Create(t, from, false)
	files := make([]testworld.File, 0, n+1)
	for i := range n {
		files = append(files, testworld.File{Path: fmt.Sprintf("d%02d/sub%d/f%04d.txt", i%31, i%3, i), Content: []byte(fmt.Sprintf("file %d\n", i))})
	}
	files = append(files, testworld.File{Path: "weights.safetensors", Content: migratetest.Bytes(8<<10, 60), LFS: true})
	w.Seed(t, from, files...)

	// migrate.ModelScope refuses the first commit "by repository policy" (what it answers to commits
	// coming too fast, inside an HTTP 200): the adapter must wait and retry it, once.
	w.MS.Faults().Add(mstest.EnvelopeError(mstest.RouteCommit, "commit rejected by repository policy", 1))
	rep, err := w.migrate(t, from, to, migrate.Options{Files: 8, Parts: 2})
	require.NoError(t, err, "status %s: %s", rep.Status, rep.Error)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, n+1, rep.FilesCopied)
	dst := w.Contents(t, to)
	delete(dst, ".gitattributes")
	require.Len(t, dst, n+1)
	w.requireMirrored(t, from, to)
	require.Len(t, w.History(t, to), 1+2, "the initial commit, then 3101 operations in two commits of at most %d", msclient.MaxCommitActions)
	require.Equal(t, 3, w.MS.Faults().Count(mstest.RouteCommit), "two commits, one of them retried once")
}

func TestE2EReadmeLicenseFixMSToHF(t *testing.T) {
	w := newE2EWorld(t)
	from := migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/licensed"}
	to := migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/licensed"}
	w.Create(t, from, false)
	body := "# Title\r\n\r\nSome text with --- dashes\nand a trailing line without newline"
	readme := "---\nlicense: Apache License 2.0\ntasks:\n- text-generation\n---\n" + body
	w.Seed(t, from, testworld.File{Path: "README.md", Content: []byte(readme)}, testworld.File{Path: "w.bin", Content: migratetest.Bytes(4<<10, 70), LFS: true})

	rep, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err, "%+v", rep)
	got := string(w.Read(t, to, "README.md"))
	require.True(t, strings.HasPrefix(got, "---\nlicense: apache-2.0\n"), got)
	require.Contains(t, got, "tasks:\n- text-generation\n---\n")
	require.True(t, strings.HasSuffix(got, "\n---\n"+body), "the body must be byte-identical")
	require.Equal(t, readme[strings.Index(readme, "\n---\n"):], got[strings.Index(got, "\n---\n"):])
	w.requireMirrored(t, from, to, "README.md")

	// With the fix off, the README goes over as it is.
	to2 := migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/licensed-raw"}
	_, err = w.migrate(t, from, to2, migrate.Options{NoReadmeFix: true})
	require.NoError(t, err)
	require.True(t, bytes.Equal([]byte(readme), w.Read(t, to2, "README.md")))
}

// The Hugging Face migrate.Hub appends LFS patterns to .gitattributes itself. A source that carries its
// own .gitattributes (a migrate.ModelScope mirror of a Hugging Face repo) must still verify on a Hugging
// Face destination, and a re-run must be a no-op rather than rewriting the file forever.
func TestHubManagedGitattributesOnHF(t *testing.T) {
	w := newE2EWorld(t)
	from := migrate.Repo{migrate.ModelScope, hubkit.Model, testworld.User + "/mirror"}
	to := migrate.Repo{migrate.HuggingFace, hubkit.Model, testworld.User + "/mirror"}
	w.Create(t, from, false)
	w.Seed(t, from, append(e2eModelFiles(3),
		testworld.File{Path: ".gitattributes", Content: []byte("*.bin filter=lfs diff=lfs merge=lfs -text\r\n")},
		// Stored as LFS on migrate.ModelScope but matching no pattern: the migrate.Hub adds a line for it.
		testworld.File{Path: "tokenizer.json", Content: migratetest.Bytes(80<<10, 9), LFS: true},
	)...)

	rep, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err, "%+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	got := string(w.Read(t, to, ".gitattributes"))
	require.Contains(t, got, "*.bin filter=lfs diff=lfs merge=lfs -text")
	require.Contains(t, got, "tokenizer.json", "the fake migrate.Hub appends a pattern, as the real one does")

	commits := len(w.History(t, to))
	rep, err = w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err)
	require.Equal(t, migrate.StatusUpToDate, rep.Status)
	require.Len(t, w.History(t, to), commits)

	// A destination that lost one of the source's lines is rewritten.
	w.Seed(t, to, testworld.File{Path: ".gitattributes", Content: []byte("tokenizer.json filter=lfs diff=lfs merge=lfs -text\n")})
	rep, err = w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Contains(t, string(w.Read(t, to, ".gitattributes")), "*.bin filter=lfs")
}
