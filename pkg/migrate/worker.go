package migrate

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"golang.org/x/sync/errgroup"
)

// ProgressInterval is the least time between two progress events of one file.
var ProgressInterval = 500 * time.Millisecond

// Retry policy of one blob upload: transient failures (5xx, 429, cut connections) are retried
// with exponential back-off (0.25, 0.5, 1, 2 s); the source read inside resumes by range. Five
// attempts, because the Hugging Face client does not retry a blob PUT itself (ModelScope's does):
// a burst of 503s and a cut on the same blob must not fail a run.
var (
	uploadAttempts   = 5
	uploadRetryDelay = 250 * time.Millisecond
)

// Jobs returns the jobs that carry out plan. A parallel plan gives one blob job per shard, then
// the commit job (which also verifies): run the blob jobs (in any order, side by side) and, only
// when all succeeded, the commit job. Otherwise it is a single PhaseAll job.
func Jobs(plan *Plan, runID string, opts Options, ep Endpoints) []Job {
	base := Job{RunID: runID, Source: plan.Source, Dest: plan.Dest, SourceCommit: plan.SourceCommit,
		Shards: len(plan.Shards), Options: opts, Endpoints: ep}
	if !opts.Parallel {
		// Not split: one worker uploads every blob and commits (one container per repo on Modal,
		// and the plan is derived once, not once per phase).
		base.Phase = PhaseAll
		return []Job{base}
	}
	jobs := make([]Job, 0, len(plan.Shards)+1)
	for i := range plan.Shards {
		j := base
		j.Phase, j.Shard = PhaseBlobs, i+1
		jobs = append(jobs, j)
	}
	c := base
	c.Phase = PhaseCommit
	return append(jobs, c)
}

// serialEmitter makes emit safe to call from many goroutines, stamping each event's time.
func serialEmitter(emit func(Event)) func(Event) {
	var mu sync.Mutex
	return func(ev Event) {
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		if emit == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		emit(ev)
	}
}

// worker is one job's state.
type worker struct {
	job      Job
	src, dst Hub
	emit     func(Event)
	plan     *Plan
}

// RunJob is the worker: it derives the plan from the job (pinned source listing, destination
// listing, options), carries out its phase, emits events, and ends with a done event on success
// or an error event on failure (whose error it returns).
func RunJob(ctx context.Context, job Job, src, dst Hub, emit func(Event)) error {
	src = withUseGit(src, job.Options.UseGit) // adapter_hf_git.go
	w := &worker{job: job, src: src, dst: dst, emit: serialEmitter(emit)}
	err := w.run(ctx)
	if err != nil {
		w.emit(Event{Type: EventError, Shard: job.Shard, Error: err.Error()})
		return err
	}
	w.emit(Event{Type: EventDone, Shard: job.Shard})
	return nil
}

func (w *worker) run(ctx context.Context) error {
	j := w.job
	switch {
	case w.src == nil || w.dst == nil:
		return fmt.Errorf("job %s: %w: nil hub", j.Phase, hubkit.ErrInvalid)
	case j.SourceCommit == "":
		return fmt.Errorf("job: %w: no pinned source commit", hubkit.ErrInvalid)
	case j.Phase != PhaseBlobs && j.Phase != PhaseCommit && j.Phase != PhaseAll:
		return fmt.Errorf("job: %w: unknown phase %q", hubkit.ErrInvalid, j.Phase)
	case j.Source.Hub != w.src.Name() || j.Dest.Hub != w.dst.Name():
		return fmt.Errorf("job: %w: hubs %s->%s do not match %s->%s", hubkit.ErrInvalid, j.Source.Hub, j.Dest.Hub, w.src.Name(), w.dst.Name())
	}
	info, err := w.dst.Info(ctx, j.Dest)
	if err != nil {
		return fmt.Errorf("destination %s on %s: %w", j.Dest.ID, j.Dest.Hub, err)
	}
	p, err := buildPlan(ctx, planInput{src: w.src, dst: w.dst, from: j.Source, to: j.Dest, commit: j.SourceCommit, destInfo: info, opts: j.Options})
	if err != nil {
		return err
	}
	w.plan = p
	switch j.Phase {
	case PhaseBlobs:
		if j.Shard < 1 || j.Shard > len(p.Shards) || len(p.Shards) != j.Shards {
			return fmt.Errorf("shard %d of %d: the plan now has %d shards (did the destination change since planning?): %w",
				j.Shard, j.Shards, len(p.Shards), hubkit.ErrConflict)
		}
		return w.blobs(ctx, p.Shards[j.Shard-1], j.Shard)
	case PhaseCommit:
		return w.commit(ctx)
	case PhaseAll:
		for i, s := range p.Shards {
			if err := w.blobs(ctx, s, i+1); err != nil {
				return err
			}
		}
		return w.commit(ctx)
	}
	return fmt.Errorf("job: %w: unknown phase %q", hubkit.ErrInvalid, j.Phase)
}

