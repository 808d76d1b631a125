package xet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pseudoRandom is splitmix64 written as little-endian words; conformance/hfjs/vectors.mjs makes
// the same bytes.
func pseudoRandom(seed uint64, n int) []byte {
	out := make([]byte, n+8)
	s := seed
	for i := 0; i < n; i += 8 {
		s += 0x9e3779b97f4a7c15
		z := s
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		binary.LittleEndian.PutUint64(out[i:], z)
	}
	return out[:n]
}

func textLike(n int) []byte {
	var b bytes.Buffer
	for k := 0; b.Len() < n; {
		k++
		b.WriteString("row " + itoa(k-1) + ",value " + itoa((k*7919)%10007) + ",label " + itoa(k%13) + "\n")
	}
	return b.Bytes()[:n]
}

func itoa(i int) string { return string(appendInt(nil, i)) }
func appendInt(b []byte, i int) []byte {
	if i >= 10 {
		b = appendInt(b, i/10)
	}
	return append(b, byte('0'+i%10))
}

func mustHash(t *testing.T, s string) Hash {
	t.Helper()
	h, err := ParseHash(s)
	require.NoError(t, err)
	return h
}

func TestHashStringForm(t *testing.T) {
	// docs/xet/api.md "Converting Hashes to Strings".
	var h Hash
	for i := range h {
		h[i] = byte(i)
	}
	// The page prints this string with the "10" of the third word missing.
	assert.Equal(t, "07060504030201000f0e0d0c0b0a090817161514131211101f1e1d1c1b1a1918", h.String())
	back, err := ParseHash(h.String())
	require.NoError(t, err)
	assert.Equal(t, h, back)
	for _, bad := range []string{"", "zz", string(bytes.Repeat([]byte("g"), 64))} {
		_, err := ParseHash(bad)
		assert.Error(t, err, bad)
	}
}

// TestMerkleReference holds the aggregated hashes to xet-core's reference values
// (merklehash/src/aggregated_hashes.rs test_correctness, zero salt).
func TestMerkleReference(t *testing.T) {
	a := "cfc5d07f6f03c29bbf424132963fe08d19a37d5757aaf520bf08119f05cd56d6"
	b := "c3e67584b5c4fc2a89837ec39e40f2c8a6bb0b2987ac94cd4b31e5fbdd210a72"
	c := "0d2beb91b9196929a5ddec9f6e306924ddf4a24268e3e59fd8464738d525af37"
	d := "adf8773496a9b7319b2e50dc98093f344053b17d8ad37100b9c07d9805988784"
	z := "0000000000000000000000000000000000000000000000000000000000000000"
	type leaf struct {
		h string
		n uint32
	}
	cases := []struct {
		leaves   []leaf
		xorb     string
		fileHash string
	}{
		{[]leaf{{a, 100}}, a, "8e16257caa3fe079d484d872a8975264b2ff683b0d6db9028cc7c0f968a45661"},
		{[]leaf{{a, 100}, {b, 200}, {c, 300}}, "71ec1275fca074724e2dd666921b3277c7cee603e4d025bcab2d4050015be2bc",
			"54e55dccc6653c612bdb5576c5d3cb34bb31bc4e100248abccf4c908b3ef7715"},
		{[]leaf{{a, 100}, {a, 100}, {a, 100}, {a, 100}}, "89f2ada89ff8c96763c6b25010e6dd76a4c05b1466207633ea559acf2093211b",
			"2cdba690d0e09563596e0cda626d43eb4c96ef1e994fe72d9b2f5a83cfcd36dd"},
		{[]leaf{{a, 100}, {b, 200}, {a, 100}, {b, 200}, {c, 300}, {d, 400}}, "52c826f99507aa05d0b45e9837fa1709e0485425cfbcb1e80db3905cf98b3ee9",
			"91d21684db364c8883ab8209fa5eb2e781cf07f37e1fa43e731c30839afe422f"},
		{[]leaf{{z, 0}, {a, 100}, {z, 0}, {a, 100}}, "e1755c85be07fd6b7a8d7becc85e6d8c5f507f2a3d38b316bcb6f97855e72188",
			"207caf24fce045ac6d873b4c6186a5a435d600d103e1ae345e55ddf1f4b7f7ef"},
	}
	for _, tc := range cases {
		var refs []ChunkRef
		for _, l := range tc.leaves {
			refs = append(refs, ChunkRef{Hash: mustHash(t, l.h), Size: l.n})
		}
		assert.Equal(t, tc.xorb, XorbHash(refs).String())
		assert.Equal(t, tc.fileHash, FileHash(refs).String())
	}
	assert.True(t, FileHash(nil).IsZero())
}

