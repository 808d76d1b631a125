package hub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/capability"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp/sideband"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// MaxLFSPointerSize is the largest blob read as a possible Git LFS pointer (the git-lfs spec
// caps pointer files below 1024 bytes).
const MaxLFSPointerSize = 1024

// GitFile is one file of a revision read through git.
type GitFile struct {
	// Path is the file's path in the repository.
	Path string
	// Size is the content's size: the LFS object's size for LFS files, the blob's otherwise.
	Size int64
	// GitOID is the git blob id (of the pointer, for LFS files).
	GitOID string
	// LFS is set when the blob is a Git LFS pointer.
	LFS *LFSInfo
}

// GitSnapshot is one revision of a repository fetched through git's smart HTTP protocol with
// depth 1 into memory: no worktree, no disk. It keeps the fetched objects so regular files can be
// read (OpenBlob) for as long as the snapshot is referenced; LFS contents are not in git and are
// read with DownloadLFS. Its methods are safe for concurrent use.
type GitSnapshot struct {
	commit string
	files  []GitFile
	st     *memory.Storage
}

// Commit is the snapshot's commit id.
func (s *GitSnapshot) Commit() string { return s.commit }

// Files lists the snapshot's files in tree order. The slice is shared: do not modify it.
func (s *GitSnapshot) Files() []GitFile { return s.files }

// OpenBlob reads n bytes (n < 0: to the end) of the git blob oid from off, straight from the
// fetched objects (no copy).
func (s *GitSnapshot) OpenBlob(oid string, off, n int64) (io.ReadCloser, error) {
	if !commitRe.MatchString(oid) {
		return nil, fmt.Errorf("hub: git blob %q: %w", oid, hubkit.ErrInvalid)
	}
	obj, err := s.st.EncodedObject(plumbing.BlobObject, plumbing.NewHash(oid))
	if err != nil {
		return nil, fmt.Errorf("hub: git blob %s not in commit %s: %w", short(oid), short(s.commit), ErrEntryNotFound)
	}
	size := obj.Size()
	if off < 0 || off > size {
		return nil, fmt.Errorf("hub: git blob %s: offset %d outside its %d bytes: %w", short(oid), off, size, hubkit.ErrInvalid)
	}
	if n < 0 || off+n > size {
		n = size - off
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("hub: git blob %s: %w", short(oid), err)
	}
	if ra, ok := r.(io.ReaderAt); ok {
		return readCloser{io.NewSectionReader(ra, off, n), r}, nil
	}
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		_ = r.Close()
		return nil, fmt.Errorf("hub: git blob %s: %w", short(oid), err)
	}
	return readCloser{io.LimitReader(r, n), r}, nil
}

// Blob returns a copy of the git blob oid's bytes.
func (s *GitSnapshot) Blob(oid string) ([]byte, error) {
	rc, err := s.OpenBlob(oid, 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

type readCloser struct {
	io.Reader
	io.Closer
}

// gitURL is the repo's clone URL: {endpoint}/{prefix}{id}.git.
func (c *Client) gitURL(repo hubkit.Repo) string {
	return c.apiURL("/" + urlPrefix(repo) + escID(repo.ID) + ".git")
}

// gitSession opens an upload-pack session on the Hub, with the token as the Basic password
// (anonymous when anon or without a token). The token only goes to the Hub's clone URL.
func (c *Client) gitSession(repo hubkit.Repo, anon bool) (transport.UploadPackSession, error) {
	ep, err := transport.NewEndpoint(c.gitURL(repo))
	if err != nil {
		return nil, fmt.Errorf("hub: git endpoint for %s: %w", repo, hubkit.ErrInvalid)
	}
	var auth transport.AuthMethod
	if c.token != "" && !anon {
		auth = &githttp.BasicAuth{Username: "hf2ms", Password: c.token}
	}
	hc := *c.hc
	hc.Transport = userAgent{rt: c.hc.Transport, ua: c.userAgent}
	s, err := githttp.NewClient(&hc).NewUploadPackSession(ep, auth)
	if err != nil {
		return nil, fmt.Errorf("hub: git session for %s: %w", repo, err)
	}
	return s, nil
}

// userAgent sets hf2ms's User-Agent on git requests (go-git sets its own first).
type userAgent struct {
	rt http.RoundTripper
	ua string
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	rt := u.rt
	if rt == nil {
		rt = http.DefaultTransport
	}
	if u.ua != "" {
		r = r.Clone(r.Context())
		r.Header.Set("User-Agent", u.ua)
	}
	return rt.RoundTrip(r)
}

// gitError maps go-git's transport errors to the client's error kinds, without URLs or tokens.
func (c *Client) gitError(op string, err error, anon bool) error {
	e := &Error{Op: op, Message: httpx.RedactError(err).Error()}
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired):
		e.StatusCode = http.StatusUnauthorized
		if c.token == "" || anon {
			// Anonymous on a missing or private repo, as on the API.
			e.kinds = []error{ErrRepoNotFound}
		} else {
			e.kinds = []error{hubkit.ErrUnauthorized}
		}
	case errors.Is(err, transport.ErrAuthorizationFailed):
		e.StatusCode = http.StatusForbidden
		e.kinds = []error{hubkit.ErrForbidden}
	case errors.Is(err, transport.ErrRepositoryNotFound):
		e.StatusCode = http.StatusNotFound
		e.kinds = []error{ErrRepoNotFound}
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		e.kinds = []error{ErrRevisionNotFound}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("hub: %s: %w", op, err)
	default:
		return fmt.Errorf("hub: %s: %w", op, httpx.RedactError(err))
	}
	return e
}

