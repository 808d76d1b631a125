package xet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/pierrec/lz4/v4"
)

// Scheme is a chunk compression scheme (docs/xet/xorb.md "Chunk Compression Schemes").
type Scheme uint8

// The chunk compression schemes.
const (
	SchemeNone     Scheme = 0 // stored as is
	SchemeLZ4      Scheme = 1 // LZ4 frame format
	SchemeBG4LZ4   Scheme = 2 // byte grouping in 4 groups, then LZ4 frame
	ChunkHeaderLen        = 8
	maxU24                = 1<<24 - 1
)

var schemeNames = [...]string{SchemeNone: "none", SchemeLZ4: "lz4", SchemeBG4LZ4: "bg4-lz4"}

// String names the scheme ("none", "lz4", "bg4-lz4"), or gives its number when unknown.
func (s Scheme) String() string {
	if int(s) < len(schemeNames) {
		return schemeNames[s]
	}
	return fmt.Sprintf("scheme(%d)", uint8(s))
}

// ErrCorrupt marks data from the store (or a client) that does not decode as the format says:
// a chunk header that lies about a length, a decompression that does not produce exactly the
// declared size, a hash that does not match.
var ErrCorrupt = errors.New("xet: corrupt data")

// ChunkHeader is the 8-byte header in front of every chunk in a xorb.
type ChunkHeader struct {
	Version          uint8
	CompressedSize   uint32 // bytes of payload after the header
	Scheme           Scheme
	UncompressedSize uint32 // bytes of the chunk once decoded
}

// Put writes the header into b[:8].
func (h ChunkHeader) Put(b []byte) {
	b[0] = h.Version
	b[1], b[2], b[3] = byte(h.CompressedSize), byte(h.CompressedSize>>8), byte(h.CompressedSize>>16)
	b[4] = byte(h.Scheme)
	b[5], b[6], b[7] = byte(h.UncompressedSize), byte(h.UncompressedSize>>8), byte(h.UncompressedSize>>16)
}

// ParseChunkHeader reads and checks a chunk header. The uncompressed size may not exceed
// MaxChunkSize: the chunker never makes bigger chunks, and this is what bounds decompression.
func ParseChunkHeader(b []byte) (ChunkHeader, error) {
	if len(b) < ChunkHeaderLen {
		return ChunkHeader{}, fmt.Errorf("%w: chunk header cut short (%d of 8 bytes)", ErrCorrupt, len(b))
	}
	h := ChunkHeader{
		Version:          b[0],
		CompressedSize:   uint32(b[1]) | uint32(b[2])<<8 | uint32(b[3])<<16,
		Scheme:           Scheme(b[4]),
		UncompressedSize: uint32(b[5]) | uint32(b[6])<<8 | uint32(b[7])<<16,
	}
	switch {
	case h.Version != 0:
		return h, fmt.Errorf("%w: chunk header version %d (want 0)", ErrCorrupt, h.Version)
	case h.Scheme > SchemeBG4LZ4:
		return h, fmt.Errorf("%w: unknown chunk compression scheme %d", ErrCorrupt, h.Scheme)
	case h.UncompressedSize > MaxChunkSize:
		return h, fmt.Errorf("%w: chunk header claims %d uncompressed bytes (max %d)", ErrCorrupt, h.UncompressedSize, MaxChunkSize)
	case h.Scheme == SchemeNone && h.CompressedSize != h.UncompressedSize:
		return h, fmt.Errorf("%w: uncompressed chunk with sizes %d != %d", ErrCorrupt, h.CompressedSize, h.UncompressedSize)
	}
	return h, nil
}

// bg4Split groups the bytes of data by their position mod 4 (docs/xet/xorb.md "Byte Grouping").
func bg4Split(dst, data []byte) []byte {
	n := len(data)
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	off := 0
	for g := 0; g < 4; g++ {
		for i := g; i < n; i += 4 {
			dst[off] = data[i]
			off++
		}
	}
	return dst
}

// bg4Join undoes bg4Split.
func bg4Join(dst, grouped []byte) {
	n := len(grouped)
	off := 0
	for g := 0; g < 4; g++ {
		for i := g; i < n; i += 4 {
			dst[i] = grouped[off]
			off++
		}
	}
}

