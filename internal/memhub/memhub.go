// Package memhub is an in-memory migrate.Hub for the engine's tests and examples. It behaves like
// Hugging Face or ModelScope (which hashes the listing reports for regular files, the default
// branch, commit limits, files a new repository starts with), verifies every uploaded blob's
// size and SHA-256 like the real fakes do, counts what happens (blob uploads, bytes, commits,
// opens), and can inject faults (fail or corrupt a download after N bytes, fail a commit, fail
// any call with an error kind).
//
// memhub imports pkg/migrate (the interface it implements), pkg/hubkit and internal/synth; only
// tests import it.
package memhub

import (
	"bytes"
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// content is a file's bytes: in memory or synthetic.
type content struct {
	data []byte
	blob *synth.Blob
}

func (c content) size() int64 {
	if c.blob != nil {
		return c.blob.Size
	}
	return int64(len(c.data))
}

func (c content) reader(off, n int64) io.Reader {
	size := c.size()
	off = min(max(off, 0), size)
	if n < 0 || off+n > size {
		n = size - off
	}
	if c.blob != nil {
		return c.blob.NewReader(off, n)
	}
	return bytes.NewReader(c.data[off : off+n])
}

// entry is one path of a commit's tree.
type entry struct {
	c      content
	lfs    bool
	sha256 string
	gitOID string
}

// repo is one repository.
type repo struct {
	private  bool
	branches map[string]string
	tags     map[string]string
	commits  map[string]map[string]*entry
	messages map[string]string
	blobs    map[string]content
}

// Option configures a Hub.
type Option func(*Hub)

// WithDefaultBranch sets the default branch of repositories created from now on.
func WithDefaultBranch(b string) Option { return func(h *Hub) { h.defaultBranch = b } }

// WithRegularSHA256 makes listings report the SHA-256 of regular files (ModelScope does,
// Hugging Face does not).
func WithRegularSHA256(on bool) Option { return func(h *Hub) { h.regularSHA = on } }

// WithGitOIDs makes listings report git blob ids (default true).
func WithGitOIDs(on bool) Option { return func(h *Hub) { h.gitOIDs = on } }

// WithLimits sets the commit limits (checked strictly on Commit).
func WithLimits(l migrate.Limits) Option { return func(h *Hub) { h.limits = l } }

// WithLFSThreshold sets the size from which UploadModes asks for LFS (binary samples too).
func WithLFSThreshold(n int64) Option { return func(h *Hub) { h.lfsThreshold = n } }

// WithInitialFiles sets the files a created repository starts with (as its first commit).
func WithInitialFiles(files map[string]string) Option {
	return func(h *Hub) { h.initial = files }
}

// WithNamespaces restricts CheckWrite and Create to these namespaces (default: any).
func WithNamespaces(ns ...string) Option { return func(h *Hub) { h.namespaces = ns } }

// WithPartSize sets the part size of uploads: bigger blobs are read in parallel ranged parts,
// like a multipart upload (default 1 MiB).
func WithPartSize(n int64) Option { return func(h *Hub) { h.partSize = n } }

// Hub is an in-memory hub. It is safe for concurrent use.
type Hub struct {
	name          migrate.HubName
	defaultBranch string
	regularSHA    bool
	gitOIDs       bool
	limits        migrate.Limits
	lfsThreshold  int64
	initial       map[string]string
	namespaces    []string
	partSize      int64

	mu     sync.Mutex
	repos  map[string]*repo
	seq    int
	stats  Stats
	faults []*Fault
}

// Stats counts what the hub did.
type Stats struct {
	BlobUploads   int   // completed blob uploads
	BytesUploaded int64 // bytes received by blob uploads (including failed ones)
	Commits       int   // commits made through Commit
	Opens         int   // Open calls
	Prepares      int   // PrepareBlobs calls
	Creates       int   // Create calls that created a repository
}

// New returns an empty hub named name, with that hub's defaults: Hugging Face ("main", no
// SHA-256 for regular files, .gitattributes in new repos, 100 inline files or 1 GB a commit) or
// ModelScope ("master", SHA-256 for every file, at most 2000 operations a commit).
func New(name migrate.HubName, opts ...Option) *Hub {
	h := &Hub{name: name, repos: map[string]*repo{}, gitOIDs: true, lfsThreshold: 10 << 20, partSize: 1 << 20}
	if name == migrate.ModelScope {
		h.defaultBranch, h.regularSHA = "master", true
		h.limits = migrate.Limits{MaxOps: 2000, MaxInlineFiles: 2000, MaxInlineBytes: 1 << 30}
	} else {
		h.defaultBranch = "main"
		h.limits = migrate.Limits{MaxOps: 10000, MaxInlineFiles: 100, MaxInlineBytes: 1 << 30}
		h.initial = map[string]string{".gitattributes": "*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}
	}
	for _, o := range opts {
		o(h)
	}
	return h
}

var _ migrate.Hub = (*Hub)(nil)

func key(r migrate.Repo) string { return string(r.Type) + ":" + r.ID }

// Name implements migrate.Hub.
func (h *Hub) Name() migrate.HubName { return h.name }

// Limits implements migrate.Hub.
func (h *Hub) Limits() migrate.Limits { return h.limits }

// WebURL implements migrate.Hub.
func (h *Hub) WebURL(r migrate.Repo) string {
	return "mem://" + string(h.name) + "/" + hubkit.Repo{Type: r.Type, ID: r.ID}.String()
}

// Stats returns the counters.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stats
}

// ResetStats zeroes the counters.
func (h *Hub) ResetStats() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats = Stats{}
}

