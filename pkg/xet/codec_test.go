package xet

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestChunkCodecs(t *testing.T) {
	floats := make([]byte, 64<<10)
	for i := 0; i < len(floats)/4; i++ {
		binary.LittleEndian.PutUint32(floats[4*i:], math.Float32bits(1+float32(i%977)/1e4))
	}
	cases := []struct {
		name   string
		data   []byte
		opt    CompressOption
		scheme Scheme
	}{
		{"random stays raw", pseudoRandom(1, 50000), CompressBest, SchemeNone},
		{"text takes lz4", textLike(60000), CompressLZ4, SchemeLZ4},
		{"floats take byte grouping", floats, CompressBest, SchemeBG4LZ4},
		{"odd length byte grouping", floats[:len(floats)-3], CompressBest, SchemeBG4LZ4},
		{"none when asked", textLike(60000), CompressNone, SchemeNone},
		{"empty", nil, CompressBest, SchemeNone},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			enc, err := EncodeChunk(nil, tc.data, tc.opt)
			require.NoError(t, err)
			h, err := ParseChunkHeader(enc)
			require.NoError(t, err)
			assert.Equal(t, tc.scheme, h.Scheme)
			assert.Equal(t, uint32(len(tc.data)), h.UncompressedSize)
			assert.LessOrEqual(t, int(h.CompressedSize), len(tc.data))
			out := make([]byte, h.UncompressedSize)
			require.NoError(t, DecodeChunk(h, enc[ChunkHeaderLen:], out))
			assert.Equal(t, len(tc.data), len(out))
			assert.True(t, string(tc.data) == string(out))
			if len(tc.data) > 10 && h.Scheme != SchemeNone {
				err := DecodeChunk(h, enc[ChunkHeaderLen:len(enc)-5], make([]byte, h.UncompressedSize))
				assert.ErrorIs(t, err, ErrCorrupt, "a cut payload is refused")
			}
		})
	}
}

func TestBG4(t *testing.T) {
	for n := 0; n < 12; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i)
		}
		g := bg4Split(nil, data)
		out := make([]byte, n)
		bg4Join(out, g)
		assert.Equal(t, data, out)
	}
	assert.Equal(t, []byte{0, 4, 1, 5, 2, 3}, bg4Split(nil, []byte{0, 1, 2, 3, 4, 5}))
}
