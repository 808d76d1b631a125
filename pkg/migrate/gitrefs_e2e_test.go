package migrate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// contentsAt maps every path of r at rev to the SHA-256 of its bytes, read on the fake (the
// Hub's own .gitattributes left out).
func contentsAt(t *testing.T, w *testworld.World, r migrate.Repo, rev string) map[string]string {
	t.Helper()
	out := w.ContentsAt(t, r, rev)
	delete(out, ".gitattributes")
	return out
}

// heads is the commit of every ref name of r on its fake.
func heads(t *testing.T, w *testworld.World, r migrate.Repo, names ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, n := range names {
		out[n] = w.Head(t, r, n)
	}
	return out
}

// seedTagged creates src (public) holding a.txt ("1"), tagged v1.
func seedTagged(t *testing.T, w *testworld.World, src migrate.Repo) {
	t.Helper()
	w.Create(t, src, false)
	w.Seed(t, src, testworld.File{Path: "a.txt", Content: []byte("1")})
	w.Tag(t, src, "v1")
}

// deleteHFTag deletes tag of r on the fake Hub through the real client (the fake has no shortcut).
func deleteHFTag(t *testing.T, w *testworld.World, r migrate.Repo, tag string) {
	t.Helper()
	c := hub.NewClient(hub.WithEndpoint(w.HF.URL()), hub.WithToken(testworld.HFToken))
	require.NoError(t, c.DeleteTag(context.Background(), hubkit.Repo{Type: r.Type, ID: r.ID}, tag))
}

func runRefs(t *testing.T, w *testworld.World, from, to migrate.Repo, o migrate.Options) (*migrate.Report, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := migrate.New(w.Hub(from.Hub), w.Hub(to.Hub), from, to, migrate.WithOptions(o))
	require.NoError(t, err)
	return m.RunRefs(ctx)
}

// requireRefsVerified checks that VerifyRefs verifies n refs of dst and nothing else fails.
func requireRefsVerified(t *testing.T, w *testworld.World, src, dst migrate.Repo, n int) {
	t.Helper()
	m, err := migrate.New(w.Hub(src.Hub), w.Hub(dst.Hub), src, dst, migrate.WithOptions(migrate.Options{Refs: []string{"**"}}))
	require.NoError(t, err)
	vs, err := m.VerifyRefs(context.Background())
	require.NoError(t, err)
	verified := 0
	for _, v := range vs {
		if v.Verification != nil {
			require.True(t, v.Verification.OK(), "%s: %+v", v.Source, v.Verification)
			verified++
		}
	}
	require.Equal(t, n, verified)
}

func refBlob(seed uint64) *synth.Blob { return &synth.Blob{Size: 40<<10 + int64(seed), Seed: seed} }

// TestRefsToHuggingFace mirrors a ModelScope repository's tags and a branch to the Hub: each
// ref ends with exactly the source ref's content, a blob shared by every ref uploads once, no
// helper branch is left behind, and a second run with nothing new commits nothing.
func TestRefsToHuggingFace(t *testing.T) {
	w := testworld.New(t)
	src := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/tagged"}
	dst := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/tagged"}
	w.Create(t, src, false)
	w.Seed(t, src, testworld.File{Path: "shared.bin", Blob: refBlob(1), LFS: true}, testworld.File{Path: "config.json", Content: []byte(`{"v":1}`)})
	require.NoError(t, w.MS.CreateTag(src.Type, src.ID, "v1.0", ""))
	w.Seed(t, src, testworld.File{Path: "config.json", Content: []byte(`{"v":2}`)}, testworld.File{Path: "extra.bin", Blob: refBlob(2), LFS: true})
	require.NoError(t, w.MS.CreateTag(src.Type, src.ID, "v2.0", ""))
	require.NoError(t, w.MS.CreateBranch(src.Type, src.ID, "dev", ""))
	_, err := w.MS.Commit(src.Type, src.ID, "dev", "dev work", testworld.File{Path: "dev.txt", Content: []byte("dev")},
		testworld.File{Path: "extra.bin", Delete: true})
	require.NoError(t, err)
	w.Seed(t, src, testworld.File{Path: "notes.txt", Content: []byte("after v2")})

	rep, err := runRefs(t, w, src, dst, migrate.Options{Refs: []string{"**"}})
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Len(t, rep.Refs, 4) // master->main, dev, v1.0, v2.0
	for _, r := range rep.Refs {
		assert.Contains(t, []string{migrate.StatusSucceeded}, r.Status, r.Source)
	}
	for _, p := range [][2]string{{"master", "main"}, {"dev", "dev"}, {"v1.0", "v1.0"}, {"v2.0", "v2.0"}} {
		assert.Equal(t, contentsAt(t, w, src, p[0]), contentsAt(t, w, dst, p[1]), p[0])
	}
	assert.Equal(t, 2, w.Uploads(migrate.HuggingFace), "each distinct blob uploads once across refs")
	for _, tmp := range []string{"hf2ms-tag-v1.0", "hf2ms-tag-v2.0"} {
		_, err := w.HF.Head(dst.Type, dst.ID, tmp)
		assert.Error(t, err, "helper branch %s left behind", tmp)
	}

	requireRefsVerified(t, w, src, dst, 4)

	before := heads(t, w, dst, "main", "dev", "v1.0", "v2.0")
	commits := w.Faults(migrate.HuggingFace).Count(testworld.RoutesOf(migrate.HuggingFace).Commit)
	rep, err = runRefs(t, w, src, dst, migrate.Options{Refs: []string{"**"}})
	require.NoError(t, err)
	assert.Equal(t, migrate.StatusUpToDate, rep.Status)
	assert.Equal(t, before, heads(t, w, dst, "main", "dev", "v1.0", "v2.0"))
	assert.Equal(t, commits, w.Faults(migrate.HuggingFace).Count(testworld.RoutesOf(migrate.HuggingFace).Commit), "no commit on a run with nothing new")
}

