package migrate

import (
	"context"
	"fmt"
	"io"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// HubName names a hub.
type HubName string

// The hubs hf2ms knows.
const (
	HuggingFace HubName = "hf"
	ModelScope  HubName = "ms"
)

// String returns the hub's display name.
func (h HubName) String() string {
	switch h {
	case HuggingFace:
		return "Hugging Face"
	case ModelScope:
		return "ModelScope"
	}
	return string(h)
}

// Repo identifies a repository on a hub.
type Repo struct {
	Hub  HubName         `json:"hub"`
	Type hubkit.RepoType `json:"type"`
	// ID is "namespace/name".
	ID string `json:"id"`
}

// String renders the repo as "hf:ns/name", "hf:datasets/ns/name" or "ms:datasets/ns/name".
func (r Repo) String() string {
	// string(r.Hub): HubName's String method gives the display name, not the prefix.
	switch r.Type {
	case hubkit.Dataset:
		return fmt.Sprintf("%s:datasets/%s", string(r.Hub), r.ID)
	case hubkit.Space:
		return fmt.Sprintf("%s:spaces/%s", string(r.Hub), r.ID)
	}
	return fmt.Sprintf("%s:%s", string(r.Hub), r.ID)
}

// RepoInfo is what the engine needs to know about an existing repository.
type RepoInfo struct {
	Private bool
	Gated   bool
	// DefaultBranch is the branch a migration reads from and writes to when none is given
	// ("main" on Hugging Face, "master" on ModelScope).
	DefaultBranch string
	// Head is the default branch's commit id, when the hub reports one.
	Head string
	// UsedStorage is the repo's size in bytes as reported by the hub (0 if unknown).
	UsedStorage int64
}

// File is one file of a repository listing.
type File struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
	// SHA256 is the content's SHA-256 in lower-case hex, "" when the hub gives none (Hugging Face
	// gives none for regular, non-LFS files).
	SHA256 string `json:"sha256,omitempty"`
	// GitOID is the git blob id, "" when the hub gives none.
	GitOID string `json:"git_oid,omitempty"`
	// LFS reports whether the hub stores the file as an LFS object.
	LFS bool `json:"lfs,omitempty"`
	// XetHash is the file's Xet hash when the hub stores it in Xet (Hugging Face lists one for
	// Xet-backed files; the file is then read through Xet), "" otherwise.
	XetHash string `json:"xet_hash,omitempty"`
}

// Blob is an LFS object: a SHA-256 and a size.
type Blob struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// BlobUpload is a blob the destination does not store yet.
type BlobUpload interface {
	Blob() Blob
	// Upload streams the blob from src into the hub, verifying size and SHA-256 in flight; on a
	// mismatch it fails with an error matching hubkit.ErrHashMismatch and the hub keeps nothing.
	// It makes one attempt: the engine owns retrying a whole blob (see the package doc).
	Upload(ctx context.Context, src hubkit.Source, o UploadOptions) (UploadResult, error)
}

// UploadOptions tune one blob upload.
type UploadOptions struct {
	// Parts is how many parts of a multipart upload are in flight (0: the hub's default).
	Parts int
}

// UploadResult says how a blob travelled.
type UploadResult struct {
	// Transfer is the transfer the hub chose ("basic", "multipart", "xet"; "" if unknown).
	Transfer string `json:"transfer,omitempty"`
	// Deduplicated is how many of the blob's bytes did not travel because the destination
	// already held them (Xet's chunk deduplication).
	Deduplicated int64 `json:"deduplicated,omitempty"`
}

// UploadFunc makes a BlobUpload of a blob and the function that uploads it (what hub adapters
// return from PrepareBlobs).
func UploadFunc(b Blob, upload func(context.Context, hubkit.Source, UploadOptions) (UploadResult, error)) BlobUpload {
	return uploadFunc{b, upload}
}

type uploadFunc struct {
	b Blob
	f func(context.Context, hubkit.Source, UploadOptions) (UploadResult, error)
}

func (u uploadFunc) Blob() Blob { return u.b }

func (u uploadFunc) Upload(ctx context.Context, src hubkit.Source, o UploadOptions) (UploadResult, error) {
	return u.f(ctx, src, o)
}

