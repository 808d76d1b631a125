// Package hubtest is a fake Hugging Face Hub for tests: two loopback httptest servers, the Hub
// (JSON API, resolve, LFS batch, NDJSON commit) and a separate "CDN/storage" host that serves and
// receives LFS bytes through signed URLs, the way huggingface.co and its CDN and S3 buckets do.
//
// The fake follows what huggingface_hub (hf_api.py, _commit_api.py, lfs.py) and huggingface.js
// (@huggingface/hub) send and expect: real git object ids (blob, tree and
// commit SHA-1s, LFS pointers), cursor-paged tree listings, 307/302 resolve redirects, ranges,
// LFS basic and multipart uploads, atomic commits, Hub-style errors (X-Error-Code,
// X-Error-Message), gated and private repos, and per-route fault injection (internal/fault).
// It is strict where clients should be tolerant: the storage host refuses any request that carries
// credentials and records it (AuthLeaks), uploads must hash to the announced oid, and commits are
// validated before anything changes.
//
// State is seeded directly (AddUser, AddToken, CreateRepo, Commit) and inspected directly (Files,
// ReadFile, History, HasLFSObject), so tests need no HTTP round trip to arrange or check.
//
// Large LFS objects are never held in memory when they are synthetic (internal/synth): uploads
// above WithMemoryLimit are compared against the registered synthetic blob as they stream in, and
// served from it, which lets benchmarks move many GiB through the fake.
package hubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/internal/wan"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Route classes used for fault injection and counters (Faults().Take / Count).
const (
	RouteWhoami    = "whoami"
	RouteRepoInfo  = "repo-info"
	RouteRevision  = "revision"
	RouteTree      = "tree"
	RoutePathsInfo = "paths-info"
	RouteResolve   = "resolve"
	RouteCDN       = "cdn"
	// RouteLFSDownload counts storage-host downloads through links from the LFS batch API.
	RouteLFSDownload = "lfs-download"
	RoutePreupload   = "preupload"
	RouteLFSBatch    = "lfs-batch"
	RouteLFSUpload   = "lfs-upload"
	RouteLFSComplete = "lfs-complete"
	RouteLFSVerify   = "lfs-verify"
	RouteCommit      = "commit"
	RouteCreateRepo  = "create-repo"
	RouteDeleteRepo  = "delete-repo"
	RouteSettings    = "settings"
	RouteAuthCheck   = "auth-check"
	RouteRefs        = "refs"
	RouteBranch      = "branch"
	RouteTag         = "tag"
)

// Limits and defaults.
const (
	// DefaultTreePageSize is the Hub's tree page size.
	DefaultTreePageSize = 1000
	// ExpandTreePageSize is the Hub's tree page size with expand=true.
	ExpandTreePageSize = 50
	// DefaultMultipartThreshold is the object size from which the fake offers multipart uploads.
	DefaultMultipartThreshold int64 = 5 << 30
	// DefaultChunkSize is the multipart chunk_size the fake offers.
	DefaultChunkSize int64 = 16 << 20
	// DefaultMemoryLimit is the largest LFS upload the fake buffers; larger ones must be synthetic.
	DefaultMemoryLimit int64 = 64 << 20
	// LFSSizeThreshold is the size from which preupload answers "lfs" regardless of content.
	LFSSizeThreshold = 10 << 20
	// MaxPreuploadFiles is the most files one preupload request may carry.
	MaxPreuploadFiles = 256
	// URLExpiry is how long signed storage URLs stay valid.
	URLExpiry = time.Hour
)

// Stable error messages tests can match.
const (
	// StorageLockedMessage is the X-Error-Message of the 403 answered by /api/* listings and
	// resolve while a repo's storage is locked (SetStorageLock).
	StorageLockedMessage = "Access to this repository's files over the HTTP API is locked; use git or the LFS batch API instead."
	// MsgInvalidCredentials is the 401 message for an unknown token.
	MsgInvalidCredentials = "Invalid credentials in Authorization header"
	// MsgAnonymous is the 401 message for an anonymous request on a missing or private repo.
	MsgAnonymous = "Invalid username or password."
	// MsgRepoNotFound is the 404 message for a repo that is missing or invisible to the caller.
	MsgRepoNotFound = "Repository not found"
	// MsgCredentialsOnStorage is the error the storage host answers to requests with credentials.
	MsgCredentialsOnStorage = "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified"
)