// blobs uploads the LFS blobs of one shard: objects the destination stores already are reported
// "stored"; the others stream from the source. Every file is attempted; any failure fails the job.
func (w *worker) blobs(ctx context.Context, files []File, shard int) error {
	if len(files) == 0 {
		return nil
	}
	var blobs []Blob
	seen := map[string]bool{}
	for _, f := range files {
		if !seen[f.SHA256] {
			seen[f.SHA256] = true
			blobs = append(blobs, Blob{OID: f.SHA256, Size: f.Size})
		}
	}
	ups, err := w.dst.PrepareBlobs(ctx, w.job.Dest, w.plan.DestBranch, blobs)
	if err != nil {
		return fmt.Errorf("prepare uploads to %s: %w", w.job.Dest, err)
	}
	byOID := make(map[string]BlobUpload, len(ups))
	for _, u := range ups {
		byOID[u.Blob().OID] = u
	}
	var failed atomic.Int32
	var firstErr error
	var once sync.Once
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(w.job.Options.files())
	for _, f := range files {
		u := byOID[f.SHA256]
		delete(byOID, f.SHA256) // a blob shared by several paths is uploaded once
		g.Go(func() error {
			w.emit(Event{Type: EventFileStart, Shard: shard, Path: f.Path, Size: f.Size})
			if u == nil {
				w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionStored})
				return nil
			}
			err := w.upload(gctx, u, f, shard)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed.Add(1)
				once.Do(func() { firstErr = err })
				w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionFailed, Error: err.Error()})
				return nil
			}
			w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionCopied})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if n := failed.Load(); n > 0 {
		return fmt.Errorf("%d file(s) failed, first: %w", n, firstErr)
	}
	return nil
}

// upload streams one blob, retrying transient failures.
func (w *worker) upload(ctx context.Context, u BlobUpload, f File, shard int) error {
	src := &progressSource{ctx: ctx, hub: w.src, repo: w.job.Source, rev: w.job.SourceCommit, file: f, shard: shard, emit: w.emit}
	if w.job.Options.Parts > 0 {
		ctx = ContextWithParts(ctx, w.job.Options.Parts)
	}
	delay := uploadRetryDelay
	var err error
	for attempt := 1; ; attempt++ {
		err = u.Upload(ctx, src)
		if err == nil || attempt >= uploadAttempts || !transient(err) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
	if err != nil {
		return fmt.Errorf("upload %s to %s: %w", f.Path, w.job.Dest, err)
	}
	return nil
}

// transient reports whether err is worth retrying.
func transient(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, hubkit.ErrHashMismatch) {
		return false
	}
	// A connection the server dropped before answering surfaces as a bare io.EOF (or a reset)
	// once the LFS layer has peeled off the *url.Error that hid a signed href.
	var ne net.Error
	return errors.Is(err, hubkit.ErrServer) || errors.Is(err, hubkit.ErrRateLimited) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &ne)
}