// Fault is an injected failure. Op is the method it affects: "info", "resolve", "list", "open",
// "checkwrite", "create", "setprivate", "uploadmodes", "prepare", "upload", "commit".
type Fault struct {
	Op string
	// Path limits an "open" fault to one path ("" = any).
	Path string
	// After (open only) serves this many bytes before failing or corrupting.
	After int64
	// Corrupt (open only) serves wrong bytes after After instead of failing.
	Corrupt bool
	// Err is the error returned (default hubkit.ErrServer).
	Err error
	// Times is how many calls it affects (0 = every call until cleared).
	Times int
	hits  int
}

// AddFault activates f.
func (h *Hub) AddFault(f Fault) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = append(h.faults, &f)
}

// ClearFaults removes every fault.
func (h *Hub) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.faults = nil
}

// take returns the first active fault for op (and path); h.mu must be held.
func (h *Hub) take(op, path string) *Fault {
	for _, f := range h.faults {
		if f.Op != op || (f.Path != "" && f.Path != path) || (f.Times > 0 && f.hits >= f.Times) {
			continue
		}
		f.hits++
		c := *f
		if c.Err == nil {
			c.Err = hubkit.ErrServer
		}
		return &c
	}
	return nil
}

func (h *Hub) fail(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if f := h.take(op, ""); f != nil {
		return fmt.Errorf("memhub %s: injected: %w", op, f.Err)
	}
	return nil
}

// opLocked starts operation op on repository r: an injected fault for op, or r's state
// (ErrNotFound when it does not exist); h.mu must be held.
func (h *Hub) opLocked(ctx context.Context, op string, r migrate.Repo) (*repo, error) {
	if err := h.fail(ctx, op); err != nil {
		return nil, err
	}
	return h.repoLocked(r)
}

// repoLocked returns the repo or ErrNotFound; h.mu must be held.
func (h *Hub) repoLocked(r migrate.Repo) (*repo, error) {
	rp, ok := h.repos[key(r)]
	if !ok {
		return nil, fmt.Errorf("memhub: repo %s: %w", r, hubkit.ErrNotFound)
	}
	return rp, nil
}

// resolveLocked maps a branch, tag or commit id ("" = default branch) to a commit id.
func (h *Hub) resolveLocked(rp *repo, rev string) (string, error) {
	if rev == "" {
		rev = h.defaultBranch
	}
	if c, ok := rp.branches[rev]; ok {
		return c, nil
	}
	if c, ok := rp.tags[rev]; ok {
		return c, nil
	}
	if _, ok := rp.commits[rev]; ok {
		return rev, nil
	}
	return "", fmt.Errorf("memhub: revision %q: %w", rev, hubkit.ErrNotFound)
}

// Info implements migrate.Hub.
func (h *Hub) Info(ctx context.Context, r migrate.Repo) (*migrate.RepoInfo, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.opLocked(ctx, "info", r)
	if err != nil {
		return nil, err
	}
	var used int64
	head := rp.branches[h.defaultBranch]
	for _, e := range rp.commits[head] {
		used += e.c.size()
	}
	return &migrate.RepoInfo{Private: rp.private, DefaultBranch: h.defaultBranch, Head: head, UsedStorage: used}, nil
}

