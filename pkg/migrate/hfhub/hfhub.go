// Package hfhub adapts the Hugging Face client (pkg/hub) to the engine's migrate.Hub: listings,
// ranged reads, repository checks and creation, preupload, LFS uploads and NDJSON commits, and a
// git fallback (git.go) for repositories whose HTTP downloads are locked.
//
// It may import pkg/migrate, pkg/hub and pkg/hubkit; the engine never imports it.
package hfhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// DefaultBranch is the default branch of Hugging Face repositories.
const DefaultBranch = "main"

// Option configures a Hub.
type Option func(*config)

type config struct {
	limits     migrate.Limits
	webBase    string
	useGit     bool
	noFallback bool
}

// WithLimits overrides the commit limits the adapter reports (a mirror with tighter limits, or
// tests). Zero fields keep the defaults: hub.MaxCommitOps, MaxCommitInlineFiles,
// MaxCommitInlineBytes.
func WithLimits(l migrate.Limits) Option { return func(c *config) { c.limits = l } }

// WithWebBase sets the base URL of the website WebURL uses (default: the client's endpoint, so a
// mirror or a test server shows its own URLs).
func WithWebBase(base string) Option {
	return func(c *config) { c.webBase = strings.TrimRight(base, "/") }
}

// WithUseGit makes the adapter resolve, list and download through git and the LFS batch API
// from the start, never through the HTTP API's resolve, tree or paths-info routes (--use-git).
// migrate.Options.UseGit does the same for one job (ForJob).
func WithUseGit(on bool) Option { return func(c *config) { c.useGit = on } }

// WithGitFallback turns the automatic switch to git on a storage lock on (the default) or off.
func WithGitFallback(on bool) Option { return func(c *config) { c.noFallback = !on } }

// Hub adapts a *hub.Client to migrate.Hub. Errors keep the client's typed errors wrapped, so
// errors.Is(err, hubkit.ErrNotFound) and errors.As(err, new(*hub.Error)) both work. It also
// implements migrate.JobHub (Options.UseGit) and migrate.Noticer (the git fallback's notice).
type Hub struct {
	c   *hub.Client
	cfg config
	git *gitState // shared by the views ForJob makes, so a repo is fetched once
}

// New adapts c.
func New(c *hub.Client, opts ...Option) *Hub {
	cfg := config{}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	return &Hub{c: c, cfg: cfg, git: newGitState()}
}

// ForJob implements migrate.JobHub: with o.UseGit it returns a view of h that reads through git.
func (h *Hub) ForJob(o migrate.Options) migrate.Hub {
	if !o.UseGit || h.cfg.useGit {
		return h
	}
	v := *h
	v.cfg.useGit = true
	return &v
}

func hfRepo(r migrate.Repo) hubkit.Repo { return hubkit.Repo{Type: r.Type, ID: r.ID} }

// Name implements migrate.Hub.
func (h *Hub) Name() migrate.HubName { return migrate.HuggingFace }

// Info implements migrate.Hub. On a storage lock it answers from git (see git.go).
func (h *Hub) Info(ctx context.Context, repo migrate.Repo) (*migrate.RepoInfo, error) {
	info, err := h.c.RepoInfo(ctx, hfRepo(repo), "")
	if err != nil {
		if h.fallback(repo, err) {
			return h.gitInfo(ctx, repo)
		}
		return nil, fmt.Errorf("hf: info %s: %w", repo, err)
	}
	return &migrate.RepoInfo{
		Private:       info.Private,
		Gated:         info.Gated != "",
		DefaultBranch: DefaultBranch,
		Head:          info.SHA,
		UsedStorage:   info.UsedStorage,
	}, nil
}

// Resolve implements migrate.Hub.
func (h *Hub) Resolve(ctx context.Context, repo migrate.Repo, rev string) (string, error) {
	if !h.viaGit(repo) {
		sha, err := h.c.ResolveRevision(ctx, hfRepo(repo), rev)
		if err == nil {
			return sha, nil
		}
		if !h.fallback(repo, err) {
			return "", fmt.Errorf("hf: resolve %s@%s: %w", repo, revName(rev), err)
		}
	}
	return h.gitResolve(ctx, repo, rev)
}

