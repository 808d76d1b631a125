// Package mstest is a fake ModelScope hub for tests: two loopback net/http/httptest servers (the
// hub API and a separate CDN host) that speak the ModelScope wire protocol as the official SDKs
// (modelscope's hub/api.py, modelscope_hub's _legacy_api.py) use it, strictly enough that a client passing against it copes with
// the real hub's quirks.
//
// It implements the legacy /api/v1 routes a hub client needs (login, model and dataset info,
// revisions, commits, the model file listing truncated at 3000 entries, the paged dataset tree,
// downloads with 302 redirects to the CDN and Range support, create, visibility, delete, the LFS
// batch pre-sign, blob PUT and the JSON commit) plus the OpenAPI routes /openapi/v1/users/me and
// /openapi/v1/{models,datasets}/{owner}/{name}. Every legacy JSON reply uses the
// {Code, Data, Message, RequestId, Success} envelope and every OpenAPI reply the
// {success, data|code+message, request_id} one.
//
// State is seeded directly through the Server's methods (AddUser, AddToken, CreateRepo, Commit,
// ...) and inspected the same way (Files, ReadFile, History, HasBlob, AuthLeaks).
//
// # Fault injection
//
// Every handler first asks Faults() for a rule of its route class (the Route* constants). A rule
// with a Status answers instead of the handler: the legacy envelope {"Code": status, "Success":
// false, "Message": rule.Message} with that HTTP status (the OpenAPI shape on /openapi routes,
// plain text on the CDN). A rule with Status 200 produces ModelScope's error-inside-HTTP-200:
//
//	s.Faults().Add(fault.Rule{Route: mstest.RouteCommit, Status: 200, Times: 1,
//		Message: "commit rejected by repository policy"})
//
// answers HTTP 200 with {"Code":10030000001,"Success":false,"Message":"commit rejected by
// repository policy",...} once (EnvelopeError builds that rule). CutAfter, Corrupt and
// BytesPerSecond act on response bodies (downloads, CDN, JSON replies); CutAfter on the blob PUT
// cuts the request body instead, and nothing is stored.
//
// # Big blobs
//
// Blob uploads up to WithMemoryLimit bytes are buffered (hashed while streaming). Larger uploads
// must be registered synthetic blobs (synth.Blob.SHA256 registers one): the fake compares the
// incoming bytes with the synthetic content at each offset and stores only the small Blob value,
// so multi-GiB objects cost no memory. Uploads that match a registered synthetic blob are stored
// that way whatever their size.
package mstest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/wan"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Route classes, the names fault rules and counters use.
const (
	RouteLogin         = "login"          // POST /api/v1/login
	RouteWhoami        = "whoami"         // GET /openapi/v1/users/me
	RouteModelInfo     = "model-info"     // GET /api/v1/models/{o}/{n} and /openapi/v1/models/{o}/{n}
	RouteDatasetInfo   = "dataset-info"   // GET /api/v1/datasets/{o}/{n} and /openapi/v1/datasets/{o}/{n}
	RouteModelFiles    = "model-files"    // GET /api/v1/models/{o}/{n}/repo/files
	RouteDatasetTree   = "dataset-tree"   // GET /api/v1/datasets/{id|o/n}/repo/tree
	RouteDownload      = "download"       // GET|HEAD /api/v1/{models|datasets}/{o}/{n}/repo?FilePath=
	RouteCDN           = "cdn"            // GET|HEAD on the CDN host
	RouteCreateModel   = "create-model"   // POST /api/v1/models
	RouteCreateDataset = "create-dataset" // POST /api/v1/datasets (multipart)
	RouteVisibility    = "visibility"     // PUT /api/v1/models/{o}/{n}, PUT /api/v1/datasets/{id}
	RouteLFSBatch      = "lfs-batch"      // POST /api/v1/repos/{type}s/{o}/{n}/info/lfs/objects/batch
	RouteBlobPut       = "blob-put"       // PUT /api/v1/repos/{type}s/{o}/{n}/blobs/{oid}/{size}
	RouteCommit        = "commit"         // POST /api/v1/repos/{type}s/{o}/{n}/commit/{branch}
	RouteDeleteRepo    = "delete-repo"    // DELETE /api/v1/{models|datasets}/{o}/{n}
	RouteRevisions     = "revisions"      // GET /api/v1/{models|datasets}/{o}/{n}/revisions
	RouteCommits       = "commits"        // GET /api/v1/{models|datasets}/{o}/{n}/commits
	RouteTag           = "tag"            // POST /api/v1/{models|datasets}/{o}/{n}/repo/tag
	RouteOther         = "other"          // acceleration info, statistics pings, unknown routes
)

