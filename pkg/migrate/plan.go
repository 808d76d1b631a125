package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"golang.org/x/sync/errgroup"
)

// InlineLimit is the largest regular file the engine holds in memory to commit inline (or to
// hash while planning). A larger regular file whose SHA-256 the source reports travels as an LFS
// blob, streamed like any other, so memory never depends on file size.
const InlineLimit int64 = 10 << 20

// Plan is what a migration will do: the pinned source commit and, per file, copy, skip or delete.
type Plan struct {
	Source Repo `json:"source"`
	Dest   Repo `json:"dest"`
	// SourceCommit is the pinned source commit every worker reads.
	SourceCommit string `json:"source_commit"`
	// SourcePrivate is the source's visibility.
	SourcePrivate bool `json:"source_private"`
	// DestExists reports whether the destination existed when planning.
	DestExists bool `json:"dest_exists"`
	// DestPrivate is the destination's visibility (the one it will get when it does not exist).
	DestPrivate bool `json:"dest_private"`
	// DestBranch is the destination branch written to.
	DestBranch string `json:"dest_branch"`
	// Copy, Skip and Delete are the decisions, sorted by path.
	Copy   []File `json:"copy"`
	Skip   []File `json:"skip"`
	Delete []File `json:"delete"`
	// Shards split the blob files of Copy (see ShardPlan); one shard unless Options.Parallel.
	Shards [][]File `json:"shards"`
	// Options are the options the plan was made with.
	Options Options `json:"options"`
	// Notices are remarks worth showing (e.g. a README that will be rewritten).
	Notices []string `json:"notices,omitempty"`

	// content holds what the planner learnt of regular files it read: the hashes of the bytes
	// that will be written (after the README fix).
	content map[string]contentHash
}

// contentHash is the hashes of a file's bytes as written to the destination.
type contentHash struct {
	sha256, gitOID string
	size           int64
	// managed holds the bytes of a hub-managed file (see hubManaged), checked by coverage.
	managed []byte
	// data holds the bytes to write while the plan keeps them (planKeepBytes).
	data []byte
}

// Summary is the plan as events and reports carry it.
func (p *Plan) Summary() *PlanSummary {
	s := &PlanSummary{
		Source: p.Source, Dest: p.Dest, SourceCommit: p.SourceCommit, DestExists: p.DestExists,
		CopyFiles: len(p.Copy), SkipFiles: len(p.Skip), DeleteFiles: len(p.Delete), Shards: len(p.Shards),
	}
	for _, f := range p.Copy {
		s.CopyBytes += f.Size
		if !isBlob(f) {
			continue
		}
		switch p.readRoute(f) {
		case RouteXet:
			s.XetReads++
		case RouteLFS:
			s.LFSReads++
		}
		s.XetWrites = s.XetWrites || p.Dest.Hub == HuggingFace
	}
	for _, f := range p.Skip {
		s.SkipBytes += f.Size
	}
	return s
}

// Routes a blob file can take to or from Hugging Face.
const (
	// RouteXet is Xet's chunk store.
	RouteXet = "xet"
	// RouteLFS is Git LFS (for Xet-backed files, the Hub's bridge that serves them as LFS).
	RouteLFS = "lfs"
	// RouteXetIfOffered is a write that goes through Xet when the Hub's LFS batch answer offers
	// the "xet" transfer, through LFS otherwise: only the upload itself tells.
	RouteXetIfOffered = "xet if the Hub offers it"
)

// readRoute is how a blob file is read from a Hugging Face source ("" for other sources).
func (p *Plan) readRoute(f File) string {
	switch {
	case p.Source.Hub != HuggingFace:
		return ""
	case f.XetHash != "":
		return RouteXet
	default:
		return RouteLFS
	}
}

// BlobRoute says, for a file of the plan, how it will travel as far as planning knows: for reads
// from Hugging Face "read: xet" (the listing gave it a Xet hash) or "read: lfs", for writes to
// Hugging Face "write: xet if the Hub offers it", joined by ", " when both apply. It is "" for
// files committed inline and for transfers between other hubs.
func (p *Plan) BlobRoute(f File) string {
	if !isBlob(f) {
		return ""
	}
	var parts []string
	if r := p.readRoute(f); r != "" {
		parts = append(parts, "read: "+r)
	}
	if p.Dest.Hub == HuggingFace {
		parts = append(parts, "write: "+RouteXetIfOffered)
	}
	return strings.Join(parts, ", ")
}