// DefaultGitAttributes is the .gitattributes of the initial commit of every new repo (the Hub's
// template): common binary and archive formats are stored with LFS.
const DefaultGitAttributes = `*.7z filter=lfs diff=lfs merge=lfs -text
*.arrow filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.bz2 filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.ftz filter=lfs diff=lfs merge=lfs -text
*.gz filter=lfs diff=lfs merge=lfs -text
*.h5 filter=lfs diff=lfs merge=lfs -text
*.joblib filter=lfs diff=lfs merge=lfs -text
*.lfs.* filter=lfs diff=lfs merge=lfs -text
*.mlmodel filter=lfs diff=lfs merge=lfs -text
*.model filter=lfs diff=lfs merge=lfs -text
*.msgpack filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.ot filter=lfs diff=lfs merge=lfs -text
*.parquet filter=lfs diff=lfs merge=lfs -text
*.pb filter=lfs diff=lfs merge=lfs -text
*.pickle filter=lfs diff=lfs merge=lfs -text
*.pkl filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.rar filter=lfs diff=lfs merge=lfs -text
*.safetensors filter=lfs diff=lfs merge=lfs -text
saved_model/**/* filter=lfs diff=lfs merge=lfs -text
*.tar.* filter=lfs diff=lfs merge=lfs -text
*.tar filter=lfs diff=lfs merge=lfs -text
*.tflite filter=lfs diff=lfs merge=lfs -text
*.tgz filter=lfs diff=lfs merge=lfs -text
*.wasm filter=lfs diff=lfs merge=lfs -text
*.xz filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
*.zst filter=lfs diff=lfs merge=lfs -text
*tfevents* filter=lfs diff=lfs merge=lfs -text
`

// urlPrefix is the web/resolve/git prefix of the type ("", "datasets/", "spaces/").
func urlPrefix(t hubkit.RepoType) string {
	if t == hubkit.Model {
		return ""
	}
	return string(t) + "s/"
}

// Role is an access token's role.
type Role string

// Token roles.
const (
	RoleRead  Role = "read"
	RoleWrite Role = "write"
)

// Option configures a Server.
type Option func(*config)

type config struct {
	pageSize   int
	threshold  int64
	chunk      int64
	initCommit bool
	warning    string
	// unranged is the largest object the storage host serves to a GET without a Range.
	unranged int64
	xet      bool
	// Config holds the memory limit, object dir and WAN links (WithMemoryLimit, WithObjectDir,
	// WithWAN).
	fakehost.Config
}

// WithWAN serves the API and storage hosts through the modelled wide-area link p (each host
// with its own per-host caps), on loopback.
func WithWAN(p wan.Profile) Option {
	return func(c *config) { c.AddWAN(p) }
}

// WithUnrangedLimit makes the storage host refuse a GET without a Range of an object larger
// than n bytes (400), as the Hub's bridge to its Xet storage fails un-ranged reads of files over
// 50 GB while ranged reads of them work (xet-core issue #238). Ranged GETs are served whatever
// their length; LargestResponse tells the longest one served.
func WithUnrangedLimit(n int64) Option { return func(c *config) { c.unranged = n } }

// WithObjectDir keeps uploaded LFS objects larger than the memory limit as files in dir
// (verified as they stream in) instead of refusing them, so a long-running fake (hf2ms demo
// --serve) takes real large files. The directory must exist; the fake does not clean it.
func WithObjectDir(dir string) Option { return func(c *config) { c.ObjectDir = dir } }

// WithTreePageSize sets the tree listing page size (default 1000).
func WithTreePageSize(n int) Option { return func(c *config) { c.pageSize = n } }

// WithMultipartThreshold makes LFS uploads of n bytes or more use multipart (default 5 GiB).
func WithMultipartThreshold(n int64) Option { return func(c *config) { c.threshold = n } }

// WithChunkSize sets the multipart chunk_size (default 16 MiB).
func WithChunkSize(n int64) Option { return func(c *config) { c.chunk = n } }

