package hub

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Upload limits of the Hub (huggingface_hub's _commit_api.py and the Hub's storage-limits docs page).
const (
	// MaxPreuploadFiles is the most files one preupload request carries (huggingface_hub: 256).
	MaxPreuploadFiles = 256
	// MaxLFSBatchObjects is the most objects one LFS batch request carries (huggingface_hub: 256).
	MaxLFSBatchObjects = 256
	// SampleSize is the most bytes of a file sent as the preupload sample.
	SampleSize = 512
)

// Commit limits: the engine splits its commits to stay inside them. The Hub documents 25k LFS
// files and a 1 GB regular-file payload per commit, a 60 s server-side timeout, and advises
// "around 50-100 files per commit" (huggingface_hub create_commit docs; hub-docs
// repositories-recommendations.md). The timeout, not the maxima, fails first, so stay well inside.
const (
	// MaxCommitOps is the most operations (mostly cheap LFS pointers) per commit: 10k of 25k.
	MaxCommitOps = 10000
	// MaxCommitInlineFiles is the most regular files (content inline, base64) per commit.
	MaxCommitInlineFiles = 100
	// MaxCommitInlineBytes is the most inline content per commit: 32 MiB of the 1 GB payload. A
	// committer holds one commit's content (and its NDJSON body) in memory, so this bounds it.
	MaxCommitInlineBytes = 32 << 20
)

// PreuploadFile is a file to classify as LFS or regular.
type PreuploadFile struct {
	Path string
	Size int64
	// Sample is the file's first bytes (only the first SampleSize are sent).
	Sample []byte
}

// PreuploadResult is the Hub's decision for one file.
type PreuploadResult struct {
	Path string `json:"path"`
	// UploadMode is "lfs" or "regular".
	UploadMode string `json:"uploadMode"`
	// ShouldIgnore is true when the repo's .gitignore excludes the path.
	ShouldIgnore bool `json:"shouldIgnore"`
	// OID is the remote file's current id (sha256 for LFS, git blob id otherwise), if any.
	OID string `json:"oid,omitempty"`
}

type preuploadFileJSON struct {
	Path   string `json:"path"`
	Sample string `json:"sample"`
	Size   int64  `json:"size"`
}

// Preupload asks the Hub whether each file should be stored as LFS or committed inline: POST
// /api/{type}s/{id}/preupload/{rev}, in requests of at most MaxPreuploadFiles files.
func (c *Client) Preupload(ctx context.Context, repo hubkit.Repo, rev string, files []PreuploadFile) ([]PreuploadResult, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	u := c.repoAPI(repo) + "/preupload/" + escRev(rev)
	out := make([]PreuploadResult, 0, len(files))
	for start := 0; start < len(files); start += MaxPreuploadFiles {
		batch := files[start:min(start+MaxPreuploadFiles, len(files))]
		req := struct {
			Files []preuploadFileJSON `json:"files"`
		}{Files: make([]preuploadFileJSON, len(batch))}
		for i, f := range batch {
			s := f.Sample
			if len(s) > SampleSize {
				s = s[:SampleSize]
			}
			req.Files[i] = preuploadFileJSON{Path: f.Path, Sample: base64.StdEncoding.EncodeToString(s), Size: f.Size}
		}
		var resp struct {
			Files []PreuploadResult `json:"files"`
		}
		if err := c.doJSON(ctx, "preupload "+repo.String(), routeRepo, http.MethodPost, u, req, &resp, true); err != nil {
			return nil, err
		}
		out = append(out, resp.Files...)
	}
	return out, nil
}

// LFSUpload is one object the Hub asked for, ready to upload. Create it with PrepareLFSUpload.
type LFSUpload struct {
	c        *Client
	obj      lfs.Object
	transfer string
	upload   lfs.Action
	verify   *lfs.Action
	dedup    int64
}

// UploadOption tunes one upload.
type UploadOption func(*uploadConfig)

type uploadConfig struct{ parts int }

// WithParts sets how many parts of a multipart upload are in flight at once (n <= 0 keeps the
// client's WithMultipartConcurrency setting). Memory is about n x the Hub's chunk size.
func WithParts(n int) UploadOption {
	return func(c *uploadConfig) {
		if n > 0 {
			c.parts = n
		}
	}
}

// Object returns the object this upload is for.
func (u *LFSUpload) Object() lfs.Object { return u.obj }

// Transfer returns the transfer the Hub chose: "basic", "multipart" or "xet".
func (u *LFSUpload) Transfer() string { return u.transfer }

