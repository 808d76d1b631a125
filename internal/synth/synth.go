// Package synth generates deterministic synthetic file content on the fly, so the fake hubs can
// serve (and recognise) multi-gigabyte files without storing them in memory or on disk.
//
// A Blob is defined by its size and seed. Its bytes are a fixed pseudo-random pattern, shifted by
// the seed, so any range can be produced at memory-copy speed. The package keeps a process-wide
// registry of the blobs whose SHA-256 has been computed: a fake that receives an upload whose hash
// matches a registered blob can store the small Blob value instead of the bytes.
//
// synth imports only the standard library; fakes, tests and benchmarks import it.
package synth

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
)

// patternSize is the length of the repeating pattern. It is odd-sized relative to common part
// sizes so that equal parts of a blob do not repeat at part boundaries.
const patternSize = 4<<20 + 7

// Period is the length after which every blob's bytes repeat: byte off of a blob equals byte
// off+Period. Content-addressed stores that deduplicate chunks hold a blob in about this much
// space, whatever its size.
const Period = patternSize

var pattern = func() []byte {
	r := rand.New(rand.NewChaCha8([32]byte{'h', 'f', '2', 'm', 's'}))
	b := make([]byte, patternSize)
	for i := 0; i+8 <= len(b); i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}()

// Blob is synthetic content of Size bytes derived from Seed.
type Blob struct {
	Size int64
	Seed uint64
}

// start is the pattern offset of the blob's first byte.
func (b Blob) start() int64 { return int64(b.Seed*2654435761) % patternSize }

// ReadAt implements io.ReaderAt. It is exempt from race instrumentation: it reads only the
// immutable pattern, and instrumenting its copies would make the fakes spend most of a -race
// run on generating multi-GiB synthetic files.
//
//go:norace
func (b Blob) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("synth: negative offset %d", off)
	}
	if off >= b.Size {
		return 0, io.EOF
	}
	want := len(p)
	if rem := b.Size - off; int64(want) > rem {
		want = int(rem)
	}
	pos := (b.start() + off) % patternSize
	n := 0
	for n < want {
		c := copy(p[n:want], pattern[pos:])
		n += c
		pos = (pos + int64(c)) % patternSize
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// NewReader returns a reader over the blob's bytes [off, off+n).
func (b Blob) NewReader(off, n int64) io.Reader {
	if off+n > b.Size {
		n = b.Size - off
	}
	return io.NewSectionReader(b, off, n)
}

// Bytes returns the whole blob; meant for small blobs only.
func (b Blob) Bytes() []byte {
	p := make([]byte, b.Size)
	_, _ = b.ReadAt(p, 0)
	return p
}

var registry struct {
	sync.Mutex
	byHash map[string]Blob
	byBlob map[Blob]string
}

// SHA256 returns the blob's SHA-256 (lower-case hex), computing it once and registering the blob
// so that Lookup finds it by hash.
func (b Blob) SHA256() string {
	registry.Lock()
	if h, ok := registry.byBlob[b]; ok {
		registry.Unlock()
		return h
	}
	registry.Unlock()
	h := sha256.New()
	_, _ = io.Copy(h, b.NewReader(0, b.Size))
	sum := hex.EncodeToString(h.Sum(nil))
	registry.Lock()
	defer registry.Unlock()
	if registry.byHash == nil {
		registry.byHash = map[string]Blob{}
		registry.byBlob = map[Blob]string{}
	}
	registry.byHash[sum] = b
	registry.byBlob[b] = sum
	return sum
}

// Lookup returns the registered blob whose SHA-256 is sum and whose size is size.
func Lookup(sum string, size int64) (Blob, bool) {
	registry.Lock()
	defer registry.Unlock()
	b, ok := registry.byHash[sum]
	if !ok || b.Size != size {
		return Blob{}, false
	}
	return b, true
}