// progressSource is the Source handed to an upload: ranged reads of the pinned source file that
// report progress (throttled) as bytes flow.
type progressSource struct {
	ctx   context.Context
	hub   Hub
	repo  Repo
	rev   string
	file  File
	shard int
	emit  func(Event)
	done  atomic.Int64
	last  atomic.Int64
}

// OpenRange implements Source.
func (s *progressSource) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	rc, err := s.hub.Open(ctx, s.repo, s.rev, s.file.Path, off, n)
	if err != nil {
		return nil, fmt.Errorf("open %s@%s %s: %w", s.repo, s.rev, s.file.Path, err)
	}
	return &countingReader{rc: rc, s: s}, nil
}

func (s *progressSource) add(n int) {
	done := min(s.done.Add(int64(n)), s.file.Size)
	now := time.Now().UnixNano()
	last := s.last.Load()
	if now-last >= int64(ProgressInterval) && s.last.CompareAndSwap(last, now) {
		s.emit(Event{Type: EventProgress, Shard: s.shard, Path: s.file.Path, Size: s.file.Size, Bytes: done})
	}
}

type countingReader struct {
	rc io.ReadCloser
	s  *progressSource
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.rc.Read(p)
	if n > 0 {
		c.s.add(n)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }

// ServeWorker is the worker process's main: it reads one Job as JSON from r, builds the hubs with
// hubs (tokens come from the environment, never from the job), runs the job and writes its events
// to w as JSON lines. It returns the job's error.
func ServeWorker(ctx context.Context, r io.Reader, w io.Writer, hubs func(HubName, Endpoints) (Hub, error)) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	var werr error
	emit := func(ev Event) {
		if werr != nil {
			return
		}
		if ev.Time.IsZero() {
			ev.Time = time.Now().UTC()
		}
		if werr = enc.Encode(ev); werr == nil {
			werr = bw.Flush()
		}
	}
	var job Job
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	if err := dec.Decode(&job); err != nil {
		// The orchestrator reads events, not stderr: say it there too.
		err = fmt.Errorf("read job: %w: %w", hubkit.ErrInvalid, err)
		emit(Event{Type: EventError, Error: err.Error()})
		return errors.Join(err, werr)
	}
	src, err := hubs(job.Source.Hub, job.Endpoints)
	if err == nil {
		var dst Hub
		if dst, err = hubs(job.Dest.Hub, job.Endpoints); err == nil {
			err = RunJob(ctx, job, src, dst, emit)
			return errors.Join(err, werr)
		}
	}
	err = fmt.Errorf("worker hubs: %w", err)
	emit(Event{Type: EventError, Shard: job.Shard, Error: err.Error()})
	return errors.Join(err, werr)
}

// commitMessage is the message of the migration commit(s).
func commitMessage(j Job) string {
	if j.Options.CommitMessage != "" {
		return j.Options.CommitMessage
	}
	return fmt.Sprintf("Migrated from %s@%s", j.Source, j.SourceCommit)
}

