// Package testworld is the one test world the end-to-end tests of the engine, the CLI and the
// Action share: a fake Hugging Face Hub (pkg/hub/hubtest) and a fake ModelScope
// (pkg/msclient/mstest) on loopback, the same user on both (alice, member of acme) with write
// and read tokens, helpers that create, seed and read repositories on either fake by a
// migrate.Repo, and the engine's hubs built over the real clients and adapters.
//
// It is for tests only (it imports testify); nothing outside _test files and the demo's fakes
// may import it.
package testworld

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// The world's user and its recognisable fake tokens (leak checks look for them).
const (
	User        = "alice"
	Org         = "acme"
	HFToken     = "hf_FAKE-testworld-write-token-0123456789"
	HFReadToken = "hf_FAKE-testworld-read-token-0123456789"
	MSToken     = "ms-FAKEtestworld-write-token-0123456789"
	MSReadToken = "ms-FAKEtestworld-read-token-0123456789"
)

// Environment variables the CLI and the Action read (see Env).
const (
	EnvHFEndpoint = "HF_ENDPOINT"
	EnvHFToken    = "HF_TOKEN"
	EnvMSEndpoint = "MODELSCOPE_ENDPOINT"
	EnvMSToken    = "MODELSCOPE_TOKEN"
)

// Option configures a World.
type Option func(*config)

type config struct {
	hf []hubtest.Option
	ms []mstest.Option
}

// WithHF passes options to the fake Hub.
func WithHF(opts ...hubtest.Option) Option { return func(c *config) { c.hf = append(c.hf, opts...) } }

// WithMS passes options to the fake ModelScope.
func WithMS(opts ...mstest.Option) Option { return func(c *config) { c.ms = append(c.ms, opts...) } }

// World is the two fakes and the user on them.
type World struct {
	HF *hubtest.Server
	MS *mstest.Server
}

// New starts both fakes with the world's user and tokens; they close when the test ends, after
// checking that no credential reached either storage host.
func New(t testing.TB, opts ...Option) *World {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	w := &World{HF: hubtest.NewServer(c.hf...), MS: mstest.NewServer(c.ms...)}
	t.Cleanup(w.HF.Close)
	t.Cleanup(w.MS.Close)
	w.HF.AddUser(User, Org)
	w.HF.AddToken(HFToken, User, hubtest.RoleWrite)
	w.HF.AddToken(HFReadToken, User, hubtest.RoleRead)
	w.MS.AddUser(User, Org)
	w.MS.AddToken(MSToken, User, mstest.RoleWrite)
	w.MS.AddToken(MSReadToken, User, mstest.RoleRead)
	t.Cleanup(func() {
		require.Empty(t, w.HF.AuthLeaks(), "the Hugging Face CDN saw credentials")
		require.Empty(t, w.MS.AuthLeaks(), "the ModelScope CDN saw credentials")
	})
	return w
}

// Env is the environment the CLI, the Action and workers read to reach the world.
func (w *World) Env() map[string]string {
	return map[string]string{EnvHFEndpoint: w.HF.URL(), EnvHFToken: HFToken, EnvMSEndpoint: w.MS.URL(), EnvMSToken: MSToken}
}

// EnvWith returns a copy of env with the pairs kv (name, value, name, value, ...) set in it; an
// empty value removes the name (an unset variable, not an empty one).
func EnvWith(env map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(env)+len(kv)/2)
	for k, v := range env {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = kv[i+1]
	}
	return out
}

// Hub is the engine's hub for h over the real client and adapter, with the write token and
// quick retries.
func (w *World) Hub(h migrate.HubName) migrate.Hub {
	if h == migrate.HuggingFace {
		return NewHub(h, w.HF.URL())
	}
	return NewHub(h, w.MS.URL())
}

// NewHub is the engine's hub for h at endpoint (the world's fake, or a proxy in front of it)
// over the real client and adapter, with the world's write token and quick retries.
func NewHub(h migrate.HubName, endpoint string) migrate.Hub {
	if h == migrate.HuggingFace {
		return hfhub.New(hub.NewClient(hub.WithEndpoint(endpoint), hub.WithToken(HFToken)))
	}
	return mshub.New(msclient.NewClient(msclient.WithEndpoint(endpoint), msclient.WithToken(MSToken),
		msclient.WithCommitRetry(3, 10*time.Millisecond, time.Second)))
}

// File is one change to seed with Seed (the fakes' own type).
type File = fakehost.File

// Create makes r on its fake.
func (w *World) Create(t testing.TB, r migrate.Repo, private bool) {
	t.Helper()
	if r.Hub == migrate.HuggingFace {
		require.NoError(t, w.HF.CreateRepo(r.Type, r.ID, hubtest.RepoOptions{Private: private}))
		return
	}
	require.NoError(t, w.MS.CreateRepo(r.Type, r.ID, mstest.RepoOptions{Private: private}))
}

