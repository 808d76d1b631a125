package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// The git fallback of the Hugging Face adapter (issue 7). When the Hub's HTTP API refuses a
// source repo's info, listing or downloads with a storage lock (403, hubkit.ErrStorageLocked; never on
// 401 or 404, where git would fail the same way), the adapter switches that repo to git: it
// resolves and lists through git's smart HTTP protocol (hub.Client.GitSnapshot, depth 1, in
// memory), serves regular files from the fetched git objects and LFS files through the LFS batch
// API (hub.Client.DownloadLFS, ranged), records one notice for the run's report (Noticer), and
// carries on. WithUseGit, or Options.UseGit through New and RunJob, forces git from the start.

// gitOptions is the adapter's git configuration (adapterConfig.git).
type gitOptions struct {
	force      bool
	noFallback bool
}

// WithUseGit makes the Hugging Face adapter resolve, list and download through git and the LFS
// batch API from the start, never through the HTTP API's resolve, tree or paths-info routes
// (the --use-git flag, the Action's use_git input).
func WithUseGit(on bool) AdapterOption {
	return func(c *adapterConfig) { c.git.force = on }
}

// WithGitFallback turns the automatic switch to git on a storage lock on (the default) or off.
func WithGitFallback(on bool) AdapterOption {
	return func(c *adapterConfig) { c.git.noFallback = !on }
}

// Noticer is implemented by hubs that have something to tell about a repo (e.g. that it is read
// through the git fallback). The engine appends the notices to the plan, so they appear once in
// the progress output (EventNotice) and in the report.
type Noticer interface {
	// Notices returns the notices about repo so far.
	Notices(repo Repo) []string
}

// hubNotices returns h's notices about repo, if h has any.
func hubNotices(h Hub, repo Repo) []string {
	if n, ok := h.(Noticer); ok {
		return n.Notices(repo)
	}
	return nil
}

// withUseGit returns h forced to read its sources through git when on and h supports it (the
// Hugging Face adapter); other hubs are returned unchanged.
func withUseGit(h Hub, on bool) Hub {
	g, ok := h.(*hfGitHub)
	if !on || !ok || g.force {
		return h
	}
	return &hfGitHub{hfHub: g.hfHub, force: true, st: g.st}
}

// hfGitHub is the Hugging Face adapter with the git fallback.
type hfGitHub struct {
	*hfHub
	force bool
	st    *gitState // shared by the views withUseGit makes, so a repo is fetched once
}

// gitState is what the fallback remembers: the repos switched to git, their notices, and the
// fetched snapshots (kept for the hub's lifetime, i.e. the migration: regular files are read
// from them).
type gitState struct {
	mu       sync.Mutex
	switched map[Repo]bool
	notices  map[Repo][]string
	snaps    map[snapKey]*snapEntry
}

type snapKey struct {
	repo Repo
	rev  string
}

// snapEntry is one fetched snapshot, fetched once (mu held while fetching).
type snapEntry struct {
	mu    sync.Mutex
	snap  *hub.GitSnapshot
	index map[string]int // path -> index in snap.Files()
}

func newHFGitHub(h *hfHub) Hub {
	return &hfGitHub{hfHub: h, force: h.cfg.git.force, st: &gitState{
		switched: map[Repo]bool{}, notices: map[Repo][]string{}, snaps: map[snapKey]*snapEntry{},
	}}
}

// Notices implements Noticer.
func (h *hfGitHub) Notices(repo Repo) []string {
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return append([]string(nil), h.st.notices[repo]...)
}

// viaGit reports whether repo is read through git.
func (h *hfGitHub) viaGit(repo Repo) bool {
	if h.force {
		h.st.mu.Lock()
		defer h.st.mu.Unlock()
		if !h.st.switched[repo] {
			h.st.switched[repo] = true
			h.st.notices[repo] = append(h.st.notices[repo], fmt.Sprintf(
				"%s: reading the source through git and the LFS batch API (--use-git)", repo))
		}
		return true
	}
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	return h.st.switched[repo]
}

// fallback reports whether err calls for git, and if so switches repo (noting it once).
func (h *hfGitHub) fallback(repo Repo, err error) bool {
	if h.cfg.git.noFallback || !errors.Is(err, hubkit.ErrStorageLocked) {
		return false
	}
	h.st.mu.Lock()
	defer h.st.mu.Unlock()
	if !h.st.switched[repo] {
		h.st.switched[repo] = true
		h.st.notices[repo] = append(h.st.notices[repo], fmt.Sprintf(
			"%s: the Hugging Face HTTP API refuses this repo's files (403, storage locked); switched to git and the LFS batch API", repo))
	}
	return true
}