// ETA estimates how long the copy takes at rate bytes a second (0 when rate <= 0 or nothing to
// copy).
func (p *Plan) ETA(rate float64) time.Duration {
	var n int64
	for _, f := range p.Copy {
		n += f.Size
	}
	if rate <= 0 || n == 0 {
		return 0
	}
	return time.Duration(float64(n) / rate * float64(time.Second))
}

// Empty reports whether the plan neither copies nor deletes anything.
func (p *Plan) Empty() bool { return len(p.Copy) == 0 && len(p.Delete) == 0 }

// isBlob reports whether f travels as a streamed LFS blob (rather than inline in the commit).
func isBlob(f File) bool { return f.LFS || (f.Size > InlineLimit && f.SHA256 != "") }

// blobFiles returns the files of fs that travel as blobs.
func blobFiles(fs []File) []File {
	var out []File
	for _, f := range fs {
		if isBlob(f) {
			out = append(out, f)
		}
	}
	return out
}

// defaultBranch is a hub's default branch for a repository it does not describe yet.
func defaultBranch(h HubName) string {
	if h == ModelScope {
		return "master"
	}
	return "main"
}

// planInput is what buildPlan needs; the orchestrator and every worker fill it alike.
type planInput struct {
	src, dst   Hub
	from, to   Repo
	commit     string
	srcPrivate bool
	destInfo   *RepoInfo // nil: the destination does not exist
	opts       Options
}

// readmeFix reports whether path gets the README license rewrite from one hub to the other.
func readmeFix(from, to HubName, o Options, path string) bool {
	return path == "README.md" && !o.NoReadmeFix && to == HuggingFace && from == ModelScope
}

// newMatcher compiles include/exclude globs into a selection predicate.
func newMatcher(include, exclude []string) (func(string) bool, error) {
	for _, g := range slices.Concat(include, exclude) {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("%w: bad glob %q", hubkit.ErrInvalid, g)
		}
	}
	match := func(g, p string) bool {
		if ok, _ := doublestar.Match(g, p); ok {
			return true
		}
		if !strings.Contains(g, "/") {
			ok, _ := doublestar.Match(g, path.Base(p))
			return ok
		}
		return false
	}
	return func(p string) bool {
		if len(include) > 0 && !slices.ContainsFunc(include, func(g string) bool { return match(g, p) }) {
			return false
		}
		return !slices.ContainsFunc(exclude, func(g string) bool { return match(g, p) })
	}, nil
}

// planKeepBytes bounds the regular files' bytes a plan keeps after reading them to decide, so
// the commit step need not read them again.
const planKeepBytes = 16 << 20

// buildPlan lists both sides and decides per file. It is deterministic for a given pinned source
// listing, destination listing and options, which is what lets workers derive their shard.
func buildPlan(ctx context.Context, in planInput) (*Plan, error) {
	selected, err := newMatcher(in.opts.Include, in.opts.Exclude)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		Source: in.from, Dest: in.to, SourceCommit: in.commit, SourcePrivate: in.srcPrivate,
		DestExists: in.destInfo != nil, DestPrivate: in.srcPrivate, DestBranch: defaultBranch(in.to.Hub),
		Options: in.opts, content: map[string]contentHash{},
	}
	if in.opts.Private != nil {
		p.DestPrivate = *in.opts.Private
	}
	srcFiles, err := listSource(ctx, in, selected)
	if err != nil {
		return nil, err
	}
	dest, err := listDest(ctx, in, p)
	if err != nil {
		return nil, err
	}
	toRead := p.decide(in, srcFiles, dest)
	if err := p.decideByContent(ctx, in, toRead); err != nil {
		return nil, err
	}
	if err := p.checkSizes(in); err != nil {
		return nil, err
	}
	if in.opts.Delete {
		inSource := make(map[string]bool, len(srcFiles))
		for _, f := range srcFiles {
			inSource[f.Path] = true
		}
		for _, d := range dest {
			if !inSource[d.Path] && selected(d.Path) && !protected(in.to.Hub, d.Path) {
				p.Delete = append(p.Delete, d)
			}
		}
	}
	byPath := func(a, b File) int { return strings.Compare(a.Path, b.Path) }
	slices.SortFunc(p.Copy, byPath)
	slices.SortFunc(p.Skip, byPath)
	slices.SortFunc(p.Delete, byPath)
	slices.Sort(p.Notices)
	blobs := blobFiles(p.Copy)
	if in.opts.Parallel {
		p.Shards = ShardPlan(blobs, in.opts.chunkSize())
	} else if len(blobs) > 0 {
		p.Shards = ShardPlan(blobs, MaxFileSize*MaxShards)
	}
	return p, nil
}