var (
	lz4Writers = sync.Pool{New: func() any {
		w := lz4.NewWriter(nil)
		_ = w.Apply(lz4.BlockSizeOption(lz4.Block256Kb), lz4.ChecksumOption(false))
		return w
	}}
	lz4Readers = sync.Pool{New: func() any { return lz4.NewReader(nil) }}
	bufPool    = sync.Pool{New: func() any { return new(bytes.Buffer) }}
	bg4Bufs    = sync.Pool{New: func() any { b := make([]byte, 0, MaxChunkSize); return &b }}
)

func lz4Frame(dst *bytes.Buffer, data []byte) error {
	w := lz4Writers.Get().(*lz4.Writer)
	defer lz4Writers.Put(w)
	w.Reset(dst)
	if _, err := w.Write(data); err != nil {
		return err
	}
	return w.Close()
}

// CompressOption selects which schemes [EncodeChunk] tries.
type CompressOption int

// Compression choices.
const (
	CompressBest CompressOption = iota // try LZ4 and BG4+LZ4, keep the smallest (as huggingface.js does)
	CompressLZ4                        // try LZ4 only
	CompressNone                       // store every chunk raw
)

// EncodeChunk appends the chunk's header and payload to dst, compressing only when that makes
// it smaller.
func EncodeChunk(dst []byte, data []byte, opt CompressOption) ([]byte, error) {
	if len(data) > MaxChunkSize {
		return dst, fmt.Errorf("xet: chunk of %d bytes exceeds %d", len(data), MaxChunkSize)
	}
	best, scheme := data, SchemeNone
	if opt != CompressNone && len(data) > 0 {
		b := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(b)
		b.Reset()
		if err := lz4Frame(b, data); err != nil {
			return dst, fmt.Errorf("xet: lz4: %w", err)
		}
		if b.Len() < len(best) {
			best, scheme = b.Bytes(), SchemeLZ4
		}
		if opt == CompressBest {
			g := bufPool.Get().(*bytes.Buffer)
			defer bufPool.Put(g)
			g.Reset()
			gb := bg4Bufs.Get().(*[]byte)
			defer bg4Bufs.Put(gb)
			*gb = bg4Split(*gb, data)
			if err := lz4Frame(g, *gb); err != nil {
				return dst, fmt.Errorf("xet: lz4: %w", err)
			}
			if g.Len() < len(best) {
				best, scheme = g.Bytes(), SchemeBG4LZ4
			}
		}
	}
	var hdr [ChunkHeaderLen]byte
	ChunkHeader{CompressedSize: uint32(len(best)), Scheme: scheme, UncompressedSize: uint32(len(data))}.Put(hdr[:])
	dst = append(dst, hdr[:]...)
	return append(dst, best...), nil
}

// DecodeChunk decodes one chunk payload into dst (which must hold h.UncompressedSize bytes) and
// refuses any payload that does not decode to exactly that many bytes; decompression never
// writes past the size the header declares.
func DecodeChunk(h ChunkHeader, payload, dst []byte) error {
	if uint32(len(payload)) != h.CompressedSize {
		return fmt.Errorf("%w: chunk payload is %d bytes, header says %d", ErrCorrupt, len(payload), h.CompressedSize)
	}
	if uint32(len(dst)) != h.UncompressedSize {
		return fmt.Errorf("xet: decode buffer of %d bytes for a %d-byte chunk", len(dst), h.UncompressedSize)
	}
	switch h.Scheme {
	case SchemeNone:
		copy(dst, payload)
		return nil
	case SchemeLZ4:
		return unlz4(payload, dst)
	case SchemeBG4LZ4:
		tmp := make([]byte, len(dst))
		if err := unlz4(payload, tmp); err != nil {
			return err
		}
		bg4Join(dst, tmp)
		return nil
	}
	return fmt.Errorf("%w: unknown chunk compression scheme %d", ErrCorrupt, h.Scheme)
}

func unlz4(payload, dst []byte) error {
	r := lz4Readers.Get().(*lz4.Reader)
	defer lz4Readers.Put(r)
	r.Reset(bytes.NewReader(payload))
	if _, err := io.ReadFull(r, dst); err != nil {
		return fmt.Errorf("%w: lz4 chunk decodes to fewer bytes than the %d its header says: %v", ErrCorrupt, len(dst), err)
	}
	var one [1]byte
	if n, err := r.Read(one[:]); n > 0 || (err != nil && !errors.Is(err, io.EOF)) {
		if n > 0 {
			return fmt.Errorf("%w: lz4 chunk decodes to more than the %d bytes its header says", ErrCorrupt, len(dst))
		}
		return fmt.Errorf("%w: lz4 chunk: %v", ErrCorrupt, err)
	}
	return nil
}
