package migrate

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// End-to-end migrations through the real clients, the real adapters and the engine, between the
// two fake hubs. Files are small; multipart and CDN thresholds are lowered so every transfer path
// (basic and multipart LFS, direct and redirected downloads) is taken.

const (
	e2eUser    = "alice"
	e2eOrg     = "acme"
	e2eHFToken = "hf_e2e_write_token"
	e2eMSToken = "ms-e2e-write-token"
)

type e2eFile struct {
	Path    string
	Content []byte
	LFS     bool
}

type e2eWorld struct {
	hf   *hubtest.Server
	ms   *mstest.Server
	hubs map[HubName]Hub
}

type e2eConfig struct {
	msOpts []mstest.Option
}

func newE2EWorld(t *testing.T, cfg e2eConfig) *e2eWorld {
	t.Helper()
	hf := hubtest.NewServer(
		hubtest.WithTreePageSize(100),
		hubtest.WithMultipartThreshold(256<<10),
		hubtest.WithChunkSize(96<<10),
	)
	t.Cleanup(hf.Close)
	hf.AddUser(e2eUser, e2eOrg)
	hf.AddToken(e2eHFToken, e2eUser, hubtest.RoleWrite)

	ms := mstest.NewServer(append([]mstest.Option{mstest.WithRedirectThreshold(64 << 10)}, cfg.msOpts...)...)
	t.Cleanup(ms.Close)
	ms.AddUser(e2eUser, e2eOrg)
	ms.AddToken(e2eMSToken, e2eUser)

	hfc := hub.NewClient(hub.WithEndpoint(hf.URL()), hub.WithToken(e2eHFToken))
	msc := msclient.NewClient(msclient.WithEndpoint(ms.URL()), msclient.WithToken(e2eMSToken),
		msclient.WithCommitRetry(3, 10*time.Millisecond, time.Second),
		msclient.WithUploadRetry(1, 10*time.Millisecond))
	w := &e2eWorld{hf: hf, ms: ms, hubs: map[HubName]Hub{HuggingFace: NewHFHub(hfc), ModelScope: NewMSHub(msc)}}
	t.Cleanup(func() {
		// The CDN hosts never see a credential, whatever the test did.
		require.Empty(t, hf.AuthLeaks(), "HF CDN saw credentials")
		require.Empty(t, ms.AuthLeaks(), "ModelScope CDN saw credentials")
	})
	return w
}

func hfType(t hubkit.RepoType) hubkit.RepoType {
	switch t {
	case hubkit.Dataset:
		return hubkit.Dataset
	case hubkit.Space:
		return hubkit.Space
	}
	return hubkit.Model
}

// create makes r on its fake.
func (w *e2eWorld) create(t *testing.T, r Repo, private bool) {
	t.Helper()
	if r.Hub == HuggingFace {
		require.NoError(t, w.hf.CreateRepo(hfType(r.Type), r.ID, hubtest.RepoOptions{Private: private}))
		return
	}
	vis := mstest.Public
	if private {
		vis = mstest.Private
	}
	require.NoError(t, w.ms.CreateRepo(msKind(r.Type), r.ID, vis))
}

// seed commits files to r's default branch on its fake and returns the new head.
func (w *e2eWorld) seed(t *testing.T, r Repo, files ...e2eFile) string {
	t.Helper()
	var sha string
	var err error
	if r.Hub == HuggingFace {
		fs := make([]hubtest.File, len(files))
		for i, f := range files {
			fs[i] = hubtest.File{Path: f.Path, Content: f.Content, LFS: f.LFS, Delete: f.Content == nil && !f.LFS}
		}
		sha, err = w.hf.Commit(hfType(r.Type), r.ID, HFDefaultBranch, "seed", fs...)
	} else {
		fs := make([]mstest.File, len(files))
		for i, f := range files {
			fs[i] = mstest.File{Path: f.Path, Content: f.Content, LFS: f.LFS, Delete: f.Content == nil && !f.LFS}
		}
		sha, err = w.ms.Commit(msKind(r.Type), r.ID, MSDefaultBranch, "seed", fs...)
	}
	require.NoError(t, err)
	return sha
}

