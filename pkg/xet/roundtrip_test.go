package xet_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/xet"
	"github.com/linaqruf/hf2ms/pkg/xet/xettest"
)

// compressible is text made of words drawn at random from a small vocabulary: LZ4 shrinks it,
// and it does not repeat, so chunk deduplication does not hide the xorb packing.
func compressible(n int) []byte {
	words := []string{"tensor", "layer", "weight", "bias", "attention", "head", "token", "embed",
		"norm", "scale", "query", "key", "value", "mlp", "gate", "proj"}
	rnd := xet.PseudoRandom(99, n/2+16)
	var b bytes.Buffer
	b.Grow(n + 16)
	for i := 0; b.Len() < n; i++ {
		b.WriteString(words[rnd[i%len(rnd)]&15])
		b.WriteByte(" \n"[rnd[(i+1)%len(rnd)]>>7])
	}
	return b.Bytes()[:n]
}

type world struct {
	cas *xettest.Server
	c   *xet.Client
}

func newWorld(t *testing.T, opts ...xet.Option) *world {
	t.Helper()
	cas := xettest.New()
	t.Cleanup(cas.Close)
	cas.ForbidCredential("hf_hub_secret")
	opts = append([]xet.Option{xet.WithRetries(4, time.Millisecond)}, opts...)
	c := xet.NewClient(&xettest.Tokens{S: cas, Scope: "model/org/repo", Rev: "main", Write: true}, opts...)
	t.Cleanup(func() { assert.Empty(t, cas.Leaks()) })
	return &world{cas: cas, c: c}
}

func readAll(t *testing.T, f *xet.File, off, n int64) ([]byte, error) {
	t.Helper()
	rc, err := f.OpenRange(context.Background(), off, n)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rc.Close() }()
	return io.ReadAll(rc)
}

func TestRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		opt  xet.CompressOption
	}{
		{"tiny", []byte("hello xet"), xet.CompressBest},
		{"8KiB", xet.PseudoRandom(1, 8192), xet.CompressBest},
		{"1MiB", xet.PseudoRandom(2, 1<<20+17), xet.CompressBest},
		{"over-64MiB-incompressible", xet.PseudoRandom(3, 66<<20+5), xet.CompressBest},
		// LZ4 only: trying both schemes on 70 MiB is slow under -race; BG4 is covered by the codec test.
		{"over-64MiB-compressible", compressible(70 << 20), xet.CompressLZ4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, xet.WithWindow(16<<20), xet.WithCompression(tc.opt))
			res, err := w.c.Upload(context.Background(), bytes.NewReader(tc.data))
			require.NoError(t, err)
			sum := sha256.Sum256(tc.data)
			assert.Equal(t, hex.EncodeToString(sum[:]), res.SHA256)
			assert.Equal(t, int64(len(tc.data)), res.Size)
			size, sha, ok := w.cas.File(res.FileHash)
			require.True(t, ok)
			assert.Equal(t, int64(len(tc.data)), size)
			assert.Equal(t, res.SHA256, sha)
			if len(tc.data) > xet.MaxXorbUnpacked {
				assert.GreaterOrEqual(t, res.Xorbs, 2, "a file over 64 MiB spans xorbs")
			}

			f := w.c.File(res.FileHash, int64(len(tc.data)))
			got, err := readAll(t, f, 0, -1)
			require.NoError(t, err)
			require.True(t, bytes.Equal(tc.data, got), "whole file differs")
			n := int64(len(tc.data))
			ranges := [][2]int64{{0, 1}, {n - 1, 1}, {n / 2, 0}}
			if n > xet.MaxXorbUnpacked {
				ranges = append(ranges, [2]int64{xet.MaxXorbUnpacked - 5000, 10000}) // across the first xorb's end
			} else {
				ranges = append(ranges, [2]int64{n / 3, n / 2})
			}
			for _, r := range ranges {
				got, err := readAll(t, f, r[0], r[1])
				require.NoError(t, err)
				require.True(t, bytes.Equal(tc.data[r[0]:r[0]+r[1]], got), "range %v differs", r)
			}
		})
	}
}

func TestCompressionOnlyWhenItHelps(t *testing.T) {
	w := newWorld(t)
	data := compressible(4 << 20)
	res, err := w.c.Upload(context.Background(), bytes.NewReader(data))
	require.NoError(t, err)
	assert.Less(t, res.XorbBytes, int64(len(data))/2, "text-like data compresses")

	w2 := newWorld(t)
	rnd := xet.PseudoRandom(9, 4<<20)
	res, err = w2.c.Upload(context.Background(), bytes.NewReader(rnd))
	require.NoError(t, err)
	chunks := len(xet.ChunkAll(rnd))
	assert.Equal(t, int64(len(rnd)+xet.ChunkHeaderLen*chunks), res.XorbBytes, "random chunks stay raw")
}