// Resolve implements migrate.Hub.
func (h *Hub) Resolve(ctx context.Context, r migrate.Repo, rev string) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.opLocked(ctx, "resolve", r)
	if err != nil {
		return "", err
	}
	return h.resolveLocked(rp, rev)
}

// List implements migrate.Hub.
func (h *Hub) List(ctx context.Context, r migrate.Repo, rev string) ([]migrate.File, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.opLocked(ctx, "list", r)
	if err != nil {
		return nil, err
	}
	c, err := h.resolveLocked(rp, rev)
	if err != nil {
		return nil, err
	}
	tree := rp.commits[c]
	out := make([]migrate.File, 0, len(tree))
	for p, e := range tree {
		f := migrate.File{Path: p, Size: e.c.size(), LFS: e.lfs}
		if e.lfs || h.regularSHA {
			f.SHA256 = e.sha256
		}
		if h.gitOIDs {
			f.GitOID = e.gitOID
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// Open implements migrate.Hub.
func (h *Hub) Open(ctx context.Context, r migrate.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Opens++
	rp, err := h.repoLocked(r)
	if err != nil {
		return nil, err
	}
	c, err := h.resolveLocked(rp, rev)
	if err != nil {
		return nil, err
	}
	e, ok := rp.commits[c][path]
	if !ok {
		return nil, fmt.Errorf("memhub: %s@%s: %q: %w", r, rev, path, hubkit.ErrNotFound)
	}
	if off < 0 || off > e.c.size() {
		return nil, fmt.Errorf("memhub: range %d: %w", off, hubkit.ErrInvalid)
	}
	var rd io.Reader = e.c.reader(off, n)
	if f := h.take("open", path); f != nil {
		if f.After == 0 && !f.Corrupt {
			return nil, fmt.Errorf("memhub open %s: injected: %w", path, f.Err)
		}
		rd = &faultReader{r: rd, left: f.After, corrupt: f.Corrupt, err: f.Err}
	}
	return io.NopCloser(rd), nil
}

// faultReader serves left bytes, then fails or flips bytes.
type faultReader struct {
	r       io.Reader
	left    int64
	corrupt bool
	err     error
}

func (f *faultReader) Read(p []byte) (int, error) {
	if f.left <= 0 && !f.corrupt {
		return 0, fmt.Errorf("memhub: connection cut: %w", f.err)
	}
	n, err := f.r.Read(p)
	for i := 0; i < n; i++ {
		if f.left > 0 {
			f.left--
		} else if f.corrupt {
			p[i] ^= 0xff
		}
	}
	return n, err
}

// CheckWrite implements migrate.Hub.
func (h *Hub) CheckWrite(ctx context.Context, r migrate.Repo) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fail(ctx, "checkwrite"); err != nil {
		return err
	}
	return h.nsOK(r)
}

func (h *Hub) nsOK(r migrate.Repo) error {
	ns, _, _ := strings.Cut(r.ID, "/")
	if h.namespaces != nil && !slices.Contains(h.namespaces, ns) {
		return fmt.Errorf("memhub: namespace %q: %w", ns, hubkit.ErrForbidden)
	}
	return nil
}

// Create implements migrate.Hub: the new repository holds the hub's initial files.
func (h *Hub) Create(ctx context.Context, r migrate.Repo, private bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.fail(ctx, "create"); err != nil {
		return err
	}
	if err := h.nsOK(r); err != nil {
		return err
	}
	if _, ok := h.repos[key(r)]; ok {
		return fmt.Errorf("memhub: %s: %w", r, hubkit.ErrConflict)
	}
	h.stats.Creates++
	h.createLocked(r, private)
	return nil
}

func (h *Hub) createLocked(r migrate.Repo, private bool) *repo {
	rp := &repo{private: private, branches: map[string]string{}, tags: map[string]string{},
		commits: map[string]map[string]*entry{}, messages: map[string]string{}, blobs: map[string]content{}}
	h.repos[key(r)] = rp
	tree := map[string]*entry{}
	for p, s := range h.initial {
		tree[p] = newEntry(content{data: []byte(s)}, false)
	}
	h.commitLocked(rp, h.defaultBranch, "initial commit", tree)
	return rp
}

func (h *Hub) commitLocked(rp *repo, branch, msg string, tree map[string]*entry) string {
	h.seq++
	sum := sha1.Sum(fmt.Appendf(nil, "%s\x00%d\x00%s", h.name, h.seq, msg))
	id := hex.EncodeToString(sum[:])
	rp.commits[id] = tree
	rp.messages[id] = msg
	rp.branches[branch] = id
	return id
}

func newEntry(c content, lfs bool) *entry {
	e := &entry{c: c, lfs: lfs}
	if c.blob != nil {
		e.sha256 = c.blob.SHA256()
	} else {
		e.sha256 = hubkit.SHA256Hex(c.data)
	}
	if lfs {
		ptr := fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", e.sha256, c.size())
		e.gitOID = hubkit.GitBlobID([]byte(ptr))
	} else {
		e.gitOID = hubkit.GitBlobID(c.data)
	}
	return e
}

// SetPrivate implements migrate.Hub.
func (h *Hub) SetPrivate(ctx context.Context, r migrate.Repo, private bool) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.opLocked(ctx, "setprivate", r)
	if err != nil {
		return err
	}
	rp.private = private
	return nil
}

// UploadModes implements migrate.Hub: LFS from the size threshold, or for a sample with a NUL.
func (h *Hub) UploadModes(ctx context.Context, r migrate.Repo, _ string, files []migrate.UploadCandidate) (map[string]bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, err := h.opLocked(ctx, "uploadmodes", r); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(files))
	for _, f := range files {
		out[f.Path] = f.Size >= h.lfsThreshold || bytes.IndexByte(f.Sample, 0) >= 0
	}
	return out, nil
}

