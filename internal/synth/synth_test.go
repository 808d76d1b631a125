package synth

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestBlobRangesAgree(t *testing.T) {
	b := Blob{Size: 9<<20 + 123, Seed: 42}
	all := b.Bytes()
	require.Len(t, all, int(b.Size))
	for _, c := range []struct{ off, n int64 }{{0, 10}, {patternSize - 3, 20}, {b.Size - 5, 5}, {1 << 20, 5 << 20}} {
		got, err := io.ReadAll(b.NewReader(c.off, c.n))
		require.NoError(t, err)
		require.True(t, bytes.Equal(all[c.off:c.off+c.n], got), "range %d+%d", c.off, c.n)
	}
	other := Blob{Size: b.Size, Seed: 43}.Bytes()
	require.False(t, bytes.Equal(all, other), "seeds must give different content")
}

func TestSHA256Registry(t *testing.T) {
	b := Blob{Size: 1 << 20, Seed: 7}
	s := sha256.Sum256(b.Bytes())
	require.Equal(t, hex.EncodeToString(s[:]), b.SHA256())
	got, ok := Lookup(b.SHA256(), b.Size)
	require.True(t, ok)
	require.Equal(t, b, got)
	_, ok = Lookup(b.SHA256(), b.Size+1)
	require.False(t, ok, "size must match too")
}
