// Package xet speaks Xet, the content-addressed chunk store behind the Hugging Face Hub, from Go.
//
// It implements the pieces of the Xet protocol (spec: huggingface/hub-docs docs/xet, reference
// implementation: huggingface/xet-core) that a client needs to move whole files in and out of the
// store: content-defined chunking, the keyed BLAKE3 hashes (chunk, xorb, file and term
// verification hashes), the chunk codecs (none, LZ4 frame, byte grouping + LZ4), xorb and shard
// serialisation, CAS access tokens, a [Reader] that reconstructs any byte range of a stored file
// from its reconstruction, and an [Uploader] that chunks one stream, packs and uploads xorbs and
// registers the file with a shard.
//
// Git-backed Hub repos still name files by their LFS SHA-256; the Xet file hash is a second
// identity the Hub reports beside it (the `xetHash` of tree entries, the X-Xet-Hash header of a
// resolve). Callers keep checking the SHA-256 end to end; the Uploader computes it as it streams.
package xet

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"

	"lukechampine.com/blake3"
)

// HashSize is the length in bytes of every Xet hash.
const HashSize = 32

// Hash is a 32-byte Xet hash (chunk, xorb, file or verification hash) in its raw byte order.
type Hash [HashSize]byte

// Keys of the keyed BLAKE3 hashes, as printed in the spec (docs/xet/hashing.md).
var (
	dataKey = [32]byte{102, 151, 245, 119, 91, 149, 80, 222, 49, 53, 203, 172, 165, 151, 24, 28,
		157, 228, 33, 16, 155, 235, 43, 88, 180, 208, 176, 75, 147, 173, 242, 41}
	internalNodeKey = [32]byte{1, 126, 197, 199, 165, 71, 41, 150, 253, 148, 102, 102, 180, 138, 2, 230,
		93, 221, 83, 111, 55, 199, 109, 210, 248, 99, 82, 230, 74, 83, 113, 63}
	verificationKey = [32]byte{127, 24, 87, 214, 206, 86, 237, 102, 18, 127, 249, 19, 231, 165, 195, 243,
		164, 205, 38, 213, 181, 219, 73, 230, 65, 36, 152, 127, 40, 251, 148, 195}
)

// String is the hash in the Xet text form: each 8-byte word read as a little-endian u64 and
// printed as 16 hex digits (docs/xet/api.md "Converting Hashes to Strings").
func (h Hash) String() string {
	var b [64]byte
	for i := 0; i < 4; i++ {
		w := binary.LittleEndian.Uint64(h[8*i:])
		s := strconv.FormatUint(w, 16)
		for j := 0; j < 16-len(s); j++ {
			b[16*i+j] = '0'
		}
		copy(b[16*i+16-len(s):], s)
	}
	return string(b[:])
}

// IsZero reports whether every byte of h is zero.
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash parses the Xet text form of a hash (see [Hash.String]).
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 {
		return h, fmt.Errorf("xet: hash %q: want 64 hex digits, got %d characters", clip(s), len(s))
	}
	for i := 0; i < 4; i++ {
		w, err := strconv.ParseUint(s[16*i:16*i+16], 16, 64)
		if err != nil {
			return h, fmt.Errorf("xet: hash %q: not hex", clip(s))
		}
		binary.LittleEndian.PutUint64(h[8*i:], w)
	}
	return h, nil
}

