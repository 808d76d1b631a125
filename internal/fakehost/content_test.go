package fakehost

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
)

// oidOf is b's SHA-256 in lower-case hex.
func oidOf(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

func TestContentHoldsBytesBlobsAndFiles(t *testing.T) {
	data := []byte("hello, stored content")
	blob := synth.Blob{Seed: 7, Size: 3 << 20}
	spooled, err := Spool(t.TempDir(), bytes.NewReader(data), oidOf(data), int64(len(data)))
	require.NoError(t, err)
	for _, tc := range []struct {
		name string
		c    Content
		want []byte
	}{
		{"memory", Content{Data: data}, data},
		{"empty", Content{}, nil},
		{"synthetic", Content{Blob: &blob}, blob.Bytes()},
		{"disk", spooled, data},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, int64(len(tc.want)), tc.c.Size())
			assert.Equal(t, tc.c.Data == nil && tc.name != "empty", tc.c.ReaderAt() != nil)
			got, err := io.ReadAll(tc.c.Reader())
			require.NoError(t, err)
			assert.True(t, bytes.Equal(tc.want, got))
		})
	}
}

func TestSpoolKeepsOnlyMatchingObjects(t *testing.T) {
	dir := t.TempDir()
	data := []byte("spooled object")
	oid := oidOf(data)
	for _, body := range []string{"spooled objec", "spooled object!", "spooled objecT"} {
		_, err := Spool(dir, strings.NewReader(body), oid, int64(len(data)))
		assert.ErrorIs(t, err, ErrSpool, body)
	}
	left, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, left, "a refused upload leaves no file")

	sf, err := NewSpoolFile(dir)
	require.NoError(t, err)
	_, err = sf.WriteAt(data[7:], 7)
	require.NoError(t, err)
	_, err = sf.WriteAt(data[:7], 0)
	require.NoError(t, err)
	c, err := sf.Finish(oid)
	require.NoError(t, err)
	assert.Equal(t, int64(len(data)), c.Size())
	kept, err := os.ReadFile(filepath.Join(dir, oid))
	require.NoError(t, err)
	assert.Equal(t, data, kept)
}

func TestCompare(t *testing.T) {
	blob := synth.Blob{Seed: 3, Size: 5 << 20}
	all := blob.Bytes()
	off, n := int64(1<<20+5), int64(3<<20)
	require.NoError(t, Compare(bytes.NewReader(all[off:off+n]), blob, off, n))

	bad := append([]byte(nil), all[off:off+n]...)
	bad[2<<20] ^= 1
	err := Compare(bytes.NewReader(bad), blob, off, n)
	assert.EqualError(t, err, "content differs from the announced object at byte 3145733")

	err = Compare(bytes.NewReader(all[off:off+10]), blob, off, n)
	var short *ShortBodyError
	require.True(t, errors.As(err, &short))
	assert.Equal(t, ShortBodyError{Read: 10, Want: n, Err: io.ErrUnexpectedEOF}, *short)
	assert.EqualError(t, err, "body ended after 10 of 3145728 bytes")
}