// WithMemoryLimit sets the largest LFS upload buffered in memory (default 64 MiB). Larger uploads
// are accepted only for registered synthetic blobs (synth.Blob.SHA256 registers one).
func WithMemoryLimit(n int64) Option { return func(c *config) { c.MemoryLimit = n } }

// WithoutInitialCommit makes CreateRepo and repo creation over HTTP leave new repos with no
// commit at all, instead of the Hub's initial commit holding DefaultGitAttributes.
func WithoutInitialCommit() Option { return func(c *config) { c.initCommit = false } }

// WithWarning adds an `X-HF-Warning` header (e.g. "unauthenticated; Warning: ...") to every Hub
// response.
func WithWarning(w string) Option { return func(c *config) { c.warning = w } }

// lfsObject is one stored LFS object: bytes, a synthetic blob reference, or a file kept on disk
// (WithObjectDir).
type lfsObject = fakehost.Content

type user struct {
	name string
	id   string
	orgs []string
}

type token struct {
	user string
	role Role
}

type repo struct {
	typ      hubkit.RepoType
	ns, name string
	uid      string
	private  bool
	gated    string
	approved map[string]bool
	sdk      string
	locked   bool
	branches map[string]string // branch (incl. refs/pr/N) -> commit id
	tags     map[string]string
	commits  map[string]*commitObj
	lfs      map[string]bool // LFS objects stored for this repo
	blobs    map[string]int64
	used     int64
	prs      int
	created  time.Time
	modified time.Time
}

func (r *repo) id() string { return r.ns + "/" + r.name }

// Server is a running fake Hub. Its methods are safe for concurrent use. URL, CDNURL, Close,
// Faults and AuthLeaks come from its two hosts (internal/fakehost).
type Server struct {
	*fakehost.Hosts
	cfg    config
	reqSeq atomic.Uint64
	// largest is the longest body the storage host sent for one GET of an LFS object.
	largest atomic.Int64

	mu      sync.RWMutex
	users   map[string]*user
	orgs    map[string]bool
	tokens  map[string]token
	repos   map[string]*repo // key: type + "/" + ns/name
	objects map[string]gitObject
	lfsObjs map[string]*lfsObject
	uploads map[string]*multipartUpload
	xet     *xetState // nil unless WithXet
}