// PrepareBlobs implements migrate.Hub.
func (h *Hub) PrepareBlobs(ctx context.Context, r migrate.Repo, _ string, blobs []migrate.Blob) ([]migrate.BlobUpload, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.stats.Prepares++
	rp, err := h.opLocked(ctx, "prepare", r)
	if err != nil {
		return nil, err
	}
	var out []migrate.BlobUpload
	for _, b := range blobs {
		if _, ok := rp.blobs[b.OID]; ok {
			continue
		}
		out = append(out, &upload{h: h, rp: rp, b: b})
	}
	return out, nil
}

// upload is one pending blob upload.
type upload struct {
	h  *Hub
	rp *repo
	b  migrate.Blob
}

func (u *upload) Blob() migrate.Blob { return u.b }

// Upload implements migrate.BlobUpload: it reads the blob (in parallel ranged parts above the
// part size), verifies size and SHA-256, and stores it (as a synth.Blob when it is one, else its
// bytes).
func (u *upload) Upload(ctx context.Context, src hubkit.Source, _ migrate.UploadOptions) (migrate.UploadResult, error) {
	if err := u.store(ctx, src); err != nil {
		return migrate.UploadResult{}, err
	}
	return migrate.UploadResult{Transfer: "memory"}, nil
}

func (u *upload) store(ctx context.Context, src hubkit.Source) error {
	u.h.mu.Lock()
	err := u.h.fail(ctx, "upload")
	part := u.h.partSize
	u.h.mu.Unlock()
	if err != nil {
		return err
	}
	size := u.b.Size
	parts := int((size + part - 1) / part)
	parts = max(parts, 1)
	hashes := make([][]byte, parts)
	_, isSynth := synth.Lookup(u.b.OID, size)
	var keep []byte
	if !isSynth {
		keep = make([]byte, size)
	}
	var wg sync.WaitGroup
	errs := make([]error, parts)
	// Parts are read in parallel; a streaming hash over parts in order needs their bytes, so
	// synthetic blobs (not kept) are hashed sequentially instead.
	if isSynth {
		h := sha256.New()
		for i := 0; i < parts; i++ {
			off := int64(i) * part
			n, err := u.readPart(ctx, src, off, min(part, size-off), h)
			if err != nil {
				return err
			}
			if n != min(part, size-off) {
				return fmt.Errorf("memhub upload %s: short part: %w", u.b.OID, hubkit.ErrHashMismatch)
			}
		}
		hashes[0] = h.Sum(nil)
	} else {
		for i := 0; i < parts; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				off := int64(i) * part
				want := min(part, size-off)
				w := &sliceWriter{b: keep[off : off+want]}
				n, err := u.readPart(ctx, src, off, want, w)
				if err == nil && n != want {
					err = fmt.Errorf("memhub upload %s: part at %d: %d of %d bytes: %w", u.b.OID, off, n, want, hubkit.ErrHashMismatch)
				}
				errs[i] = err
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		s := sha256.Sum256(keep)
		hashes[0] = s[:]
	}
	if got := hex.EncodeToString(hashes[0]); got != u.b.OID {
		return fmt.Errorf("memhub upload: got sha256 %s, want %s: %w", got, u.b.OID, hubkit.ErrHashMismatch)
	}
	u.h.mu.Lock()
	defer u.h.mu.Unlock()
	c := content{data: keep}
	if isSynth {
		b, _ := synth.Lookup(u.b.OID, size)
		c = content{blob: &b}
	}
	u.rp.blobs[u.b.OID] = c
	u.h.stats.BlobUploads++
	return nil
}

