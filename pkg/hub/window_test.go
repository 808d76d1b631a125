package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// A file of a few GiB behind a storage host that refuses un-ranged GETs above 1 GiB is read in
// whole as ranged windows no longer than the read window, all on one resolved CDN link; a link
// the CDN stops accepting is resolved again once, and the bytes stay right.
func TestDownloadReadsLargeFilesInWindows(t *testing.T) {
	const window = 256 << 20
	big := synth.Blob{Size: 2<<30 + 12345, Seed: 99}
	mid := synth.Blob{Size: 300 << 20, Seed: 98}
	e := setup(t, hubtest.WithUnrangedLimit(1<<30))
	require.NoError(t, e.s.CreateRepo(hubkit.Model, model.ID, hubtest.RepoOptions{}))
	_, err := e.s.Commit(hubkit.Model, model.ID, "main", "big", hubtest.File{Path: "big.bin", Blob: &big},
		hubtest.File{Path: "mid.bin", Blob: &mid})
	require.NoError(t, err)
	// The bridge path (Xet reads have their own ranged protocol).
	c := newClient(e.s, writeTok, WithReadWindow(window), WithXet(false))
	small := newClient(e.s, writeTok, WithReadWindow(64<<20), WithXet(false))
	ctx := context.Background()

	// The fake refuses what an un-ranged reader would send.
	resp, err := http.Get(e.s.URL() + "/" + model.ID + "/resolve/main/big.bin")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "an un-ranged GET of a large file is refused")

	readAll := func(c *Client, path string, off, n int64) (string, int64) {
		rc, err := c.Download(ctx, model, "", path, off, n)
		require.NoError(t, err)
		defer rc.Close()
		h := sha256.New()
		got, err := io.Copy(h, rc)
		require.NoError(t, err)
		return hex.EncodeToString(h.Sum(nil)), got
	}

	resolves, cdn := e.s.Faults().Count(hubtest.RouteResolve), e.s.Faults().Count(hubtest.RouteCDN)
	sum, n := readAll(c, "big.bin", 0, -1)
	require.Equal(t, big.Size, n)
	require.Equal(t, big.SHA256(), sum)
	require.LessOrEqual(t, e.s.LargestResponse(), int64(window), "no response longer than a window")
	require.Equal(t, 1, e.s.Faults().Count(hubtest.RouteResolve)-resolves, "one resolve for the whole file")
	require.Equal(t, 9, e.s.Faults().Count(hubtest.RouteCDN)-cdn, "ceil(size/window) ranged GETs")

	// The CDN refuses the link after two windows (an expired signature): one new resolve.
	e.s.Faults().Add(fault.Rule{Route: hubtest.RouteCDN, Skip: 2, Times: 1, Status: http.StatusForbidden, Message: "Request has expired"})
	resolves = e.s.Faults().Count(hubtest.RouteResolve)
	sum, _ = readAll(small, "mid.bin", 0, -1)
	require.Equal(t, mid.SHA256(), sum)
	require.Equal(t, 2, e.s.Faults().Count(hubtest.RouteResolve)-resolves)

	// A range across window boundaries.
	off, length := int64(64<<20-100), int64(2*(64<<20)+200)
	h := sha256.New()
	_, err = io.Copy(h, mid.NewReader(off, length))
	require.NoError(t, err)
	sum, n = readAll(small, "mid.bin", off, length)
	require.Equal(t, length, n)
	require.Equal(t, hex.EncodeToString(h.Sum(nil)), sum)
}
