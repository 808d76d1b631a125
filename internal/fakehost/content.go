package fakehost

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/linaqruf/hf2ms/internal/synth"
)

// Content is one stored object's bytes, held one of three ways: in memory (Data), as a
// registered synthetic blob generated on demand (Blob, internal/synth), or in a file on disk
// (made by Spool or SpoolFile.Finish). A Content with no Blob and no file is Data, which may be
// empty.
type Content struct {
	// Data is the content when it is held in memory.
	Data []byte
	// Blob is the content when it is synthetic.
	Blob *synth.Blob

	file     *os.File
	fileSize int64
}

// Size is the content's length in bytes.
func (c Content) Size() int64 {
	switch {
	case c.Blob != nil:
		return c.Blob.Size
	case c.file != nil:
		return c.fileSize
	}
	return int64(len(c.Data))
}

// ReaderAt reads a synthetic or on-disk content at any offset; it is nil for content in memory,
// which callers slice directly.
func (c Content) ReaderAt() io.ReaderAt {
	switch {
	case c.Blob != nil:
		return c.Blob
	case c.file != nil:
		return c.file
	}
	return nil
}

// Reader is a seekable reader over the whole content.
func (c Content) Reader() io.ReadSeeker {
	if at := c.ReaderAt(); at != nil {
		return io.NewSectionReader(at, 0, c.Size())
	}
	return bytes.NewReader(c.Data)
}

// compareBufSize is the size of Compare's two buffers: large, so GiB/s streams cost few reads.
const compareBufSize = 1 << 20

var comparePool = sync.Pool{New: func() any { b := make([]byte, compareBufSize); return &b }}

// ShortBodyError is a body that ended before the bytes it should carry: Read of Want arrived,
// then reading failed with Err.
type ShortBodyError struct {
	Read, Want int64
	Err        error
}

// Error says how far the body got, without the cause (which Unwrap returns).
func (e *ShortBodyError) Error() string {
	return fmt.Sprintf("body ended after %d of %d bytes", e.Read, e.Want)
}

// Unwrap is the read error that ended the body.
func (e *ShortBodyError) Unwrap() error { return e.Err }

// Compare reads n bytes from body and checks them against want's bytes from offset off, through
// two pooled buffers, so a multi-GiB synthetic object costs no memory. A body that ends early
// fails with a *ShortBodyError; one that differs fails naming the absolute offset of the first
// differing buffer. Compare does not check that the body ends after the n bytes.
func Compare(body io.Reader, want io.ReaderAt, off, n int64) error {
	bp, wp := comparePool.Get().(*[]byte), comparePool.Get().(*[]byte)
	defer comparePool.Put(bp)
	defer comparePool.Put(wp)
	buf, wbuf := *bp, *wp
	var done int64
	for done < n {
		m, err := io.ReadFull(body, buf[:min(int64(len(buf)), n-done)])
		if m > 0 {
			if _, werr := want.ReadAt(wbuf[:m], off+done); werr != nil && werr != io.EOF {
				return werr
			}
			if !bytes.Equal(buf[:m], wbuf[:m]) {
				return fmt.Errorf("content differs from the announced object at byte %d", off+done)
			}
			done += int64(m)
		}
		if err != nil {
			return &ShortBodyError{Read: done, Want: n, Err: err}
		}
	}
	return nil
}
