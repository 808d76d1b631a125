package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// ResumeOption configures NewResumingReader.
type ResumeOption func(*resumeConfig)

type resumeConfig struct {
	pacing
	tries int
}

// WithResumeTries sets how many consecutive attempts (opens, or reads cut short) may fail
// without a byte of progress before the reader gives up (default 5). Progress resets the count.
func WithResumeTries(n int) ResumeOption {
	return func(c *resumeConfig) {
		if n > 0 {
			c.tries = n
		}
	}
}

// WithResumeBackoff sets the initial and maximum backoff between reopen attempts (defaults 1s,
// 30s; tests use milliseconds).
func WithResumeBackoff(initial, max time.Duration) ResumeOption {
	return func(c *resumeConfig) { c.backoffInit, c.backoffMax = initial, max }
}

// WithResumeLogger logs each reopen (offset, attempt, wait, redacted error) at Info.
func WithResumeLogger(l *slog.Logger) ResumeOption { return func(c *resumeConfig) { c.logger = l } }

// permanentError marks an error that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent marks err as permanent for NewResumingReader: an open that returns it is not
// retried. A nil err gives nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// StatusError is an HTTP status an open function may return (wrapped or not) so that
// NewResumingReader can tell permanent failures (4xx except 408 and 429) from transient ones.
type StatusError struct {
	StatusCode int
	Status     string // e.g. "404 Not Found"; optional
}

// Error gives the status.
func (e *StatusError) Error() string {
	if e.Status != "" {
		return "http status " + e.Status
	}
	return fmt.Sprintf("http status %d", e.StatusCode)
}

// IsPermanent reports whether retrying after err is pointless: err was marked with Permanent, is
// a *StatusError with a 4xx status other than 408 and 429, is a context error, or matches one of
// the apierr kinds that do not heal with time (not found, unauthorized, forbidden, gated,
// storage locked, conflict, invalid). hubkit.ErrRateLimited and hubkit.ErrServer are transient.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var pe *permanentError
	if errors.As(err, &pe) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		c := se.StatusCode
		return c >= 400 && c < 500 && c != 408 && c != 429
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	if errors.Is(err, hubkit.ErrRateLimited) || errors.Is(err, hubkit.ErrServer) {
		return false
	}
	for _, k := range []error{hubkit.ErrNotFound, hubkit.ErrUnauthorized, hubkit.ErrForbidden,
		hubkit.ErrGated, hubkit.ErrStorageLocked, hubkit.ErrConflict, hubkit.ErrInvalid} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// NewResumingReader reads the byte range [start,end) from open(ctx, off), which must return a
// body starting at byte off (typically a GET with "Range: bytes=off-(end-1)"; it should fail
// when the server ignores the Range and answers 200 from byte 0 with off > 0). When the body
// fails mid-way (any error but io.EOF, or an EOF before end) the reader closes it and reopens at
// the current offset after a backoff, so a cut download resumes by Range and the caller sees
// one seamless stream. It gives up after WithResumeTries consecutive failures without progress
// (default 5) with an error naming the offset reached; permanent errors from open (IsPermanent)
// and ctx cancellation end it at once. Bytes past end are never returned.
func NewResumingReader(ctx context.Context, open func(ctx context.Context, off int64) (io.ReadCloser, error), start, end int64, opts ...ResumeOption) io.ReadCloser {
	c := resumeConfig{pacing: defaultPacing(), tries: 5}
	for _, o := range opts {
		o(&c)
	}
	c.normalize(time.Millisecond)
	return &resumingReader{ctx: ctx, open: open, start: start, off: start, end: end, cfg: c}
}

var errReaderClosed = errors.New("httpx: read from a closed resuming reader")

// resumingReader is read by one goroutine, but Close may come from another while a Read is in
// flight (net/http's transport can still be reading an upload body when the uploader gives up
// and closes its source), so the current body and the closed flag are guarded by mu.
type resumingReader struct {
	mu     sync.Mutex
	body   io.ReadCloser
	closed bool

	ctx        context.Context
	open       func(ctx context.Context, off int64) (io.ReadCloser, error)
	start, end int64
	off        int64
	cfg        resumeConfig
	fails      int   // consecutive failed attempts (open error, or body cut before its first byte)
	progressed bool  // the current body has delivered bytes
	cut        bool  // the previous body was cut: wait a little before reopening
	lastErr    error // cause of the latest failure
	err        error // sticky terminal error
}