// gitTarget is what a fetch wants: the object to ask for and, for refs, its name.
type gitTarget struct {
	want   plumbing.Hash
	peeled plumbing.Hash // the commit, when want is an annotated tag and the server peeled it
	isTip  bool          // want is advertised (any server serves it)
}

// resolveAdvertised finds rev ("" or HEAD: the default branch; a branch, tag, full ref name or
// commit id) among the advertised refs.
func resolveAdvertised(ar *packp.AdvRefs, rev string) (gitTarget, error) {
	refs, err := ar.AllReferences()
	if err != nil {
		return gitTarget{}, err
	}
	peel := func(h plumbing.Hash, name string) gitTarget {
		t := gitTarget{want: h, isTip: true}
		if p, ok := ar.Peeled[name]; ok {
			t.peeled = p
		}
		return t
	}
	if rev == "" || rev == "HEAD" {
		ref, err := storer.ResolveReference(refs, plumbing.HEAD)
		if err != nil {
			return gitTarget{}, fmt.Errorf("the server advertises no HEAD: %w", ErrRevisionNotFound)
		}
		return peel(ref.Hash(), ref.Name().String()), nil
	}
	if commitRe.MatchString(rev) {
		h := plumbing.NewHash(rev)
		for _, r := range ar.References {
			if r == h {
				return gitTarget{want: h, isTip: true}, nil
			}
		}
		for _, p := range ar.Peeled {
			if p == h {
				return gitTarget{want: h, isTip: true}, nil
			}
		}
		return gitTarget{want: h}, nil
	}
	cands := []string{"refs/heads/" + rev, "refs/tags/" + rev}
	if strings.HasPrefix(rev, "refs/") {
		cands = []string{rev}
	}
	for _, name := range cands {
		if h, ok := ar.References[name]; ok {
			return peel(h, name), nil
		}
	}
	return gitTarget{}, fmt.Errorf("no branch, tag or ref %q: %w", rev, ErrRevisionNotFound)
}

// GitResolve pins rev ("" for the default branch; a branch, tag, ref or commit id) to a commit
// id through git's ref advertisement (GET {clone_url}/info/refs?service=git-upload-pack), which
// keeps working when the HTTP API is storage-locked. A commit id that is no ref's tip is
// returned as is (its existence is checked by GitSnapshot).
func (c *Client) GitResolve(ctx context.Context, repo hubkit.Repo, rev string) (string, error) {
	if err := validateRepo(repo); err != nil {
		return "", err
	}
	op := "git resolve " + repo.String()
	s, err := c.gitSession(repo, false)
	if err != nil {
		return "", err
	}
	defer s.Close()
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		return "", c.gitError(op, err, false)
	}
	t, err := resolveAdvertised(ar, rev)
	if err != nil {
		return "", fmt.Errorf("hub: %s: %w", op, err)
	}
	if !t.peeled.IsZero() {
		return t.peeled.String(), nil
	}
	return t.want.String(), nil
}