func TestDeduplication(t *testing.T) {
	w := newWorld(t)
	a := xet.PseudoRandom(5, 8<<20)
	resA, err := w.c.Upload(context.Background(), bytes.NewReader(a))
	require.NoError(t, err)
	assert.Zero(t, resA.Deduplicated)
	before := w.cas.ReceivedXorbBytes()

	b := bytes.Clone(a)
	copy(b[4<<20:], "a small edit in the middle of the file")
	resB, err := w.c.Upload(context.Background(), bytes.NewReader(b))
	require.NoError(t, err)
	sent := w.cas.ReceivedXorbBytes() - before
	assert.Greater(t, resB.Deduplicated, int64(len(b))*9/10, "nearly all chunks are already stored")
	assert.Less(t, sent, int64(1<<20), "only the changed chunks travel")
	assert.Positive(t, w.cas.Count(string(xettest.RouteDedup)))
	got, err := readAll(t, w.c.File(resB.FileHash, int64(len(b))), 0, -1)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(b, got))

	// Without dedup queries the same upload sends everything.
	w2 := newWorld(t, xet.WithDedup(false))
	_, err = w2.c.Upload(context.Background(), bytes.NewReader(a))
	require.NoError(t, err)
	res, err := w2.c.Upload(context.Background(), bytes.NewReader(b))
	require.NoError(t, err)
	assert.Zero(t, res.Deduplicated)
}

func TestFaultsAreRetried(t *testing.T) {
	data := xet.PseudoRandom(7, 3<<20)
	cases := []struct {
		name  string
		setup func(*xettest.Server)
	}{
		{"reconstruction 503", func(s *xettest.Server) { s.Fail(xettest.RouteReconstruction, http.StatusServiceUnavailable, 2) }},
		{"reconstruction 429", func(s *xettest.Server) { s.Fail(xettest.RouteReconstruction, http.StatusTooManyRequests, 2) }},
		{"fetch 500", func(s *xettest.Server) { s.Fail(xettest.RouteFetch, http.StatusInternalServerError, 2) }},
		{"fetch 504", func(s *xettest.Server) { s.Fail(xettest.RouteFetch, http.StatusGatewayTimeout, 1) }},
		{"cut bodies", func(s *xettest.Server) { s.CutFetches(2) }},
		{"expired URLs", func(s *xettest.Server) { s.ExpireURLs(1) }},
		{"v1 only", func(s *xettest.Server) { s.DisableV2(true) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			w.cas.Fail(xettest.RouteXorb, http.StatusServiceUnavailable, 1)
			w.cas.Fail(xettest.RouteShard, http.StatusTooManyRequests, 1)
			res, err := w.c.Upload(context.Background(), bytes.NewReader(data))
			require.NoError(t, err)
			tc.setup(w.cas)
			got, err := readAll(t, w.c.File(res.FileHash, int64(len(data))), 0, -1)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
		})
	}
	t.Run("v1 fallback is used", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.c.Upload(context.Background(), bytes.NewReader(data))
		require.NoError(t, err)
		w.cas.DisableV2(true)
		_, err = readAll(t, w.c.File(res.FileHash, int64(len(data))), 0, -1)
		require.NoError(t, err)
		assert.Positive(t, w.cas.Count("reconstruction-v1"))
	})
	t.Run("URLs that keep expiring fail clearly", func(t *testing.T) {
		w := newWorld(t)
		res, err := w.c.Upload(context.Background(), bytes.NewReader(data))
		require.NoError(t, err)
		w.cas.ExpireURLs(100)
		_, err = readAll(t, w.c.File(res.FileHash, int64(len(data))), 0, -1)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "expired")
	})
	t.Run("persistent 503 gives up", func(t *testing.T) {
		w := newWorld(t)
		w.cas.Fail(xettest.RouteXorb, http.StatusServiceUnavailable, 100)
		_, err := w.c.Upload(context.Background(), bytes.NewReader(data))
		require.Error(t, err)
		var se *xet.StatusError
		require.ErrorAs(t, err, &se)
		assert.Equal(t, http.StatusServiceUnavailable, se.Status)
	})
}