// HashFromSHA256 stores a SHA-256 digest the way the shard metadata extension carries it: the
// digest's hex string parsed as a Xet hash (xet-core ShaGenerator::finalize and
// huggingface.js uploadShards.ts both do this).
func HashFromSHA256(sum [32]byte) Hash {
	h, _ := ParseHash(hex.EncodeToString(sum[:])) // 64 hex digits always parse
	return h
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

var hasherPool = sync.Map{} // key *[32]byte -> *sync.Pool of *blake3.Hasher

func keyed(key *[32]byte, parts ...[]byte) Hash {
	p, _ := hasherPool.LoadOrStore(key, &sync.Pool{New: func() any { return blake3.New(32, key[:]) }})
	pool := p.(*sync.Pool)
	hh := pool.Get().(*blake3.Hasher)
	hh.Reset()
	for _, b := range parts {
		_, _ = hh.Write(b)
	}
	var h Hash
	hh.Sum(h[:0])
	pool.Put(hh)
	return h
}

// ChunkHash is the hash of one chunk's bytes: BLAKE3 keyed with the spec's DATA_KEY.
func ChunkHash(data []byte) Hash { return keyed(&dataKey, data) }

// HMAC is the keyed hash Xet uses to protect chunk hashes in deduplication answers
// (xet-core DataHash::hmac: BLAKE3 of the hash's bytes keyed with key).
func HMAC(h, key Hash) Hash {
	hh := blake3.New(32, key[:])
	_, _ = hh.Write(h[:])
	var out Hash
	hh.Sum(out[:0])
	return out
}

// ChunkRef is a chunk's hash and uncompressed length: a leaf of the Merkle trees that give the
// xorb and file hashes.
type ChunkRef struct {
	Hash Hash
	Size uint32
}

const meanBranching = 4

// merkleRoot aggregates the leaves into the root of Xet's variable fan-out Merkle tree. Inner
// sizes are kept as uint64 so a file over 4 GiB hashes correctly.
func merkleRoot(leaves []ChunkRef) Hash {
	if len(leaves) == 0 {
		return Hash{}
	}
	type node struct {
		h Hash
		n uint64
	}
	level := make([]node, len(leaves))
	for i, l := range leaves {
		level[i] = node{l.Hash, uint64(l.Size)}
	}
	buf := make([]byte, 0, 9*90)
	for len(level) > 1 {
		w := 0
		for r := 0; r < len(level); {
			end := r + cutOf(len(level)-r, func(i int) Hash { return level[r+i].h })
			buf = buf[:0]
			var total uint64
			for _, n := range level[r:end] {
				buf = append(buf, n.h.String()...)
				buf = append(buf, " : "...)
				buf = strconv.AppendUint(buf, n.n, 10)
				buf = append(buf, '\n')
				total += n.n
			}
			level[w] = node{keyed(&internalNodeKey, buf), total}
			w++
			r = end
		}
		level = level[:w]
	}
	return level[0].h
}

// cutOf is how many of the next n nodes form one parent (xet-core aggregated_hashes.rs next_cut:
// variable fan-out with mean 4, cut after the first node from the third on whose hash's last
// word is 0 mod 4, at most 9 children).
func cutOf(n int, hashAt func(int) Hash) int {
	if n <= 2 {
		return n
	}
	end := min(2*meanBranching+1, n)
	for i := 2; i < end; i++ {
		h := hashAt(i)
		if binary.LittleEndian.Uint64(h[24:])%meanBranching == 0 {
			return i + 1
		}
	}
	return end
}

// XorbHash is the hash of a xorb: the root of the Merkle tree over its chunks.
func XorbHash(chunks []ChunkRef) Hash { return merkleRoot(chunks) }

// FileHash is the Xet identity of a file: the Merkle root over all its chunks, hashed once more
// with an all-zero key. An empty file hashes to all zeros.
func FileHash(chunks []ChunkRef) Hash {
	if len(chunks) == 0 {
		return Hash{}
	}
	root := merkleRoot(chunks)
	var zero [32]byte
	return keyed(&zero, root[:])
}

// VerificationHash is the term verification hash a shard carries for a term: BLAKE3 keyed with
// VERIFICATION_KEY over the raw chunk hashes of the term's chunk range.
func VerificationHash(chunkHashes []Hash) Hash {
	parts := make([][]byte, len(chunkHashes))
	for i := range chunkHashes {
		parts[i] = chunkHashes[i][:]
	}
	return keyed(&verificationKey, parts...)
}