// Business codes the real hub sends in the envelope's Code (modelscope_hub's errors.py).
const (
	CodeOK             = 200
	CodeLoginRefused   = 10010103009 // login with a bad or read-only token
	CodeRefused        = 10030000001 // not logged in, or a commit rejected by policy
	CodeModelExists    = 10010101001
	CodeDatasetExists  = 10020101001
	CodeDatasetMissing = 10020101002
	CodeModelMissing   = 10010205001
	CodeFileMissing    = 10990101007
)

// Messages the real hub sends, quoted so clients can match them.
const (
	MsgNotLoggedIn    = "user not logged in"
	MsgNoWrite        = "no write permission to repository"
	MsgPolicyRejected = "commit rejected by repository policy"
	MsgExists         = "该名称已被注册使用，请重新命名"
	MsgLoginRefused   = "登录失败，AccessToken错误，请从用户中心获取AccessToken或刷新"
	MsgFileMissing    = "获取模型文件失败，文件内容为空"
	MsgDatasetMissing = "不存在的数据集"
	MsgNoDeletion     = "the current token no longer supports deletion operations. Please go to the site page : https://www.modelscope.cn to delete"
)

// DefaultBranch is the branch a new repo gets and an omitted revision means.
const DefaultBranch = "master"

// Visibility is ModelScope's numeric visibility.
type Visibility int

// Visibility values. Internal repos are treated like private ones for reads: only members of
// the owning namespace see them.
const (
	Private  Visibility = 1
	Internal Visibility = 3
	Public   Visibility = 5
)

// File is one change to seed with Server.Commit (see fakehost.File).
type File = fakehost.File

// FileInfo describes one file of a revision.
type FileInfo struct {
	Path   string
	Size   int64
	SHA256 string
	LFS    bool
}

// CommitInfo describes one commit.
type CommitInfo = fakehost.CommitInfo

// Option configures a Server.
type Option func(*config)

type config struct {
	listingCut        int
	datasetPageSize   int
	commitInterval    time.Duration
	now               func() time.Time
	ignoreVisibility  bool
	maxActions        int
	redirectThreshold int64
	redirectLFS       bool
	hiddenStatus      int
	refuseDeletion    bool
	// Config holds the memory limit, object dir and WAN links (WithMemoryLimit, WithObjectDir,
	// WithWAN).
	fakehost.Config
}

// WithWAN serves the API and storage hosts through the modelled wide-area link p (each host
// with its own per-host caps), on loopback.
func WithWAN(p wan.Profile) Option {
	return func(c *config) { c.AddWAN(p) }
}

// WithListingCut truncates model file listings at n entries, silently, as the real hub does at
// 3000 (the default). Clients must walk sub-folders with Root= to see everything.
func WithListingCut(n int) Option { return func(c *config) { c.listingCut = n } }

// WithDatasetPageSize sets the largest page the dataset tree returns (default 100). A smaller
// PageSize in the request is honoured; a larger one is capped. TotalCount is always sent.
func WithDatasetPageSize(n int) Option { return func(c *config) { c.datasetPageSize = n } }

// WithCommitInterval sets the minimum spacing between API commits to one repo. A faster commit
// is rejected with HTTP 200, Code 10030000001 and "commit rejected by repository policy: too
// many commits in a short time", changing nothing. The default 0 disables the check.
func WithCommitInterval(d time.Duration) Option { return func(c *config) { c.commitInterval = d } }

// WithIgnoredVisibility makes the hub answer success to the Visibility of a create or a
// settings update but keep every repo public, as hubs have been seen to do for some account
// kinds; a client must read the visibility back to notice.
func WithIgnoredVisibility() Option { return func(c *config) { c.ignoreVisibility = true } }