// TestMultiRange reads a file whose terms use two separate chunk ranges of one xorb: the v2
// answer lists both ranges under one URL and the reader fetches them with one multi-range GET.
func TestMultiRange(t *testing.T) {
	w := newWorld(t)
	data := xet.PseudoRandom(11, 1<<20)
	lens := xet.ChunkAll(data)
	require.GreaterOrEqual(t, len(lens), 6)
	b := xet.NewXorbBuilder(xet.CompressLZ4)
	var chunks [][]byte
	off := 0
	for _, n := range lens[:6] {
		c := data[off : off+n]
		chunks = append(chunks, c)
		ok, err := b.Add(c, xet.ChunkHash(c))
		require.NoError(t, err)
		require.True(t, ok)
		off += n
	}
	info := b.Info()
	ctx := context.Background()
	require.NoError(t, w.c.UploadXorb(ctx, info.Hash, b.Bytes()))
	file := bytes.Join([][]byte{chunks[0], chunks[1], chunks[4], chunks[5]}, nil)
	term := func(s, e uint32) (xet.Term, xet.Hash) {
		var n uint32
		var hs []xet.Hash
		for _, c := range info.Chunks[s:e] {
			n += c.Size
			hs = append(hs, c.Hash)
		}
		return xet.Term{Xorb: info.Hash, Start: s, End: e, UnpackedBytes: n}, xet.VerificationHash(hs)
	}
	t1, v1 := term(0, 2)
	t2, v2 := term(4, 6)
	var leaves []xet.ChunkRef
	for _, i := range []int{0, 1, 4, 5} {
		leaves = append(leaves, xet.ChunkRef{Hash: info.Chunks[i].Hash, Size: info.Chunks[i].Size})
	}
	sha := xet.HashFromSHA256(sha256.Sum256(file))
	fi := xet.FileInfo{Hash: xet.FileHash(leaves), Terms: []xet.Term{t1, t2}, Verification: []xet.Hash{v1, v2}, SHA256: &sha}
	body, err := (&xet.Shard{Files: []xet.FileInfo{fi}, Xorbs: []xet.XorbInfo{info}}).Marshal(true)
	require.NoError(t, err)
	require.NoError(t, w.c.UploadShard(ctx, body))

	got, err := readAll(t, w.c.File(fi.Hash, int64(len(file))), 0, -1)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(file, got))
	assert.Equal(t, 1, w.cas.Count("multirange"))
}

func TestHostileAnswers(t *testing.T) {
	data := xet.PseudoRandom(13, 2<<20)
	bomb := func() []byte {
		var buf bytes.Buffer
		zw := lz4.NewWriter(&buf)
		_, _ = zw.Write(make([]byte, 8<<20))
		_ = zw.Close()
		out := make([]byte, xet.ChunkHeaderLen)
		xet.ChunkHeader{CompressedSize: uint32(buf.Len()), Scheme: xet.SchemeLZ4, UncompressedSize: 1000}.Put(out)
		return append(out, buf.Bytes()...)
	}()
	cases := []struct {
		name   string
		setup  func(*xettest.Server)
		expect string
	}{
		{"terms do not add up", func(s *xettest.Server) {
			s.TamperReconstructions(func(r *xet.Reconstruction) { r.Terms[0].UnpackedLength += 100 })
		}, "the reconstruction says"},
		{"terms too short for the range", func(s *xettest.Server) {
			s.TamperReconstructions(func(r *xet.Reconstruction) { r.Terms = r.Terms[:1]; r.Terms[0].UnpackedLength = 10 })
		}, "add up"},
		{"term without fetch entry", func(s *xettest.Server) {
			s.TamperReconstructions(func(r *xet.Reconstruction) {
				for k := range r.Xorbs {
					delete(r.Xorbs, k)
				}
			})
		}, "no fetch entry"},
		{"chunk header lies about its length", func(s *xettest.Server) {
			s.TamperFetches(func(b []byte) []byte { b[1], b[2], b[3], b[4] = 0xff, 0xff, 0x3f, 1; return b })
		}, "payload bytes"},
		{"decompression bomb", func(s *xettest.Server) {
			s.TamperFetches(func(b []byte) []byte { return append(bomb, b[len(bomb):]...) })
		}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, xet.WithCompression(xet.CompressNone))
			res, err := w.c.Upload(context.Background(), bytes.NewReader(data))
			require.NoError(t, err)
			tc.setup(w.cas)
			_, err = readAll(t, w.c.File(res.FileHash, int64(len(data))), 0, -1)
			require.Error(t, err)
			assert.True(t, errors.Is(err, xet.ErrCorrupt), "%v", err)
			assert.Contains(t, err.Error(), tc.expect)
		})
	}
}