// List implements migrate.Hub.
func (h *Hub) List(ctx context.Context, repo migrate.Repo, rev string) ([]migrate.File, error) {
	if !h.viaGit(repo) {
		entries, err := h.c.ListFiles(ctx, hfRepo(repo), rev)
		if err == nil {
			return listed(entries), nil
		}
		if !h.fallback(repo, err) {
			return nil, fmt.Errorf("hf: list %s@%s: %w", repo, revName(rev), err)
		}
	}
	return h.gitList(ctx, repo, rev)
}

// listed turns tree entries into the engine's files.
func listed(entries []hub.TreeEntry) []migrate.File {
	files := make([]migrate.File, 0, len(entries))
	for _, e := range entries {
		f := migrate.File{Path: e.Path, Size: e.Size, GitOID: e.OID, XetHash: e.XetHash}
		if e.LFS != nil {
			f.LFS = true
			f.SHA256 = strings.ToLower(e.LFS.OID)
			if e.LFS.Size > 0 || e.Size == 0 {
				f.Size = e.LFS.Size
			}
		}
		files = append(files, f)
	}
	return files
}

// Open implements migrate.Hub.
func (h *Hub) Open(ctx context.Context, repo migrate.Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	if !h.viaGit(repo) {
		rc, err := h.c.Download(ctx, hfRepo(repo), rev, path, off, n)
		if err == nil {
			return rc, nil
		}
		if !h.fallback(repo, err) {
			return nil, fmt.Errorf("hf: open %s@%s %s: %w", repo, revName(rev), path, err)
		}
	}
	return h.gitOpen(ctx, repo, rev, path, off, n)
}

// CheckWrite implements migrate.Hub: whoami-v2 says who the token belongs to; the namespace
// must be the user or one of the user's organisations, and the token's role must allow writing
// (a read token fails here, not halfway through a migration).
func (h *Hub) CheckWrite(ctx context.Context, repo migrate.Repo) error {
	u, err := h.c.WhoAmI(ctx)
	if err != nil {
		if errors.Is(err, hubkit.ErrUnauthorized) {
			return fmt.Errorf("hf: the Hugging Face token is missing or invalid (set HF_TOKEN to a write token): %w", err)
		}
		return fmt.Errorf("hf: checking write access to %s: %w", repo, err)
	}
	ns, _, _ := strings.Cut(repo.ID, "/")
	member := strings.EqualFold(ns, u.Name)
	for _, o := range u.Orgs {
		member = member || strings.EqualFold(ns, o)
	}
	if !member {
		return fmt.Errorf("hf: the token belongs to %q, who is not %q nor a member of an organisation of that name (member of: %s): %w",
			u.Name, ns, orList(u.Orgs), hubkit.ErrForbidden)
	}
	if strings.EqualFold(u.Role, "read") {
		return fmt.Errorf("hf: the HF_TOKEN of %q is a read token; %s needs a token with write access: %w", u.Name, repo, hubkit.ErrForbidden)
	}
	return nil
}

// Create implements migrate.Hub.
func (h *Hub) Create(ctx context.Context, repo migrate.Repo, private bool) error {
	if _, err := h.c.CreateRepo(ctx, hfRepo(repo), private); err != nil {
		return fmt.Errorf("hf: create %s: %w", repo, err)
	}
	return nil
}

// SetPrivate implements migrate.Hub.
func (h *Hub) SetPrivate(ctx context.Context, repo migrate.Repo, private bool) error {
	if err := h.c.SetPrivate(ctx, hfRepo(repo), private); err != nil {
		return fmt.Errorf("hf: set %s private=%t: %w", repo, private, err)
	}
	return nil
}