// Upload streams the object from src to the Hub's storage, basic (one PUT from
// src.OpenRange(0, size)) or multipart (parts in parallel) as the Hub said, then calls the verify
// action. Bytes are SHA-256'd in flight; when they do not match the object, the upload is aborted
// (the Hub stores nothing) and the error matches hubkit.ErrHashMismatch.
func (u *LFSUpload) Upload(ctx context.Context, src hubkit.Source, opts ...UploadOption) error {
	c := u.c
	cfg := uploadConfig{parts: c.concurrency}
	for _, o := range opts {
		o(&cfg)
	}
	extra := http.Header{"User-Agent": {c.userAgent}}
	var err error
	switch u.transfer {
	case TransferXet:
		err = u.uploadXet(ctx, src)
	case lfs.TransferMultipart:
		err = lfs.PutMultipart(ctx, c.hc, u.upload, u.obj, src, lfs.MultipartOptions{
			Concurrency: cfg.parts,
			Header:      extra,
			Client:      c.lfsClient(),
		})
	default:
		rc, oerr := src.OpenRange(ctx, 0, u.obj.Size)
		if oerr != nil {
			return fmt.Errorf("hub: upload %s: open source: %w", short(u.obj.OID), oerr)
		}
		err = lfs.PutBasic(ctx, c.hc, u.upload, u.obj, rc, lfs.PutOptions{Header: extra})
		_ = rc.Close()
	}
	if err != nil {
		return fmt.Errorf("hub: upload %s (%d bytes): %w", short(u.obj.OID), u.obj.Size, c.fromLFS(err))
	}
	if u.verify != nil {
		if err := c.lfsClient().Verify(ctx, *u.verify, u.obj, c.host); err != nil {
			return fmt.Errorf("hub: verify %s: %w", short(u.obj.OID), c.fromLFS(err))
		}
	}
	return nil
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

func (c *Client) lfsClient() *lfs.Client {
	h := http.Header{"User-Agent": {c.userAgent}}
	if c.token != "" {
		h.Set("Authorization", "Bearer "+c.token)
	}
	return &lfs.Client{HTTP: c.hc, Header: h, CheckResponse: c.lfsCheck}
}

// lfsBatchURL is {endpoint}/{prefix}{id}.git/info/lfs/objects/batch.
func (c *Client) lfsBatchURL(repo hubkit.Repo) string {
	return c.apiURL("/" + urlPrefix(repo) + escID(repo.ID) + ".git/info/lfs/objects/batch")
}

// PrepareLFSUpload asks the Hub's LFS batch API (POST {prefix}{id}.git/info/lfs/objects/batch,
// operation "upload", transfers basic and multipart, at most MaxLFSBatchObjects a request) which
// of objs it still needs, and returns one upload for each; objects the Hub already stores are
// omitted. rev is the branch the objects will be committed to.
func (c *Client) PrepareLFSUpload(ctx context.Context, repo hubkit.Repo, rev string, objs []lfs.Object) ([]*LFSUpload, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	if rev == "" {
		rev = "main"
	}
	var out []*LFSUpload
	lc := c.lfsClient()
	for start := 0; start < len(objs); start += MaxLFSBatchObjects {
		batch := objs[start:min(start+MaxLFSBatchObjects, len(objs))]
		for _, o := range batch {
			if len(o.OID) != 64 || !isHex(o.OID) || o.Size < 0 {
				return nil, fmt.Errorf("hub: LFS upload to %s: object %q of %d bytes is not a lower-case sha256 and a size: %w", repo, o.OID, o.Size, hubkit.ErrInvalid)
			}
		}
		resp, err := lc.Batch(ctx, c.lfsBatchURL(repo), lfs.OpUpload, batch, rev, c.batchTransfers())
		if err != nil {
			return nil, fmt.Errorf("hub: LFS batch for %s: %w", repo, err)
		}
		if resp.Transfer != lfs.TransferBasic && resp.Transfer != lfs.TransferMultipart && (resp.Transfer != TransferXet || c.noXet) {
			return nil, fmt.Errorf("hub: LFS batch for %s: the Hub chose transfer %q, which this client does not speak", repo, resp.Transfer)
		}
		for _, r := range resp.Objects {
			if r.Error != nil {
				return nil, c.objectError("lfs batch "+repo.String(), routeAPI, r.OID, r.Error)
			}
			up, ok := r.Actions[lfs.ActionUpload]
			if !ok {
				continue // already stored
			}
			// Decide per object, as both official clients do: a batch answered "multipart" still
			// gives small objects a plain PUT action, recognisable by the missing chunk_size.
			u := &LFSUpload{c: c, obj: r.Object, transfer: lfs.TransferBasic, upload: up}
			if resp.Transfer == TransferXet {
				u.transfer = TransferXet
			} else if _, isMulti := up.Header["chunk_size"]; isMulti {
				u.transfer = lfs.TransferMultipart
			}
			if v, ok := r.Actions[lfs.ActionVerify]; ok {
				u.verify = &v
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// CommitOptions describe a commit.
type CommitOptions struct {
	Summary     string
	Description string
	// ParentCommit, when set, makes the Hub refuse the commit (hubkit.ErrConflict, 412) unless the
	// branch's head is still this commit.
	ParentCommit string
}

// CommitInfo is a commit the Hub made.
type CommitInfo struct {
	// OID is the new commit's id.
	OID string `json:"commitOid"`
	URL string `json:"commitUrl"`
	// PullRequestURL is set for commits opened as pull requests.
	PullRequestURL string `json:"pullRequestUrl,omitempty"`
}

type ndjsonLine struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// encodeCommit writes the NDJSON body: a header line then one line per operation.
func encodeCommit(opts CommitOptions, ops []hubkit.CommitOp) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	header := map[string]string{"summary": opts.Summary, "description": opts.Description}
	if opts.ParentCommit != "" {
		header["parentCommit"] = opts.ParentCommit
	}
	if err := enc.Encode(ndjsonLine{"header", header}); err != nil {
		return nil, err
	}
	for i, op := range ops {
		p := strings.TrimPrefix(op.Path, "/")
		if p == "" {
			return nil, fmt.Errorf("operation %d has an empty path: %w", i, hubkit.ErrInvalid)
		}
		if !utf8.ValidString(p) {
			// JSON would replace the bad bytes with U+FFFD and commit the file under another name.
			return nil, fmt.Errorf("operation %d: path %q is not valid UTF-8: %w", i, p, hubkit.ErrInvalid)
		}
		var line ndjsonLine
		switch op.Kind {
		case hubkit.OpAddFile:
			line = ndjsonLine{"file", map[string]string{"path": p, "content": base64.StdEncoding.EncodeToString(op.Content), "encoding": "base64"}}
		case hubkit.OpAddLFS:
			if len(op.SHA256) != 64 || !isHex(op.SHA256) {
				return nil, fmt.Errorf("operation %d (%s): LFS oid %q is not a lower-case sha256: %w", i, p, op.SHA256, hubkit.ErrInvalid)
			}
			line = ndjsonLine{"lfsFile", map[string]any{"path": p, "algo": "sha256", "oid": op.SHA256, "size": op.Size}}
		case hubkit.OpDelete:
			line = ndjsonLine{"deletedFile", map[string]string{"path": p}}
		default:
			return nil, fmt.Errorf("operation %d (%s): unknown kind %d: %w", i, p, op.Kind, hubkit.ErrInvalid)
		}
		if err := enc.Encode(line); err != nil {
			return nil, err
		}
	}
	return buf.Bytes(), nil
}

// Commit writes ops to branch ("" for main) as one commit: POST /api/{type}s/{id}/commit/{branch}
// with an NDJSON body (a header line, then "file", "lfsFile" and "deletedFile" lines). LFS
// objects must already be uploaded. A commit is never retried blindly: after a 5xx or a lost
// answer the commit may have happened, so the error is returned. Only a 429 (the Hub refused
// without processing) is waited out, up to WithMaxCommitWait per wait.
func (c *Client) Commit(ctx context.Context, repo hubkit.Repo, branch string, opts CommitOptions, ops []hubkit.CommitOp) (*CommitInfo, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	if strings.TrimSpace(opts.Summary) == "" { // the Hub refuses a blank summary
		opts.Summary = "Upload files with hf2ms"
	}
	body, err := encodeCommit(opts, ops)
	if err != nil {
		return nil, fmt.Errorf("hub: commit to %s: %w", repo, err)
	}
	op := "commit " + repo.String()
	for attempt := 0; ; attempt++ {
		ci, err := c.sendCommit(ctx, op, repo, branch, body)
		var he *Error
		if attempt < maxCommit429s && errors.As(err, &he) && he.StatusCode == http.StatusTooManyRequests {
			// A 429 means the Hub did not process the commit: waiting out the window and sending
			// it again cannot commit twice. Any other failure is returned as is.
			wait := time.Until(he.RetryAt)
			if he.RetryAt.IsZero() {
				wait = time.Duration(attempt+1) * time.Second
			}
			if wait > c.maxCommitWait {
				return nil, err
			}
			select {
			case <-time.After(max(wait, 0)):
				continue
			case <-ctx.Done():
				return nil, fmt.Errorf("%w (while waiting out a rate limit: %w)", err, ctx.Err())
			}
		}
		return ci, err
	}
}

// maxCommit429s is how many rate-limited (429) answers a commit waits out.
const maxCommit429s = 3

func (c *Client) sendCommit(ctx context.Context, op string, repo hubkit.Repo, branch string, body []byte) (*CommitInfo, error) {
	req, err := c.newRequest(ctx, http.MethodPost, c.repoAPI(repo)+"/commit/"+escRev(branch), bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.transportError(op, err)
	}
	defer drainClose(resp.Body)
	if err := c.checkResponse(op, routeRepo, resp); err != nil {
		return nil, err
	}
	var ci CommitInfo
	if err := json.NewDecoder(resp.Body).Decode(&ci); err != nil {
		return nil, fmt.Errorf("hub: %s: decode answer: %w", op, err)
	}
	if ci.OID == "" {
		return nil, fmt.Errorf("hub: %s: the Hub answered no commit id", op)
	}
	return &ci, nil
}
