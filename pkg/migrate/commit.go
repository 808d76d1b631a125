package migrate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// commitMessage is the message of the migration commit(s).
func commitMessage(j Job) string {
	if j.Options.CommitMessage != "" {
		return j.Options.CommitMessage
	}
	return fmt.Sprintf("Migrated from %s@%s", j.Source, j.SourceCommit)
}

// commit is the commit step: upload any blob still missing, read the regular files, write every
// path in commits within the destination's limits, then verify.
func (w *worker) commit(ctx context.Context) error {
	p, j := w.plan, w.job
	if p.Empty() {
		return w.verify(ctx, "")
	}
	if err := w.missingBlobs(ctx); err != nil {
		return err
	}
	byPath := make(map[string]File, len(p.Copy))
	for _, f := range p.Copy {
		byPath[f.Path] = f
	}
	batches := splitOps(w.layout(), w.dst.Limits())
	msg := commitMessage(j)
	var head string
	for k, batch := range batches {
		if err := w.fillInline(ctx, batch, byPath); err != nil {
			return err
		}
		m := msg
		if len(batches) > 1 {
			m = fmt.Sprintf("%s (part %d/%d)", msg, k+1, len(batches))
		}
		id, err := w.dst.Commit(ctx, j.Dest, p.DestBranch, m, batch)
		if err != nil && mayHaveLanded(err) {
			// A 5xx or a lost answer: the hub may have applied the commit anyway. Look at what
			// it holds before calling the run failed (a blind retry could commit twice).
			if landed, ok := w.landed(ctx, batch); ok {
				w.emit(Event{Type: EventNotice, Message: fmt.Sprintf("commit %d/%d to %s answered %q, but the destination holds it; going on", k+1, len(batches), j.Dest, err)})
				id, err = landed, nil
			}
		}
		if err != nil {
			return fmt.Errorf("commit %d/%d to %s: %w", k+1, len(batches), j.Dest, err)
		}
		head = id
		w.emit(Event{Type: EventCommit, Commit: id, Message: m, Size: int64(len(batch))})
		for i, op := range batch {
			switch {
			case op.Kind == hubkit.OpDelete:
				w.emit(Event{Type: EventFileDone, Path: op.Path, Action: ActionDeleted})
			case !isBlob(byPath[op.Path]):
				w.emit(Event{Type: EventFileDone, Path: op.Path, Size: op.Size, Action: ActionCopied})
			}
			batch[i].Content = nil // release this commit's content before reading the next
		}
	}
	return w.verify(ctx, head)
}

// missingBlobs uploads any blob the commit points to that the destination does not store yet:
// the blob shards uploaded them, so this is a safety net (streaming, as in the blob phase).
func (w *worker) missingBlobs(ctx context.Context) error {
	p, j := w.plan, w.job
	blobs := uniqueBlobs(blobFiles(p.Copy))
	if len(blobs) == 0 {
		return nil
	}
	need := map[string]File{}
	for _, f := range blobFiles(p.Copy) {
		need[f.SHA256] = f
	}
	ups, err := w.dst.PrepareBlobs(ctx, j.Dest, p.DestBranch, blobs)
	if err != nil {
		return fmt.Errorf("prepare uploads to %s: %w", j.Dest, err)
	}
	for _, u := range ups {
		f := need[u.Blob().OID]
		w.emit(Event{Type: EventNotice, Message: fmt.Sprintf("%s: blob missing after the blob phase, uploading it now", f.Path)})
		if _, err := w.upload(ctx, u, f, 0); err != nil {
			return err
		}
	}
	return nil
}

// layout is the commit's operations, from sizes alone, in the order that keeps the destination
// usable if a run stops between two of several commits: LFS pointers first, then the other
// regular files, then the files that describe the rest (the README with its card, configs and
// weight indexes), deletions last. A partial destination thus never has a card or an index
// pointing at weights it does not hold yet, nor lost files the source still has. Each batch's
// regular files are read just before its commit and dropped after it (fillInline), so memory
// holds one commit's content at most, whatever the number of small files.
func (w *worker) layout() []hubkit.CommitOp {
	p := w.plan
	var ops, describers []hubkit.CommitOp
	for _, f := range p.Copy {
		if isBlob(f) {
			ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpAddLFS, Path: f.Path, SHA256: f.SHA256, Size: f.Size})
		}
	}
	for _, f := range p.Copy {
		if isBlob(f) {
			continue
		}
		size := f.Size
		if c, ok := p.content[f.Path]; ok {
			size = c.size // the README fix may change the size; the plan read it already
		}
		op := hubkit.CommitOp{Kind: hubkit.OpAddFile, Path: f.Path, Size: size}
		if describes(f.Path) {
			describers = append(describers, op)
		} else {
			ops = append(ops, op)
		}
	}
	ops = append(ops, describers...)
	for _, f := range p.Delete {
		ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpDelete, Path: f.Path})
	}
	return ops
}

// describes reports whether a top-level file describes the others: the model card, configs
// that name the weights, weight indexes.
func describes(p string) bool {
	if strings.Contains(p, "/") {
		return false
	}
	lp := strings.ToLower(p)
	switch lp {
	case "readme.md", "config.json", "configuration.json", "generation_config.json", "model_index.json", "dataset_infos.json":
		return true
	}
	return strings.HasSuffix(lp, ".index.json")
}

