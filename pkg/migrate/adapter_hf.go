package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// AdapterOption configures the hub adapters NewHFHub and NewMSHub.
type AdapterOption func(*adapterConfig)

type adapterConfig struct {
	limits  *Limits
	webBase string
	git     gitOptions // adapter_hf_git.go
}

func newAdapterConfig(opts []AdapterOption) adapterConfig {
	var c adapterConfig
	for _, o := range opts {
		if o != nil {
			o(&c)
		}
	}
	return c
}

// WithHubLimits overrides the commit limits the adapter reports (for tests, or a mirror with
// tighter limits). Zero fields keep the adapter's default.
func WithHubLimits(l Limits) AdapterOption {
	return func(c *adapterConfig) { c.limits = &l }
}

// WithWebBase sets the base URL of the hub's website used by WebURL (default: the client's
// endpoint, so a mirror or a test server shows its own URLs).
func WithWebBase(base string) AdapterOption {
	return func(c *adapterConfig) { c.webBase = strings.TrimRight(base, "/") }
}

func (c adapterConfig) apply(def Limits) Limits {
	if c.limits == nil {
		return def
	}
	l := def
	if c.limits.MaxOps > 0 {
		l.MaxOps = c.limits.MaxOps
	}
	if c.limits.MaxInlineFiles > 0 {
		l.MaxInlineFiles = c.limits.MaxInlineFiles
	}
	if c.limits.MaxInlineBytes > 0 {
		l.MaxInlineBytes = c.limits.MaxInlineBytes
	}
	return l
}

// Hugging Face commit limits. Sources (protocols/huggingface.md §6.4): create_commit is "limited
// to 25k LFS files and a 1GB payload for regular files", the server's HTTP commit timeout is 60 s
// and the storage docs advise "around 50-100 files per commit". We stay well inside: the 60 s
// timeout, not the documented maxima, is what fails first in practice.
const (
	// HFMaxCommitOps is the most operations (mostly cheap LFS pointers) per commit: 10k of the
	// documented 25k.
	HFMaxCommitOps = 10000
	// HFMaxInlineFiles is the most regular files (content inline, base64) per commit: the top of
	// the advised 50-100.
	HFMaxInlineFiles = 100
	// HFMaxInlineBytes is the most inline content per commit: 32 MiB of the documented 1 GB
	// payload. The commit step holds one commit's content (and its base64 NDJSON body) in memory,
	// so this bounds the process's memory; it also keeps each commit well under the 60 s timeout.
	HFMaxInlineBytes = 32 << 20
)

// HFDefaultBranch is the default branch of Hugging Face repositories.
const HFDefaultBranch = "main"

// hfHub adapts *hub.Client to Hub.
type hfHub struct {
	c   *hub.Client
	cfg adapterConfig
}

// NewHFHub adapts a Hugging Face client (pkg/hub) to the engine's Hub interface. Errors keep the
// client's typed errors wrapped, so errors.Is(err, hubkit.ErrNotFound) and errors.As(err, **hub.Error)
// both work.
func NewHFHub(c *hub.Client, opts ...AdapterOption) Hub {
	return newHFGitHub(&hfHub{c: c, cfg: newAdapterConfig(opts)}) // with the git fallback (adapter_hf_git.go)
}

func hfRepo(r Repo) hubkit.Repo {
	return hubkit.Repo{Type: hubkit.RepoType(r.Type), ID: r.ID}
}

func (h *hfHub) Name() HubName { return HuggingFace }

func (h *hfHub) Info(ctx context.Context, repo Repo) (*RepoInfo, error) {
	info, err := h.c.RepoInfo(ctx, hfRepo(repo), "")
	if err != nil {
		return nil, fmt.Errorf("hf: info %s: %w", repo, err)
	}
	return &RepoInfo{
		Private:       info.Private,
		Gated:         info.Gated != "",
		DefaultBranch: HFDefaultBranch,
		Head:          info.SHA,
		UsedStorage:   info.UsedStorage,
	}, nil
}

func (h *hfHub) Resolve(ctx context.Context, repo Repo, rev string) (string, error) {
	sha, err := h.c.ResolveRevision(ctx, hfRepo(repo), rev)
	if err != nil {
		return "", fmt.Errorf("hf: resolve %s@%s: %w", repo, revName(rev, HFDefaultBranch), err)
	}
	return sha, nil
}

func (h *hfHub) List(ctx context.Context, repo Repo, rev string) ([]File, error) {
	entries, err := h.c.ListFiles(ctx, hfRepo(repo), rev)
	if err != nil {
		return nil, fmt.Errorf("hf: list %s@%s: %w", repo, revName(rev, HFDefaultBranch), err)
	}
	files := make([]File, 0, len(entries))
	for _, e := range entries {
		f := File{Path: e.Path, Size: e.Size, GitOID: e.OID}
		if e.LFS != nil {
			f.LFS = true
			f.SHA256 = strings.ToLower(e.LFS.OID)
			if e.LFS.Size > 0 || e.Size == 0 {
				f.Size = e.LFS.Size
			}
		}
		files = append(files, f)
	}
	return files, nil
}

func (h *hfHub) Open(ctx context.Context, repo Repo, rev, path string, off, n int64) (io.ReadCloser, error) {
	rc, err := h.c.Download(ctx, hfRepo(repo), rev, path, off, n)
	if err != nil {
		return nil, fmt.Errorf("hf: open %s@%s %s: %w", repo, revName(rev, HFDefaultBranch), path, err)
	}
	return rc, nil
}

