// Package mshub adapts the ModelScope client (pkg/msclient) to the engine's migrate.Hub:
// listings, ranged reads, login and namespace checks, creation and visibility, LFS uploads and
// commits. ModelScope has no Spaces: every call on a Space fails with migrate.ErrUnsupported.
//
// It may import pkg/migrate, pkg/msclient and pkg/hubkit; the engine never imports it.
package mshub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// DefaultBranch is the default branch of ModelScope repositories.
const DefaultBranch = msclient.DefaultRevision

// Option configures a Hub.
type Option func(*config)

type config struct {
	limits  migrate.Limits
	webBase string
}

// WithLimits overrides the commit limits the adapter reports (a mirror with tighter limits, or
// tests). Zero fields keep the defaults: msclient.MaxCommitActions, MaxCommitInlineBytes.
func WithLimits(l migrate.Limits) Option { return func(c *config) { c.limits = l } }

// WithWebBase sets the base URL of the website WebURL uses (default: the client's endpoint).
func WithWebBase(base string) Option {
	return func(c *config) { c.webBase = strings.TrimRight(base, "/") }
}

// Hub adapts a *msclient.Client to migrate.Hub. Errors keep the client's typed errors wrapped,
// so errors.Is(err, hubkit.ErrNotFound) and errors.As(err, new(*msclient.Error)) both work.
type Hub struct {
	c   *msclient.Client
	cfg config
}

// New adapts c.
func New(c *msclient.Client, opts ...Option) *Hub {
	h := &Hub{c: c}
	for _, o := range opts {
		if o != nil {
			o(&h.cfg)
		}
	}
	return h
}

// msRepo is r as the client names it; a Space has no ModelScope counterpart.
func msRepo(r migrate.Repo) (hubkit.Repo, error) {
	switch r.Type {
	case hubkit.Model, "":
		return hubkit.Repo{Type: hubkit.Model, ID: r.ID}, nil
	case hubkit.Dataset:
		return hubkit.Repo{Type: hubkit.Dataset, ID: r.ID}, nil
	}
	return hubkit.Repo{}, fmt.Errorf("ms: %s: ModelScope has no %ss: %w", r, r.Type, migrate.ErrUnsupported)
}

// Name implements migrate.Hub.
func (h *Hub) Name() migrate.HubName { return migrate.ModelScope }

// Info implements migrate.Hub. A Space never exists on ModelScope: that is a plain not-found,
// which type detection and existence checks expect.
func (h *Hub) Info(ctx context.Context, repo migrate.Repo) (*migrate.RepoInfo, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, fmt.Errorf("%w (%w)", err, hubkit.ErrNotFound)
	}
	info, err := h.c.RepoInfo(ctx, r, "")
	if err != nil {
		return nil, fmt.Errorf("ms: info %s: %w", repo, err)
	}
	return &migrate.RepoInfo{Private: info.Private, Gated: info.Gated, DefaultBranch: DefaultBranch, UsedStorage: info.StorageSize}, nil
}

// Resolve implements migrate.Hub.
func (h *Hub) Resolve(ctx context.Context, repo migrate.Repo, rev string) (string, error) {
	r, err := msRepo(repo)
	if err != nil {
		return "", err
	}
	sha, err := h.c.ResolveRevision(ctx, r, rev)
	if err != nil {
		return "", fmt.Errorf("ms: resolve %s@%s: %w", repo, revName(rev), err)
	}
	return sha, nil
}

// List implements migrate.Hub.
func (h *Hub) List(ctx context.Context, repo migrate.Repo, rev string) ([]migrate.File, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	fs, err := h.c.ListFiles(ctx, r, rev)
	if err != nil {
		return nil, fmt.Errorf("ms: list %s@%s: %w", repo, revName(rev), err)
	}
	out := make([]migrate.File, len(fs))
	for i, f := range fs {
		out[i] = migrate.File{Path: f.Path, Size: f.Size, SHA256: strings.ToLower(f.SHA256), LFS: f.LFS}
	}
	return out, nil
}

// Open implements migrate.Hub.
func (h *Hub) Open(ctx context.Context, repo migrate.Repo, rev, p string, off, n int64) (io.ReadCloser, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	rc, err := h.c.Download(ctx, r, rev, p, off, n)
	if err != nil {
		return nil, fmt.Errorf("ms: open %s@%s %s: %w", repo, revName(rev), p, err)
	}
	return rc, nil
}