// NewServer starts a fake Hub and its storage host on loopback. Call Close when done.
func NewServer(opts ...Option) *Server {
	cfg := config{
		pageSize:   DefaultTreePageSize,
		threshold:  DefaultMultipartThreshold,
		chunk:      DefaultChunkSize,
		initCommit: true,
		Config:     fakehost.Config{MemoryLimit: DefaultMemoryLimit},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pageSize <= 0 {
		cfg.pageSize = DefaultTreePageSize
	}
	if cfg.chunk <= 0 {
		cfg.chunk = DefaultChunkSize
	}
	s := &Server{
		cfg:     cfg,
		users:   map[string]*user{},
		orgs:    map[string]bool{},
		tokens:  map[string]token{},
		repos:   map[string]*repo{},
		objects: map[string]gitObject{},
		lfsObjs: map[string]*lfsObject{},
		uploads: map[string]*multipartUpload{},
	}
	s.xet = newXetState(cfg.xet)
	s.Hosts = s.cfg.NewHosts(http.HandlerFunc(s.serveHub), http.HandlerFunc(s.serveCDN))
	s.Hosts.Serve() // after the assignment: the handlers read s.Hosts
	return s
}

// AddUser creates a user, member of orgs (organisations are created as needed).
func (s *Server) AddUser(name string, orgs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[name] = &user{name: name, id: hexID("user:" + name), orgs: append([]string(nil), orgs...)}
	for _, o := range orgs {
		s.orgs[o] = true
	}
}

// AddToken registers an access token for user with role.
func (s *Server) AddToken(tok, userName string, role Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{user: userName, role: role}
}

// RepoOptions are the settings of a repo created with CreateRepo.
type RepoOptions struct {
	// Private hides the repo from everyone but its namespace's members.
	Private bool
	// Gated is "", "auto" or "manual".
	Gated string
	// Approved lists the users granted access to a gated repo.
	Approved []string
	// SDK is the hubkit.Space SDK (defaults to "static" for spaces).
	SDK string
}

// CreateRepo creates a repo (id "namespace/name") with the Hub's initial commit.
func (s *Server) CreateRepo(typ hubkit.RepoType, id string, opt RepoOptions) error {
	ns, name, ok := strings.Cut(id, "/")
	if !ok || ns == "" || name == "" || strings.Contains(name, "/") || !typ.Valid() {
		return fmt.Errorf("hubtest: invalid repo %s %q", typ, id)
	}
	if opt.Gated != "" && opt.Gated != "auto" && opt.Gated != "manual" {
		return fmt.Errorf("hubtest: invalid gated value %q", opt.Gated)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.createRepoLocked(typ, ns, name, opt, "", nil)
	return err
}

var errRepoExists = errors.New("repo already exists")

func (s *Server) createRepoLocked(typ hubkit.RepoType, ns, name string, opt RepoOptions, author string, files []op) (*repo, error) {
	key := repoKey(typ, ns+"/"+name)
	if _, ok := s.repos[key]; ok {
		return nil, fmt.Errorf("hubtest: %s %s/%s: %w", typ, ns, name, errRepoExists)
	}
	now := time.Now().UTC()
	r := &repo{
		typ: typ, ns: ns, name: name, uid: hexID(fmt.Sprintf("repo:%s:%s/%s:%d", typ, ns, name, now.UnixNano())),
		private: opt.Private, gated: opt.Gated, approved: map[string]bool{}, sdk: opt.SDK,
		branches: map[string]string{}, tags: map[string]string{}, commits: map[string]*commitObj{},
		lfs: map[string]bool{}, blobs: map[string]int64{}, created: now, modified: now,
	}
	if typ == hubkit.Space && r.sdk == "" {
		r.sdk = "static"
	}
	for _, u := range opt.Approved {
		r.approved[u] = true
	}
	if s.cfg.initCommit || len(files) > 0 {
		ops := files
		if s.cfg.initCommit {
			ops = append([]op{{kind: opAdd, path: ".gitattributes", data: []byte(DefaultGitAttributes)}}, files...)
		}
		if _, err := s.applyLocked(r, "main", "initial commit", "", author, ops, true); err != nil {
			return nil, err
		}
	}
	s.repos[key] = r
	return r, nil
}

func repoKey(typ hubkit.RepoType, id string) string { return string(typ) + "/" + id }

// hexID derives a stable 24-hex id (like the Hub's _id) from seed.
func hexID(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:12])
}

func (s *Server) lookup(typ hubkit.RepoType, id string) (*repo, error) {
	r, ok := s.repos[repoKey(typ, id)]
	if !ok {
		return nil, fmt.Errorf("hubtest: %s %s: repo not found", typ, id)
	}
	return r, nil
}

// File is one change of a seeded commit (see fakehost.File).
type File = fakehost.File

