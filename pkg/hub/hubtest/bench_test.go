package hubtest_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// benchSize is the synthetic object moved per benchmark iteration.
const benchSize = 256 << 20

// BenchmarkCDNDownload measures serving a synthetic LFS object from the storage host.
func BenchmarkCDNDownload(b *testing.B) {
	s := hubtest.NewServer()
	defer s.Close()
	s.AddUser("alice")
	s.AddToken(aliceW, "alice", hubtest.RoleWrite)
	require.NoError(b, s.CreateRepo(hubkit.Model, "alice/bench", hubtest.RepoOptions{}))
	blob := synth.Blob{Size: benchSize, Seed: 42}
	_, err := s.Commit(hubkit.Model, "alice/bench", "main", "blob", hubtest.File{Path: "big.bin", Blob: &blob})
	require.NoError(b, err)
	resp, err := noFollow.Get(s.URL() + "/alice/bench/resolve/main/big.bin")
	require.NoError(b, err)
	resp.Body.Close()
	cdn := resp.Header.Get("Location")
	buf := make([]byte, 1<<20)
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		resp, err := http.Get(cdn)
		require.NoError(b, err)
		n, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
		resp.Body.Close()
		require.NoError(b, err)
		require.Equal(b, int64(benchSize), n)
	}
}

// BenchmarkUploadSynthetic measures receiving a synthetic object above the memory limit, as one
// basic PUT and as 16 MiB multipart parts.
func BenchmarkUploadSynthetic(b *testing.B) {
	for _, mode := range []string{"basic", "multipart"} {
		b.Run(mode, func(b *testing.B) {
			threshold := int64(1 << 40)
			if mode == "multipart" {
				threshold = 1
			}
			s := hubtest.NewServer(hubtest.WithMemoryLimit(1<<20), hubtest.WithMultipartThreshold(threshold))
			defer s.Close()
			s.AddUser("alice")
			s.AddToken(aliceW, "alice", hubtest.RoleWrite)
			b.SetBytes(benchSize)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				repo := fmt.Sprintf("alice/up%d", i)
				require.NoError(b, s.CreateRepo(hubkit.Model, repo, hubtest.RepoOptions{}))
				blob := synth.Blob{Size: benchSize, Seed: 7}
				oid := blob.SHA256()
				br := batch(b, s, repo, aliceW, "upload", []string{"basic", "multipart"}, map[string]any{"oid": oid, "size": blob.Size})
				up := br.Objects[0].Actions["upload"]
				b.StartTimer()
				put := func(u string, off, n int64) string {
					req, err := http.NewRequest("PUT", u, blob.NewReader(off, n))
					require.NoError(b, err)
					req.ContentLength = n
					resp, err := http.DefaultClient.Do(req)
					require.NoError(b, err)
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					require.Equal(b, 200, resp.StatusCode)
					return resp.Header.Get("ETag")
				}
				if mode == "basic" {
					put(up.Href, 0, blob.Size)
					continue
				}
				chunk := int64(hubtest.DefaultChunkSize)
				var parts []map[string]any
				for n := 1; int64(n-1)*chunk < blob.Size; n++ {
					off := int64(n-1) * chunk
					et := put(up.Header[fmt.Sprintf("%05d", n)], off, min(chunk, blob.Size-off))
					parts = append(parts, map[string]any{"partNumber": n, "etag": et})
				}
				r := call(b, "POST", up.Href, "", map[string]any{"oid": oid, "parts": parts})
				require.Equal(b, 200, r.StatusCode, string(r.body))
			}
		})
	}
}
