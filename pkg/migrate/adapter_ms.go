package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// ModelScope commit limits. Sources (protocols/modelscope.md §11.1-11.2): the hub answers 422
// above 2000 actions a commit ("commit request exceeds actions limit: N > 2000"), and the newest
// SDK keeps the estimated request body under about 8 MiB. Inline content travels base64 (4/3 the
// size) inside JSON, so 5 MiB of inline bytes stays under the 8 MiB body with room for the
// actions themselves.
const (
	// MSMaxCommitOps is the most actions per commit (msclient.MaxCommitActions).
	MSMaxCommitOps = msclient.MaxCommitActions
	// MSMaxInlineFiles is the most inline ("normal") files per commit; the byte cap binds first.
	MSMaxInlineFiles = msclient.MaxCommitActions
	// MSMaxInlineBytes is the most inline content per commit before base64.
	MSMaxInlineBytes = 5 << 20
)

// MSDefaultBranch is the default branch of ModelScope repositories.
const MSDefaultBranch = msclient.DefaultRevision

// MSInlineThreshold is the size above which a ModelScope upload goes to LFS (newest SDK, note
// §11.1: "LFS if size > 64 KiB or suffix in list").
const MSInlineThreshold = 64 << 10

// msInlineNames are the metadata files the newest ModelScope SDK always commits inline.
var msInlineNames = map[string]bool{
	"README.md": true, ".gitattributes": true, ".gitignore": true,
	"configuration.json": true, "configuration.yaml": true, "configuration.yml": true,
	"dataset_infos.json": true, "config.json": true,
}

// msInlineSuffixes are metadata suffixes always committed inline.
var msInlineSuffixes = []string{".msc", ".mdl"}

// msLFSSuffixes are the suffixes the ModelScope SDK always stores as LFS (model list, note §11.1).
var msLFSSuffixes = map[string]bool{
	".7z": true, ".arrow": true, ".bin": true, ".bz2": true, ".ckpt": true, ".ftz": true, ".gz": true,
	".h5": true, ".joblib": true, ".mlmodel": true, ".model": true, ".msgpack": true, ".npy": true,
	".npz": true, ".onnx": true, ".ot": true, ".parquet": true, ".pb": true, ".pickle": true,
	".pkl": true, ".pt": true, ".pth": true, ".rar": true, ".safetensors": true, ".tar": true,
	".tflite": true, ".tgz": true, ".wasm": true, ".xz": true, ".zip": true, ".zst": true,
}

// msDatasetLFSSuffixes are added for datasets (audio, image and video types, and jsonl).
var msDatasetLFSSuffixes = map[string]bool{
	".jpg": true, ".jpeg": true, ".png": true, ".gif": true, ".bmp": true, ".tif": true, ".tiff": true,
	".webp": true, ".wav": true, ".mp3": true, ".flac": true, ".ogg": true, ".m4a": true, ".aac": true,
	".mp4": true, ".avi": true, ".mkv": true, ".mov": true, ".webm": true, ".jsonl": true,
}

// msHub adapts *msclient.Client to Hub.
type msHub struct {
	c   *msclient.Client
	cfg adapterConfig
}

// NewMSHub adapts a ModelScope client (pkg/msclient) to the engine's Hub interface. Errors keep
// the client's typed errors wrapped, so errors.Is(err, hubkit.ErrNotFound) and
// errors.As(err, **msclient.Error) both work. ModelScope has no Spaces: every call on a hubkit.Space
// fails with ErrUnsupported.
func NewMSHub(c *msclient.Client, opts ...AdapterOption) Hub {
	return &msHub{c: c, cfg: newAdapterConfig(opts)}
}

func msRepo(r Repo) (hubkit.Repo, error) {
	switch r.Type {
	case hubkit.Model, "":
		return hubkit.Repo{Type: hubkit.Model, ID: r.ID}, nil
	case hubkit.Dataset:
		return hubkit.Repo{Type: hubkit.Dataset, ID: r.ID}, nil
	}
	return hubkit.Repo{}, fmt.Errorf("ms: %s: ModelScope has no %ss: %w", r, r.Type, ErrUnsupported)
}

func (h *msHub) Name() HubName { return ModelScope }

func (h *msHub) Info(ctx context.Context, repo Repo) (*RepoInfo, error) {
	r, err := msRepo(repo)
	if err != nil {
		if repo.Type == hubkit.Space {
			// A hubkit.Space never exists on ModelScope; say so as a plain not-found, which is what
			// type detection and existence checks expect.
			return nil, fmt.Errorf("%w (%w)", err, hubkit.ErrNotFound)
		}
		return nil, err
	}
	info, err := h.c.RepoInfo(ctx, r, "")
	if err != nil {
		return nil, fmt.Errorf("ms: info %s: %w", repo, err)
	}
	return &RepoInfo{
		Private:       info.Private,
		Gated:         info.Gated,
		DefaultBranch: MSDefaultBranch,
		UsedStorage:   info.StorageSize,
	}, nil
}

func (h *msHub) Resolve(ctx context.Context, repo Repo, rev string) (string, error) {
	r, err := msRepo(repo)
	if err != nil {
		return "", err
	}
	sha, err := h.c.ResolveRevision(ctx, r, rev)
	if err != nil {
		return "", fmt.Errorf("ms: resolve %s@%s: %w", repo, revName(rev, MSDefaultBranch), err)
	}
	return sha, nil
}

func (h *msHub) List(ctx context.Context, repo Repo, rev string) ([]File, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	fs, err := h.c.ListFiles(ctx, r, rev)
	if err != nil {
		return nil, fmt.Errorf("ms: list %s@%s: %w", repo, revName(rev, MSDefaultBranch), err)
	}
	out := make([]File, len(fs))
	for i, f := range fs {
		out[i] = File{Path: f.Path, Size: f.Size, SHA256: strings.ToLower(f.SHA256), LFS: f.LFS}
	}
	return out, nil
}