// Commit applies files to branch as one commit (creating the branch's first commit when the repo
// has none) and returns the commit id. LFS paths are added to .gitattributes like the Hub does.
func (s *Server) Commit(typ hubkit.RepoType, id, branch, message string, files ...File) (string, error) {
	ops := make([]op, 0, len(files))
	var objs []struct {
		oid string
		obj *lfsObject
	}
	for _, f := range files {
		switch {
		case f.Delete:
			ops = append(ops, op{kind: opDelete, path: f.Path})
		case f.Blob != nil:
			b := *f.Blob
			oid := b.SHA256()
			objs = append(objs, struct {
				oid string
				obj *lfsObject
			}{oid, &lfsObject{Blob: &b}})
			ops = append(ops, op{kind: opAdd, path: f.Path, lfs: &lfsRef{oid: oid, size: b.Size}})
		case f.LFS:
			sum := sha256.Sum256(f.Content)
			oid := hex.EncodeToString(sum[:])
			objs = append(objs, struct {
				oid string
				obj *lfsObject
			}{oid, &lfsObject{Data: append([]byte(nil), f.Content...)}})
			ops = append(ops, op{kind: opAdd, path: f.Path, lfs: &lfsRef{oid: oid, size: int64(len(f.Content))}})
		default:
			ops = append(ops, op{kind: opAdd, path: f.Path, data: append([]byte(nil), f.Content...)})
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookup(typ, id)
	if err != nil {
		return "", err
	}
	for _, o := range objs {
		if _, ok := s.lfsObjs[o.oid]; !ok {
			s.lfsObjs[o.oid] = o.obj
		}
		r.lfs[o.oid] = true
	}
	sha, herr := s.applyLocked(r, branch, message, "", "", ops, len(r.branches) == 0)
	if herr != nil {
		return "", herr
	}
	return sha, nil
}

// editRepo runs edit on the repo under the write lock. A *hubError is returned only when
// edit fails (never as a typed nil).
func (s *Server) editRepo(typ hubkit.RepoType, id string, edit func(*repo) *hubError) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.lookup(typ, id)
	if err != nil {
		return err
	}
	if herr := edit(r); herr != nil {
		return herr
	}
	return nil
}

// CreateBranch creates branch at fromRev (a branch, tag or commit id).
func (s *Server) CreateBranch(typ hubkit.RepoType, id, branch, fromRev string) error {
	return s.editRepo(typ, id, func(r *repo) *hubError { return s.createBranchLocked(r, branch, fromRev) })
}

func (s *Server) createBranchLocked(r *repo, branch, fromRev string) *hubError {
	if branch == "" || strings.HasPrefix(branch, "refs/") || !validRefName(branch) {
		return &hubError{status: http.StatusBadRequest, msg: "Invalid reference for a branch"}
	}
	if _, ok := r.branches[branch]; ok {
		return &hubError{status: http.StatusConflict, msg: "Reference refs/heads/" + branch + " already exists"}
	}
	if fromRev == "" {
		fromRev = "main"
	}
	c := r.resolve(fromRev)
	if c == nil {
		return errRevision(fromRev)
	}
	r.branches[branch] = c.id
	return nil
}

// CreateTag tags rev.
func (s *Server) CreateTag(typ hubkit.RepoType, id, tag, rev string) error {
	return s.editRepo(typ, id, func(r *repo) *hubError { return s.createTagLocked(r, tag, rev) })
}

func (s *Server) createTagLocked(r *repo, tag, rev string) *hubError {
	if tag == "" || !validRefName(tag) {
		return &hubError{status: http.StatusBadRequest, msg: "Invalid reference for a tag"}
	}
	if _, ok := r.tags[tag]; ok {
		return &hubError{status: http.StatusConflict, msg: "Tag " + tag + " already exists"}
	}
	c := r.resolve(rev)
	if c == nil {
		return errRevision(rev)
	}
	r.tags[tag] = c.id
	return nil
}

func validRefName(n string) bool {
	if strings.ContainsAny(n, " ~^:?*[\\\x00") || strings.Contains(n, "..") || strings.HasSuffix(n, "/") ||
		strings.HasPrefix(n, "/") || strings.HasSuffix(n, ".lock") {
		return false
	}
	return true
}

// resolve maps a branch, tag, refs/... name, HEAD (the default branch) or full commit id to a
// commit.
func (r *repo) resolve(rev string) *commitObj {
	if rev == "" || rev == "HEAD" {
		rev = "main"
	}
	name := strings.TrimPrefix(rev, "refs/heads/")
	if id, ok := r.branches[name]; ok {
		return r.commits[id]
	}
	if id, ok := r.tags[strings.TrimPrefix(rev, "refs/tags/")]; ok {
		return r.commits[id]
	}
	if c, ok := r.commits[rev]; ok {
		return c
	}
	return nil
}

// readRev runs read on the repo and the commit rev resolves to, under the read lock.
func (s *Server) readRev(typ hubkit.RepoType, id, rev string, read func(*repo, *commitObj) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(typ, id)
	if err != nil {
		return err
	}
	c := r.resolve(rev)
	if c == nil {
		return fmt.Errorf("hubtest: %s %s: revision %q not found", typ, id, rev)
	}
	return read(r, c)
}

// Head returns the commit id rev (branch, tag or commit id) points to.
func (s *Server) Head(typ hubkit.RepoType, id, rev string) (string, error) {
	var head string
	err := s.readRev(typ, id, rev, func(_ *repo, c *commitObj) error {
		head = c.id
		return nil
	})
	return head, err
}

// FileInfo describes one file of a revision.
type FileInfo struct {
	Path   string
	Size   int64
	GitOID string
	SHA256 string // LFS files only
	LFS    bool
}

// Files lists the files at rev, sorted by path.
func (s *Server) Files(typ hubkit.RepoType, id, rev string) ([]FileInfo, error) {
	var out []FileInfo
	err := s.readRev(typ, id, rev, func(_ *repo, c *commitObj) error {
		out = make([]FileInfo, 0, len(c.snap.files))
		for _, f := range c.snap.files {
			fi := FileInfo{Path: f.path, Size: f.size, GitOID: f.oid}
			if f.lfs != nil {
				fi.LFS, fi.SHA256 = true, f.lfs.oid
			}
			out = append(out, fi)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ReadFile returns the content of path at rev (LFS content dereferenced; meant for small files).
func (s *Server) ReadFile(typ hubkit.RepoType, id, rev, p string) ([]byte, error) {
	var f *fileEntry
	var obj *lfsObject
	err := s.readRev(typ, id, rev, func(_ *repo, c *commitObj) error {
		var ok bool
		if f, ok = c.snap.files[p]; !ok {
			return fmt.Errorf("hubtest: %s %s@%s: %s not found", typ, id, rev, p)
		}
		if f.lfs != nil {
			obj = s.lfsObjs[f.lfs.oid]
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.lfs == nil {
		return append([]byte(nil), f.data...), nil
	}
	if obj == nil {
		return nil, fmt.Errorf("hubtest: LFS object %s of %s missing", f.lfs.oid, p)
	}
	return io.ReadAll(obj.Reader()) // a copy, whichever way the object is held
}

// CommitInfo describes one commit.
type CommitInfo = fakehost.CommitInfo

// History lists the commits reachable from branch by first parents, newest first.
func (s *Server) History(typ hubkit.RepoType, id, branch string) ([]CommitInfo, error) {
	var out []CommitInfo
	err := s.readRev(typ, id, branch, func(r *repo, c *commitObj) error {
		for ; c != nil; c = r.firstParent(c) {
			out = append(out, CommitInfo{ID: c.id, Message: c.message, Parents: append([]string(nil), c.parents...)})
		}
		return nil
	})
	return out, err
}

// firstParent is c's first parent, nil for a root commit.
func (r *repo) firstParent(c *commitObj) *commitObj {
	if len(c.parents) == 0 {
		return nil
	}
	return r.commits[c.parents[0]]
}

// RepoExists reports whether the repo exists.
func (s *Server) RepoExists(typ hubkit.RepoType, id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, err := s.lookup(typ, id)
	return err == nil
}

// Private reports whether the repo exists and is private.
func (s *Server) Private(typ hubkit.RepoType, id string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(typ, id)
	return err == nil && r.private
}

// Gated returns the repo's gating mode ("", "auto" or "manual").
func (s *Server) Gated(typ hubkit.RepoType, id string) string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, err := s.lookup(typ, id)
	if err != nil {
		return ""
	}
	return r.gated
}

// HasLFSObject reports whether an LFS object with this sha256 is stored (in any repo).
func (s *Server) HasLFSObject(sha256hex string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.lfsObjs[sha256hex]
	return ok
}

// SetStorageLock locks or unlocks a repo's storage: while locked, /api/* info, listings and
// resolve answer 403 StorageLockedMessage, while LFS batch downloads keep working.
func (s *Server) SetStorageLock(typ hubkit.RepoType, id string, locked bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, err := s.lookup(typ, id); err == nil {
		r.locked = locked
	}
}

// cleanPath validates a repo path the way the Hub does for commits. Control characters (C0 and
// DEL: newline, tab, escape, ...) are refused, as migrate.ValidatePath refuses them: the fake must
// not store a path the engine would never write.
func cleanPath(p string) (string, bool) {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsRune(p, '\\') || strings.HasSuffix(p, "/") {
		return "", false
	}
	for i := 0; i < len(p); i++ { // bytes below 0x80 never occur inside a multi-byte UTF-8 sequence
		if p[i] < 0x20 || p[i] == 0x7f {
			return "", false
		}
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." || seg == ".git" {
			return "", false
		}
	}
	if path.Clean(p) != p {
		return "", false
	}
	return p, true
}