// contents returns path -> sha256 of every file of r's default branch, read on the fake itself.
func (w *e2eWorld) contents(t *testing.T, r Repo) map[string]string {
	t.Helper()
	out := map[string]string{}
	var paths []string
	if r.Hub == HuggingFace {
		fs, err := w.hf.Files(hfType(r.Type), r.ID, HFDefaultBranch)
		require.NoError(t, err)
		for _, f := range fs {
			paths = append(paths, f.Path)
		}
	} else {
		fs, err := w.ms.Files(msKind(r.Type), r.ID, MSDefaultBranch)
		require.NoError(t, err)
		for _, f := range fs {
			paths = append(paths, f.Path)
		}
	}
	for _, p := range paths {
		out[p] = contractSHA(w.read(t, r, p))
	}
	return out
}

func (w *e2eWorld) read(t *testing.T, r Repo, p string) []byte {
	t.Helper()
	var b []byte
	var err error
	if r.Hub == HuggingFace {
		b, err = w.hf.ReadFile(hfType(r.Type), r.ID, HFDefaultBranch, p)
	} else {
		b, err = w.ms.ReadFile(msKind(r.Type), r.ID, MSDefaultBranch, p)
	}
	require.NoError(t, err, p)
	return b
}

func (w *e2eWorld) history(t *testing.T, r Repo) []string {
	t.Helper()
	var ids []string
	if r.Hub == HuggingFace {
		h, err := w.hf.History(hfType(r.Type), r.ID, HFDefaultBranch)
		require.NoError(t, err)
		for _, c := range h {
			ids = append(ids, c.ID)
		}
	} else {
		h, err := w.ms.History(msKind(r.Type), r.ID, MSDefaultBranch)
		require.NoError(t, err)
		for _, c := range h {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

func (w *e2eWorld) private(r Repo) bool {
	if r.Hub == HuggingFace {
		return w.hf.Private(hfType(r.Type), r.ID)
	}
	return w.ms.RepoVisibility(msKind(r.Type), r.ID) != mstest.Public
}

func (w *e2eWorld) exists(r Repo) bool {
	if r.Hub == HuggingFace {
		return w.hf.RepoExists(hfType(r.Type), r.ID)
	}
	return w.ms.RepoExists(msKind(r.Type), r.ID)
}

// uploads counts the blob uploads a fake received (HF: basic PUTs and multipart part PUTs).
func (w *e2eWorld) uploads(h HubName) int {
	if h == HuggingFace {
		return w.hf.Faults().Count(hubtest.RouteLFSUpload)
	}
	return w.ms.Faults().Count(mstest.RouteBlobPut)
}

func (w *e2eWorld) faults(h HubName) *fault.Set {
	if h == HuggingFace {
		return w.hf.Faults()
	}
	return w.ms.Faults()
}

func (w *e2eWorld) migrate(t *testing.T, from, to Repo, opts ...Option) (*Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	m, err := New(w.hubs[from.Hub], w.hubs[to.Hub], from, to, append([]Option{WithConcurrency(3, 2)}, opts...)...)
	require.NoError(t, err)
	return m.Run(ctx)
}

// requireMirrored checks that every source file is in the destination with identical bytes
// (the destination may only add a .gitattributes, which Hugging Face maintains itself), and the
// other way round.
func (w *e2eWorld) requireMirrored(t *testing.T, from, to Repo, skip ...string) {
	t.Helper()
	src, dst := w.contents(t, from), w.contents(t, to)
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
func e2eModelFiles(seed byte) []e2eFile {
	return []e2eFile{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# hubkit.Model\n")},
		{Path: "config.json", Content: []byte(fmt.Sprintf(`{"seed": %d}`, seed))},
		{Path: "tokenizer/vocab.txt", Content: []byte("a\nb\nc\n")},
		{Path: "model.safetensors", Content: contractBytes(90<<10, seed), LFS: true},
		{Path: "shards/model-00001.bin", Content: contractBytes(300<<10, seed+1), LFS: true},
		{Path: "data/train.parquet", Content: contractBytes(20<<10, seed+2), LFS: true},
	}
}

func TestE2EDirections(t *testing.T) {
	tests := []struct {
		name    string
		from    Repo
		to      Repo
		private bool
	}{
		{"HF to MS model public", Repo{HuggingFace, hubkit.Model, e2eUser + "/bert"}, Repo{ModelScope, hubkit.Model, e2eUser + "/bert"}, false},
		{"HF to MS dataset private", Repo{HuggingFace, hubkit.Dataset, e2eUser + "/squad"}, Repo{ModelScope, hubkit.Dataset, e2eUser + "/squad"}, true},
		{"MS to HF model private", Repo{ModelScope, hubkit.Model, e2eUser + "/qwen"}, Repo{HuggingFace, hubkit.Model, e2eUser + "/qwen"}, true},
		{"MS to HF dataset public", Repo{ModelScope, hubkit.Dataset, e2eUser + "/cmrc"}, Repo{HuggingFace, hubkit.Dataset, e2eUser + "/cmrc"}, false},
		{"HF to HF org copy", Repo{HuggingFace, hubkit.Model, e2eUser + "/bert"}, Repo{HuggingFace, hubkit.Model, e2eOrg + "/bert"}, true},
		{"MS to MS org copy", Repo{ModelScope, hubkit.Dataset, e2eUser + "/cmrc"}, Repo{ModelScope, hubkit.Dataset, e2eOrg + "/cmrc-copy"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newE2EWorld(t, e2eConfig{})
			w.create(t, tt.from, tt.private)
			w.seed(t, tt.from, e2eModelFiles(7)...)
			require.False(t, w.exists(tt.to))

			var events []Event
			rep, err := w.migrate(t, tt.from, tt.to, WithEvents(func(ev Event) { events = append(events, ev) }))
			require.NoError(t, err, "report: %+v", rep)
			require.Equal(t, StatusSucceeded, rep.Status)
			require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
			require.True(t, w.exists(tt.to))
			require.Equal(t, tt.private, w.private(tt.to), "visibility must be carried over")
			w.requireMirrored(t, tt.from, tt.to)
			require.Equal(t, w.hubs[tt.to.Hub].WebURL(tt.to), rep.DestURL)
			require.NotEmpty(t, rep.DestCommit)
			require.Equal(t, EventDone, events[len(events)-1].Type)
			commits := len(w.history(t, tt.to))

			// A second run finds nothing to do and writes nothing.
			up := w.uploads(tt.to.Hub)
			rep, err = w.migrate(t, tt.from, tt.to)
			require.NoError(t, err)
			require.Equal(t, StatusUpToDate, rep.Status)
			require.Zero(t, rep.FilesCopied)
			require.Equal(t, up, w.uploads(tt.to.Hub))
			require.Len(t, w.history(t, tt.to), commits)
		})
	}
}

func TestE2ESpaceToMSUnsupported(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	_, err := New(w.hubs[HuggingFace], w.hubs[ModelScope], Repo{HuggingFace, hubkit.Space, e2eUser + "/demo"}, Repo{ModelScope, hubkit.Space, e2eUser + "/demo"})
	require.ErrorIs(t, err, ErrUnsupported)
}

func TestE2EDetectAndRefs(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	src := Repo{HuggingFace, hubkit.Dataset, e2eUser + "/squad"}
	w.create(t, src, false)
	w.seed(t, src, e2eModelFiles(3)...)

	ref, err := ParseRef("https://huggingface.co/datasets/" + src.ID)
	require.NoError(t, err)
	from, to, err := ResolveDirection(ref, "", "")
	require.NoError(t, err)
	require.Equal(t, src, from)
	require.Equal(t, Repo{ModelScope, hubkit.Dataset, src.ID}, to)

	// A bare reference: the type is detected on the source.
	bare, err := ParseRef(src.ID)
	require.NoError(t, err)
	from, to, err = ResolveDirection(bare, "ms", "")
	require.NoError(t, err)
	typ, err := DetectType(context.Background(), w.hubs[from.Hub], from.Hub, from.ID)
	require.NoError(t, err)
	from.Type, to.Type = typ, typ
	rep, err := w.migrate(t, from, to)
	require.NoError(t, err)
	require.Equal(t, StatusSucceeded, rep.Status)
	w.requireMirrored(t, from, to)

	_, err = DetectType(context.Background(), w.hubs[ModelScope], "", e2eUser+"/nothing-here")
	require.ErrorIs(t, err, hubkit.ErrNotFound)
}

func TestE2EIncludeExcludeDelete(t *testing.T) {
	for _, dir := range []struct{ from, to HubName }{{HuggingFace, ModelScope}, {ModelScope, HuggingFace}} {
		t.Run(fmt.Sprintf("%s to %s", dir.from, dir.to), func(t *testing.T) {
			w := newE2EWorld(t, e2eConfig{})
			from := Repo{dir.from, hubkit.Model, e2eUser + "/sel"}
			to := Repo{dir.to, hubkit.Model, e2eUser + "/sel"}
			w.create(t, from, false)
			w.seed(t, from, e2eModelFiles(11)...)
			w.create(t, to, false)
			w.seed(t, to,
				e2eFile{Path: "stale.txt", Content: []byte("old")},
				e2eFile{Path: "tokenizer/old.txt", Content: []byte("old")},
				e2eFile{Path: "data/keep.parquet", Content: contractBytes(5<<10, 99), LFS: true},
				e2eFile{Path: "config.json", Content: []byte(`{"seed": 0}`)},
			)

			rep, err := w.migrate(t, from, to,
				WithInclude("*.json", "*.md", "tokenizer/**", "*.safetensors"),
				WithExclude("README.md"),
				WithDelete(true))
			require.NoError(t, err, "%+v", rep)
			dst := w.contents(t, to)
			src := w.contents(t, from)
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
}

func TestE2EInterruptedRunResumes(t *testing.T) {
	for _, dir := range []struct{ from, to HubName }{{HuggingFace, ModelScope}, {ModelScope, HuggingFace}} {
		t.Run(fmt.Sprintf("%s to %s", dir.from, dir.to), func(t *testing.T) {
			w := newE2EWorld(t, e2eConfig{})
			from := Repo{dir.from, hubkit.Model, e2eUser + "/resume"}
			to := Repo{dir.to, hubkit.Model, e2eUser + "/resume"}
			w.create(t, from, false)
			// Four small blobs (below the cut) and one big one (above it, basic upload on both
			// hubs' fakes: the HF multipart threshold is 256 KiB).
			files := []e2eFile{{Path: "README.md", Content: []byte("# resume\n")}}
			for i := range 4 {
				files = append(files, e2eFile{Path: fmt.Sprintf("small-%d.bin", i), Content: contractBytes(20<<10, byte(20+i)), LFS: true})
			}
			files = append(files, e2eFile{Path: "big.bin", Content: contractBytes(200<<10, 30), LFS: true})
			w.seed(t, from, files...)
			remove := w.faults(dir.to).Add(fault.Rule{Route: routeOfUploads(dir.to), CutAfter: 100 << 10})

			rep, err := w.migrate(t, from, to)
			require.Error(t, err)
			require.Equal(t, StatusFailed, rep.Status)
			historyAfterFailure := []string(nil)
			if w.exists(to) {
				historyAfterFailure = w.history(t, to)
				for p := range w.contents(t, to) {
					require.NotContains(t, p, ".bin", "a failed run commits nothing")
				}
			}
			remove()
			before := w.uploads(dir.to)

			rep, err = w.migrate(t, from, to)
			require.NoError(t, err, "%+v", rep)
			require.Equal(t, StatusSucceeded, rep.Status)
			w.requireMirrored(t, from, to)
			require.Equal(t, 1, w.uploads(dir.to)-before, "only the blob the first run could not store is uploaded again")
			stored := 0
			for _, f := range rep.Files {
				if f.Action == ActionStored {
					stored++
				}
			}
			require.Equal(t, 4, stored, "%+v", rep.Files)
			require.Len(t, w.history(t, to), len(historyAfterFailure)+1)
		})
	}
}

func routeOfUploads(h HubName) string {
	if h == HuggingFace {
		return hubtest.RouteLFSUpload
	}
	return mstest.RouteBlobPut
}

func TestE2ESourceChangesBetweenRuns(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	from := Repo{HuggingFace, hubkit.Model, e2eUser + "/evolving"}
	to := Repo{ModelScope, hubkit.Model, e2eUser + "/evolving"}
	w.create(t, from, false)
	w.seed(t, from, e2eModelFiles(40)...)
	_, err := w.migrate(t, from, to)
	require.NoError(t, err)
	commits := len(w.history(t, to))

	w.seed(t, from,
		e2eFile{Path: "model.safetensors", Content: contractBytes(90<<10, 41), LFS: true}, // changed
		e2eFile{Path: "config.json", Content: []byte(`{"seed": "changed"}`)},              // changed
		e2eFile{Path: "extra/new.bin", Content: contractBytes(10<<10, 42), LFS: true},     // added
	)
	before := w.uploads(ModelScope)
	rep, err := w.migrate(t, from, to)
	require.NoError(t, err, "%+v", rep)
	require.Equal(t, 3, rep.FilesCopied, "%+v", rep.Files)
	require.Equal(t, 2, w.uploads(ModelScope)-before, "only the two new blobs move")
	require.Len(t, w.history(t, to), commits+1)
	w.requireMirrored(t, from, to)
}

func TestE2EHashMismatchCommitsNothing(t *testing.T) {
	for _, dir := range []struct{ from, to HubName }{{HuggingFace, ModelScope}, {ModelScope, HuggingFace}} {
		t.Run(fmt.Sprintf("%s to %s", dir.from, dir.to), func(t *testing.T) {
			w := newE2EWorld(t, e2eConfig{})
			from := Repo{dir.from, hubkit.Model, e2eUser + "/corrupt"}
			to := Repo{dir.to, hubkit.Model, e2eUser + "/corrupt"}
			w.create(t, from, false)
			w.seed(t, from, e2eModelFiles(50)...)
			w.create(t, to, false)
			w.seed(t, to, e2eFile{Path: "existing.txt", Content: []byte("keep me")})
			hist := w.history(t, to)

			// The source's CDN serves wrong bytes (same length) for every LFS download.
			cdn := hubtest.RouteCDN
			if dir.from == ModelScope {
				cdn = mstest.RouteCDN
			}
			w.faults(dir.from).Add(fault.Rule{Route: cdn, Corrupt: true})
			rep, err := w.migrate(t, from, to)
			require.ErrorIs(t, err, hubkit.ErrHashMismatch)
			require.Equal(t, StatusFailed, rep.Status)
			require.Equal(t, hist, w.history(t, to), "no new commit on the destination")
			require.Positive(t, w.faults(dir.from).Count(cdn))
		})
	}
}

func TestE2EManyFilesPastMSListingCut(t *testing.T) {
	const n = 3100
	w := newE2EWorld(t, e2eConfig{})
	from := Repo{ModelScope, hubkit.Model, e2eUser + "/many"}
	to := Repo{ModelScope, hubkit.Model, e2eOrg + "/many"}
	w.create(t, from, false)
	files := make([]e2eFile, 0, n+1)
	for i := range n {
		files = append(files, e2eFile{Path: fmt.Sprintf("d%02d/sub%d/f%04d.txt", i%31, i%3, i), Content: []byte(fmt.Sprintf("file %d\n", i))})
	}
	files = append(files, e2eFile{Path: "weights.safetensors", Content: contractBytes(8<<10, 60), LFS: true})
	w.seed(t, from, files...)

	// ModelScope refuses the first commit "by repository policy" (what it answers to commits
	// coming too fast, inside an HTTP 200): the adapter must wait and retry it, once.
	w.ms.Faults().Add(mstest.EnvelopeError(mstest.RouteCommit, "commit rejected by repository policy", 1))
	rep, err := w.migrate(t, from, to, WithConcurrency(8, 2))
	require.NoError(t, err, "status %s: %s", rep.Status, rep.Error)
	require.Equal(t, StatusSucceeded, rep.Status)
	require.Equal(t, n+1, rep.FilesCopied)
	dst := w.contents(t, to)
	delete(dst, ".gitattributes")
	require.Len(t, dst, n+1)
	w.requireMirrored(t, from, to)
	require.Len(t, w.history(t, to), 1+2, "the initial commit, then 3101 operations in two commits of at most %d", MSMaxCommitOps)
	require.Equal(t, 3, w.ms.Faults().Count(mstest.RouteCommit), "two commits, one of them retried once")
}

func TestE2EReadmeLicenseFixMSToHF(t *testing.T) {
	w := newE2EWorld(t, e2eConfig{})
	from := Repo{ModelScope, hubkit.Model, e2eUser + "/licensed"}
	to := Repo{HuggingFace, hubkit.Model, e2eUser + "/licensed"}
	w.create(t, from, false)
	body := "# Title\r\n\r\nSome text with --- dashes\nand a trailing line without newline"
	readme := "---\nlicense: Apache License 2.0\ntasks:\n- text-generation\n---\n" + body
	w.seed(t, from, e2eFile{Path: "README.md", Content: []byte(readme)}, e2eFile{Path: "w.bin", Content: contractBytes(4<<10, 70), LFS: true})

	rep, err := w.migrate(t, from, to)
	require.NoError(t, err, "%+v", rep)
	got := string(w.read(t, to, "README.md"))
	require.True(t, strings.HasPrefix(got, "---\nlicense: other\n"), got)
	require.Contains(t, got, "tasks:\n- text-generation\n---\n")
	require.True(t, strings.HasSuffix(got, "\n---\n"+body), "the body must be byte-identical")
	require.Equal(t, readme[strings.Index(readme, "\n---\n"):], got[strings.Index(got, "\n---\n"):])
	w.requireMirrored(t, from, to, "README.md")

	// With the fix off, the README goes over as it is.
	to2 := Repo{HuggingFace, hubkit.Model, e2eUser + "/licensed-raw"}
	_, err = w.migrate(t, from, to2, WithNoReadmeFix(true))
	require.NoError(t, err)
	require.True(t, bytes.Equal([]byte(readme), w.read(t, to2, "README.md")))
}