// checkSizes refuses, before anything is written, a plan that copies a file larger than the
// destination takes, naming every such file.
func (p *Plan) checkSizes(in planInput) error {
	limit := in.dst.Limits().MaxFileSize
	if limit <= 0 {
		return nil
	}
	var big []string
	for _, f := range p.Copy {
		if f.Size > limit {
			big = append(big, fmt.Sprintf("%s (%d bytes)", f.Path, f.Size))
		}
	}
	if len(big) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s takes files of at most %d bytes; too large: %s (exclude them with --exclude)",
		ErrTooLarge, in.to.Hub, limit, strings.Join(big, ", "))
}

// listSource lists the pinned source, refuses an unsafe listing, and keeps the selected files.
func listSource(ctx context.Context, in planInput, selected func(string) bool) ([]File, error) {
	all, err := in.src.List(ctx, in.from, in.commit)
	if err != nil {
		return nil, fmt.Errorf("list source %s@%s: %w", in.from, in.commit, err)
	}
	if err := CheckListing(in.from.Hub, in.from, all); err != nil {
		return nil, err
	}
	var out []File
	for _, f := range all {
		if selected(f.Path) {
			out = append(out, f)
		}
	}
	return out, nil
}

// listDest lists an existing destination's branch by path (and takes its visibility and
// default branch into p).
func listDest(ctx context.Context, in planInput, p *Plan) (map[string]File, error) {
	dest := map[string]File{}
	if in.destInfo == nil {
		return dest, nil
	}
	if in.opts.Private == nil {
		p.DestPrivate = in.destInfo.Private
	}
	if in.destInfo.DefaultBranch != "" {
		p.DestBranch = in.destInfo.DefaultBranch
	}
	if in.opts.DestBranch != "" {
		p.DestBranch = in.opts.DestBranch
	}
	files, err := in.dst.List(ctx, in.to, p.DestBranch)
	if err != nil && !errors.Is(err, hubkit.ErrNotFound) {
		return nil, fmt.Errorf("list destination %s@%s: %w", in.to, p.DestBranch, err)
	}
	for _, f := range files {
		f.SHA256 = strings.ToLower(f.SHA256)
		f.GitOID = strings.ToLower(f.GitOID)
		dest[f.Path] = f
	}
	return dest, nil
}

// pending is a file whose decision needs its bytes.
type pending struct {
	f, d File
	have bool
}

// decide sorts the selected source files into Copy and Skip by listing alone, and returns those
// that must be read first: no comparable hash, the README fix, or a hub-managed file.
func (p *Plan) decide(in planInput, src []File, dest map[string]File) []pending {
	var toRead []pending
	for _, f := range src {
		d, have := dest[f.Path]
		small := !isBlob(f) && f.Size <= InlineLimit
		managed := hubManaged(in.to.Hub, f.Path) && small
		needRead := managed || (small && (readmeFix(in.from.Hub, in.to.Hub, in.opts, f.Path) ||
			(have && !in.opts.Force && d.Size == f.Size && !comparable(f, d))))
		switch {
		case needRead:
			toRead = append(toRead, pending{f, d, have})
		case in.opts.Force || !have:
			p.Copy = append(p.Copy, f)
		case sameContent(f, d):
			p.Skip = append(p.Skip, f)
		default:
			p.Copy = append(p.Copy, f)
		}
	}
	return toRead
}