// Info asks the HTTP API (repo info is not a download); on a storage lock it answers from git:
// the head from the ref advertisement, and private unless anonymous git can read the repo.
func (h *hfGitHub) Info(ctx context.Context, repo Repo) (*RepoInfo, error) {
	info, err := h.hfHub.Info(ctx, repo)
	if err == nil || !h.fallback(repo, err) {
		return info, err
	}
	head, gerr := h.c.GitResolve(ctx, hfRepo(repo), "")
	if gerr != nil {
		return nil, fmt.Errorf("hf: info %s through git (after %w): %w", repo, hubkit.ErrStorageLocked, gerr)
	}
	public, gerr := h.c.GitPublic(ctx, hfRepo(repo))
	if gerr != nil {
		return nil, fmt.Errorf("hf: info %s through git: %w", repo, gerr)
	}
	return &RepoInfo{Private: !public, DefaultBranch: HFDefaultBranch, Head: head}, nil
}

// Resolve pins rev through git when repo reads through git, else through the API.
func (h *hfGitHub) Resolve(ctx context.Context, repo Repo, rev string) (string, error) {
	if !h.viaGit(repo) {
		sha, err := h.hfHub.Resolve(ctx, repo, rev)
		if err == nil || !h.fallback(repo, err) {
			return sha, err
		}
	}
	sha, err := h.c.GitResolve(ctx, hfRepo(repo), rev)
	if err != nil {
		return "", fmt.Errorf("hf: resolve %s@%s through git: %w", repo, revName(rev, HFDefaultBranch), err)
	}
	return sha, nil
}

// List lists through git when repo reads through git, else through the API's tree.
func (h *hfGitHub) List(ctx context.Context, repo Repo, rev string) ([]File, error) {
	if !h.viaGit(repo) {
		files, err := h.hfHub.List(ctx, repo, rev)
		if err == nil || !h.fallback(repo, err) {
			return files, err
		}
	}
	e, err := h.snapshot(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	gf := e.snap.Files()
	files := make([]File, len(gf))
	for i, f := range gf {
		files[i] = File{Path: f.Path, Size: f.Size, GitOID: f.GitOID}
		if f.LFS != nil {
			files[i].LFS = true
			files[i].SHA256 = f.LFS.OID
		}
	}
	return files, nil
}

// Open reads through git when repo reads through git, else through resolve.
func (h *hfGitHub) Open(ctx context.Context, repo Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	if !h.viaGit(repo) {
		rc, err := h.hfHub.Open(ctx, repo, rev, path, off, n)
		if err == nil || !h.fallback(repo, err) {
			return rc, err
		}
	}
	e, err := h.snapshot(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	i, ok := e.index[path]
	if !ok {
		return nil, fmt.Errorf("hf: open %s@%s %s through git: %w", repo, revName(rev, HFDefaultBranch), path, hub.ErrEntryNotFound)
	}
	f := e.snap.Files()[i]
	if f.LFS == nil {
		rc, err := e.snap.OpenBlob(f.GitOID, off, n)
		if err != nil {
			return nil, fmt.Errorf("hf: open %s %s through git: %w", repo, path, err)
		}
		return rc, nil
	}
	ref := rev
	if isCommitID(rev) {
		ref = "" // the batch's ref is a ref name, not a commit
	}
	rc, err := h.c.DownloadLFS(ctx, hfRepo(repo), ref, hub.LFSObject{OID: f.LFS.OID, Size: f.LFS.Size}, off, n)
	if err != nil {
		return nil, fmt.Errorf("hf: open %s %s through the LFS batch API: %w", repo, path, err)
	}
	return rc, nil
}

func isCommitID(s string) bool {
	if len(s) != 40 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}

// snapshot returns the git snapshot of repo at rev, fetching it once per (repo, rev).
func (h *hfGitHub) snapshot(ctx context.Context, repo Repo, rev string) (*snapEntry, error) {
	key := snapKey{repo, rev}
	h.st.mu.Lock()
	e, ok := h.st.snaps[key]
	if !ok {
		e = &snapEntry{}
		h.st.snaps[key] = e
	}
	h.st.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil {
		return e, nil
	}
	snap, err := h.c.GitSnapshot(ctx, hfRepo(repo), rev)
	if err != nil {
		return nil, fmt.Errorf("hf: list %s@%s through git: %w", repo, revName(rev, HFDefaultBranch), err)
	}
	e.index = make(map[string]int, len(snap.Files()))
	for i, f := range snap.Files() {
		e.index[f.Path] = i
	}
	e.snap = snap
	if c := snap.Commit(); c != rev {
		// Later calls at the pinned commit share it.
		h.st.mu.Lock()
		if _, ok := h.st.snaps[snapKey{repo, c}]; !ok {
			h.st.snaps[snapKey{repo, c}] = e
		}
		h.st.mu.Unlock()
	}
	return e, nil
}
