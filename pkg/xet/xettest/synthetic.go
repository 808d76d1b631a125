package xettest

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/xet"
)

// ImportSynthetic stores a synthetic blob (internal/synth) as Import stores bytes, without ever
// holding the blob: it is chunked exactly as a client would chunk its bytes, every distinct chunk
// is packed once into xorbs, and the file's terms point at them. A real CAS deduplicates a file
// against itself the same way (hub-docs xet/deduplication.md), and a synthetic blob repeats every
// synth.Period bytes, so the store holds about one period (4 MiB) whatever the blob's size. The
// registered file goes through the same checks as an uploaded shard, SHA-256 extension included.
func (s *Server) ImportSynthetic(scope string, b synth.Blob) (xet.Hash, error) {
	if b.Size == 0 {
		return xet.Hash{}, nil
	}
	sum, err := hex.DecodeString(b.SHA256())
	if err != nil || len(sum) != 32 {
		return xet.Hash{}, fmt.Errorf("synthetic blob hash: %v", err)
	}
	lay, err := synthLayoutOf(b)
	if err != nil {
		return xet.Hash{}, err
	}
	p := &synthPacker{s: s, where: map[xet.Hash]synthLoc{}}
	buf := make([]byte, xet.MaxChunkSize)
	for i, off := range lay.starts {
		c := lay.leaves[i]
		if err := p.add(c, func() ([]byte, error) { return readChunk(b, buf, off, c.Size) }); err != nil {
			return xet.Hash{}, err
		}
	}
	if err := p.flush(); err != nil {
		return xet.Hash{}, err
	}
	ext := xet.HashFromSHA256([32]byte(sum))
	fi := xet.FileInfo{Hash: xet.FileHash(lay.leaves), SHA256: &ext}
	for _, t := range p.terms {
		fi.Terms = append(fi.Terms, xet.Term{Xorb: p.xorbs[t.xorb].Hash, Start: t.start, End: t.end, UnpackedBytes: t.unpacked})
		fi.Verification = append(fi.Verification, xet.VerificationHash(t.hashes))
	}
	shard := xet.Shard{Files: []xet.FileInfo{fi}, Xorbs: p.xorbs}
	if err := s.register(scope, &shard); err != nil {
		return xet.Hash{}, err
	}
	return fi.Hash, nil
}

// synthChunks returns the start and length of every chunk of the blob as xet.Chunker cuts its
// bytes, reading only about two periods of it. A chunk's cut depends only on the bytes from its
// start up to MaxChunkSize further, so once a chunk starts at the same position modulo
// synth.Period as an earlier one, the chunks from there repeat the run since that earlier one;
// that run is replayed as long as every replayed chunk lies MaxChunkSize before the end, and the
// tail is chunked from the real bytes again.
func synthChunks(b synth.Blob) (starts []int64, lens []int, err error) {
	phase := map[int64]int{} // position modulo the period of a chunk start -> its index
	ch := xet.NewChunker(b.NewReader(0, b.Size))
	var pos int64
	replayed := false
	for {
		if !replayed {
			if i, ok := phase[pos%synth.Period]; ok {
				replayed = true
				cycle := pos - starts[i]
				if k := (b.Size - xet.MaxChunkSize - pos) / cycle; k > 0 {
					runStarts, runLens := slices.Clone(starts[i:]), slices.Clone(lens[i:])
					for j := int64(1); j <= k; j++ {
						for m, off := range runStarts {
							starts = append(starts, off+j*cycle)
							lens = append(lens, runLens[m])
						}
					}
					pos += k * cycle
					ch = xet.NewChunker(b.NewReader(pos, b.Size-pos))
				}
			} else {
				phase[pos%synth.Period] = len(starts)
			}
		}
		data, err := ch.Next()
		if errors.Is(err, io.EOF) {
			return starts, lens, nil
		}
		if err != nil {
			return nil, nil, err
		}
		starts = append(starts, pos)
		lens = append(lens, len(data))
		pos += int64(len(data))
	}
}

// synthVerifyMin is the size above which a file naming a synthetic blob's SHA-256 is verified
// against the blob's chunk layout rather than by decoding it.
const synthVerifyMin = 64 << 20

// synthLayout is a synthetic blob's chunking: each chunk's start and its hash and size.
type synthLayout struct {
	starts []int64
	leaves []xet.ChunkRef
}

// layouts caches the layouts computed, per blob, for the process.
var layouts struct {
	sync.Mutex
	m map[synth.Blob]*synthLayout
}