// TestRefsToModelScope mirrors a Hub repository's tags to ModelScope: each tag's content is
// committed to master and tagged, oldest first (natural name order, as the Hub gives no dates),
// master ends equal to the source's default branch, the branch is refused with a note, and
// re-runs make no commit; a new tag on the default branch's content is only a tag.
func TestRefsToModelScope(t *testing.T) {
	w := testworld.New(t)
	src := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/tagged"}
	dst := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/tagged"}
	w.Create(t, src, false)
	w.Seed(t, src, testworld.File{Path: "w.bin", Blob: refBlob(3), LFS: true}, testworld.File{Path: "a.txt", Content: []byte("1")})
	require.NoError(t, w.HF.CreateTag(src.Type, src.ID, "v1.9", "main"))
	w.Seed(t, src, testworld.File{Path: "a.txt", Content: []byte("2")}, testworld.File{Path: "old.txt", Content: []byte("x")})
	require.NoError(t, w.HF.CreateTag(src.Type, src.ID, "v1.10", "main"))
	require.NoError(t, w.HF.CreateBranch(src.Type, src.ID, "exp", "main"))
	w.Seed(t, src, testworld.File{Path: "old.txt", Delete: true}, testworld.File{Path: "a.txt", Content: []byte("3")})

	rep, err := runRefs(t, w, src, dst, migrate.Options{Refs: []string{"**"}})
	require.NoError(t, err)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	order, err := w.MS.TagOrder(dst.Type, dst.ID)
	require.NoError(t, err)
	assert.Equal(t, []string{"v1.9", "v1.10"}, order)
	for _, tag := range order {
		assert.Equal(t, contentsAt(t, w, src, tag), contentsAt(t, w, dst, tag), tag)
	}
	assert.Equal(t, contentsAt(t, w, src, "main"), contentsAt(t, w, dst, "master"), "master ends at the default branch")
	assert.Contains(t, rep.Notices[0]+" "+rep.Notices[len(rep.Notices)-1], "branch exp not mirrored")
	var refused bool
	for _, r := range rep.Refs {
		refused = refused || (r.Kind == migrate.StepRefused && r.Source.Name == "exp" && r.Status == migrate.RefSkipped)
	}
	assert.True(t, refused, "the branch is listed as refused")

	requireRefsVerified(t, w, src, dst, 3)

	history := len(w.History(t, dst))
	rep, err = runRefs(t, w, src, dst, migrate.Options{Refs: []string{"**"}})
	require.NoError(t, err)
	assert.Equal(t, migrate.StatusUpToDate, rep.Status)
	assert.Equal(t, history, len(w.History(t, dst)), "no commit on a run with nothing new")

	require.NoError(t, w.HF.CreateTag(src.Type, src.ID, "v2.0", "main"))
	rep, err = runRefs(t, w, src, dst, migrate.Options{Refs: []string{"v*"}})
	require.NoError(t, err)
	assert.Equal(t, migrate.StatusSucceeded, rep.Status, "a new tag is something done")
	assert.Equal(t, history, len(w.History(t, dst)), "a tag of the default branch's content needs no commit")
	tags, err := w.MS.Tags(dst.Type, dst.ID)
	require.NoError(t, err)
	master := w.Head(t, dst, "master")
	assert.Equal(t, master, tags["v2.0"])
	assert.Len(t, tags, 3)
}

