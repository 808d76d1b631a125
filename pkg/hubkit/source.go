package hubkit

import (
	"bytes"
	"context"
	"fmt"
	"io"
)

// Source is a ranged reader of one object's bytes. Every upload in this module reads from one,
// so a file can stream from one hub's download straight into another hub's upload: a multipart
// upload opens one range per part, a retried upload opens the object again.
type Source interface {
	// OpenRange returns n bytes starting at off (n < 0: to the end).
	OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context, off, n int64) (io.ReadCloser, error)

// OpenRange implements Source.
func (f SourceFunc) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	return f(ctx, off, n)
}

// ReaderAtSource returns a Source reading from r (an *os.File, a *bytes.Reader, ...). With
// n < 0 it reads until r reports io.EOF.
func ReaderAtSource(r io.ReaderAt) Source {
	return SourceFunc(func(_ context.Context, off, n int64) (io.ReadCloser, error) {
		if off < 0 {
			return nil, fmt.Errorf("range start %d: %w", off, ErrInvalid)
		}
		if n < 0 {
			n = 1<<63 - 1 - off
		}
		return io.NopCloser(io.NewSectionReader(r, off, n)), nil
	})
}

// Bytes is a Source over bytes in memory.
type Bytes []byte

// OpenRange implements Source.
func (b Bytes) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	if off < 0 || off > int64(len(b)) {
		return nil, fmt.Errorf("range start %d outside 0..%d: %w", off, len(b), ErrInvalid)
	}
	end := int64(len(b))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return io.NopCloser(bytes.NewReader(b[off:end])), nil
}