// WithObjectDir keeps uploaded blobs larger than the memory limit as files in dir (verified as
// they stream in) instead of refusing them, so a long-running fake (hf2ms demo --serve) takes
// real large files. The directory must exist; the fake does not clean it.
func WithObjectDir(dir string) Option { return func(c *config) { c.ObjectDir = dir } }

// WithClock sets the clock the commit-frequency check reads (default time.Now), so a test can
// wait out a long window without sleeping.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithMaxActions sets the most actions one commit may carry (default 2000; more => 422).
func WithMaxActions(n int) Option { return func(c *config) { c.maxActions = n } }

// WithRedirectThreshold makes downloads of files of n bytes or more answer 302 to the CDN host
// (default 1 MiB); smaller files are served directly.
func WithRedirectThreshold(n int64) Option { return func(c *config) { c.redirectThreshold = n } }

// WithRedirectLFS makes every LFS file download answer 302 to the CDN whatever its size, as the
// real hub does.
func WithRedirectLFS() Option { return func(c *config) { c.redirectLFS = true } }

// WithMemoryLimit sets the largest blob upload the fake buffers (default 64 MiB). Larger uploads
// must be registered synthetic blobs (see the package doc).
func WithMemoryLimit(n int64) Option { return func(c *config) { c.MemoryLimit = n } }

// WithHiddenStatus sets the status a private repo answers to callers without rights: 404 (the
// default) or 403; the real hub's choice is not pinned.
func WithHiddenStatus(status int) Option { return func(c *config) { c.hiddenStatus = status } }

// WithDeletionRefused makes repo deletion answer 400 "the current token no longer supports
// deletion operations..." as the real hub is reported to do. By default deletion works.
func WithDeletionRefused() Option { return func(c *config) { c.refuseDeletion = true } }

// Server is the fake hub. Its methods are safe for concurrent use. URL, CDNURL, Close, Faults
// and AuthLeaks come from its two hosts (internal/fakehost).
type Server struct {
	*fakehost.Hosts
	cfg config

	mu        sync.Mutex
	users     map[string]*user      // by name
	tokens    map[string]*tokenInfo // by token
	repos     map[repoKey]*repo
	byID      map[int64]*repo // datasets by numeric id
	nextID    int64
	blobs     map[objKey]fakehost.Content // LFS store
	objects   map[objKey]fakehost.Content // inline contents, for CDN redirects of big inline files
	commitSeq int
}

type user struct {
	name, email, gitToken string
	orgs                  map[string]bool
}

type tokenInfo struct {
	user     string
	readOnly bool
}

type repoKey struct {
	kind hubkit.RepoType
	id   string // owner/name
}

type objKey struct {
	sha  string
	size int64
}

type repo struct {
	kind        hubkit.RepoType
	owner, name string
	numID       int64
	vis         Visibility
	protected   int
	license     string
	created     time.Time
	branches    map[string]string // name -> commit id
	tags        map[string]tagRef
	commits     map[string]*commit
	lastCommit  time.Time // last API commit, for WithCommitInterval
}

type tagRef struct {
	commit  string
	created time.Time
}

type commit struct {
	id, message string
	parents     []string
	time        time.Time
	tree        *tree
}

type fileEntry struct {
	size   int64
	sha    string
	lfs    bool
	data   []byte // inline content
	commit *commit
}

// tree is an immutable snapshot of a revision's files.
type tree struct {
	files map[string]*fileEntry
	dirs  map[string]int // directory -> number of files beneath it

	once   sync.Once
	sorted []listEntry
}

type listEntry struct {
	path string
	file *fileEntry // nil for a directory
}