func TestDecodeChunkRefusesBombs(t *testing.T) {
	var buf bytes.Buffer
	zw := lz4.NewWriter(&buf)
	_, _ = zw.Write(make([]byte, 1<<20))
	require.NoError(t, zw.Close())
	h := xet.ChunkHeader{CompressedSize: uint32(buf.Len()), Scheme: xet.SchemeLZ4, UncompressedSize: 4096}
	err := xet.DecodeChunk(h, buf.Bytes(), make([]byte, 4096))
	require.ErrorIs(t, err, xet.ErrCorrupt)
	assert.Contains(t, err.Error(), "more than")

	var hdr [8]byte
	xet.ChunkHeader{CompressedSize: 10, Scheme: xet.SchemeLZ4, UncompressedSize: 1 << 22}.Put(hdr[:])
	_, err = xet.ParseChunkHeader(hdr[:])
	require.ErrorIs(t, err, xet.ErrCorrupt, "a header claiming more than a chunk can hold is refused before decoding")
}

func TestUploadsAreChecked(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	b := xet.NewXorbBuilder(xet.CompressLZ4)
	c := xet.PseudoRandom(17, 20000)
	_, err := b.Add(c, xet.ChunkHash(c))
	require.NoError(t, err)
	info := b.Info()

	var wrong xet.Hash
	wrong[0] = 1
	err = w.c.UploadXorb(ctx, wrong, b.Bytes())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "xorb hash")

	sha := xet.HashFromSHA256(sha256.Sum256(c))
	good := xet.FileInfo{Hash: xet.FileHash([]xet.ChunkRef{{Hash: info.Chunks[0].Hash, Size: info.Chunks[0].Size}}),
		Terms:        []xet.Term{{Xorb: info.Hash, Start: 0, End: 1, UnpackedBytes: info.Chunks[0].Size}},
		Verification: []xet.Hash{xet.VerificationHash([]xet.Hash{info.Chunks[0].Hash})}, SHA256: &sha}
	shard := func(f xet.FileInfo) []byte {
		body, err := (&xet.Shard{Files: []xet.FileInfo{f}, Xorbs: []xet.XorbInfo{info}}).Marshal(false)
		require.NoError(t, err)
		return body
	}
	err = w.c.UploadShard(ctx, shard(good))
	require.Error(t, err, "the xorb was never uploaded")
	assert.Contains(t, err.Error(), "never uploaded")

	require.NoError(t, w.c.UploadXorb(ctx, info.Hash, b.Bytes()))
	bad := good
	bad.Verification = []xet.Hash{wrong}
	assert.ErrorContains(t, w.c.UploadShard(ctx, shard(bad)), "verification")
	bad = good
	badSHA := xet.HashFromSHA256(sha256.Sum256([]byte("other")))
	bad.SHA256 = &badSHA
	assert.ErrorContains(t, w.c.UploadShard(ctx, shard(bad)), "SHA-256")
	bad = good
	bad.Hash = wrong
	assert.ErrorContains(t, w.c.UploadShard(ctx, shard(bad)), "file hash")
	require.NoError(t, w.c.UploadShard(ctx, shard(good)))

	// Another repo's token cannot read the file.
	other := xet.NewClient(&xettest.Tokens{S: w.cas, Scope: "model/else/where", Rev: "main"}, xet.WithRetries(1, 0))
	_, err = readAll(t, other.File(good.Hash, int64(len(c))), 0, -1)
	var se *xet.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusNotFound, se.Status)
}

func TestShardRoundTrip(t *testing.T) {
	var h1, h2 xet.Hash
	h1[3], h2[7] = 9, 4
	sha := xet.HashFromSHA256(sha256.Sum256([]byte("x")))
	in := xet.Shard{
		Files: []xet.FileInfo{{Hash: h1, Terms: []xet.Term{{Xorb: h2, Start: 1, End: 3, UnpackedBytes: 77}},
			Verification: []xet.Hash{h1}, SHA256: &sha}},
		Xorbs: []xet.XorbInfo{{Hash: h2, UnpackedBytes: 30, SerializedBytes: 46,
			Chunks: []xet.XorbChunk{{Hash: h1, Size: 10}, {Hash: h2, Size: 20, Offset: 10}}}},
	}
	for _, footer := range []bool{false, true} {
		b, err := in.Marshal(footer)
		require.NoError(t, err)
		out, err := xet.ParseShard(b)
		require.NoError(t, err)
		assert.Equal(t, in.Files, out.Files)
		assert.Equal(t, in.Xorbs, out.Xorbs)
		_, err = xet.ParseShard(b[:len(b)-1])
		assert.ErrorIs(t, err, xet.ErrCorrupt)
	}
}