// UploadModes implements migrate.Hub through the Hub's preupload endpoint, which decides from
// .gitattributes, size and the sample. Empty files are always regular (storage rejects empty LFS
// objects).
func (h *Hub) UploadModes(ctx context.Context, repo migrate.Repo, branch string, files []migrate.UploadCandidate) (map[string]bool, error) {
	out := make(map[string]bool, len(files))
	req := make([]hub.PreuploadFile, 0, len(files))
	for _, f := range files {
		out[f.Path] = false
		if f.Size > 0 {
			req = append(req, hub.PreuploadFile{Path: f.Path, Size: f.Size, Sample: f.Sample})
		}
	}
	if len(req) == 0 {
		return out, nil
	}
	res, err := h.c.Preupload(ctx, hfRepo(repo), revName(branch), req)
	if err != nil {
		return nil, fmt.Errorf("hf: preupload %s: %w", repo, err)
	}
	for _, r := range res {
		if _, ok := out[r.Path]; ok {
			out[r.Path] = r.UploadMode == "lfs"
		}
	}
	return out, nil
}

// PrepareBlobs implements migrate.Hub through the LFS batch API.
func (h *Hub) PrepareBlobs(ctx context.Context, repo migrate.Repo, branch string, blobs []migrate.Blob) ([]migrate.BlobUpload, error) {
	if len(blobs) == 0 {
		return nil, nil
	}
	objs := make([]hub.LFSObject, len(blobs))
	for i, b := range blobs {
		objs[i] = hub.LFSObject{OID: b.OID, Size: b.Size}
	}
	ups, err := h.c.PrepareLFSUpload(ctx, hfRepo(repo), revName(branch), objs)
	if err != nil {
		return nil, fmt.Errorf("hf: prepare LFS upload to %s: %w", repo, err)
	}
	out := make([]migrate.BlobUpload, len(ups))
	for i, u := range ups {
		o := u.Object()
		out[i] = migrate.UploadFunc(migrate.Blob{OID: o.OID, Size: o.Size},
			func(ctx context.Context, src hubkit.Source, opt migrate.UploadOptions) (migrate.UploadResult, error) {
				if err := u.Upload(ctx, src, hub.WithParts(opt.Parts)); err != nil {
					return migrate.UploadResult{}, fmt.Errorf("hf: upload %s (%d bytes) to %s: %w", o.OID, o.Size, repo, err)
				}
				return migrate.UploadResult{Transfer: u.Transfer(), Deduplicated: u.Deduplicated()}, nil
			})
	}
	return out, nil
}

// Commit implements migrate.Hub with one NDJSON commit.
func (h *Hub) Commit(ctx context.Context, repo migrate.Repo, branch, message string, ops []hubkit.CommitOp) (string, error) {
	ci, err := h.c.Commit(ctx, hfRepo(repo), revName(branch), hub.CommitOptions{Summary: message}, ops)
	if err != nil {
		return "", fmt.Errorf("hf: commit to %s: %w", repo, err)
	}
	return ci.OID, nil
}

// Limits implements migrate.Hub.
func (h *Hub) Limits() migrate.Limits {
	def := migrate.Limits{MaxOps: hub.MaxCommitOps, MaxInlineFiles: hub.MaxCommitInlineFiles, MaxInlineBytes: hub.MaxCommitInlineBytes}
	return def.Override(h.cfg.limits)
}

// WebURL implements migrate.Hub: https://huggingface.co/ns/name, /datasets/ns/name or
// /spaces/ns/name on the client's endpoint (or WithWebBase).
func (h *Hub) WebURL(repo migrate.Repo) string {
	base := h.cfg.webBase
	if base == "" {
		base = strings.TrimRight(h.c.Endpoint(), "/")
	}
	return base + "/" + hfRepo(repo).String()
}

// revName is rev, or the default branch when rev is "".
func revName(rev string) string {
	if rev == "" {
		return DefaultBranch
	}
	return rev
}

// orList is s joined with commas, or "none".
func orList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