// mayHaveLanded reports whether a failed commit may still have been applied: a server error or
// a failure without an answer (connection cut, timeout). A refusal (auth, invalid, conflict,
// rate limit) did not apply.
func mayHaveLanded(err error) bool {
	for _, refused := range []error{hubkit.ErrNotFound, hubkit.ErrUnauthorized, hubkit.ErrForbidden,
		hubkit.ErrGated, hubkit.ErrStorageLocked, hubkit.ErrRateLimited, hubkit.ErrConflict, hubkit.ErrInvalid,
		context.Canceled} {
		if errors.Is(err, refused) {
			return false
		}
	}
	return true
}

// landed reports whether the destination's branch already holds every operation of batch, and
// its head commit if so.
func (w *worker) landed(ctx context.Context, batch []hubkit.CommitOp) (string, bool) {
	p, j := w.plan, w.job
	head, err := w.dst.Resolve(ctx, j.Dest, p.DestBranch)
	if err != nil {
		return "", false
	}
	files, err := w.dst.List(ctx, j.Dest, head)
	if err != nil {
		return "", false
	}
	have := make(map[string]File, len(files))
	for _, f := range files {
		have[f.Path] = f
	}
	for _, op := range batch {
		f, ok := have[op.Path]
		switch op.Kind {
		case hubkit.OpDelete:
			ok = !ok
		case hubkit.OpAddLFS:
			ok = ok && strings.EqualFold(f.SHA256, op.SHA256)
		default:
			c := p.content[op.Path]
			ok = ok && ((f.SHA256 != "" && strings.EqualFold(f.SHA256, c.sha256)) ||
				(f.GitOID != "" && strings.EqualFold(f.GitOID, c.gitOID)))
		}
		if !ok {
			return "", false
		}
	}
	return head, true
}

// fillInline fills one commit batch's regular files: their bytes (kept by the plan, or read from
// the source), with the README fix applied, the hashes of what is written recorded for verify,
// and the files the destination wants as LFS uploaded from memory and turned into pointers.
func (w *worker) fillInline(ctx context.Context, batch []hubkit.CommitOp, byPath map[string]File) error {
	idx, err := w.readInline(ctx, batch, byPath)
	if err != nil || len(idx) == 0 {
		return err
	}
	p, j := w.plan, w.job
	cands := make([]UploadCandidate, 0, len(idx))
	for _, i := range idx {
		b := batch[i].Content
		cands = append(cands, UploadCandidate{Path: batch[i].Path, Size: int64(len(b)), Sample: b[:min(512, len(b))]})
	}
	modes, err := w.dst.UploadModes(ctx, j.Dest, p.DestBranch, cands)
	if err != nil {
		return fmt.Errorf("upload modes on %s: %w", j.Dest, err)
	}
	var blobs []Blob
	content := map[string][]byte{}
	for _, i := range idx {
		op := &batch[i]
		if !modes[op.Path] {
			continue
		}
		oid := p.content[op.Path].sha256
		if _, dup := content[oid]; !dup {
			blobs = append(blobs, Blob{OID: oid, Size: op.Size})
			content[oid] = op.Content
		}
		*op = hubkit.CommitOp{Kind: hubkit.OpAddLFS, Path: op.Path, SHA256: oid, Size: op.Size}
	}
	if len(blobs) == 0 {
		return nil
	}
	ups, err := w.dst.PrepareBlobs(ctx, j.Dest, p.DestBranch, blobs)
	if err != nil {
		return fmt.Errorf("prepare uploads to %s: %w", j.Dest, err)
	}
	for _, u := range ups {
		if _, err := uploadRetrying(ctx, u, hubkit.Bytes(content[u.Blob().OID]), UploadOptions{}); err != nil {
			return fmt.Errorf("upload %s to %s: %w", u.Blob().OID, j.Dest, err)
		}
	}
	return nil
}

// readInline sets the content of the batch's OpAddFile operations and returns their indexes.
func (w *worker) readInline(ctx context.Context, batch []hubkit.CommitOp, byPath map[string]File) ([]int, error) {
	p, j := w.plan, w.job
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.Options.smallReads())
	var idx []int
	for i, op := range batch {
		if op.Kind != hubkit.OpAddFile {
			continue
		}
		idx = append(idx, i)
		g.Go(func() error {
			f := byPath[op.Path]
			mu.Lock()
			b := p.content[f.Path].data // kept by the plan, which read it to decide
			mu.Unlock()
			if b == nil {
				var err error
				if b, _, err = p.read(gctx, w.src, f); err != nil {
					return err
				}
			}
			mu.Lock()
			defer mu.Unlock()
			c := p.content[f.Path]
			c.sha256, c.gitOID, c.size = hubkit.SHA256Hex(b), hubkit.GitBlobID(b), int64(len(b))
			c.data = nil
			p.content[f.Path] = c
			batch[i].Content, batch[i].Size = b, int64(len(b))
			return nil
		})
	}
	return idx, g.Wait()
}

// splitOps packs ops into batches within lim (a zero limit is no limit), keeping order.
func splitOps(ops []hubkit.CommitOp, lim Limits) [][]hubkit.CommitOp {
	var out [][]hubkit.CommitOp
	var cur []hubkit.CommitOp
	var files int
	var bytes int64
	for _, op := range ops {
		inline := op.Kind == hubkit.OpAddFile
		full := len(cur) > 0 && ((lim.MaxOps > 0 && len(cur) >= lim.MaxOps) ||
			(inline && lim.MaxInlineFiles > 0 && files >= lim.MaxInlineFiles) ||
			(inline && lim.MaxInlineBytes > 0 && files > 0 && bytes+op.Size > lim.MaxInlineBytes))
		if full {
			out = append(out, cur)
			cur, files, bytes = nil, 0, 0
		}
		cur = append(cur, op)
		if inline {
			files++
			bytes += op.Size
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}
