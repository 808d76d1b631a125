package hub

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// xetData is incompressible, non-repeating test data.
func xetData(seed uint64, n int64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	b := make([]byte, n)
	for i := 0; i+8 <= len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b
}

func oidOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// uploadCommit uploads data as path through whatever transfer the Hub picks, commits it and
// returns the upload.
func uploadCommit(t *testing.T, c *Client, path string, data []byte) *LFSUpload {
	t.Helper()
	ctx := context.Background()
	obj := lfs.Object{OID: oidOf(data), Size: int64(len(data))}
	ups, err := c.PrepareLFSUpload(ctx, model, "main", []lfs.Object{obj})
	require.NoError(t, err)
	var up *LFSUpload
	if len(ups) == 1 {
		up = ups[0]
		require.NoError(t, up.Upload(ctx, hubkit.Bytes(data)))
	}
	_, err = c.Commit(ctx, model, "main", CommitOptions{Summary: "add " + path},
		[]hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: path, SHA256: obj.OID, Size: obj.Size}})
	require.NoError(t, err)
	return up
}

func download(t *testing.T, c *Client, path string, off, n int64) []byte {
	t.Helper()
	rc, err := c.Download(context.Background(), model, "main", path, off, n)
	require.NoError(t, err)
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	require.NoError(t, err)
	return b
}

func TestXetUploadAndDownload(t *testing.T) {
	e := setup(t, hubtest.WithXet())
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	cas := e.s.XetCAS()
	data := xetData(1, 3<<20+77)

	up := uploadCommit(t, e.alice, "w.bin", data)
	require.NotNil(t, up)
	assert.Equal(t, TransferXet, up.Transfer())
	stored, err := e.s.ReadFile(hubkit.Model, model.ID, "main", "w.bin")
	require.NoError(t, err)
	assert.True(t, bytes.Equal(data, stored), "the Hub holds the bytes the Xet upload sent")

	entries, err := e.bob.ListFiles(context.Background(), model, "main")
	require.NoError(t, err)
	var xh string
	for _, en := range entries {
		if en.Path == "w.bin" {
			xh = en.XetHash
		}
	}
	require.NotEmpty(t, xh, "the listing carries the Xet hash")

	before := cas.Count("reconstruction-v2")
	assert.True(t, bytes.Equal(data, download(t, e.bob, "w.bin", 0, -1)))
	assert.True(t, bytes.Equal(data[1000:1000+200000], download(t, e.anon, "w.bin", 1000, 200000)))
	assert.Greater(t, cas.Count("reconstruction-v2"), before, "reads went through Xet")
	assert.Empty(t, cas.Leaks(), "no Hub token reached the CAS or the transfer host")

	// A slightly changed file deduplicates against the first.
	changed := bytes.Clone(data)
	copy(changed[len(changed)/2:], "edit")
	up = uploadCommit(t, e.alice, "w2.bin", changed)
	assert.Greater(t, up.Deduplicated(), int64(len(changed))*8/10)
}

func TestXetReadsLFSUploads(t *testing.T) {
	e := setup(t, hubtest.WithXet())
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	data := xetData(2, 1<<20)
	up := uploadCommit(t, newClient(e.s, writeTok, WithXet(false)), "lfs.bin", data)
	assert.Equal(t, lfs.TransferBasic, up.Transfer())
	before := e.s.XetCAS().Count("reconstruction-v2")
	assert.True(t, bytes.Equal(data, download(t, e.bob, "lfs.bin", 0, -1)))
	assert.Greater(t, e.s.XetCAS().Count("reconstruction-v2"), before, "the Hub converted the LFS upload to Xet")
}

func TestXetSwitchedOffFallsBack(t *testing.T) {
	e := setup(t, hubtest.WithXet())
	e.s.SetXet(false)
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	data := xetData(3, 2<<20)
	up := uploadCommit(t, e.alice, "b.bin", data)
	assert.NotEqual(t, TransferXet, up.Transfer())
	assert.True(t, bytes.Equal(data, download(t, e.bob, "b.bin", 0, -1)))
	assert.Zero(t, e.s.XetCAS().Count("reconstruction-v2")+e.s.XetCAS().Count("reconstruction-v1"))
}

func TestXetUploadRefusesWrongBytes(t *testing.T) {
	e := setup(t, hubtest.WithXet())
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	data := xetData(4, 100000)
	obj := lfs.Object{OID: oidOf(data), Size: int64(len(data))}
	ups, err := e.alice.PrepareLFSUpload(context.Background(), model, "main", []lfs.Object{obj})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	other := bytes.Clone(data)
	other[5] ^= 1
	err = ups[0].Upload(context.Background(), hubkit.Bytes(other))
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
}