func (h *msHub) Open(ctx context.Context, repo Repo, rev, p string, off, n int64) (io.ReadCloser, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	rc, err := h.c.Download(ctx, r, rev, p, off, n)
	if err != nil {
		return nil, fmt.Errorf("ms: open %s@%s %s: %w", repo, revName(rev, MSDefaultBranch), p, err)
	}
	return rc, nil
}

// CheckWrite logs in with the token (the login refuses missing, invalid and read-only tokens) and
// checks the namespace: the user's own, or an organisation the hub lists for the user. ModelScope
// often does not list organisations; then another namespace is allowed here and the hub's own
// answer to the create or commit decides.
func (h *msHub) CheckWrite(ctx context.Context, repo Repo) error {
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
		// The hub does not tell (or whoami is unavailable): leave the decision to the hub.
		return nil
	}
	for _, o := range u.Orgs {
		if strings.EqualFold(ns, o) {
			return nil
		}
	}
	return fmt.Errorf("ms: the token belongs to %q, who is not %q nor a member of an organisation of that name (member of: %s): %w",
		l.Username, ns, orList(u.Orgs), hubkit.ErrForbidden)
}

func (h *msHub) Create(ctx context.Context, repo Repo, private bool) error {
	r, err := msRepo(repo)
	if err != nil {
		return err
	}
	if err := h.c.CreateRepo(ctx, r, private); err != nil {
		return fmt.Errorf("ms: create %s: %w", repo, err)
	}
	return nil
}

func (h *msHub) SetPrivate(ctx context.Context, repo Repo, private bool) error {
	r, err := msRepo(repo)
	if err != nil {
		return err
	}
	if err := h.c.SetPrivate(ctx, r, private); err != nil {
		return fmt.Errorf("ms: set %s private=%t: %w", repo, private, err)
	}
	return nil
}

// UploadModes applies the newest ModelScope SDK's rule (note §11.1), as ModelScope has no
// preupload endpoint: metadata files inline; otherwise LFS above MSInlineThreshold or for the
// SDK's LFS suffixes (datasets add media types); empty files inline. Anything above
// MSMaxInlineBytes goes to LFS, metadata included, since it could not travel in a commit body.
func (h *msHub) UploadModes(_ context.Context, repo Repo, _ string, files []UploadCandidate) (map[string]bool, error) {
	out := make(map[string]bool, len(files))
	for _, f := range files {
		out[f.Path] = msWantsLFS(repo.Type, f.Path, f.Size)
	}
	return out, nil
}

func msWantsLFS(t hubkit.RepoType, p string, size int64) bool {
	base := path.Base(p)
	switch {
	case size == 0:
		return false
	case size > MSMaxInlineBytes:
		// Even a metadata file this big would not fit in one commit's body inline.
		return true
	case msInlineNames[base]:
		return false
	}
	ext := strings.ToLower(path.Ext(base))
	for _, s := range msInlineSuffixes {
		if ext == s {
			return false
		}
	}
	if size > MSInlineThreshold || msLFSSuffixes[ext] {
		return true
	}
	return t == hubkit.Dataset && msDatasetLFSSuffixes[ext]
}

func (h *msHub) PrepareBlobs(ctx context.Context, repo Repo, _ string, blobs []Blob) ([]BlobUpload, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	if len(blobs) == 0 {
		return nil, nil
	}
	objs := make([]msclient.Object, len(blobs))
	for i, b := range blobs {
		objs[i] = msclient.Object{OID: b.OID, Size: b.Size}
	}
	ups, err := h.c.PrepareUpload(ctx, r, objs)
	if err != nil {
		return nil, fmt.Errorf("ms: prepare upload to %s: %w", repo, err)
	}
	out := make([]BlobUpload, len(ups))
	for i, u := range ups {
		o := u.Object()
		out[i] = blobUpload{hub: "ms", repo: repo, blob: Blob{OID: o.OID, Size: o.Size}, mismatch: hubkit.ErrHashMismatch,
			upload: func(ctx context.Context, src hubkit.Source) error { return u.Upload(ctx, src) }}
	}
	return out, nil
}

// Commit writes ops as one commit. It goes through the client's CommitInBatches, which waits out
// ModelScope's commit-frequency rejection and retries that commit (it did not apply); as the
// engine keeps ops within Limits, the batch is a single commit.
func (h *msHub) Commit(ctx context.Context, repo Repo, branch, message string, ops []hubkit.CommitOp) (string, error) {
	r, err := msRepo(repo)
	if err != nil {
		return "", err
	}
	cis, err := h.c.CommitInBatches(ctx, r, revName(branch, MSDefaultBranch), message, ops)
	if err != nil {
		return "", fmt.Errorf("ms: commit to %s: %w", repo, err)
	}
	if len(cis) == 0 {
		return "", nil
	}
	return cis[len(cis)-1].OID, nil
}

func (h *msHub) Limits() Limits {
	return h.cfg.apply(Limits{MaxOps: MSMaxCommitOps, MaxInlineFiles: MSMaxInlineFiles, MaxInlineBytes: MSMaxInlineBytes})
}

// WebURL is https://modelscope.cn/models/ns/name or /datasets/ns/name on the client's endpoint
// (or WithWebBase).
func (h *msHub) WebURL(repo Repo) string {
	base := h.cfg.webBase
	if base == "" {
		base = strings.TrimRight(h.c.Endpoint(), "/")
	}
	if repo.Type == hubkit.Dataset {
		return base + "/datasets/" + repo.ID
	}
	return base + "/models/" + repo.ID
}