// TestRefsDeleteStaleTag: a destination tag whose source tag is gone stays without --delete and
// is removed with it (Hugging Face); ModelScope cannot delete a tag and says so.
func TestRefsDeleteStaleTag(t *testing.T) {
	w := testworld.New(t)
	src := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/stale"}
	dst := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/stale"}
	seedTagged(t, w, src)
	_, err := runRefs(t, w, src, dst, migrate.Options{Refs: []string{"v*"}})
	require.NoError(t, err)
	require.NoError(t, w.MS.DeleteTag(src.Type, src.ID, "v1"))

	rep, err := runRefs(t, w, src, dst, migrate.Options{Refs: []string{"v*"}})
	require.NoError(t, err)
	assert.Contains(t, rep.Notices, "tag v1 is gone from the source; kept (pass --delete to remove it)")
	_, err = w.HF.Head(dst.Type, dst.ID, "v1")
	require.NoError(t, err, "kept without --delete")

	rep, err = runRefs(t, w, src, dst, migrate.Options{Refs: []string{"v*"}, Delete: true})
	require.NoError(t, err)
	assert.Equal(t, migrate.StatusSucceeded, rep.Status)
	_, err = w.HF.Head(dst.Type, dst.ID, "v1")
	assert.Error(t, err, "deleted with --delete")

	// The other way: ModelScope keeps the tag and says why.
	back := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/stale-back"}
	hsrc := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/stale-back"}
	seedTagged(t, w, hsrc)
	_, err = runRefs(t, w, hsrc, back, migrate.Options{Refs: []string{"v*"}})
	require.NoError(t, err)
	deleteHFTag(t, w, hsrc, "v1")
	rep, err = runRefs(t, w, hsrc, back, migrate.Options{Refs: []string{"v*"}, Delete: true})
	require.NoError(t, err)
	assert.Contains(t, rep.Notices, "tag v1 is gone from the source; kept: ModelScope has no API to delete a tag (delete it on the website)")
}

// TestPlanRefs: a dry run plans every ref and writes nothing.
func TestPlanRefs(t *testing.T) {
	w := testworld.New(t)
	src := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/plan"}
	dst := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/plan"}
	seedTagged(t, w, src)
	w.Seed(t, src, testworld.File{Path: "b.txt", Content: []byte("2")})
	m, err := migrate.New(w.Hub(src.Hub), w.Hub(dst.Hub), src, dst, migrate.WithOptions(migrate.Options{Refs: []string{"**"}}))
	require.NoError(t, err)
	plans, err := m.PlanRefs(context.Background())
	require.NoError(t, err)
	require.Len(t, plans, 2)
	assert.Equal(t, migrate.StepTag, plans[0].Kind)
	assert.Len(t, plans[0].Plan.Copy, 2) // .gitattributes (the Hub made it) and a.txt
	assert.Equal(t, migrate.StepDefault, plans[1].Kind)
	assert.Len(t, plans[1].Plan.Copy, 3)
	assert.False(t, w.Exists(dst), "a dry run writes nothing")
	vs, err := m.VerifyRefs(context.Background())
	require.NoError(t, err)
	require.Len(t, vs, 2)
	assert.False(t, vs[0].Verification.OK(), "nothing is there yet")
	assert.Equal(t, 2, vs[0].Verification.Missing)
}

// TestRefsMovedTag: a source tag that moved is moved on the Hub; on ModelScope, which cannot move
// a tag, that ref fails the run but master still ends at the default branch.
func TestRefsMovedTag(t *testing.T) {
	w := testworld.New(t)
	src := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/moved"}
	ms := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/moved"}
	hf := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/moved-copy"}
	seedTagged(t, w, src)
	for _, dst := range []migrate.Repo{ms, hf} {
		_, err := runRefs(t, w, src, dst, migrate.Options{Refs: []string{"**"}})
		require.NoError(t, err, dst)
	}
	w.Seed(t, src, testworld.File{Path: "a.txt", Content: []byte("2")})
	deleteHFTag(t, w, src, "v1")
	w.Tag(t, src, "v1")

	rep, err := runRefs(t, w, src, hf, migrate.Options{Refs: []string{"**"}})
	require.NoError(t, err)
	assert.Equal(t, contentsAt(t, w, src, "v1"), contentsAt(t, w, hf, "v1"), "the tag moved with the source's")
	assert.Contains(t, rep.Notices, "tag v1 moved: its content on the source changed")

	rep, err = runRefs(t, w, src, ms, migrate.Options{Refs: []string{"**"}})
	require.ErrorIs(t, err, hubkit.ErrConflict)
	assert.Equal(t, migrate.StatusFailed, rep.Status)
	assert.Contains(t, err.Error(), "no API to move or delete a tag")
	assert.Equal(t, contentsAt(t, w, src, "main"), contentsAt(t, w, ms, "master"), "master still ends at the default branch")
}
