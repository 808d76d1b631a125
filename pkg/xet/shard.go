package xet

import (
	"encoding/binary"
	"fmt"
	"time"
)

// Shard layout constants (docs/xet/shard.md).
const (
	shardHeaderVersion = 2
	shardFooterVersion = 1
	shardHeaderSize    = 48
	shardFooterSize    = 200
	entrySize          = 48

	flagWithVerification = 1 << 31
	flagWithMetadataExt  = 1 << 30
)

// shardTag is MDB_SHARD_HEADER_TAG, the magic at the start of every shard.
var shardTag = [32]byte{'H', 'F', 'R', 'e', 'p', 'o', 'M', 'e', 't', 'a', 'D', 'a', 't', 'a', 0, 85,
	105, 103, 69, 106, 123, 129, 87, 131, 165, 189, 217, 92, 205, 209, 74, 169}

// Term is one entry of a file reconstruction: chunks [Start, End) of a xorb.
type Term struct {
	Xorb          Hash
	Start, End    uint32
	UnpackedBytes uint32
}

// FileInfo is a file's reconstruction as a shard carries it.
type FileInfo struct {
	Hash         Hash
	Terms        []Term
	Verification []Hash // one per term; required on upload
	SHA256       *Hash  // the metadata extension; the digest in the form HashFromSHA256 gives
}

// XorbInfo is a xorb's chunk table as a shard carries it. Chunk offsets here are cumulative
// uncompressed offsets (huggingface.js uploadShards.ts writes them so).
type XorbInfo struct {
	Hash            Hash
	Chunks          []XorbChunk
	UnpackedBytes   uint32
	SerializedBytes uint32
}

// Shard is the set of file reconstructions and xorb descriptions of one shard.
type Shard struct {
	Files []FileInfo
	Xorbs []XorbInfo
	// HMACKey, when not zero, says the chunk hashes in Xorbs are HMAC(chunk hash, HMACKey)
	// (deduplication answers).
	HMACKey Hash
	// Expiry, when set, is when a deduplication answer stops being usable.
	Expiry time.Time
}

var bookend = func() [entrySize]byte {
	var b [entrySize]byte
	for i := 0; i < 32; i++ {
		b[i] = 0xff
	}
	return b
}()

func putEntry(dst []byte, h Hash, a, b, c, d uint32) []byte {
	var e [entrySize]byte
	copy(e[:], h[:])
	binary.LittleEndian.PutUint32(e[32:], a)
	binary.LittleEndian.PutUint32(e[36:], b)
	binary.LittleEndian.PutUint32(e[40:], c)
	binary.LittleEndian.PutUint32(e[44:], d)
	return append(dst, e[:]...)
}

// Marshal serialises the shard. withFooter adds the 200-byte footer (the shard upload API
// accepts it with or without; deduplication answers carry one).
func (s *Shard) Marshal(withFooter bool) ([]byte, error) {
	out := make([]byte, 0, shardHeaderSize+entrySize*(4+len(s.Files)*4+len(s.Xorbs)*64))
	out = append(out, shardTag[:]...)
	out = binary.LittleEndian.AppendUint64(out, shardHeaderVersion)
	if withFooter {
		out = binary.LittleEndian.AppendUint64(out, shardFooterSize)
	} else {
		out = binary.LittleEndian.AppendUint64(out, 0)
	}
	for _, f := range s.Files {
		if len(f.Verification) != len(f.Terms) {
			return nil, fmt.Errorf("xet: file %s: %d verification hashes for %d terms", f.Hash, len(f.Verification), len(f.Terms))
		}
		flags := uint32(flagWithVerification)
		if f.SHA256 != nil {
			flags |= flagWithMetadataExt
		}
		out = putEntry(out, f.Hash, flags, uint32(len(f.Terms)), 0, 0)
		for _, t := range f.Terms {
			out = putEntry(out, t.Xorb, 0, t.UnpackedBytes, t.Start, t.End)
		}
		for _, v := range f.Verification {
			out = putEntry(out, v, 0, 0, 0, 0)
		}
		if f.SHA256 != nil {
			out = putEntry(out, *f.SHA256, 0, 0, 0, 0)
		}
	}
	out = append(out, bookend[:]...)
	casOffset := len(out)
	for _, x := range s.Xorbs {
		out = putEntry(out, x.Hash, 0, uint32(len(x.Chunks)), x.UnpackedBytes, x.SerializedBytes)
		var off uint32
		for _, c := range x.Chunks {
			out = putEntry(out, c.Hash, off, c.Size, 0, 0)
			off += c.Size
		}
	}
	out = append(out, bookend[:]...)
	if withFooter {
		footerOffset := len(out)
		var f [shardFooterSize]byte
		binary.LittleEndian.PutUint64(f[0:], shardFooterVersion)
		binary.LittleEndian.PutUint64(f[8:], shardHeaderSize)
		binary.LittleEndian.PutUint64(f[16:], uint64(casOffset))
		copy(f[72:104], s.HMACKey[:])
		binary.LittleEndian.PutUint64(f[104:], uint64(time.Now().Unix()))
		if !s.Expiry.IsZero() {
			binary.LittleEndian.PutUint64(f[112:], uint64(s.Expiry.Unix()))
		}
		binary.LittleEndian.PutUint64(f[192:], uint64(footerOffset))
		out = append(out, f[:]...)
	}
	return out, nil
}

type entry [entrySize]byte