// NewServer starts the fake hub and its CDN on loopback. Close it when done.
func NewServer(opts ...Option) *Server {
	s := &Server{
		cfg: config{
			listingCut:        3000,
			datasetPageSize:   100,
			maxActions:        2000,
			redirectThreshold: 1 << 20,
			Config:            fakehost.Config{MemoryLimit: 64 << 20},
			hiddenStatus:      http.StatusNotFound,
			now:               time.Now,
		},
		users:   map[string]*user{},
		tokens:  map[string]*tokenInfo{},
		repos:   map[repoKey]*repo{},
		byID:    map[int64]*repo{},
		nextID:  1000,
		blobs:   map[objKey]fakehost.Content{},
		objects: map[objKey]fakehost.Content{},
	}
	for _, o := range opts {
		o(&s.cfg)
	}
	s.Hosts = s.cfg.NewHosts(s.apiHandler(), http.HandlerFunc(s.serveCDN))
	s.Hosts.Serve() // after the assignment: the handlers read s.Hosts
	return s
}

// EnvelopeError returns a rule that answers route's next times requests (0 = until removed) with
// ModelScope's error inside HTTP 200: {"Code":10030000001,"Success":false,"Message":msg}.
func EnvelopeError(route, msg string, times int) fault.Rule {
	return fault.Rule{Route: route, Status: http.StatusOK, Message: msg, Times: times}
}

// AddUser registers a user and the organisations it belongs to. Its git token (what login
// returns) is derived from the name.
func (s *Server) AddUser(name string, orgs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[name]
	if u == nil {
		sum := sha256.Sum256([]byte("git:" + name))
		u = &user{name: name, email: name + "@example.com", gitToken: "git-" + hex.EncodeToString(sum[:12]), orgs: map[string]bool{}}
		s.users[name] = u
	}
	for _, o := range orgs {
		u.orgs[o] = true
	}
}

// Role is an access token's role.
type Role string

// Token roles.
const (
	// RoleWrite is an SDK token of the read/write tier.
	RoleWrite Role = "write"
	// RoleRead is a read-tier token: it reads and answers whoami, but login refuses it (400,
	// Code 10010103009) and writes are forbidden.
	RoleRead Role = "read"
)

// AddToken registers an SDK access token for user with role, adding the user if needed.
func (s *Server) AddToken(token, user string, role Role) { s.addToken(token, user, role == RoleRead) }