func (r *resumingReader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.isClosed() {
		return 0, errReaderClosed
	}
	if r.off >= r.end {
		r.closeBody()
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if rem := r.end - r.off; int64(len(p)) > rem {
		p = p[:rem]
	}
	for {
		body := r.current()
		if body == nil {
			if err := r.reopen(); err != nil {
				r.err = err
				return 0, err
			}
			if body = r.current(); body == nil { // closed while reopening
				return 0, errReaderClosed
			}
		}
		n, err := body.Read(p)
		r.off += int64(n)
		if n > 0 {
			r.fails, r.progressed = 0, true
		}
		if r.off >= r.end {
			r.closeBody()
			return n, nil
		}
		if err == nil {
			if n > 0 {
				return n, nil
			}
			continue
		}
		// Cut: an error, or EOF before end.
		r.closeBody()
		if r.isClosed() { // closed under the Read: no reopen
			r.err = errReaderClosed
			if n > 0 {
				return n, nil
			}
			return 0, r.err
		}
		if errors.Is(err, io.EOF) {
			err = fmt.Errorf("body ended at offset %d, %d bytes short: %w", r.off, r.end-r.off, io.ErrUnexpectedEOF)
		}
		r.lastErr, r.cut = err, true
		if !r.progressed {
			r.fails++
		}
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			r.err = fmt.Errorf("httpx: ranged read [%d,%d) stopped at offset %d: %w", r.start, r.end, r.off, ctxErr)
			if n > 0 {
				return n, nil
			}
			return 0, r.err
		}
		if n > 0 {
			return n, nil // reopen on the next Read
		}
	}
}

// reopen opens the range at r.off, retrying transient failures with backoff.
func (r *resumingReader) reopen() error {
	for {
		if r.isClosed() {
			return errReaderClosed
		}
		if r.fails >= r.cfg.tries {
			return &redactedError{
				msg: fmt.Sprintf("httpx: ranged read [%d,%d) gave up at offset %d after %d tries without progress: %s",
					r.start, r.end, r.off, r.fails, redactMessage(r.lastErr)),
				err: r.lastErr,
			}
		}
		if r.fails > 0 || r.cut {
			wait := expBackoff(r.cfg.backoffInit, r.cfg.backoffMax, max(r.fails-1, 0))
			r.cfg.logger.Info("httpx: resuming ranged read", "offset", r.off, "attempt", r.fails+1,
				"wait", wait.Round(time.Millisecond), "error", redactMessage(r.lastErr))
			t := time.NewTimer(wait)
			select {
			case <-r.ctx.Done():
				t.Stop()
				return fmt.Errorf("httpx: ranged read [%d,%d) stopped at offset %d: %w", r.start, r.end, r.off, r.ctx.Err())
			case <-t.C:
			}
		}
		r.cut = false
		body, err := r.open(r.ctx, r.off)
		if err == nil {
			r.progressed = false
			r.mu.Lock()
			if r.closed {
				r.mu.Unlock()
				_ = body.Close()
				return errReaderClosed
			}
			r.body = body
			r.mu.Unlock()
			return nil
		}
		if ctxErr := r.ctx.Err(); ctxErr != nil {
			return &redactedError{
				msg: fmt.Sprintf("httpx: ranged read [%d,%d) stopped at offset %d: %v (last error: %s)",
					r.start, r.end, r.off, ctxErr, redactMessage(err)),
				err: errors.Join(ctxErr, err),
			}
		}
		if IsPermanent(err) {
			return &redactedError{
				msg: fmt.Sprintf("httpx: ranged read [%d,%d) at offset %d: %s", r.start, r.end, r.off, redactMessage(err)),
				err: err,
			}
		}
		r.lastErr = err
		r.fails++
	}
}

func (r *resumingReader) current() io.ReadCloser {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.body
}

func (r *resumingReader) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

func (r *resumingReader) closeBody() {
	r.mu.Lock()
	b := r.body
	r.body = nil
	r.mu.Unlock()
	if b != nil {
		_ = b.Close()
	}
}

// Close releases the current body; later Reads fail. It is safe to call while a Read is in
// flight on another goroutine (that Read fails or returns what it already had).
func (r *resumingReader) Close() error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.closeBody()
	return nil
}