// CheckWrite asks whoami-v2 who the token belongs to: the namespace must be the user or one of
// the user's organisations, and the token's role must allow writing (a read token fails here, not
// halfway through a migration).
func (h *hfHub) CheckWrite(ctx context.Context, repo Repo) error {
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
		if strings.EqualFold(ns, o) {
			member = true
		}
	}
	if !member {
		return fmt.Errorf("hf: the token belongs to %q, who is not %q nor a member of an organisation of that name (member of: %s): %w",
			u.Name, ns, orList(u.Orgs), hubkit.ErrForbidden)
	}
	switch strings.ToLower(u.Role) {
	case "read":
		return fmt.Errorf("hf: the HF_TOKEN of %q is a read token; %s needs a token with write access: %w", u.Name, repo, hubkit.ErrForbidden)
	}
	return nil
}

func orList(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}

func (h *hfHub) Create(ctx context.Context, repo Repo, private bool) error {
	if _, err := h.c.CreateRepo(ctx, hfRepo(repo), private); err != nil {
		return fmt.Errorf("hf: create %s: %w", repo, err)
	}
	return nil
}

func (h *hfHub) SetPrivate(ctx context.Context, repo Repo, private bool) error {
	if err := h.c.SetPrivate(ctx, hfRepo(repo), private); err != nil {
		return fmt.Errorf("hf: set %s private=%t: %w", repo, private, err)
	}
	return nil
}

// UploadModes asks the Hub's preupload endpoint, which decides from .gitattributes, size and the
// sample. Empty files are always regular (storage rejects empty LFS objects).
func (h *hfHub) UploadModes(ctx context.Context, repo Repo, branch string, files []UploadCandidate) (map[string]bool, error) {
	out := make(map[string]bool, len(files))
	req := make([]hub.PreuploadFile, 0, len(files))
	for _, f := range files {
		out[f.Path] = false
		if f.Size == 0 {
			continue
		}
		req = append(req, hub.PreuploadFile{Path: f.Path, Size: f.Size, Sample: f.Sample})
	}
	if len(req) == 0 {
		return out, nil
	}
	res, err := h.c.Preupload(ctx, hfRepo(repo), revName(branch, HFDefaultBranch), req)
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

func (h *hfHub) PrepareBlobs(ctx context.Context, repo Repo, branch string, blobs []Blob) ([]BlobUpload, error) {
	if len(blobs) == 0 {
		return nil, nil
	}
	objs := make([]hub.LFSObject, len(blobs))
	for i, b := range blobs {
		objs[i] = hub.LFSObject{OID: b.OID, Size: b.Size}
	}
	ups, err := h.c.PrepareLFSUpload(ctx, hfRepo(repo), revName(branch, HFDefaultBranch), objs)
	if err != nil {
		return nil, fmt.Errorf("hf: prepare LFS upload to %s: %w", repo, err)
	}
	out := make([]BlobUpload, len(ups))
	for i, u := range ups {
		o := u.Object()
		out[i] = blobUpload{hub: "hf", repo: repo, blob: Blob{OID: o.OID, Size: o.Size}, mismatch: hubkit.ErrHashMismatch,
			upload: func(ctx context.Context, src hubkit.Source) error {
				return u.Upload(ctx, src, hub.WithParts(PartsFromContext(ctx)))
			}}
	}
	return out, nil
}

func (h *hfHub) Commit(ctx context.Context, repo Repo, branch, message string, ops []hubkit.CommitOp) (string, error) {
	ci, err := h.c.Commit(ctx, hfRepo(repo), revName(branch, HFDefaultBranch), hub.CommitOptions{Summary: message}, ops)
	if err != nil {
		return "", fmt.Errorf("hf: commit to %s: %w", repo, err)
	}
	return ci.OID, nil
}

func (h *hfHub) Limits() Limits {
	return h.cfg.apply(Limits{MaxOps: HFMaxCommitOps, MaxInlineFiles: HFMaxInlineFiles, MaxInlineBytes: HFMaxInlineBytes})
}

// WebURL is https://huggingface.co/ns/name, /datasets/ns/name or /spaces/ns/name on the
// client's endpoint (or WithWebBase).
func (h *hfHub) WebURL(repo Repo) string {
	base := h.cfg.webBase
	if base == "" {
		base = strings.TrimRight(h.c.Endpoint(), "/")
	}
	switch repo.Type {
	case hubkit.Dataset:
		return base + "/datasets/" + repo.ID
	case hubkit.Space:
		return base + "/spaces/" + repo.ID
	}
	return base + "/" + repo.ID
}

// revName is rev, or def when rev is "".
func revName(rev, def string) string {
	if rev == "" {
		return def
	}
	return rev
}

// blobUpload adapts a client's pending upload (either hub) to BlobUpload: errors name the hub,
// the blob and the repo, and the client's own hash-mismatch error also matches hubkit.ErrHashMismatch.
type blobUpload struct {
	hub      string // "hf" or "ms", as in the adapters' other messages
	repo     Repo
	blob     Blob
	mismatch error // the client's hash-mismatch sentinel
	upload   func(context.Context, hubkit.Source) error
}

func (b blobUpload) Blob() Blob { return b.blob }

func (b blobUpload) Upload(ctx context.Context, src hubkit.Source) error {
	err := b.upload(ctx, src)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, b.mismatch):
		return fmt.Errorf("%s: upload %s (%d bytes) to %s: %w: %w", b.hub, b.blob.OID, b.blob.Size, b.repo, hubkit.ErrHashMismatch, err)
	}
	return fmt.Errorf("%s: upload %s (%d bytes) to %s: %w", b.hub, b.blob.OID, b.blob.Size, b.repo, err)
}