// UploadCandidate is a file the destination must classify as LFS or regular.
type UploadCandidate struct {
	Path string
	Size int64
	// Sample is the file's first bytes (up to 512).
	Sample []byte
}

// Limits are a hub's commit limits; the engine splits commits to stay inside them.
type Limits struct {
	// MaxOps is the most operations one commit may carry.
	MaxOps int
	// MaxInlineFiles is the most hubkit.OpAddFile operations one commit may carry.
	MaxInlineFiles int
	// MaxInlineBytes is the most inline content one commit may carry.
	MaxInlineBytes int64
	// MaxFileSize is the largest file the hub takes (0: no limit); the plan refuses larger ones.
	MaxFileSize int64
}

// Override returns l with o's non-zero fields in place of l's.
func (l Limits) Override(o Limits) Limits {
	l.MaxOps = positiveOr(o.MaxOps, l.MaxOps)
	l.MaxInlineFiles = positiveOr(o.MaxInlineFiles, l.MaxInlineFiles)
	l.MaxInlineBytes = positiveOr(o.MaxInlineBytes, l.MaxInlineBytes)
	l.MaxFileSize = positiveOr(o.MaxFileSize, l.MaxFileSize)
	return l
}

// Hub is what the engine needs from a hub. The adapters hfhub and mshub (subpackages) wrap
// pkg/hub and pkg/msclient; tests and library users may provide their own; the contract suite in
// migratetest says what every implementation must do. Errors match the kinds of
// pkg/hubkit (hubkit.ErrNotFound, hubkit.ErrUnauthorized, ...) with errors.Is.
type Hub interface {
	// Name says which hub this is.
	Name() HubName
	// Info describes repo; hubkit.ErrNotFound when it does not exist (or is invisible to the token).
	Info(ctx context.Context, repo Repo) (*RepoInfo, error)
	// Resolve pins rev (a branch, tag or commit; "" for the default branch) to a commit id.
	Resolve(ctx context.Context, repo Repo, rev string) (string, error)
	// List returns every file of repo at rev (a commit id or branch).
	List(ctx context.Context, repo Repo, rev string) ([]File, error)
	// Open reads n bytes (n < 0: to the end) of path at rev from off. Transient failures during
	// the body are resumed by range inside.
	Open(ctx context.Context, repo Repo, rev, path string, off, n int64) (io.ReadCloser, error)
	// CheckWrite verifies, before any transfer, that the namespace of repo exists and the token
	// may create and write repositories there.
	CheckWrite(ctx context.Context, repo Repo) error
	// Create creates repo; hubkit.ErrConflict when it already exists.
	Create(ctx context.Context, repo Repo, private bool) error
	// SetPrivate changes repo's visibility.
	SetPrivate(ctx context.Context, repo Repo, private bool) error
	// UploadModes reports which candidates the hub wants stored as LFS (true) rather than inline.
	UploadModes(ctx context.Context, repo Repo, branch string, files []UploadCandidate) (map[string]bool, error)
	// PrepareBlobs returns an upload for each blob the hub does not already store; stored blobs
	// are omitted.
	PrepareBlobs(ctx context.Context, repo Repo, branch string, blobs []Blob) ([]BlobUpload, error)
	// Commit writes ops to branch as one commit and returns its id. The engine keeps ops within
	// Limits. A commit is never retried blindly by the hub client.
	Commit(ctx context.Context, repo Repo, branch, message string, ops []hubkit.CommitOp) (string, error)
	// Limits returns the hub's commit limits.
	Limits() Limits
	// WebURL is the repo's page on the hub's website.
	WebURL(repo Repo) string
}

// JobHub is implemented by hubs whose behaviour depends on a job's options (the Hugging Face
// adapter reads Options.UseGit). The engine calls ForJob once per run or job and uses the hub it
// returns, so the option works the same in-process and in a remote worker.
type JobHub interface {
	ForJob(o Options) Hub
}

// forJob returns h configured for o when h is a JobHub.
func forJob(h Hub, o Options) Hub {
	if j, ok := h.(JobHub); ok {
		return j.ForJob(o)
	}
	return h
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