// readPart copies one range into w (at most want+1 bytes, to detect an oversized source).
func (u *upload) readPart(ctx context.Context, src hubkit.Source, off, want int64, w io.Writer) (int64, error) {
	rc, err := src.OpenRange(ctx, off, want)
	if err != nil {
		return 0, fmt.Errorf("memhub upload %s: %w", u.b.OID, err)
	}
	defer rc.Close()
	n, err := io.Copy(w, io.LimitReader(rc, want+1))
	u.h.mu.Lock()
	u.h.stats.BytesUploaded += n
	u.h.mu.Unlock()
	if err != nil {
		return n, fmt.Errorf("memhub upload %s: %w", u.b.OID, err)
	}
	return n, nil
}

type sliceWriter struct {
	b []byte
	n int
}

func (s *sliceWriter) Write(p []byte) (int, error) {
	if s.n+len(p) > len(s.b) {
		c := copy(s.b[s.n:], p)
		s.n += c
		return c, fmt.Errorf("memhub: more bytes than announced: %w", hubkit.ErrHashMismatch)
	}
	s.n += copy(s.b[s.n:], p)
	return len(p), nil
}

// Commit implements migrate.Hub, strictly: limits enforced, LFS pointers must name stored blobs
// of the right size, deletes must name existing paths.
func (h *Hub) Commit(ctx context.Context, r migrate.Repo, branch, message string, ops []hubkit.CommitOp) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.opLocked(ctx, "commit", r)
	if err != nil {
		return "", err
	}
	if len(ops) == 0 {
		return "", fmt.Errorf("memhub commit: no operations: %w", hubkit.ErrInvalid)
	}
	var files int
	var inline int64
	for _, op := range ops {
		if op.Kind == hubkit.OpAddFile {
			files++
			inline += int64(len(op.Content))
		}
	}
	l := h.limits
	if (l.MaxOps > 0 && len(ops) > l.MaxOps) || (l.MaxInlineFiles > 0 && files > l.MaxInlineFiles) || (l.MaxInlineBytes > 0 && inline > l.MaxInlineBytes) {
		return "", fmt.Errorf("memhub commit: %d ops, %d inline files, %d inline bytes exceed %+v: %w", len(ops), files, inline, l, hubkit.ErrInvalid)
	}
	head := rp.branches[branch]
	tree := make(map[string]*entry, len(rp.commits[head])+len(ops))
	for p, e := range rp.commits[head] {
		tree[p] = e
	}
	for _, op := range ops {
		if err := migrate.ValidatePath(op.Path); err != nil {
			return "", fmt.Errorf("memhub commit: %w", err)
		}
		switch op.Kind {
		case hubkit.OpAddFile:
			tree[op.Path] = newEntry(content{data: bytes.Clone(op.Content)}, false)
		case hubkit.OpAddLFS:
			c, ok := rp.blobs[op.SHA256]
			if !ok || c.size() != op.Size {
				return "", fmt.Errorf("memhub commit: %s: blob %s (%d bytes) not stored: %w", op.Path, op.SHA256, op.Size, hubkit.ErrInvalid)
			}
			tree[op.Path] = newEntry(c, true)
		case hubkit.OpDelete:
			if _, ok := tree[op.Path]; !ok {
				return "", fmt.Errorf("memhub commit: delete %s: %w", op.Path, hubkit.ErrNotFound)
			}
			delete(tree, op.Path)
		default:
			return "", fmt.Errorf("memhub commit: op kind %d: %w", op.Kind, hubkit.ErrInvalid)
		}
	}
	h.stats.Commits++
	return h.commitLocked(rp, branch, message, tree), nil
}

// FileSpec is a file to seed a repository with.
type FileSpec struct {
	Path string
	// Data is the content, unless Blob is set (synthetic, not held in memory).
	Data []byte
	Blob *synth.Blob
	// LFS stores the file as an LFS object (implied by Blob).
	LFS bool
	// Delete removes Path instead.
	Delete bool
}