// Seed commits files to r's default branch on its fake and returns the new head.
func (w *World) Seed(t testing.TB, r migrate.Repo, files ...File) string {
	t.Helper()
	var sha string
	var err error
	if r.Hub == migrate.HuggingFace {
		sha, err = w.HF.Commit(r.Type, r.ID, hfhub.DefaultBranch, "seed", files...)
	} else {
		sha, err = w.MS.Commit(r.Type, r.ID, mshub.DefaultBranch, "seed", files...)
	}
	require.NoError(t, err)
	return sha
}

// SeedModel creates r (public) and seeds the small model repository the CLI and Action tests
// migrate: on Hugging Face a README (license mit), config.json and n synthetic LFS weights
// weights/part-NNN.bin of about 64 KiB; on ModelScope a README written the way ModelScope cards
// write their licence (Apache License 2.0), configuration.json and n model-N.safetensors of
// about 48 KiB.
func (w *World) SeedModel(t testing.TB, r migrate.Repo, n int) string {
	t.Helper()
	w.Create(t, r, false)
	files := []File{
		{Path: "README.md", Content: []byte("---\nlicense: mit\n---\n# " + r.ID + "\n")},
		{Path: "config.json", Content: []byte(`{"hidden_size":64}`)},
	}
	weight := func(i int) (string, int64) { return fmt.Sprintf("weights/part-%03d.bin", i), 64<<10 + int64(i) }
	if r.Hub == migrate.ModelScope {
		files = []File{
			{Path: "README.md", Content: []byte("---\nlicense: Apache License 2.0\n---\n# " + r.ID + "\n")},
			{Path: "configuration.json", Content: []byte(`{"framework":"pytorch"}`)},
		}
		weight = func(i int) (string, int64) { return fmt.Sprintf("model-%d.safetensors", i), 48<<10 + int64(i) }
	}
	for i := 0; i < n; i++ {
		p, size := weight(i)
		files = append(files, File{Path: p, Blob: &synth.Blob{Size: size, Seed: uint64(len(r.ID)*1000 + i)}})
	}
	return w.Seed(t, r, files...)
}

// revision is at, or r's default branch where at is "".
func revision(r migrate.Repo, at string) string {
	switch {
	case at != "":
		return at
	case r.Hub == migrate.HuggingFace:
		return hfhub.DefaultBranch
	default:
		return mshub.DefaultBranch
	}
}

// entry is one file of a listing on a fake.
type entry struct {
	path string
	size int64
}

// entries lists r at revision at ("" for the default branch) as the fake holds it.
func (w *World) entries(t testing.TB, r migrate.Repo, at string) []entry {
	t.Helper()
	var out []entry
	if r.Hub == migrate.HuggingFace {
		fs, err := w.HF.Files(r.Type, r.ID, revision(r, at))
		require.NoError(t, err, at)
		for _, f := range fs {
			out = append(out, entry{f.Path, f.Size})
		}
		return out
	}
	fs, err := w.MS.Files(r.Type, r.ID, revision(r, at))
	require.NoError(t, err, at)
	for _, f := range fs {
		out = append(out, entry{f.Path, f.Size})
	}
	return out
}

// ManyFiles is a README.md holding readme and n small text files, <dir><i%2>/<i>.txt: enough of
// them to need more than one ModelScope commit (at most 2,000 actions each), in two folders
// because ModelScope cannot list a folder of 3,000 entries or more.
func ManyFiles(readme, dir string, n int) []File {
	files := []File{{Path: "README.md", Content: []byte(readme)}}
	for i := range n {
		files = append(files, File{Path: fmt.Sprintf("%s%d/%04d.txt", dir, i%2, i), Content: []byte(fmt.Sprint(i))})
	}
	return files
}

// Paths lists r's default branch as the fake holds it.
func (w *World) Paths(t testing.TB, r migrate.Repo) []string {
	t.Helper()
	var paths []string
	for _, e := range w.entries(t, r, "") {
		paths = append(paths, e.path)
	}
	return paths
}

// Sizes maps every path of r's default branch to its size, as the fake holds it.
func (w *World) Sizes(t testing.TB, r migrate.Repo) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, e := range w.entries(t, r, "") {
		out[e.path] = e.size
	}
	return out
}

// Contents maps every path of r's default branch to its content's SHA-256, read on the fake.
func (w *World) Contents(t testing.TB, r migrate.Repo) map[string]string {
	t.Helper()
	return w.ContentsAt(t, r, "")
}

// ContentsAt maps every path of r at revision at ("" for the default branch) to its content's SHA-256,
// read on the fake.
func (w *World) ContentsAt(t testing.TB, r migrate.Repo, at string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range w.entries(t, r, at) {
		out[e.path] = hubkit.SHA256Hex(w.ReadAt(t, r, at, e.path))
	}
	return out
}