// GitPublic reports whether repo can be read through git without credentials: true for public
// repos, false for private ones (and for repos that do not exist). It never sends the token.
func (c *Client) GitPublic(ctx context.Context, repo hubkit.Repo) (bool, error) {
	if err := validateRepo(repo); err != nil {
		return false, err
	}
	s, err := c.gitSession(repo, true)
	if err != nil {
		return false, err
	}
	defer s.Close()
	_, err = s.AdvertisedReferencesContext(ctx)
	switch {
	case err == nil, errors.Is(err, transport.ErrEmptyRemoteRepository):
		return true, nil
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrRepositoryNotFound),
		errors.Is(err, transport.ErrAuthorizationFailed):
		return false, nil
	}
	return false, c.gitError("git probe "+repo.String(), err, true)
}

// GitListFiles lists the files of repo at rev through git and returns them with the commit id
// they were read at. See GitSnapshot; the fetched objects are released on return.
func (c *Client) GitListFiles(ctx context.Context, repo hubkit.Repo, rev string) ([]GitFile, string, error) {
	s, err := c.GitSnapshot(ctx, repo, rev)
	if err != nil {
		return nil, "", err
	}
	return s.files, s.commit, nil
}

// GitSnapshot fetches rev of repo ("" for the default branch; a branch, tag, ref or commit id)
// through git's smart HTTP protocol (POST {clone_url}/git-upload-pack, depth 1) into memory,
// and lists its files, reading each LFS pointer's SHA-256 and size. A commit id that is no ref's
// tip is asked for directly when the server allows it (allow-reachable-sha1-in-want), else found
// by fetching every ref's full history. The token goes to the Hub only, as the Basic password.
func (c *Client) GitSnapshot(ctx context.Context, repo hubkit.Repo, rev string) (*GitSnapshot, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	op := "git fetch " + repo.String()
	s, err := c.gitSession(repo, false)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	ar, err := s.AdvertisedReferencesContext(ctx)
	if err != nil {
		return nil, c.gitError(op, err, false)
	}
	t, err := resolveAdvertised(ar, rev)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w", op, err)
	}
	want := t.want
	if !t.peeled.IsZero() && (ar.Capabilities.Supports(capability.AllowReachableSHA1InWant) || ar.Capabilities.Supports(capability.AllowTipSHA1InWant)) {
		want = t.peeled
	}
	st := memory.NewStorage()
	canWant := t.isTip || ar.Capabilities.Supports(capability.AllowReachableSHA1InWant)
	if canWant {
		err = c.fetchPack(ctx, s, ar, st, []plumbing.Hash{want}, 1)
		if err != nil && t.isTip {
			return nil, c.gitError(op, err, false)
		}
	}
	if !canWant || err != nil {
		// The server will not serve this commit by id: fetch every ref's history and look.
		st = memory.NewStorage()
		var all []plumbing.Hash
		seen := map[plumbing.Hash]bool{}
		for _, h := range ar.References {
			if !seen[h] {
				seen[h] = true
				all = append(all, h)
			}
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("hub: %s: no refs: %w", op, ErrRevisionNotFound)
		}
		s2, serr := c.gitSession(repo, false)
		if serr != nil {
			return nil, serr
		}
		defer s2.Close()
		if _, err := s2.AdvertisedReferencesContext(ctx); err != nil {
			return nil, c.gitError(op, err, false)
		}
		if err := c.fetchPack(ctx, s2, ar, st, all, 0); err != nil {
			return nil, c.gitError(op, err, false)
		}
	}
	commit, err := peelCommit(st, want)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: revision %s: %w", op, revLabel(rev), ErrRevisionNotFound)
	}
	files, err := listGitFiles(st, commit)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: reading commit %s: %w", op, short(commit.Hash.String()), err)
	}
	return &GitSnapshot{commit: commit.Hash.String(), files: files, st: st}, nil
}

func revLabel(rev string) string {
	if rev == "" {
		return "HEAD"
	}
	return rev
}