// CheckWrite implements migrate.Hub: it logs in with the token (the login refuses missing,
// invalid and read-only tokens) and checks the namespace: the user's own, or an organisation the
// hub lists for the user. ModelScope often does not list organisations; then another namespace is
// allowed here and the hub's own answer to the create or commit decides.
func (h *Hub) CheckWrite(ctx context.Context, repo migrate.Repo) error {
	if _, err := msRepo(repo); err != nil {
		return err
	}
	l, err := h.c.Login(ctx)
	if err != nil {
		if errors.Is(err, hubkit.ErrUnauthorized) || errors.Is(err, hubkit.ErrForbidden) {
			return fmt.Errorf("ms: the ModelScope token is missing or invalid (set MODELSCOPE_TOKEN to an SDK token with write access): %w", err)
		}
		return fmt.Errorf("ms: checking write access to %s: %w", repo, err)
	}
	if l.Reduced {
		return fmt.Errorf("ms: the MODELSCOPE_TOKEN of %q is a read-only or scoped token (the hub refused to log it in); %s needs a token with write access: %w",
			l.Username, repo, hubkit.ErrForbidden)
	}
	ns, _, _ := strings.Cut(repo.ID, "/")
	if strings.EqualFold(ns, l.Username) {
		return nil
	}
	u, err := h.c.WhoAmI(ctx)
	if err != nil || len(u.Orgs) == 0 {
		return nil // the hub does not tell (or whoami is unavailable): leave the decision to the hub
	}
	for _, o := range u.Orgs {
		if strings.EqualFold(ns, o) {
			return nil
		}
	}
	return fmt.Errorf("ms: the token belongs to %q, who is not %q nor a member of an organisation of that name (member of: %s): %w",
		l.Username, ns, strings.Join(u.Orgs, ", "), hubkit.ErrForbidden)
}

// Create implements migrate.Hub.
func (h *Hub) Create(ctx context.Context, repo migrate.Repo, private bool) error {
	r, err := msRepo(repo)
	if err != nil {
		return err
	}
	if err := h.c.CreateRepo(ctx, r, private); err != nil {
		return fmt.Errorf("ms: create %s: %w", repo, err)
	}
	return nil
}

// SetPrivate implements migrate.Hub.
func (h *Hub) SetPrivate(ctx context.Context, repo migrate.Repo, private bool) error {
	r, err := msRepo(repo)
	if err != nil {
		return err
	}
	if err := h.c.SetPrivate(ctx, r, private); err != nil {
		return fmt.Errorf("ms: set %s private=%t: %w", repo, private, err)
	}
	return nil
}

// UploadModes implements migrate.Hub with the official SDK's rule (msclient.WantsLFS), as
// ModelScope has no preupload endpoint.
func (h *Hub) UploadModes(_ context.Context, repo migrate.Repo, _ string, files []migrate.UploadCandidate) (map[string]bool, error) {
	out := make(map[string]bool, len(files))
	for _, f := range files {
		out[f.Path] = msclient.WantsLFS(repo.Type, f.Path, f.Size)
	}
	return out, nil
}

// PrepareBlobs implements migrate.Hub through ModelScope's LFS batch API.
func (h *Hub) PrepareBlobs(ctx context.Context, repo migrate.Repo, _ string, blobs []migrate.Blob) ([]migrate.BlobUpload, error) {
	r, err := msRepo(repo)
	if err != nil || len(blobs) == 0 {
		return nil, err
	}
	objs := make([]msclient.Object, len(blobs))
	for i, b := range blobs {
		objs[i] = msclient.Object{OID: b.OID, Size: b.Size}
	}
	ups, err := h.c.PrepareUpload(ctx, r, objs)
	if err != nil {
		return nil, fmt.Errorf("ms: prepare upload to %s: %w", repo, err)
	}
	out := make([]migrate.BlobUpload, len(ups))
	for i, u := range ups {
		o := u.Object()
		out[i] = migrate.UploadFunc(migrate.Blob{OID: o.OID, Size: o.Size},
			func(ctx context.Context, src hubkit.Source, _ migrate.UploadOptions) (migrate.UploadResult, error) {
				if err := u.Upload(ctx, src); err != nil {
					return migrate.UploadResult{}, fmt.Errorf("ms: upload %s (%d bytes) to %s: %w", o.OID, o.Size, repo, err)
				}
				return migrate.UploadResult{Transfer: "basic"}, nil
			})
	}
	return out, nil
}

// Commit implements migrate.Hub with one commit; the client waits out ModelScope's
// commit-frequency refusals (they did not apply) and sends it again.
func (h *Hub) Commit(ctx context.Context, repo migrate.Repo, branch, message string, ops []hubkit.CommitOp) (string, error) {
	r, err := msRepo(repo)
	if err != nil {
		return "", err
	}
	ci, err := h.c.Commit(ctx, r, revName(branch), message, ops)
	if err != nil {
		return "", fmt.Errorf("ms: commit to %s: %w", repo, err)
	}
	return ci.OID, nil
}

// Limits implements migrate.Hub.
func (h *Hub) Limits() migrate.Limits {
	def := migrate.Limits{MaxOps: msclient.MaxCommitActions, MaxInlineFiles: msclient.MaxCommitActions,
		MaxInlineBytes: msclient.MaxCommitInlineBytes, MaxFileSize: msclient.MaxFileSize}
	return def.Override(h.cfg.limits)
}

// WebURL implements migrate.Hub: https://modelscope.cn/models/ns/name or /datasets/ns/name on
// the client's endpoint (or WithWebBase).
func (h *Hub) WebURL(repo migrate.Repo) string {
	base := h.cfg.webBase
	if base == "" {
		base = strings.TrimRight(h.c.Endpoint(), "/")
	}
	if repo.Type == hubkit.Dataset {
		return base + "/datasets/" + repo.ID
	}
	return base + "/models/" + repo.ID
}

// revName is rev, or the default branch when rev is "".
func revName(rev string) string {
	if rev == "" {
		return DefaultBranch
	}
	return rev
}