type vector struct {
	Kind             string  `json:"kind"`
	Seed             uint64  `json:"seed"`
	Size             int     `json:"size"`
	RawChunks        [][]any `json:"chunks"`
	XorbHash         string  `json:"xorbHash"`
	FileHash         string  `json:"fileHash"`
	VerificationHash string  `json:"verificationHash"`
}

func (v vector) data() []byte {
	switch v.Kind {
	case "random":
		return pseudoRandom(v.Seed, v.Size)
	case "text":
		return textLike(v.Size)
	}
	return make([]byte, v.Size)
}

// TestAgainstXetchunkWasm holds the chunker and every hash to the reference values
// @huggingface/xetchunk-wasm computes for the same inputs (testdata/xetchunk-vectors.json,
// made by conformance/hfjs/vectors.mjs).
func TestAgainstXetchunkWasm(t *testing.T) {
	raw, err := os.ReadFile("testdata/xetchunk-vectors.json")
	require.NoError(t, err)
	var vs []vector
	require.NoError(t, json.Unmarshal(raw, &vs))
	require.NotEmpty(t, vs)
	for _, v := range vs {
		t.Run(v.Kind+"-"+itoa(v.Size), func(t *testing.T) {
			data := v.data()
			lens := ChunkAll(data)
			require.Len(t, lens, len(v.RawChunks))
			var refs []ChunkRef
			var hashes []Hash
			off := 0
			for i, n := range lens {
				want := v.RawChunks[i]
				require.Equal(t, int(want[1].(float64)), n, "chunk %d length", i)
				h := ChunkHash(data[off : off+n])
				require.Equal(t, want[0].(string), h.String(), "chunk %d hash", i)
				refs = append(refs, ChunkRef{Hash: h, Size: uint32(n)})
				hashes = append(hashes, h)
				off += n
			}
			assert.Equal(t, v.XorbHash, XorbHash(refs).String())
			assert.Equal(t, v.FileHash, FileHash(refs).String())
			assert.Equal(t, v.VerificationHash, VerificationHash(hashes).String())

			// The streaming chunker agrees with the whole-buffer one, whatever the read sizes.
			for _, r := range []io.Reader{bytes.NewReader(data), iotest.OneByteReader(bytes.NewReader(data)),
				iotest.HalfReader(bytes.NewReader(data))} {
				c := NewChunker(r)
				var got []int
				for {
					ch, err := c.Next()
					if err == io.EOF {
						break
					}
					require.NoError(t, err)
					got = append(got, len(ch))
				}
				assert.Equal(t, lens, got)
			}
		})
	}
}

func TestChunkerBounds(t *testing.T) {
	data := pseudoRandom(42, 5<<20)
	lens := ChunkAll(data)
	total := 0
	for i, n := range lens {
		total += n
		assert.LessOrEqual(t, n, MaxChunkSize)
		if i < len(lens)-1 {
			assert.GreaterOrEqual(t, n, MinChunkSize-64)
		}
	}
	assert.Equal(t, len(data), total)
	// Zeros never match the mask early: every chunk is cut at the maximum.
	for _, n := range ChunkAll(make([]byte, 3*MaxChunkSize)) {
		assert.Equal(t, MaxChunkSize, n)
	}
	assert.Equal(t, []int{MinChunkSize}, ChunkAll(make([]byte, MinChunkSize)))
}