func (s *Server) addToken(token, name string, readOnly bool) {
	s.AddUser(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = &tokenInfo{user: name, readOnly: readOnly}
}

// GitToken returns the git token login hands out for user ("" if unknown).
func (s *Server) GitToken(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if u := s.users[user]; u != nil {
		return u.gitToken
	}
	return ""
}

var errNotFound = errors.New("mstest: not found")

func splitID(id string) (owner, name string, err error) {
	owner, name, ok := strings.Cut(id, "/")
	if !ok || !validName(owner) || !validName(name) {
		return "", "", fmt.Errorf("mstest: invalid repo id %q, want owner/name", id)
	}
	return owner, name, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 96 || n[0] == '.' || n[0] == '-' {
		return false
	}
	for _, c := range n {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// RepoOptions are the settings of a repo created with CreateRepo.
type RepoOptions struct {
	// Private hides the repo from everyone but its namespace's members.
	Private bool
	// Internal is ModelScope's "internal" visibility (read like Private here).
	Internal bool
	// License is the repo's licence as ModelScope displays it (default "Apache License 2.0",
	// the value the official SDKs create repos with).
	License string
}

// CreateRepo creates an empty repo (one initial commit on master, no files).
func (s *Server) CreateRepo(kind hubkit.RepoType, id string, opt RepoOptions) error {
	vis := Public
	switch {
	case opt.Private:
		vis = Private
	case opt.Internal:
		vis = Internal
	}
	if opt.License == "" {
		opt.License = "Apache License 2.0"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := s.createRepoLocked(kind, id, vis, opt.License)
	return err
}

// Private reports whether the repo exists and is not public.
func (s *Server) Private(kind hubkit.RepoType, id string) bool {
	return s.RepoExists(kind, id) && s.RepoVisibility(kind, id) != Public
}

var errExists = errors.New("mstest: repo already exists")

func (s *Server) createRepoLocked(kind hubkit.RepoType, id string, vis Visibility, license string) (*repo, error) {
	if kind != hubkit.Model && kind != hubkit.Dataset {
		return nil, fmt.Errorf("mstest: unknown kind %q", kind)
	}
	owner, name, err := splitID(id)
	if err != nil {
		return nil, err
	}
	if vis != Private && vis != Internal && vis != Public {
		return nil, fmt.Errorf("mstest: invalid visibility %d", vis)
	}
	k := repoKey{kind, owner + "/" + name}
	if s.repos[k] != nil {
		return nil, fmt.Errorf("%w: %s %s", errExists, kind, id)
	}
	s.nextID++
	now := time.Now()
	r := &repo{kind: kind, owner: owner, name: name, numID: s.nextID, vis: vis, protected: 2, license: license,
		created: now, branches: map[string]string{}, tags: map[string]tagRef{}, commits: map[string]*commit{}}
	c := s.newCommitLocked(nil, "Initial commit", &tree{files: map[string]*fileEntry{}, dirs: map[string]int{}})
	r.commits[c.id] = c
	r.branches[DefaultBranch] = c.id
	s.repos[k] = r
	if kind == hubkit.Dataset {
		s.byID[r.numID] = r
	}
	return r, nil
}

func (s *Server) newCommitLocked(parent *commit, message string, t *tree) *commit {
	s.commitSeq++
	h := sha1.New()
	fmt.Fprintf(h, "%d\x00%s\x00%d\x00", s.commitSeq, message, time.Now().UnixNano())
	c := &commit{message: message, time: time.Now(), tree: t}
	if parent != nil {
		c.parents = []string{parent.id}
		h.Write([]byte(parent.id))
	}
	c.id = hex.EncodeToString(h.Sum(nil))
	return c
}

func (s *Server) repoLocked(kind hubkit.RepoType, id string) (*repo, error) {
	r := s.repos[repoKey{kind, id}]
	if r == nil {
		return nil, fmt.Errorf("%w: %s %s", errNotFound, kind, id)
	}
	return r, nil
}

// resolve maps a branch, tag or full commit sha ("" = master) to a commit.
func (r *repo) resolve(rev string) (*commit, bool) {
	if rev == "" {
		rev = DefaultBranch
	}
	if id, ok := r.branches[rev]; ok {
		return r.commits[id], true
	}
	if t, ok := r.tags[rev]; ok {
		return r.commits[t.commit], true
	}
	if c, ok := r.commits[strings.ToLower(rev)]; ok {
		return c, true
	}
	return nil, false
}

// Commit applies files to branch ("" = master) as one commit, bypassing auth, faults and the
// commit-frequency check, and returns the new commit's sha.
func (s *Server) Commit(kind hubkit.RepoType, id, branch, message string, files ...File) (string, error) {
	acts := make([]change, 0, len(files))
	for _, f := range files {
		ch := change{path: f.Path, delete: f.Delete}
		switch {
		case f.Delete:
		case f.Blob != nil:
			b := *f.Blob
			ch.entry = &fileEntry{size: b.Size, sha: b.SHA256(), lfs: true}
			ch.blob = &fakehost.Content{Blob: &b}
		default:
			sum := sha256.Sum256(f.Content)
			data := append([]byte(nil), f.Content...)
			ch.entry = &fileEntry{size: int64(len(data)), sha: hex.EncodeToString(sum[:]), lfs: f.LFS}
			if f.LFS {
				ch.blob = &fakehost.Content{Data: data}
			} else {
				ch.entry.data = data
			}
		}
		acts = append(acts, ch)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(kind, id)
	if err != nil {
		return "", err
	}
	c, err := s.applyLocked(r, branch, message, acts)
	if err != nil {
		return "", err
	}
	for _, ch := range acts {
		if ch.blob != nil {
			s.blobs[objKey{ch.entry.sha, ch.entry.size}] = *ch.blob
		}
	}
	return c.id, nil
}

// change is one validated commit action.
type change struct {
	path   string
	delete bool
	entry  *fileEntry
	blob   *fakehost.Content // seeding only: LFS content to store
}

var errPolicy = errors.New(MsgPolicyRejected)

// applyLocked builds the new tree from branch's head plus changes and installs it atomically.
func (s *Server) applyLocked(r *repo, branch, message string, changes []change) (*commit, error) {
	if branch == "" {
		branch = DefaultBranch
	}
	headID, ok := r.branches[branch]
	if !ok {
		return nil, fmt.Errorf("%w: branch %q", errNotFound, branch)
	}
	parent := r.commits[headID]
	old := parent.tree
	t := &tree{files: make(map[string]*fileEntry, len(old.files)+len(changes)), dirs: make(map[string]int, len(old.dirs))}
	for k, v := range old.files {
		t.files[k] = v
	}
	for k, v := range old.dirs {
		t.dirs[k] = v
	}
	c := s.newCommitLocked(parent, message, t)
	for _, ch := range changes {
		if err := validPath(ch.path); err != nil {
			return nil, err
		}
		if ch.delete {
			if _, ok := t.files[ch.path]; !ok {
				return nil, fmt.Errorf("%w: delete of missing path %q", errPolicy, ch.path)
			}
			delete(t.files, ch.path)
			t.addDirs(ch.path, -1)
			continue
		}
		if t.dirs[ch.path] > 0 {
			return nil, fmt.Errorf("mstest: %q is a directory", ch.path)
		}
		for d := parentDir(ch.path); d != ""; d = parentDir(d) {
			if _, ok := t.files[d]; ok {
				return nil, fmt.Errorf("mstest: %q is a file, cannot create %q", d, ch.path)
			}
		}
		e := *ch.entry
		e.commit = c
		if _, existed := t.files[ch.path]; !existed {
			t.addDirs(ch.path, 1)
		}
		t.files[ch.path] = &e
	}
	for _, ch := range changes {
		if e := t.files[ch.path]; !ch.delete && e != nil && !e.lfs && e.size >= s.cfg.redirectThreshold {
			s.objects[objKey{e.sha, e.size}] = fakehost.Content{Data: e.data}
		}
	}
	r.commits[c.id] = c
	r.branches[branch] = c.id
	return c, nil
}

func (t *tree) addDirs(p string, delta int) {
	for d := parentDir(p); d != ""; d = parentDir(d) {
		if t.dirs[d] += delta; t.dirs[d] <= 0 {
			delete(t.dirs, d)
		}
	}
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return ""
	}
	return p[:i]
}

func validPath(p string) error {
	if p == "" || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.Contains(p, "//") {
		return fmt.Errorf("mstest: invalid path %q", p)
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." || seg == ".git" {
			return fmt.Errorf("mstest: invalid path %q", p)
		}
	}
	return nil
}

// list returns every file and directory of the tree sorted by path (computed once).
func (t *tree) list() []listEntry {
	t.once.Do(func() {
		out := make([]listEntry, 0, len(t.files)+len(t.dirs))
		for p, f := range t.files {
			out = append(out, listEntry{p, f})
		}
		for d := range t.dirs {
			out = append(out, listEntry{d, nil})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
		t.sorted = out
	})
	return t.sorted
}

// withRepo runs f on the repo with s.mu held.
func (s *Server) withRepo(kind hubkit.RepoType, id string, f func(*repo) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.repoLocked(kind, id)
	if err != nil {
		return err
	}
	return f(r)
}

// commitAt is the commit rev resolves to, or an errNotFound naming rev.
func (r *repo) commitAt(rev string) (*commit, error) {
	c, ok := r.resolve(rev)
	if !ok {
		return nil, fmt.Errorf("%w: revision %q", errNotFound, rev)
	}
	return c, nil
}

// CreateBranch creates branch at fromRev ("" = master).
func (s *Server) CreateBranch(kind hubkit.RepoType, id, branch, fromRev string) error {
	return s.withRepo(kind, id, func(r *repo) error {
		if _, ok := r.branches[branch]; ok || branch == "" {
			return fmt.Errorf("mstest: branch %q exists or is empty", branch)
		}
		c, err := r.commitAt(fromRev)
		if err != nil {
			return err
		}
		r.branches[branch] = c.id
		return nil
	})
}

// CreateTag creates tag at rev ("" = master).
func (s *Server) CreateTag(kind hubkit.RepoType, id, tag, rev string) error {
	return s.withRepo(kind, id, func(r *repo) error { return r.tagLocked(tag, rev) })
}

func (r *repo) tagLocked(tag, rev string) error {
	if _, ok := r.tags[tag]; ok || tag == "" || tag == "master" || tag == "main" {
		return fmt.Errorf("mstest: tag %q exists or is not allowed", tag)
	}
	c, err := r.commitAt(rev)
	if err != nil {
		return err
	}
	r.tags[tag] = tagRef{commit: c.id, created: time.Now()}
	return nil
}

// commitOf is the commit rev ("" = master) of a repo resolves to. A commit never changes once
// made, so it may be read after s.mu is released.
func (s *Server) commitOf(kind hubkit.RepoType, id, rev string) (*commit, error) {
	var c *commit
	err := s.withRepo(kind, id, func(r *repo) (err error) {
		c, err = r.commitAt(rev)
		return err
	})
	return c, err
}

// Head returns the commit sha rev ("" = master) resolves to.
func (s *Server) Head(kind hubkit.RepoType, id, rev string) (string, error) {
	c, err := s.commitOf(kind, id, rev)
	if err != nil {
		return "", err
	}
	return c.id, nil
}

func (s *Server) treeAt(kind hubkit.RepoType, id, rev string) (*tree, error) {
	c, err := s.commitOf(kind, id, rev)
	if err != nil {
		return nil, err
	}
	return c.tree, nil
}

// Files lists the files of rev ("" = master), sorted by path.
func (s *Server) Files(kind hubkit.RepoType, id, rev string) ([]FileInfo, error) {
	t, err := s.treeAt(kind, id, rev)
	if err != nil {
		return nil, err
	}
	var out []FileInfo
	for _, e := range t.list() {
		if e.file != nil {
			out = append(out, FileInfo{Path: e.path, Size: e.file.size, SHA256: e.file.sha, LFS: e.file.lfs})
		}
	}
	return out, nil
}

// ReadFile returns the content of path at rev ("" = master). Synthetic blobs are generated in
// full, so use it on small files only.
func (s *Server) ReadFile(kind hubkit.RepoType, id, rev, path string) ([]byte, error) {
	t, err := s.treeAt(kind, id, rev)
	if err != nil {
		return nil, err
	}
	f := t.files[path]
	if f == nil {
		return nil, fmt.Errorf("%w: file %q", errNotFound, path)
	}
	c, ok := s.contentOf(f)
	if !ok {
		return nil, fmt.Errorf("%w: LFS object of %q", errNotFound, path)
	}
	return io.ReadAll(c.Reader()) // a copy, whichever way the object is held
}

func (s *Server) contentOf(f *fileEntry) (fakehost.Content, bool) {
	if !f.lfs {
		return fakehost.Content{Data: f.data}, true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.blobs[objKey{f.sha, f.size}]
	return c, ok
}

// History lists branch's ("" = master) commits, newest first, following first parents.
func (s *Server) History(kind hubkit.RepoType, id, branch string) ([]CommitInfo, error) {
	if branch == "" {
		branch = DefaultBranch
	}
	var out []CommitInfo
	err := s.withRepo(kind, id, func(r *repo) error {
		headID, ok := r.branches[branch]
		if !ok {
			return fmt.Errorf("%w: branch %q", errNotFound, branch)
		}
		for c := r.commits[headID]; c != nil; c = firstParent(r, c) {
			out = append(out, CommitInfo{ID: c.id, Message: c.message, Parents: append([]string(nil), c.parents...)})
		}
		return nil
	})
	return out, err
}

// RepoExists reports whether the repo exists.
func (s *Server) RepoExists(kind hubkit.RepoType, id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.repos[repoKey{kind, id}] != nil
}

// RepoVisibility returns the repo's visibility (0 if it does not exist).
func (s *Server) RepoVisibility(kind hubkit.RepoType, id string) Visibility {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repoKey{kind, id}]; r != nil {
		return r.vis
	}
	return 0
}

// DatasetID returns a dataset's numeric id (0 if it does not exist).
func (s *Server) DatasetID(id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.repos[repoKey{hubkit.Dataset, id}]; r != nil {
		return r.numID
	}
	return 0
}

// HasBlob reports whether the LFS store holds an object with this SHA-256 (any size).
func (s *Server) HasLFSObject(sha256 string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.blobs {
		if k.sha == sha256 {
			return true
		}
	}
	return false
}