// decideByContent reads the pending files (concurrently) and decides them by their bytes as
// they will be written. Files to copy keep their bytes in the plan while planKeepBytes allows.
func (p *Plan) decideByContent(ctx context.Context, in planInput, toRead []pending) error {
	var mu sync.Mutex
	var kept int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(in.opts.smallReads())
	for _, r := range toRead {
		g.Go(func() error {
			b, notice, err := p.read(gctx, in.src, r.f)
			if err != nil {
				return err
			}
			h := contentHash{sha256: hubkit.SHA256Hex(b), gitOID: hubkit.GitBlobID(b), size: int64(len(b))}
			same := r.have && !in.opts.Force && r.d.Size == h.size &&
				((r.d.SHA256 != "" && r.d.SHA256 == h.sha256) || (r.d.SHA256 == "" && r.d.GitOID != "" && r.d.GitOID == h.gitOID))
			if hubManaged(in.to.Hub, r.f.Path) {
				h.managed = b
				if r.have && !same && !in.opts.Force {
					db, err := readAll(gctx, in.dst, in.to, p.DestBranch, r.d)
					if err != nil {
						return err
					}
					same = coversLines(db, b)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if !same && kept+h.size <= planKeepBytes {
				h.data, kept = b, kept+h.size
			}
			p.content[r.f.Path] = h
			if same {
				p.Skip = append(p.Skip, r.f)
				return nil
			}
			if notice != "" {
				p.Notices = append(p.Notices, notice)
			}
			p.Copy = append(p.Copy, r.f)
			return nil
		})
	}
	return g.Wait()
}

// read reads a regular source file and applies the README fix when it gets one, saying so.
func (p *Plan) read(ctx context.Context, src Hub, f File) (b []byte, notice string, err error) {
	b, err = readAll(ctx, src, p.Source, p.SourceCommit, f)
	if err != nil || !readmeFix(p.Source.Hub, p.Dest.Hub, p.Options, f.Path) {
		return b, "", err
	}
	fixed, changed, ferr := FixReadmeLicense(b)
	switch {
	case ferr != nil:
		return b, fmt.Sprintf("README.md kept as is: %v", ferr), nil
	case changed:
		return fixed, "README.md: license rewritten for Hugging Face", nil
	}
	return b, "", nil
}

// hubManaged reports whether the destination hub edits path itself: the Hugging Face Hub appends
// LFS patterns to .gitattributes for the LFS files a commit adds, so the file there is checked by
// coverage (every line the source has is present), not byte for byte.
func hubManaged(to HubName, p string) bool { return to == HuggingFace && p == ".gitattributes" }

// coversLines reports whether every non-blank line of want appears in got.
func coversLines(got, want []byte) bool {
	have := map[string]bool{}
	for _, l := range strings.Split(string(got), "\n") {
		have[strings.TrimRight(l, "\r \t")] = true
	}
	for _, l := range strings.Split(string(want), "\n") {
		if l = strings.TrimRight(l, "\r \t"); l != "" && !have[l] {
			return false
		}
	}
	return true
}

// protected reports whether a destination path is managed by the hub and never deleted.
func protected(_ HubName, p string) bool { return p == ".gitattributes" }

// comparable reports whether src and dst share a hash to compare.
func comparable(s, d File) bool {
	return (s.SHA256 != "" && d.SHA256 != "") || (s.GitOID != "" && d.GitOID != "" && !s.LFS && !d.LFS)
}

// sameContent compares by size and SHA-256, else by git blob id (regular files on both sides).
func sameContent(s, d File) bool {
	if s.Size != d.Size {
		return false
	}
	if s.SHA256 != "" && d.SHA256 != "" {
		return s.SHA256 == d.SHA256
	}
	if s.GitOID != "" && d.GitOID != "" && !s.LFS && !d.LFS {
		return s.GitOID == d.GitOID
	}
	return false
}

// readAll reads a small file whole from the source, refusing more bytes than its listing claims.
func readAll(ctx context.Context, h Hub, repo Repo, rev string, f File) ([]byte, error) {
	rc, err := h.Open(ctx, repo, rev, f.Path, 0, -1)
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", f.Path, repo, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, f.Size+1))
	if err != nil {
		return nil, fmt.Errorf("read %s from %s: %w", f.Path, repo, err)
	}
	if int64(len(b)) != f.Size {
		return nil, fmt.Errorf("read %s from %s: got %d bytes, listing says %d: %w", f.Path, repo, len(b), f.Size, hubkit.ErrHashMismatch)
	}
	if f.SHA256 != "" && !strings.EqualFold(hubkit.SHA256Hex(b), f.SHA256) {
		return nil, fmt.Errorf("read %s from %s: %w", f.Path, repo, hubkit.ErrHashMismatch)
	}
	// Hugging Face lists regular files by git blob id only: check that, or wrong bytes served
	// for a regular file would be committed (and then "verified" against themselves).
	if f.SHA256 == "" && !f.LFS && f.GitOID != "" && !strings.EqualFold(hubkit.GitBlobID(b), f.GitOID) {
		return nil, fmt.Errorf("read %s from %s: git blob id differs from the listing's: %w", f.Path, repo, hubkit.ErrHashMismatch)
	}
	return b, nil
}
