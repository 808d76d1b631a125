package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// ProgressInterval is the least time between two progress events of one file.
var ProgressInterval = 500 * time.Millisecond

// The engine's retry of a whole blob (see the package doc for who retries what): transient
// failures (5xx, 429, cut connections) are retried with exponential back-off (0.25, 0.5, 1, 2 s),
// the source read again by range. Hub clients make one attempt per blob upload.
var (
	uploadAttempts   = 5
	uploadRetryDelay = 250 * time.Millisecond
)

// uniqueBlobs returns the blobs of files, each once (a blob shared by several paths uploads once).
func uniqueBlobs(files []File) []Blob {
	var blobs []Blob
	seen := map[string]bool{}
	for _, f := range files {
		if !seen[f.SHA256] {
			seen[f.SHA256] = true
			blobs = append(blobs, Blob{OID: f.SHA256, Size: f.Size})
		}
	}
	return blobs
}

// blobs uploads the LFS blobs of one shard: objects the destination stores already are reported
// "stored"; the others stream from the source. Every file is attempted; any failure fails the job.
func (w *worker) blobs(ctx context.Context, files []File, shard int) error {
	if len(files) == 0 {
		return nil
	}
	ups, err := w.dst.PrepareBlobs(ctx, w.job.Dest, w.plan.DestBranch, uniqueBlobs(files))
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
	// Files() files read their source at once; a file whose reads are all under way frees its
	// slot early (parallel.open), so the next file's reads overlap its last bytes' upload. At
	// most twice Files() uploads run at once.
	slots := make(chan struct{}, w.job.Options.files())
	g.SetLimit(2 * w.job.Options.files())
	for _, f := range files {
		u := byOID[f.SHA256]
		delete(byOID, f.SHA256) // a blob shared by several paths is uploaded once
		select {
		case slots <- struct{}{}:
		case <-gctx.Done():
			return errors.Join(g.Wait(), gctx.Err())
		}
		free := sync.OnceFunc(func() { <-slots })
		g.Go(func() error {
			defer free()
			w.emit(Event{Type: EventFileStart, Shard: shard, Path: f.Path, Size: f.Size})
			if u == nil {
				w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionStored})
				return nil
			}
			res, err := w.uploadFreeing(gctx, u, f, shard, free)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				failed.Add(1)
				once.Do(func() { firstErr = err })
				w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionFailed, Error: err.Error()})
				return nil
			}
			w.emit(Event{Type: EventFileDone, Shard: shard, Path: f.Path, Size: f.Size, Action: ActionCopied,
				Transfer: res.Transfer, Deduplicated: res.Deduplicated})
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

// upload streams one blob from the pinned source file, retrying transient failures.
func (w *worker) upload(ctx context.Context, u BlobUpload, f File, shard int) (UploadResult, error) {
	return w.uploadFreeing(ctx, u, f, shard, nil)
}

// uploadFreeing is upload, calling scheduled (when not nil) once a parallel read of the file
// has started all its ranges.
func (w *worker) uploadFreeing(ctx context.Context, u BlobUpload, f File, shard int, scheduled func()) (UploadResult, error) {
	par := w.parallel()
	par.scheduled = scheduled
	src := &progressSource{hub: w.src, repo: w.job.Source, rev: w.job.SourceCommit, file: f, shard: shard, emit: w.emit,
		par: par}
	res, err := uploadRetrying(ctx, u, src, UploadOptions{Parts: w.job.Options.Parts})
	if err != nil {
		return res, fmt.Errorf("upload %s to %s: %w", f.Path, w.job.Dest, err)
	}
	return res, nil
}

// uploadRetrying is the engine's whole-blob retry.
func uploadRetrying(ctx context.Context, u BlobUpload, src hubkit.Source, o UploadOptions) (UploadResult, error) {
	delay := uploadRetryDelay
	for attempt := 1; ; attempt++ {
		res, err := u.Upload(ctx, src, o)
		if err == nil || attempt >= uploadAttempts || !transient(err) {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(delay):
		}
		delay *= 2
	}
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
	hub   Hub
	repo  Repo
	rev   string
	file  File
	shard int
	emit  func(Event)
	par   parallel
	done  atomic.Int64
	last  atomic.Int64
}

// OpenRange implements hubkit.Source. A read of the whole file (what a single-stream upload
// asks for) is served by parallel ranged reads when the job allows several connections.
func (s *progressSource) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if s.par.wants(s.file.Size, off, n) {
		return s.par.open(ctx, hubkit.SourceFunc(s.openOne), s.file.Size), nil
	}
	return s.openOne(ctx, off, n)
}

// openOne reads one range over one connection.
func (s *progressSource) openOne(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	rc, err := s.hub.Open(ctx, s.repo, s.rev, s.file.Path, off, n)
	if err != nil {
		s.par.observe(err)
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
	if err != nil && err != io.EOF {
		c.s.par.observe(err)
	}
	return n, err
}

func (c *countingReader) Close() error { return c.rc.Close() }
