package migrate_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

func xetRandom(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func fileDone(events []migrate.Event, path string) migrate.Event {
	for _, ev := range events {
		if ev.Type == migrate.EventFileDone && ev.Path == path {
			return ev
		}
	}
	return migrate.Event{}
}

// TestE2EXet migrates through a Xet-enabled Hugging Face fake: HF->MS reads the LFS file from the
// chunk store (the CDN bridge is never asked), MS->HF writes it through Xet, and a re-run of a
// slightly changed file reports how many bytes Xet deduplicated.
func TestE2EXet(t *testing.T) {
	w := newE2EWorld(t, testworld.WithHF(hubtest.WithXet()))
	cas := w.HF.XetCAS()
	data := xetRandom(1, 6<<20+123)

	hf := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-src"}
	ms := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/xet-mid"}
	w.Create(t, hf, false)
	w.Seed(t, hf, testworld.File{Path: "model.safetensors", Content: data, LFS: true}, testworld.File{Path: "README.md", Content: []byte("# xet\n")})
	cdn := w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN)
	rep, err := w.migrate(t, hf, ms, migrate.Options{})
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	w.requireMirrored(t, hf, ms)
	require.Positive(t, cas.Count("reconstruction-v2"), "HF->MS read through Xet")
	require.Equal(t, cdn, w.Faults(migrate.HuggingFace).Count(hubtest.RouteCDN), "the bridge was not used")

	back := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/xet-dst"}
	var events []migrate.Event
	record := migrate.WithEvents(func(ev migrate.Event) { events = append(events, ev) })
	lfsUploads := w.Uploads(migrate.HuggingFace)
	rep, err = w.migrate(t, ms, back, migrate.Options{}, record)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	w.requireMirrored(t, ms, back)
	require.Equal(t, "xet", fileDone(events, "model.safetensors").Transfer)
	require.Equal(t, lfsUploads, w.Uploads(migrate.HuggingFace), "no plain LFS upload")

	// The source changes a little; the next run uploads only the new chunks.
	edited := bytes.Clone(data)
	copy(edited[3<<20:], "a small change")
	w.Seed(t, ms, testworld.File{Path: "model.safetensors", Content: edited, LFS: true})
	events = nil
	before := cas.ReceivedXorbBytes()
	rep, err = w.migrate(t, ms, back, migrate.Options{}, record)
	require.NoError(t, err, "report: %+v", rep)
	require.True(t, rep.Verification.OK(), "%+v", rep.Verification)
	ev := fileDone(events, "model.safetensors")
	require.Equal(t, "xet", ev.Transfer)
	require.Greater(t, ev.Deduplicated, int64(len(edited))*9/10, "most of the changed file was already stored")
	require.Equal(t, ev.Deduplicated, rep.BytesDeduplicated, "the report sums what Xet deduplicated")
	require.Less(t, cas.ReceivedXorbBytes()-before, int64(1<<20), "only the chunks around the change travelled")
	require.Equal(t, edited, w.Read(t, back, "model.safetensors"))

	// With Xet switched off on the Hub, the same migration falls back to LFS and the bridge.
	w.HF.SetXet(false)
	w2 := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/no-xet"}
	events = nil
	rep, err = w.migrate(t, ms, w2, migrate.Options{}, record)
	require.NoError(t, err, "report: %+v", rep)
	require.NotEqual(t, "xet", fileDone(events, "model.safetensors").Transfer)
	w.requireMirrored(t, ms, w2)
}
