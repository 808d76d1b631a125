package xet

import (
	"encoding/binary"
	"fmt"
	"sync"
)

// Xorb limits (docs/xet/xorb.md): the serialised size the CAS accepts, the reference client's
// chunk cap, and the uncompressed total the spec advises packing up to (which also keeps every
// term, and so what a Reader decodes at once, near 64 MiB).
const (
	MaxXorbBytes    = 64 << 20
	MaxXorbChunks   = 8192
	MaxXorbUnpacked = 64 << 20
)

// XorbChunk describes one chunk of a xorb.
type XorbChunk struct {
	Hash   Hash
	Size   uint32 // uncompressed length
	Offset uint32 // where its header starts in the serialised xorb
}

// XorbBuilder packs chunks into one serialised xorb.
type XorbBuilder struct {
	opt      CompressOption
	data     []byte
	chunks   []XorbChunk
	unpacked uint64
}

// xorbBufs recycles the 64 MiB buffers xorbs are serialised into.
var xorbBufs = sync.Pool{New: func() any { b := make([]byte, 0, MaxXorbBytes); return &b }}

// NewXorbBuilder returns an empty builder that compresses chunks as opt says.
func NewXorbBuilder(opt CompressOption) *XorbBuilder {
	return &XorbBuilder{opt: opt, data: (*xorbBufs.Get().(*[]byte))[:0]}
}

// Release hands the builder's buffer back for reuse; Bytes must not be used afterwards.
func (b *XorbBuilder) Release() {
	if cap(b.data) == MaxXorbBytes {
		d := b.data[:0]
		xorbBufs.Put(&d)
	}
	b.data = nil
}

// Add appends a chunk; it reports false (and adds nothing) when the xorb is full.
func (b *XorbBuilder) Add(data []byte, h Hash) (bool, error) {
	if len(b.chunks) >= MaxXorbChunks || (len(b.chunks) > 0 && b.unpacked+uint64(len(data)) > MaxXorbUnpacked) {
		return false, nil
	}
	start := len(b.data)
	if start+ChunkHeaderLen+len(data) > MaxXorbBytes {
		// The chunk might still fit compressed; encode it aside rather than grow the buffer.
		enc, err := EncodeChunk(nil, data, b.opt)
		if err != nil {
			return false, err
		}
		if start+len(enc) > MaxXorbBytes {
			return false, nil
		}
		b.data = append(b.data, enc...)
		b.chunks = append(b.chunks, XorbChunk{Hash: h, Size: uint32(len(data)), Offset: uint32(start)})
		b.unpacked += uint64(len(data))
		return true, nil
	}
	out, err := EncodeChunk(b.data, data, b.opt)
	if err != nil {
		return false, err
	}
	b.data = out
	b.chunks = append(b.chunks, XorbChunk{Hash: h, Size: uint32(len(data)), Offset: uint32(start)})
	b.unpacked += uint64(len(data))
	return true, nil
}

// Len is the number of chunks added.
func (b *XorbBuilder) Len() int { return len(b.chunks) }

// Bytes is the serialised xorb (chunk headers and payloads; huggingface.js uploads xorbs in this
// form, without the optional metadata footer).
func (b *XorbBuilder) Bytes() []byte { return b.data }

// Chunks lists the chunks added, in order.
func (b *XorbBuilder) Chunks() []XorbChunk { return b.chunks }

// UnpackedBytes is the total uncompressed size of the chunks.
func (b *XorbBuilder) UnpackedBytes() uint64 { return b.unpacked }

// Hash is the xorb hash of the chunks added.
func (b *XorbBuilder) Hash() Hash { return XorbHash(refs(b.chunks)) }

// Info is the xorb's entry for a shard's CAS info section.
func (b *XorbBuilder) Info() XorbInfo {
	return XorbInfo{Hash: b.Hash(), Chunks: append([]XorbChunk(nil), b.chunks...),
		UnpackedBytes: uint32(b.unpacked), SerializedBytes: uint32(len(b.data))}
}

func refs(cs []XorbChunk) []ChunkRef {
	out := make([]ChunkRef, len(cs))
	for i, c := range cs {
		out[i] = ChunkRef{Hash: c.Hash, Size: c.Size}
	}
	return out
}

// DecodedChunk is one chunk read back from serialised xorb bytes.
type DecodedChunk struct {
	Header ChunkHeader
	Offset int // of its header within the bytes given
	Data   []byte
}

// DecodeChunks decodes a run of serialised chunks (raw chunks' Data alias b) (a whole xorb or a byte range of one that
// starts at a chunk header). want > 0 requires exactly that many chunks; want == 0 decodes to the
// end. Every header is checked against the bytes that follow it.
func DecodeChunks(b []byte, want int) ([]DecodedChunk, error) {
	var out []DecodedChunk
	off := 0
	for off < len(b) && (want == 0 || len(out) < want) {
		h, err := ParseChunkHeader(b[off:])
		if err != nil {
			return out, fmt.Errorf("chunk %d at byte %d: %w", len(out), off, err)
		}
		end := off + ChunkHeaderLen + int(h.CompressedSize)
		if end > len(b) {
			return out, fmt.Errorf("%w: chunk %d at byte %d claims %d payload bytes, only %d remain",
				ErrCorrupt, len(out), off, h.CompressedSize, len(b)-off-ChunkHeaderLen)
		}
		var data []byte
		if h.Scheme == SchemeNone {
			data = b[off+ChunkHeaderLen : end : end] // raw chunks alias the input (sizes checked by the header parse)
		} else {
			data = make([]byte, h.UncompressedSize)
			if err := DecodeChunk(h, b[off+ChunkHeaderLen:end], data); err != nil {
				return out, fmt.Errorf("chunk %d at byte %d: %w", len(out), off, err)
			}
		}
		out = append(out, DecodedChunk{Header: h, Offset: off, Data: data})
		off = end
	}
	if want > 0 && len(out) != want {
		return out, fmt.Errorf("%w: %d chunks decoded, %d expected", ErrCorrupt, len(out), want)
	}
	if want > 0 && off != len(b) {
		return out, fmt.Errorf("%w: %d bytes left after the %d expected chunks", ErrCorrupt, len(b)-off, want)
	}
	return out, nil
}

// SplitXorbFooter separates the chunk sequence of a serialised xorb from its optional metadata
// footer (docs/xet/xorb.md "Xorb Footer"): when the bytes do not decode as chunks to the end,
// the last 4 bytes are taken as the footer's length.
func SplitXorbFooter(b []byte) ([]byte, bool) {
	if _, err := DecodeChunks(b, 0); err == nil {
		return b, false
	}
	if len(b) < 4 {
		return b, false
	}
	n := int(binary.LittleEndian.Uint32(b[len(b)-4:]))
	if n+4 > len(b) {
		return b, false
	}
	return b[:len(b)-4-n], true
}