// synthLayoutOf chunks a synthetic blob (synthChunks) and hashes each distinct chunk once: two
// chunks with the same length starting at the same position modulo the period hold the same bytes.
func synthLayoutOf(b synth.Blob) (*synthLayout, error) {
	layouts.Lock()
	defer layouts.Unlock()
	if l := layouts.m[b]; l != nil {
		return l, nil
	}
	starts, lens, err := synthChunks(b)
	if err != nil {
		return nil, err
	}
	type key struct {
		phase int64
		n     int
	}
	seen := map[key]xet.Hash{}
	buf := make([]byte, xet.MaxChunkSize)
	l := &synthLayout{starts: starts, leaves: make([]xet.ChunkRef, len(starts))}
	for i, off := range starts {
		k := key{off % synth.Period, lens[i]}
		h, ok := seen[k]
		if !ok {
			data, err := readChunk(b, buf, off, uint32(lens[i]))
			if err != nil {
				return nil, err
			}
			h = xet.ChunkHash(data)
			seen[k] = h
		}
		l.leaves[i] = xet.ChunkRef{Hash: h, Size: uint32(lens[i])}
	}
	if layouts.m == nil {
		layouts.m = map[synth.Blob]*synthLayout{}
	}
	layouts.m[b] = l
	return l, nil
}

// synthLeaves is the chunk list of a synthetic blob.
func synthLeaves(b synth.Blob) ([]xet.ChunkRef, error) {
	l, err := synthLayoutOf(b)
	if err != nil {
		return nil, err
	}
	return l.leaves, nil
}

func readChunk(b synth.Blob, buf []byte, off int64, n uint32) ([]byte, error) {
	data := buf[:n]
	if _, err := b.ReadAt(data, off); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return data, nil
}

type synthLoc struct {
	xorb  int
	index uint32
}

type synthTerm struct {
	xorb       int
	start, end uint32
	unpacked   uint32
	hashes     []xet.Hash
}

// synthPacker packs each distinct chunk once and extends terms over consecutive chunks.
type synthPacker struct {
	s     *Server
	cur   *xet.XorbBuilder
	xorbs []xet.XorbInfo
	where map[xet.Hash]synthLoc
	terms []synthTerm
}

// add appends one chunk of the file: packed (its bytes read) when it is new, else referenced.
func (p *synthPacker) add(c xet.ChunkRef, read func() ([]byte, error)) error {
	h := c.Hash
	loc, ok := p.where[h]
	if !ok {
		data, err := read()
		if err != nil {
			return err
		}
		if p.cur == nil {
			p.cur = xet.NewXorbBuilder(xet.CompressLZ4)
		}
		added, err := p.cur.Add(data, h)
		if err != nil {
			return err
		}
		if !added {
			if err := p.flush(); err != nil {
				return err
			}
			p.cur = xet.NewXorbBuilder(xet.CompressLZ4)
			if _, err := p.cur.Add(data, h); err != nil {
				return err
			}
		}
		loc = synthLoc{xorb: len(p.xorbs), index: uint32(p.cur.Len() - 1)}
		p.where[h] = loc
	}
	if n := len(p.terms); n > 0 {
		t := &p.terms[n-1]
		if t.xorb == loc.xorb && t.end == loc.index {
			t.end++
			t.unpacked += c.Size
			t.hashes = append(t.hashes, h)
			return nil
		}
	}
	p.terms = append(p.terms, synthTerm{xorb: loc.xorb, start: loc.index, end: loc.index + 1, unpacked: c.Size, hashes: []xet.Hash{h}})
	return nil
}

// flush stores the xorb being filled (a copy of its bytes: the builder's buffer is pooled).
func (p *synthPacker) flush() error {
	if p.cur == nil || p.cur.Len() == 0 {
		return nil
	}
	info := p.cur.Info()
	raw := bytes.Clone(p.cur.Bytes())
	p.cur.Release()
	p.cur = nil
	x, err := checkXorb(info.Hash, raw)
	if err != nil {
		return err
	}
	p.s.mu.Lock()
	if _, had := p.s.xorbs[info.Hash]; !had {
		p.s.xorbs[info.Hash] = x
	}
	p.s.mu.Unlock()
	p.xorbs = append(p.xorbs, info)
	return nil
}

// FileBySHA256 finds a file of the scope by the SHA-256 (hex) of its bytes and returns its hash
// and size, without reading its bytes.
func (s *Server) FileBySHA256(scope, sha string) (xet.Hash, int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for h := range s.scopes[scope] {
		if f := s.files[h]; f != nil && f.sha256 == sha {
			return h, f.size, true
		}
	}
	return xet.Hash{}, 0, false
}