func (e *entry) hash() (h Hash) { copy(h[:], e[:32]); return }
func (e *entry) u32(i int) uint32 {
	return binary.LittleEndian.Uint32(e[32+4*i:])
}
func (e *entry) isBookend() bool { return [entrySize]byte(*e) == bookend }

type shardReader struct {
	b   []byte
	off int
	end int
}

func (r *shardReader) next(what string) (*entry, error) {
	if r.off+entrySize > r.end {
		return nil, fmt.Errorf("%w: shard ends inside %s at byte %d", ErrCorrupt, what, r.off)
	}
	e := (*entry)(r.b[r.off : r.off+entrySize])
	r.off += entrySize
	return e, nil
}

// ParseShard reads a serialised shard, with or without its footer, and checks its structure.
func ParseShard(b []byte) (*Shard, error) {
	if len(b) < shardHeaderSize || [32]byte(b[:32]) != shardTag {
		return nil, fmt.Errorf("%w: not a shard (bad magic)", ErrCorrupt)
	}
	if v := binary.LittleEndian.Uint64(b[32:]); v != shardHeaderVersion {
		return nil, fmt.Errorf("%w: shard header version %d (want %d)", ErrCorrupt, v, shardHeaderVersion)
	}
	footer := binary.LittleEndian.Uint64(b[40:])
	if footer != 0 && footer != shardFooterSize {
		return nil, fmt.Errorf("%w: shard footer size %d (want 0 or %d)", ErrCorrupt, footer, shardFooterSize)
	}
	if uint64(len(b)) < shardHeaderSize+footer {
		return nil, fmt.Errorf("%w: shard shorter than its header and footer", ErrCorrupt)
	}
	s := &Shard{}
	r := &shardReader{b: b, off: shardHeaderSize, end: len(b) - int(footer)}
	if err := s.readFiles(r); err != nil {
		return nil, err
	}
	if err := s.readXorbs(r); err != nil {
		return nil, err
	}
	if r.off != r.end {
		return nil, fmt.Errorf("%w: %d stray bytes after the CAS info section", ErrCorrupt, r.end-r.off)
	}
	if footer != 0 {
		f := b[len(b)-shardFooterSize:]
		if v := binary.LittleEndian.Uint64(f); v != shardFooterVersion {
			return nil, fmt.Errorf("%w: shard footer version %d (want %d)", ErrCorrupt, v, shardFooterVersion)
		}
		copy(s.HMACKey[:], f[72:104])
		if exp := binary.LittleEndian.Uint64(f[112:]); exp != 0 {
			s.Expiry = time.Unix(int64(exp), 0)
		}
	}
	return s, nil
}

// section reads the entries of a section up to its bookend, giving each header entry to read,
// which reads the entries that belong to it. what names the section in errors.
func (r *shardReader) section(what string, read func(e *entry) error) error {
	for {
		e, err := r.next(what)
		if err != nil {
			return err
		}
		if e.isBookend() {
			return nil
		}
		if err := read(e); err != nil {
			return err
		}
	}
}

// claim checks that the shard has room for the n entries of the given unit (terms, chunks) the
// header entry e of an owner (a file, a xorb) says follow it, before anything is allocated for
// them.
func (r *shardReader) claim(owner string, e *entry, n uint32, unit string) error {
	if uint64(n)*entrySize > uint64(r.end-r.off) {
		return fmt.Errorf("%w: %s %s claims %d %s, more than the shard holds", ErrCorrupt, owner, e.hash(), n, unit)
	}
	return nil
}

// readEntries reads the next n entries (what names them in errors), each made into a T by conv.
func readEntries[T any](r *shardReader, n uint32, what string, conv func(*entry) T) ([]T, error) {
	out := make([]T, n)
	for i := range out {
		e, err := r.next(what)
		if err != nil {
			return nil, err
		}
		out[i] = conv(e)
	}
	return out, nil
}

func (s *Shard) readFiles(r *shardReader) error {
	return r.section("the file info section", func(e *entry) error {
		flags, n := e.u32(0), e.u32(1)
		if err := r.claim("file", e, n, "terms"); err != nil {
			return err
		}
		f := FileInfo{Hash: e.hash()}
		var err error
		f.Terms, err = readEntries(r, n, "a file's terms", func(t *entry) Term {
			return Term{Xorb: t.hash(), UnpackedBytes: t.u32(1), Start: t.u32(2), End: t.u32(3)}
		})
		if err != nil {
			return err
		}
		if flags&flagWithVerification != 0 {
			if f.Verification, err = readEntries(r, n, "a file's verification entries", (*entry).hash); err != nil {
				return err
			}
		}
		if flags&flagWithMetadataExt != 0 {
			m, err := r.next("a file's metadata extension")
			if err != nil {
				return err
			}
			h := m.hash()
			f.SHA256 = &h
		}
		s.Files = append(s.Files, f)
		return nil
	})
}

func (s *Shard) readXorbs(r *shardReader) error {
	return r.section("the CAS info section", func(e *entry) error {
		n := e.u32(1)
		if err := r.claim("xorb", e, n, "chunks"); err != nil {
			return err
		}
		x := XorbInfo{Hash: e.hash(), UnpackedBytes: e.u32(2), SerializedBytes: e.u32(3)}
		var err error
		x.Chunks, err = readEntries(r, n, "a xorb's chunks", func(c *entry) XorbChunk {
			return XorbChunk{Hash: c.hash(), Offset: c.u32(0), Size: c.u32(1)}
		})
		if err != nil {
			return err
		}
		s.Xorbs = append(s.Xorbs, x)
		return nil
	})
}
