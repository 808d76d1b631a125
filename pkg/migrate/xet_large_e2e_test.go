package migrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// listing maps every path of repo's default branch to its size and SHA-256, as the hub lists
// them (Hugging Face lists no SHA-256 for regular files).
func (w *e2eWorld) listing(t *testing.T, r migrate.Repo) map[string]migrate.File {
	t.Helper()
	fs, err := w.hubs[r.Hub].List(context.Background(), r, "")
	require.NoError(t, err)
	out := map[string]migrate.File{}
	for _, f := range fs {
		out[f.Path] = f
	}
	return out
}

// TestE2EXetSyntheticGiB migrates a synthetic file of over 2 GiB through Xet both ways: HF->MS
// reads it from the CAS with the Hub's LFS bridge switched off, MS->HF writes it through Xet.
// Neither fake holds the bytes: the CAS stores the blob's distinct chunks (about 4 MiB) and both
// hubs recognise the synthetic blob by its SHA-256.
func TestE2EXetSyntheticGiB(t *testing.T) {
	start := time.Now()
	w := newE2EWorld(t, testworld.WithHF(hubtest.WithXet()))
	cas := w.HF.XetCAS()
	big := synth.Blob{Size: 2<<30 + 4321, Seed: 11}
	sum := big.SHA256()

	hf := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-big"}
	ms := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/xet-big"}
	back := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-big-back"}
	w.Create(t, hf, false)
	w.Seed(t, hf, testworld.File{Path: "model.safetensors", Blob: &big, LFS: true}, testworld.File{Path: "README.md", Content: []byte("# big\n")})
	w.HF.SetXetBridge(false)
	cdn := w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN)

	var events []migrate.Event
	record := migrate.WithEvents(func(ev migrate.Event) { events = append(events, ev) })
	rep, err := w.migrate(t, hf, ms, migrate.Options{}, record)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	require.Positive(t, cas.Count("reconstruction-v2"), "HF->MS read through Xet")
	require.Equal(t, cdn, w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN), "the bridge was not asked")
	got := w.listing(t, ms)["model.safetensors"]
	require.Equal(t, big.Size, got.Size)
	require.Equal(t, sum, got.SHA256)
	t.Logf("HF->MS %d bytes through Xet: %v", big.Size, time.Since(start))

	mid := time.Now()
	events = nil
	lfsUploads := w.Uploads(migrate.HuggingFace)
	received := cas.ReceivedXorbBytes()
	rep, err = w.migrate(t, ms, back, migrate.Options{}, record)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	ev := fileDone(events, "model.safetensors")
	require.Equal(t, "xet", ev.Transfer, "MS->HF wrote through Xet")
	require.Equal(t, lfsUploads, w.Uploads(migrate.HuggingFace), "no plain LFS upload")
	got = w.listing(t, back)["model.safetensors"]
	require.Equal(t, big.Size, got.Size)
	require.Equal(t, sum, got.SHA256)
	require.True(t, w.HasLFSObject(migrate.HuggingFace, sum))
	// The blob repeats every synth.Period bytes, so nearly all of it deduplicates against itself.
	require.Less(t, cas.ReceivedXorbBytes()-received, int64(3*synth.Period))
	require.Greater(t, ev.Deduplicated, big.Size-3*synth.Period)
	t.Logf("MS->HF %d bytes through Xet: %v (xorb bytes sent %d, deduplicated %d)", big.Size, time.Since(mid),
		cas.ReceivedXorbBytes()-received, ev.Deduplicated)
}
