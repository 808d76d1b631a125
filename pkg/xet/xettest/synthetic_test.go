package xettest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/xet"
)

// TestSynthChunksMatchChunker checks the replayed chunk layout against chunking the real bytes.
func TestSynthChunksMatchChunker(t *testing.T) {
	for _, size := range []int64{1, xet.MinChunkSize, synth.Period / 3, synth.Period + xet.MaxChunkSize, 3*synth.Period + 12345, 4*synth.Period - 1} {
		b := synth.Blob{Size: size, Seed: uint64(size)}
		starts, lens, err := synthChunks(b)
		require.NoError(t, err)
		want := xet.ChunkAll(b.Bytes())
		require.Equal(t, want, lens, "size %d", size)
		var off int64
		for i, n := range lens {
			require.Equal(t, off, starts[i])
			off += int64(n)
		}
		require.Equal(t, size, off)
	}
}

// TestImportSynthetic reads a synthetic file of several periods back through a client, and checks
// the store holds about one period of it.
func TestImportSynthetic(t *testing.T) {
	s := New()
	defer s.Close()
	b := synth.Blob{Size: 5*synth.Period + 777, Seed: 3}
	h, err := s.ImportSynthetic("model/a/b", b)
	require.NoError(t, err)
	size, sha, ok := s.File(h)
	require.True(t, ok)
	require.Equal(t, b.Size, size)
	require.Equal(t, b.SHA256(), sha)
	fh, n, ok := s.FileBySHA256("model/a/b", b.SHA256())
	require.True(t, ok)
	require.Equal(t, h, fh)
	require.Equal(t, b.Size, n)

	var stored int
	s.mu.Lock()
	for _, x := range s.xorbs {
		stored += len(x.raw)
	}
	s.mu.Unlock()
	require.Less(t, stored, 2*synth.Period, "the store holds the distinct chunks only")

	c := xet.NewClient(&Tokens{S: s, Scope: "model/a/b", Rev: "main"})
	for _, r := range [][2]int64{{0, -1}, {synth.Period - 100, 3 * xet.MaxChunkSize}, {b.Size - 10, -1}} {
		rc, err := c.File(h, b.Size).OpenRange(context.Background(), r[0], r[1])
		require.NoError(t, err)
		got := sha256.New()
		n, err := io.Copy(got, rc)
		require.NoError(t, err)
		require.NoError(t, rc.Close())
		want := sha256.New()
		m, _ := io.Copy(want, b.NewReader(r[0], map[bool]int64{true: b.Size - r[0], false: r[1]}[r[1] < 0]))
		require.Equal(t, m, n)
		require.Equal(t, hex.EncodeToString(want.Sum(nil)), hex.EncodeToString(got.Sum(nil)), "range %v", r)
	}
}

// TestSyntheticSHA256Check checks that a large file naming a synthetic blob's SHA-256 is accepted
// only with exactly that blob's chunks.
func TestSyntheticSHA256Check(t *testing.T) {
	s := New()
	defer s.Close()
	b := synth.Blob{Size: synthVerifyMin + 999, Seed: 5}
	raw, err := hex.DecodeString(b.SHA256())
	require.NoError(t, err)
	ext := xet.HashFromSHA256([32]byte(raw))
	leaves, err := synthLeaves(b)
	require.NoError(t, err)
	fi := xet.FileInfo{SHA256: &ext}
	sum, err := s.fileSHA256(fi, leaves, b.Size)
	require.NoError(t, err)
	require.Equal(t, b.SHA256(), hex.EncodeToString(sum[:]))

	for name, edit := range map[string]func([]xet.ChunkRef) []xet.ChunkRef{
		"changed chunk": func(l []xet.ChunkRef) []xet.ChunkRef { l[len(l)/2].Hash[0] ^= 1; return l },
		"reordered":     func(l []xet.ChunkRef) []xet.ChunkRef { l[1], l[2] = l[2], l[1]; return l },
		"missing chunk": func(l []xet.ChunkRef) []xet.ChunkRef { return l[1:] },
	} {
		_, err := s.fileSHA256(fi, edit(append([]xet.ChunkRef(nil), leaves...)), b.Size)
		require.Error(t, err, name)
	}
}