// Seed writes files to repo's default branch in one commit, creating the repo (without initial
// files) when missing, and returns the commit id. It bypasses faults and counters.
func (h *Hub) Seed(r migrate.Repo, private bool, files ...FileSpec) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, ok := h.repos[key(r)]
	if !ok {
		rp = &repo{private: private, branches: map[string]string{}, tags: map[string]string{},
			commits: map[string]map[string]*entry{}, messages: map[string]string{}, blobs: map[string]content{}}
		h.repos[key(r)] = rp
	}
	head := rp.branches[h.defaultBranch]
	tree := map[string]*entry{}
	for p, e := range rp.commits[head] {
		tree[p] = e
	}
	for _, f := range files {
		if f.Delete {
			delete(tree, f.Path)
			continue
		}
		c := content{data: f.Data}
		if f.Blob != nil {
			b := *f.Blob
			c = content{blob: &b}
		}
		e := newEntry(c, f.LFS || f.Blob != nil)
		if e.lfs {
			rp.blobs[e.sha256] = c
		}
		tree[f.Path] = e
	}
	return h.commitLocked(rp, h.defaultBranch, "seed", tree)
}

// Tag points tag at rev (a branch or commit) of repo.
func (h *Hub) Tag(r migrate.Repo, tag, rev string) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, err := h.repoLocked(r)
	if err != nil {
		return err
	}
	c, err := h.resolveLocked(rp, rev)
	if err != nil {
		return err
	}
	rp.tags[tag] = c
	return nil
}

// ReadFile returns a file's bytes at rev ("" = default branch).
func (h *Hub) ReadFile(r migrate.Repo, rev, path string) ([]byte, error) {
	rc, err := h.Open(context.Background(), r, rev, path, 0, -1)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(rc)
}

// Head returns the default branch's commit id and message ("" when the repo does not exist).
func (h *Hub) Head(r migrate.Repo) (id, message string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, ok := h.repos[key(r)]
	if !ok {
		return "", ""
	}
	id = rp.branches[h.defaultBranch]
	return id, rp.messages[id]
}

// Private reports a repository's visibility and whether it exists.
func (h *Hub) Private(r migrate.Repo) (private, exists bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, ok := h.repos[key(r)]
	if !ok {
		return false, false
	}
	return rp.private, true
}

// HasBlob reports whether repo stores the LFS object oid.
func (h *Hub) HasBlob(r migrate.Repo, oid string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	rp, ok := h.repos[key(r)]
	if !ok {
		return false
	}
	_, ok = rp.blobs[oid]
	return ok
}

// Paths lists the paths of repo at its default branch.
func (h *Hub) Paths(r migrate.Repo) []string {
	files, err := h.List(context.Background(), r, "")
	if err != nil {
		return nil
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.Path
	}
	return out
}

// Unauthorized returns h as a caller whose token the hub refuses: every call that needs the
// token fails with hubkit.ErrUnauthorized (what the contract suite's bad-token hub must do).
func (h *Hub) Unauthorized() migrate.Hub { return unauthorized{h} }

type unauthorized struct{ *Hub }

var errBadToken = fmt.Errorf("memhub: invalid token: %w", hubkit.ErrUnauthorized)

func (unauthorized) Info(context.Context, migrate.Repo) (*migrate.RepoInfo, error) {
	return nil, errBadToken
}
func (unauthorized) Resolve(context.Context, migrate.Repo, string) (string, error) {
	return "", errBadToken
}
func (unauthorized) List(context.Context, migrate.Repo, string) ([]migrate.File, error) {
	return nil, errBadToken
}
func (unauthorized) Open(context.Context, migrate.Repo, string, string, int64, int64) (io.ReadCloser, error) {
	return nil, errBadToken
}
func (unauthorized) CheckWrite(context.Context, migrate.Repo) error       { return errBadToken }
func (unauthorized) Create(context.Context, migrate.Repo, bool) error     { return errBadToken }
func (unauthorized) SetPrivate(context.Context, migrate.Repo, bool) error { return errBadToken }
func (unauthorized) UploadModes(context.Context, migrate.Repo, string, []migrate.UploadCandidate) (map[string]bool, error) {
	return nil, errBadToken
}
func (unauthorized) PrepareBlobs(context.Context, migrate.Repo, string, []migrate.Blob) ([]migrate.BlobUpload, error) {
	return nil, errBadToken
}
func (unauthorized) Commit(context.Context, migrate.Repo, string, string, []hubkit.CommitOp) (string, error) {
	return "", errBadToken
}
