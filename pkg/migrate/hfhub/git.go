package hfhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// The git fallback. When the Hub's HTTP API refuses a source repo's info, listing or downloads
// with a storage lock (403, hubkit.ErrStorageLocked; never on 401 or 404, where git would fail
// the same way), the adapter switches that repo to git: it resolves and lists through git's
// smart HTTP protocol (hub.Client.GitSnapshot, depth 1, in memory), serves regular files from the
// fetched git objects and LFS files through the LFS batch API (hub.Client.DownloadLFS, ranged),
// records one notice for the run's report (migrate.Noticer), and carries on. WithUseGit, or
// migrate.Options.UseGit through ForJob, reads through git from the start.

// gitState is what the fallback remembers: the repos switched to git, their notices, and the
// fetched snapshots (kept for the adapter's lifetime, i.e. the migration: regular files are read
// from them).
type gitState struct {
	mu       sync.Mutex
	switched map[migrate.Repo]bool
	notices  map[migrate.Repo][]string
	snaps    map[snapKey]*snapEntry
}

func newGitState() *gitState {
	return &gitState{switched: map[migrate.Repo]bool{}, notices: map[migrate.Repo][]string{}, snaps: map[snapKey]*snapEntry{}}
}

type snapKey struct {
	repo migrate.Repo
	rev  string
}

// snapEntry is one fetched snapshot, fetched once (mu held while fetching).
type snapEntry struct {
	mu    sync.Mutex
	snap  *hub.GitSnapshot
	index map[string]int // path -> index in snap.Files()
}

// Notices implements migrate.Noticer.
func (h *Hub) Notices(repo migrate.Repo) []string {
	h.git.mu.Lock()
	defer h.git.mu.Unlock()
	return append([]string(nil), h.git.notices[repo]...)
}

// switchToGit marks repo as read through git, noting why once.
func (h *Hub) switchToGit(repo migrate.Repo, why string) {
	h.git.mu.Lock()
	defer h.git.mu.Unlock()
	if !h.git.switched[repo] {
		h.git.switched[repo] = true
		h.git.notices[repo] = append(h.git.notices[repo], repo.String()+": "+why)
	}
}

// viaGit reports whether repo is read through git.
func (h *Hub) viaGit(repo migrate.Repo) bool {
	if h.cfg.useGit {
		h.switchToGit(repo, "reading the source through git and the LFS batch API (--use-git)")
		return true
	}
	h.git.mu.Lock()
	defer h.git.mu.Unlock()
	return h.git.switched[repo]
}

// fallback reports whether err calls for git, and if so switches repo.
func (h *Hub) fallback(repo migrate.Repo, err error) bool {
	if h.cfg.noFallback || !errors.Is(err, hubkit.ErrStorageLocked) {
		return false
	}
	h.switchToGit(repo, "the Hugging Face HTTP API refuses this repo's files (403, storage locked); switched to git and the LFS batch API")
	return true
}

// gitInfo answers Info from git: the head from the ref advertisement, and private unless
// anonymous git can read the repo.
func (h *Hub) gitInfo(ctx context.Context, repo migrate.Repo) (*migrate.RepoInfo, error) {
	head, err := h.c.GitResolve(ctx, hfRepo(repo), "")
	if err != nil {
		return nil, fmt.Errorf("hf: info %s through git (after %w): %w", repo, hubkit.ErrStorageLocked, err)
	}
	public, err := h.c.GitPublic(ctx, hfRepo(repo))
	if err != nil {
		return nil, fmt.Errorf("hf: info %s through git: %w", repo, err)
	}
	return &migrate.RepoInfo{Private: !public, DefaultBranch: DefaultBranch, Head: head}, nil
}

func (h *Hub) gitResolve(ctx context.Context, repo migrate.Repo, rev string) (string, error) {
	sha, err := h.c.GitResolve(ctx, hfRepo(repo), rev)
	if err != nil {
		return "", fmt.Errorf("hf: resolve %s@%s through git: %w", repo, revName(rev), err)
	}
	return sha, nil
}

func (h *Hub) gitList(ctx context.Context, repo migrate.Repo, rev string) ([]migrate.File, error) {
	e, err := h.snapshot(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	gf := e.snap.Files()
	files := make([]migrate.File, len(gf))
	for i, f := range gf {
		files[i] = migrate.File{Path: f.Path, Size: f.Size, GitOID: f.GitOID}
		if f.LFS != nil {
			files[i].LFS = true
			files[i].SHA256 = f.LFS.OID
		}
	}
	return files, nil
}

func (h *Hub) gitOpen(ctx context.Context, repo migrate.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	e, err := h.snapshot(ctx, repo, rev)
	if err != nil {
		return nil, err
	}
	i, ok := e.index[path]
	if !ok {
		return nil, fmt.Errorf("hf: open %s@%s %s through git: %w", repo, revName(rev), path, hub.ErrEntryNotFound)
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
	return len(s) == 40 && strings.Trim(s, "0123456789abcdef") == ""
}

// snapshot returns the git snapshot of repo at rev, fetching it once per (repo, rev).
func (h *Hub) snapshot(ctx context.Context, repo migrate.Repo, rev string) (*snapEntry, error) {
	key := snapKey{repo, rev}
	h.git.mu.Lock()
	e, ok := h.git.snaps[key]
	if !ok {
		e = &snapEntry{}
		h.git.snaps[key] = e
	}
	h.git.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap != nil {
		return e, nil
	}
	snap, err := h.c.GitSnapshot(ctx, hfRepo(repo), rev)
	if err != nil {
		return nil, fmt.Errorf("hf: list %s@%s through git: %w", repo, revName(rev), err)
	}
	e.index = make(map[string]int, len(snap.Files()))
	for i, f := range snap.Files() {
		e.index[f.Path] = i
	}
	e.snap = snap
	if c := snap.Commit(); c != rev {
		// Later calls at the pinned commit share it.
		h.git.mu.Lock()
		if _, ok := h.git.snaps[snapKey{repo, c}]; !ok {
			h.git.snaps[snapKey{repo, c}] = e
		}
		h.git.mu.Unlock()
	}
	return e, nil
}