// Read returns a file of r's default branch, read on the fake.
func (w *World) Read(t testing.TB, r migrate.Repo, p string) []byte {
	t.Helper()
	return w.ReadAt(t, r, "", p)
}

// ReadAt returns a file of r at revision at ("" for the default branch), read on the fake.
func (w *World) ReadAt(t testing.TB, r migrate.Repo, at, p string) []byte {
	t.Helper()
	read := w.MS.ReadFile
	if r.Hub == migrate.HuggingFace {
		read = w.HF.ReadFile
	}
	b, err := read(r.Type, r.ID, revision(r, at), p)
	require.NoError(t, err, p)
	return b
}

// Head is the commit that revision at of r (a branch or tag, "" for the default branch) points
// to on the fake.
func (w *World) Head(t testing.TB, r migrate.Repo, at string) string {
	t.Helper()
	head := w.MS.Head
	if r.Hub == migrate.HuggingFace {
		head = w.HF.Head
	}
	sha, err := head(r.Type, r.ID, revision(r, at))
	require.NoError(t, err, at)
	return sha
}

// Tag creates tag at the head of r's default branch on its fake.
func (w *World) Tag(t testing.TB, r migrate.Repo, tag string) {
	t.Helper()
	create := w.MS.CreateTag
	if r.Hub == migrate.HuggingFace {
		create = w.HF.CreateTag
	}
	require.NoError(t, create(r.Type, r.ID, tag, revision(r, "")), tag)
}

// Commit is one commit of a repository's history.
type Commit = fakehost.CommitInfo

// History lists the commits of r's default branch, newest first.
func (w *World) History(t testing.TB, r migrate.Repo) []Commit {
	t.Helper()
	history, branch := w.MS.History, mshub.DefaultBranch
	if r.Hub == migrate.HuggingFace {
		history, branch = w.HF.History, hfhub.DefaultBranch
	}
	h, err := history(r.Type, r.ID, branch)
	require.NoError(t, err)
	return h
}

// Private reports whether r exists and is private on its fake.
func (w *World) Private(r migrate.Repo) bool {
	if r.Hub == migrate.HuggingFace {
		return w.HF.Private(r.Type, r.ID)
	}
	return w.MS.Private(r.Type, r.ID)
}

// Exists reports whether r exists on its fake.
func (w *World) Exists(r migrate.Repo) bool {
	if r.Hub == migrate.HuggingFace {
		return w.HF.RepoExists(r.Type, r.ID)
	}
	return w.MS.RepoExists(r.Type, r.ID)
}

// HasLFSObject reports whether h's fake stores an LFS object.
func (w *World) HasLFSObject(h migrate.HubName, sha256 string) bool {
	if h == migrate.HuggingFace {
		return w.HF.HasLFSObject(sha256)
	}
	return w.MS.HasLFSObject(sha256)
}

// Faults is h's fault set.
func (w *World) Faults(h migrate.HubName) *fault.Set { return w.hosts(h).Faults() }

// hosts are the loopback hosts of h's fake.
func (w *World) hosts(h migrate.HubName) *fakehost.Hosts {
	if h == migrate.HuggingFace {
		return w.HF.Hosts
	}
	return w.MS.Hosts
}

// Routes are a fake's fault-injection routes by role.
type Routes struct {
	// CDN serves redirected (large, LFS) downloads; Direct serves files without a redirect
	// (regular files, and on ModelScope small LFS files).
	CDN, Direct string
	// LFSBatch is the LFS batch API, Commit the commit API, Upload the blob uploads (on Hugging
	// Face basic PUTs and multipart part PUTs).
	LFSBatch, Commit, Upload string
}

// RoutesOf returns h's routes.
func RoutesOf(h migrate.HubName) Routes {
	if h == migrate.HuggingFace {
		return Routes{CDN: hubtest.RouteCDN, Direct: hubtest.RouteResolve, LFSBatch: hubtest.RouteLFSBatch,
			Commit: hubtest.RouteCommit, Upload: hubtest.RouteLFSUpload}
	}
	return Routes{CDN: mstest.RouteCDN, Direct: mstest.RouteDownload, LFSBatch: mstest.RouteLFSBatch,
		Commit: mstest.RouteCommit, Upload: mstest.RouteBlobPut}
}

// Uploads counts the blob uploads h's fake received, once its hosts have settled: a request a
// failed run had already written is counted before the count is read, not during the next run.
func (w *World) Uploads(h migrate.HubName) int {
	w.hosts(h).Settle(10 * time.Second) // a host still busy after that is a test's own stuck request
	return w.Faults(h).Count(RoutesOf(h).Upload)
}
