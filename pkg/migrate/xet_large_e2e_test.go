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

// bgRun is one migration whose report and events are checked after it returns, so that several can
// run at once.
type bgRun struct {
	rep    *migrate.Report
	err    error
	events []migrate.Event
	took   time.Duration
}

func (w *e2eWorld) start(from, to migrate.Repo) <-chan *bgRun {
	out := make(chan *bgRun, 1)
	go func() {
		r := &bgRun{}
		defer func() { out <- r }()
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()
		m, err := migrate.New(w.hubs[from.Hub], w.hubs[to.Hub], from, to,
			migrate.WithOptions(migrate.Options{Files: 3, Parts: 2}),
			migrate.WithEvents(func(ev migrate.Event) { r.events = append(r.events, ev) }))
		if err == nil {
			r.rep, err = m.Run(ctx)
		}
		r.err, r.took = err, time.Since(t0)
	}()
	return out
}

// TestE2EXetSyntheticGiB migrates a synthetic file of over 2 GiB through Xet both ways, the two
// directions at once: HF->MS reads it from the CAS with the Hub's LFS bridge switched off, MS->HF
// writes another through Xet. Neither fake holds the bytes: the CAS stores the blob's distinct chunks
// (about 4 MiB) and both hubs recognise the synthetic blob by its SHA-256.
func TestE2EXetSyntheticGiB(t *testing.T) {
	w := newE2EWorld(t, testworld.WithHF(hubtest.WithXet()))
	cas := w.HF.XetCAS()
	big := synth.Blob{Size: 2<<30 + 4321, Seed: 11}
	// MS stores LFS objects by SHA-256 across repos, so the other direction moves another blob.
	other := synth.Blob{Size: big.Size, Seed: 12}
	sum, otherSum := big.SHA256(), other.SHA256()
	readme := testworld.File{Path: "README.md", Content: []byte("# big\n")}

	hf := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-big"}
	toMS := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/xet-big"}
	ms := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/xet-big-src"}
	toHF := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-big-back"}
	w.Create(t, hf, false)
	w.Seed(t, hf, testworld.File{Path: "model.safetensors", Blob: &big, LFS: true}, readme)
	w.Create(t, ms, false)
	w.Seed(t, ms, testworld.File{Path: "model.safetensors", Blob: &other, LFS: true}, readme)
	w.HF.SetXetBridge(false)
	cdn := w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN)
	lfsUploads := w.Uploads(migrate.HuggingFace)
	received := cas.ReceivedXorbBytes()

	t0 := time.Now()
	down, up := w.start(hf, toMS), w.start(ms, toHF)
	rd, ru := <-down, <-up
	t.Logf("2 GiB both ways at once: %v (HF->MS %v, MS->HF %v)", time.Since(t0), rd.took, ru.took)

	require.NoError(t, rd.err, "HF->MS report: %+v", rd.rep)
	require.True(t, rd.rep.Verification.OK(), "%+v", rd.rep.Verification)
	require.Positive(t, cas.Count("reconstruction-v2"), "HF->MS read through Xet")
	require.Equal(t, cdn, w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN), "the bridge was not asked")
	got := w.listing(t, toMS)["model.safetensors"]
	require.Equal(t, big.Size, got.Size)
	require.Equal(t, sum, got.SHA256)

	require.NoError(t, ru.err, "MS->HF report: %+v", ru.rep)
	require.True(t, ru.rep.Verification.OK(), "%+v", ru.rep.Verification)
	ev := fileDone(ru.events, "model.safetensors")
	require.Equal(t, "xet", ev.Transfer, "MS->HF wrote through Xet")
	require.Equal(t, lfsUploads, w.Uploads(migrate.HuggingFace), "no plain LFS upload")
	got = w.listing(t, toHF)["model.safetensors"]
	require.Equal(t, big.Size, got.Size)
	require.Equal(t, otherSum, got.SHA256)
	require.True(t, w.HasLFSObject(migrate.HuggingFace, otherSum))
	// The blob repeats every synth.Period bytes, so nearly all of it deduplicates, against itself
	// or against the copy the Hub converted when the HF repo was seeded.
	require.Less(t, cas.ReceivedXorbBytes()-received, int64(3*synth.Period))
	require.Greater(t, ev.Deduplicated, big.Size-3*synth.Period)
	t.Logf("MS->HF sent %d xorb bytes, deduplicated %d", cas.ReceivedXorbBytes()-received, ev.Deduplicated)
}