// fetchPack asks for wants (depth 0: full history) and stores the pack's objects in st.
func (c *Client) fetchPack(ctx context.Context, s transport.UploadPackSession, ar *packp.AdvRefs, st *memory.Storage, wants []plumbing.Hash, depth int) (err error) {
	req := packp.NewUploadPackRequestFromCapabilities(ar.Capabilities)
	req.Wants = wants
	if depth > 0 {
		if !ar.Capabilities.Supports(capability.Shallow) {
			return errors.New("the server does not support shallow fetches")
		}
		req.Depth = packp.DepthCommits(depth)
		if err := req.Capabilities.Set(capability.Shallow); err != nil {
			return err
		}
	}
	if ar.Capabilities.Supports(capability.NoProgress) {
		if err := req.Capabilities.Set(capability.NoProgress); err != nil {
			return err
		}
	}
	resp, err := s.UploadPack(ctx, req)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := resp.Close(); err == nil {
			err = cerr
		}
	}()
	var r io.Reader = resp
	switch {
	case req.Capabilities.Supports(capability.Sideband64k):
		r = sideband.NewDemuxer(sideband.Sideband64k, resp)
	case req.Capabilities.Supports(capability.Sideband):
		r = sideband.NewDemuxer(sideband.Sideband, resp)
	}
	return packfile.UpdateObjectStorage(st, r)
}

// peelCommit returns the commit h names, following annotated tags.
func peelCommit(st *memory.Storage, h plumbing.Hash) (*object.Commit, error) {
	for range 10 {
		obj, err := st.EncodedObject(plumbing.AnyObject, h)
		if err != nil {
			return nil, err
		}
		switch obj.Type() {
		case plumbing.CommitObject:
			return object.DecodeCommit(st, obj)
		case plumbing.TagObject:
			tag, err := object.DecodeTag(st, obj)
			if err != nil {
				return nil, err
			}
			h = tag.Target
		default:
			return nil, fmt.Errorf("object %s is a %s", h, obj.Type())
		}
	}
	return nil, errors.New("tag chain too long")
}

// listGitFiles walks commit's tree and reads LFS pointers.
func listGitFiles(st *memory.Storage, commit *object.Commit) ([]GitFile, error) {
	tree, err := commit.Tree()
	if err != nil {
		return nil, err
	}
	w := object.NewTreeWalker(tree, true, nil)
	defer w.Close()
	var files []GitFile
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if e.Mode == filemode.Dir || e.Mode == filemode.Submodule || !e.Mode.IsFile() {
			continue
		}
		obj, err := st.EncodedObject(plumbing.BlobObject, e.Hash)
		if err != nil {
			return nil, fmt.Errorf("blob %s of %s: %w", short(e.Hash.String()), name, err)
		}
		f := GitFile{Path: name, Size: obj.Size(), GitOID: e.Hash.String()}
		if obj.Size() < MaxLFSPointerSize {
			r, err := obj.Reader()
			if err != nil {
				return nil, err
			}
			var buf [MaxLFSPointerSize]byte
			n, _ := io.ReadFull(r, buf[:])
			_ = r.Close()
			if info, ok := ParseLFSPointer(buf[:n]); ok {
				f.LFS = info
				f.Size = info.Size
			}
		}
		files = append(files, f)
	}
}

// ParseLFSPointer parses a Git LFS pointer file (git-lfs spec v1: "version" first, then
// "oid sha256:<hex>" and "size <n>", one key a line), returning false when b is not one.
func ParseLFSPointer(b []byte) (*LFSInfo, bool) {
	if len(b) >= MaxLFSPointerSize || !bytes.HasSuffix(b, []byte("\n")) {
		return nil, false
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 3 {
		return nil, false
	}
	switch lines[0] {
	case "version https://git-lfs.github.com/spec/v1", "version https://hawser.github.com/spec/v1":
	default:
		return nil, false
	}
	info := &LFSInfo{PointerSize: int64(len(b)), Size: -1}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		k, v, ok := strings.Cut(l, " ")
		if !ok || seen[k] {
			return nil, false // a repeated key makes the pointer ambiguous
		}
		seen[k] = true
		switch k {
		case "oid":
			hexOID, ok := strings.CutPrefix(v, "sha256:")
			if !ok || len(hexOID) != 64 || !isHex(hexOID) {
				return nil, false
			}
			info.OID = hexOID
		case "size":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || strings.TrimLeft(v, "0123456789") != "" { // digits only, no sign
				return nil, false
			}
			info.Size = n
		}
	}
	if info.OID == "" || info.Size < 0 {
		return nil, false
	}
	return info, true
}
