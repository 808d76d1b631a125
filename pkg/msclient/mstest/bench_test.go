package mstest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

const benchBlobSize = 256 << 20

// BenchmarkSynthCopy is the baseline: synthetic bytes copied to io.Discard in 1 MiB reads.
func BenchmarkSynthCopy(b *testing.B) {
	blob := synth.Blob{Size: benchBlobSize, Seed: 42}
	buf := make([]byte, bufSize)
	b.SetBytes(blob.Size)
	for b.Loop() {
		_, err := io.CopyBuffer(io.Discard, blob.NewReader(0, blob.Size), buf)
		require.NoError(b, err)
	}
}

// BenchmarkCDNDownload streams a synthetic LFS file through the 302 and the CDN.
func BenchmarkCDNDownload(b *testing.B) {
	s := NewServer()
	defer s.Close()
	require.NoError(b, s.CreateRepo(hubkit.Model, "alice/big", RepoOptions{}))
	blob := synth.Blob{Size: benchBlobSize, Seed: 42}
	_, err := s.Commit(hubkit.Model, "alice/big", "", "big", File{Path: "w.bin", Blob: &blob})
	require.NoError(b, err)
	buf := make([]byte, bufSize)
	b.SetBytes(blob.Size)
	for b.Loop() {
		resp, err := http.Get(s.URL() + "/api/v1/models/alice/big/repo?FilePath=w.bin")
		require.NoError(b, err)
		n, err := io.CopyBuffer(io.Discard, resp.Body, buf)
		resp.Body.Close()
		require.NoError(b, err)
		require.Equal(b, blob.Size, n)
	}
}

// BenchmarkBlobPut uploads a synthetic blob above the memory limit (compared in place).
func BenchmarkBlobPut(b *testing.B) {
	s := NewServer()
	defer s.Close()
	s.AddToken("tok", "alice", RoleWrite)
	require.NoError(b, s.CreateRepo(hubkit.Model, "alice/big", RepoOptions{}))
	blob := synth.Blob{Size: benchBlobSize, Seed: 43}
	oid := blob.SHA256()
	u := fmt.Sprintf("%s/api/v1/repos/models/alice/big/blobs/%s/%d", s.URL(), oid, blob.Size)
	b.SetBytes(blob.Size)
	for b.Loop() {
		req, err := http.NewRequest("PUT", u, blob.NewReader(0, blob.Size))
		require.NoError(b, err)
		req.ContentLength = blob.Size
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(b, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		require.Equal(b, 200, resp.StatusCode)
	}
}

// BenchmarkLargeRepo measures a 100,000-file repo: a 2000-action commit on top of it and a
// walk of its listing folder by folder.
func BenchmarkLargeRepo(b *testing.B) {
	s := NewServer()
	defer s.Close()
	require.NoError(b, s.CreateRepo(hubkit.Model, "alice/many", RepoOptions{}))
	files := make([]File, 100_000)
	for i := range files {
		files[i] = File{Path: fmt.Sprintf("d%03d/f%05d.txt", i%100, i), Content: []byte("x")}
	}
	_, err := s.Commit(hubkit.Model, "alice/many", "", "seed", files...)
	require.NoError(b, err)
	batch := make([]File, 2000)
	for i := range batch {
		batch[i] = File{Path: fmt.Sprintf("new/%04d.txt", i), Content: bytes.Repeat([]byte("y"), 10)}
	}
	b.Run("commit-2000", func(b *testing.B) {
		for b.Loop() {
			_, err := s.Commit(hubkit.Model, "alice/many", "", "more", batch...)
			require.NoError(b, err)
		}
	})
	b.Run("list-root-and-one-folder", func(b *testing.B) {
		for b.Loop() {
			for _, q := range []string{"Recursive=false", "Recursive=false&Root=d042"} {
				resp, err := http.Get(s.URL() + "/api/v1/models/alice/many/repo/files?" + q)
				require.NoError(b, err)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
}