// commit is the commit step: read the regular files, upload any blob still missing, write every
// path in commits within the destination's limits, then verify.
func (w *worker) commit(ctx context.Context) error {
	p, j := w.plan, w.job
	if p.Empty() {
		return w.verify(ctx, "")
	}
	// Every blob the commit points to must be stored: shards uploaded them; upload any a shard
	// missed (streaming, as in the blob phase).
	var blobs []Blob
	seen := map[string]bool{}
	need := map[string]File{}
	for _, f := range p.Copy {
		if isBlob(f) && !seen[f.SHA256] {
			seen[f.SHA256] = true
			blobs = append(blobs, Blob{OID: f.SHA256, Size: f.Size})
			need[f.SHA256] = f
		}
	}
	if len(blobs) > 0 {
		ups, err := w.dst.PrepareBlobs(ctx, j.Dest, p.DestBranch, blobs)
		if err != nil {
			return fmt.Errorf("prepare uploads to %s: %w", j.Dest, err)
		}
		for _, u := range ups {
			f := need[u.Blob().OID]
			w.emit(Event{Type: EventNotice, Message: fmt.Sprintf("%s: blob missing after the blob phase, uploading it now", f.Path)})
			if err := w.upload(ctx, u, f, 0); err != nil {
				return fmt.Errorf("upload %s to %s: %w", f.Path, j.Dest, err)
			}
		}
	}

	// The commits are laid out first from sizes alone (LFS pointers, then regular files inline,
	// then deletes, within the hub's limits); each batch's regular files are then read just
	// before its commit and dropped after it, so memory holds one commit's content at most,
	// whatever the number of small files.
	var layout []hubkit.CommitOp
	for _, f := range p.Copy {
		if isBlob(f) {
			layout = append(layout, hubkit.CommitOp{Kind: hubkit.OpAddLFS, Path: f.Path, SHA256: f.SHA256, Size: f.Size})
		}
	}
	for _, f := range p.Copy {
		if !isBlob(f) {
			size := f.Size
			if c, ok := p.content[f.Path]; ok {
				size = c.size // the README fix may change the size; the plan read it already
			}
			layout = append(layout, hubkit.CommitOp{Kind: hubkit.OpAddFile, Path: f.Path, Size: size})
		}
	}
	for _, f := range p.Delete {
		layout = append(layout, hubkit.CommitOp{Kind: hubkit.OpDelete, Path: f.Path})
	}
	byPath := make(map[string]File, len(p.Copy))
	for _, f := range p.Copy {
		byPath[f.Path] = f
	}
	batches := splitOps(layout, w.dst.Limits())
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

// fillInline reads the regular files of one commit batch from the source (bounded concurrency),
// applies the README fix, records the hashes of what is written, asks the destination which of
// them it wants as LFS (uploading those from memory) and turns the batch's placeholders into
// final operations.
func (w *worker) fillInline(ctx context.Context, batch []hubkit.CommitOp, byPath map[string]File) error {
	p, j := w.plan, w.job
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(j.Options.files() * 2)
	var idx []int
	for i, op := range batch {
		if op.Kind != hubkit.OpAddFile {
			continue
		}
		idx = append(idx, i)
		g.Go(func() error {
			f := byPath[op.Path]
			b, err := readAll(gctx, w.src, j.Source, j.SourceCommit, f)
			if err != nil {
				return err
			}
			if (&planInput{from: j.Source, to: j.Dest, opts: j.Options}).readmeFix(f.Path) {
				if fixed, changed, err := FixReadmeLicense(b); err == nil && changed {
					b = fixed
				}
			}
			mu.Lock()
			defer mu.Unlock()
			c := p.content[f.Path]
			c.sha256, c.gitOID, c.size = hubkit.SHA256Hex(b), hubkit.GitBlobID(b), int64(len(b))
			p.content[f.Path] = c
			batch[i].Content, batch[i].Size = b, int64(len(b))
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(idx) == 0 {
		return nil
	}
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
		if err := u.Upload(ctx, hubkit.Bytes(content[u.Blob().OID])); err != nil {
			return fmt.Errorf("upload %s to %s: %w", u.Blob().OID, j.Dest, err)
		}
	}
	return nil
}

// splitOps packs ops into batches within lim (a zero limit is no limit), keeping order.
func splitOps(ops []hubkit.CommitOp, lim Limits) [][]hubkit.CommitOp {
	var out [][]hubkit.CommitOp
	var cur []hubkit.CommitOp
	var files int
	var bytes int64
	for _, op := range ops {
		full := len(cur) > 0 && ((lim.MaxOps > 0 && len(cur) >= lim.MaxOps) ||
			(op.Kind == hubkit.OpAddFile && lim.MaxInlineFiles > 0 && files >= lim.MaxInlineFiles) ||
			(op.Kind == hubkit.OpAddFile && lim.MaxInlineBytes > 0 && files > 0 && bytes+op.Size > lim.MaxInlineBytes))
		if full {
			out = append(out, cur)
			cur, files, bytes = nil, 0, 0
		}
		cur = append(cur, op)
		if op.Kind == hubkit.OpAddFile {
			files++
			bytes += op.Size
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// verify re-lists the destination at head (its branch when "") and compares every selected file.
func (w *worker) verify(ctx context.Context, head string) error {
	p := w.plan
	rev := head
	if rev == "" {
		rev = p.DestBranch
	}
	v, err := VerifyDest(ctx, p, w.dst, rev)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	w.emit(Event{Type: EventVerify, Verify: v})
	if !v.OK() {
		return fmt.Errorf("%w: %d mismatched, %d missing (first: %s %s)", ErrVerify, v.Mismatched, v.Missing, v.Bad[0].Path, v.Bad[0].Problem)
	}
	return nil
}

// VerifyDest lists the destination at rev and verifies it against plan (see Verify), then checks
// the files the destination hub manages itself (Hugging Face's .gitattributes) by content:
// they match when every line the source has is present.
func VerifyDest(ctx context.Context, plan *Plan, dst Hub, rev string) (*Verification, error) {
	var files []File
	if rev != "" {
		var err error
		if files, err = dst.List(ctx, plan.Dest, rev); err != nil {
			return nil, fmt.Errorf("list %s@%s: %w", plan.Dest, rev, err)
		}
	}
	v := Verify(plan, files)
	byPath := make(map[string]File, len(files))
	for _, f := range files {
		byPath[f.Path] = f
	}
	bad := v.Bad[:0]
	for _, b := range v.Bad {
		c, managed := plan.content[b.Path]
		if b.Problem == "mismatched" && managed && c.managed != nil {
			got, err := readAll(ctx, dst, plan.Dest, rev, File{Path: b.Path, Size: byPath[b.Path].Size})
			if err != nil {
				return nil, err
			}
			if coversLines(got, c.managed) {
				v.Mismatched--
				v.Matched++
				continue
			}
			b.Detail = "lines of the source's file are missing"
		}
		bad = append(bad, b)
	}
	v.Bad = bad
	return v, nil
}

// Verify compares a destination listing with what plan says the destination must hold: every
// copied and skipped file present with the same size and SHA-256 (else git blob id, else
// not checkable), every deleted file gone.
func Verify(plan *Plan, dest []File) *Verification {
	v := &Verification{}
	got := make(map[string]File, len(dest))
	for _, f := range dest {
		f.SHA256, f.GitOID = strings.ToLower(f.SHA256), strings.ToLower(f.GitOID)
		got[f.Path] = f
	}
	want := slices.Concat(plan.Copy, plan.Skip)
	slices.SortFunc(want, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for _, s := range want {
		d, ok := got[s.Path]
		if !ok {
			v.Missing++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "missing"})
			continue
		}
		size, sha, oid := s.Size, s.SHA256, ""
		if !s.LFS {
			oid = s.GitOID
		}
		if c, ok := plan.content[s.Path]; ok {
			size, sha, oid = c.size, c.sha256, c.gitOID
		}
		switch {
		case d.Size != size:
			v.Mismatched++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("size %d, want %d", d.Size, size)})
		case sha != "" && d.SHA256 != "":
			if d.SHA256 != sha {
				v.Mismatched++
				v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("sha256 %s, want %s", d.SHA256, sha)})
			} else {
				v.Matched++
			}
		case oid != "" && d.GitOID != "" && !d.LFS:
			if d.GitOID != oid {
				v.Mismatched++
				v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("git blob %s, want %s", d.GitOID, oid)})
			} else {
				v.Matched++
			}
		default:
			v.NotCheckable++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "not_checkable", Detail: "no common hash"})
		}
	}
	for _, del := range plan.Delete {
		if _, ok := got[del.Path]; ok {
			v.Mismatched++
			v.Bad = append(v.Bad, FileCheck{Path: del.Path, Problem: "mismatched", Detail: "deleted file still present"})
		}
	}
	return v
}
