package xet

import (
	"errors"
	"io"
)

// Chunk size limits of Xet's content-defined chunking (docs/xet/chunking.md).
const (
	MinChunkSize    = 8 << 10
	TargetChunkSize = 64 << 10
	MaxChunkSize    = 128 << 10
	boundaryMask    = 0xFFFF000000000000
	gearWindow      = 64
)

// Chunker cuts a stream into content-defined chunks with the gear hash of the spec: a boundary
// after a byte where (h & 0xFFFF000000000000) == 0 once the chunk is long enough (see cutPoint),
// and a forced one at 128 KiB. It reads the stream once into a buffer of chunkerBuffer bytes.
type Chunker struct {
	r   io.Reader
	buf []byte
	lo  int // start of the unconsumed data in buf
	hi  int // end of the data in buf
	eof bool
	err error
}

// chunkerBuffer is the Chunker's buffer: large against MaxChunkSize, so that the unconsumed tail
// is moved to the front rarely (after about 7 maximum chunks) and reads are large.
const chunkerBuffer = 8 * MaxChunkSize

// NewChunker returns a Chunker reading r.
func NewChunker(r io.Reader) *Chunker {
	return &Chunker{r: r, buf: make([]byte, chunkerBuffer)}
}

// fill reads until MaxChunkSize bytes are buffered past lo or the stream ends.
func (c *Chunker) fill() error {
	for !c.eof && c.hi-c.lo < MaxChunkSize {
		if len(c.buf)-c.hi < MaxChunkSize {
			c.hi = copy(c.buf, c.buf[c.lo:c.hi])
			c.lo = 0
		}
		n, err := c.r.Read(c.buf[c.hi:])
		c.hi += n
		if errors.Is(err, io.EOF) {
			c.eof = true
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Next returns the next chunk, or io.EOF after the last one. The slice is only valid until the
// next call. An empty stream has no chunks.
func (c *Chunker) Next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	if err := c.fill(); err != nil {
		c.err = err
		return nil, err
	}
	data := c.buf[c.lo:c.hi]
	if len(data) == 0 {
		c.err = io.EOF
		return nil, io.EOF
	}
	n := cutPoint(data)
	c.lo += n
	return data[:n], nil
}

// cutPoint is the length of the chunk that starts at data[0], given that data holds either at
// least MaxChunkSize bytes or the rest of the stream. The hash starts at zero for every chunk and
// the first MinChunkSize-64-1 bytes are skipped without hashing (the spec's "cut-point
// skipping"); as in the reference chunkers (xet-core deduplication/src/chunking.rs,
// @huggingface/xetchunk-wasm xet-chunker.js) the mask is tested from the first hashed byte on, so
// the shortest chunk a mask match can cut is MinChunkSize-64 bytes.
//
// The loop only reads data (owned by one Chunker or caller) and the immutable gear table, so it
// is exempt from race instrumentation, which would otherwise cost two detector calls per byte
// and make multi-GiB streams impractical in -race test runs.
//
//go:norace
func cutPoint(data []byte) int {
	skip := MinChunkSize - gearWindow - 1
	if len(data) <= skip {
		return len(data)
	}
	limit := min(len(data), MaxChunkSize)
	var h uint64
	for i := skip; i < limit; i++ {
		h = (h << 1) + gearTable[data[i]]
		if h&boundaryMask == 0 {
			return i + 1
		}
	}
	return limit
}

// ChunkAll cuts data into chunks and returns their lengths; a convenience for whole buffers.
func ChunkAll(data []byte) []int {
	var out []int
	for len(data) > 0 {
		n := cutPoint(data)
		out = append(out, n)
		data = data[n:]
	}
	return out
}
