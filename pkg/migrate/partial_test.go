package migrate_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/internal/testworld/testclock"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
	"github.com/linaqruf/hf2ms/pkg/migrate/mshub"
	"github.com/linaqruf/hf2ms/pkg/msclient"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// A commit or a create whose answer is a 5xx may still have happened (a gateway gave up while the
// hub finished). The engine looks at what the destination holds and goes on, committing nothing
// twice.
func TestAnswerLostButApplied(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to migrate.HubName
		route    string
	}{
		{"HF to MS commit", migrate.HuggingFace, migrate.ModelScope, mstest.RouteCommit},
		{"MS to HF commit", migrate.ModelScope, migrate.HuggingFace, hubtest.RouteCommit},
		{"HF to MS create", migrate.HuggingFace, migrate.ModelScope, mstest.RouteCreateModel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newE2EWorld(t)
			from := migrate.Repo{Hub: tc.from, Type: hubkit.Model, ID: testworld.User + "/src"}
			to := migrate.Repo{Hub: tc.to, Type: hubkit.Model, ID: testworld.User + "/dst"}
			w.SeedModel(t, from, 3)
			w.Faults(tc.to).Add(fault.Rule{Route: tc.route, Status: http.StatusBadGateway, Applied: true, Times: 1})
			rep, err := w.migrate(t, from, to, migrate.Options{})
			require.NoError(t, err, "%+v", rep)
			require.Equal(t, migrate.StatusSucceeded, rep.Status)
			skip := []string{}
			if tc.to == migrate.HuggingFace {
				skip = append(skip, "README.md") // its licence is rewritten for the Hub
			}
			w.requireMirrored(t, from, to, skip...)
			hist := w.History(t, to)
			var ours int
			for _, c := range hist {
				if strings.HasPrefix(c.Message, "Migrated from") {
					ours++
				}
			}
			require.Equal(t, 1, ours, "one migration commit: %+v", hist)
		})
	}
}

// A hub that answers success to "private" but keeps the repo public is caught by reading the
// visibility back, and the run says so.
func TestIgnoredVisibilityWarns(t *testing.T) {
	w := newE2EWorld(t, testworld.WithMS(mstest.WithIgnoredVisibility()))
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/secret"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/secret"}
	w.Create(t, from, true)
	w.Seed(t, from, testworld.File{Path: "a.txt", Content: []byte("a")})
	rep, err := w.migrate(t, from, to, migrate.Options{})
	require.NoError(t, err)
	require.False(t, w.Private(to))
	require.Len(t, rep.Warnings, 1)
	require.Contains(t, rep.Warnings[0], "asked to be private but ModelScope reports it public")
}

// A 3,000-file repo needs two ModelScope commits (2,000 actions each at most). When the hub's
// commit-frequency window outlasts the client's retry budget, the run stops between them: the
// report says "partial: 2000 of 3002", the destination holds the first commit's files but not
// yet the README that describes them, and a re-run after the window finishes the rest.
func TestPartialCommitThenRerun(t *testing.T) {
	clk := testclock.New()
	w := newE2EWorld(t, testworld.WithMS(mstest.WithCommitInterval(time.Hour), mstest.WithClock(clk.Now)))
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/many"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/many"}
	w.Create(t, from, false)
	w.Seed(t, from, testworld.ManyFiles("---\nlicense: mit\n---\n# many\n", "data/", 3000)...)
	w.Create(t, to, false) // the create is a commit of its own on ModelScope: let its window pass
	clk.Add(2 * time.Hour)

	total := len(w.Paths(t, from)) // the files, the README and the Hub's .gitattributes
	rep, err := w.migrate(t, from, to, migrate.Options{Files: 8, Parts: 2})
	require.ErrorIs(t, err, migrate.ErrPartial)
	require.Equal(t, migrate.StatusPartial, rep.Status)
	require.Equal(t, 2000, rep.FilesCommitted)
	require.Equal(t, total, rep.FilesToCommit)
	require.Contains(t, rep.Error, fmt.Sprintf("partial: 2000 of %d files committed to ms:%s (re-run to finish)", total, to.ID))
	have := w.Paths(t, to)
	require.Len(t, have, 2000)
	require.NotContains(t, have, "README.md", "the card comes with the last commit")

	clk.Add(2 * time.Hour)
	rep, err = w.migrate(t, from, to, migrate.Options{Files: 8, Parts: 2})
	require.NoError(t, err, "%+v", rep.Error)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, total-2000, rep.FilesCopied)
	require.Equal(t, 2000, rep.FilesSkipped)
	w.requireMirrored(t, from, to)
}

// A file larger than the destination takes (ModelScope: 100 GB) is refused in the plan, naming
// it, before anything is written; the limit is lowered here so a small file stands for it.
func TestTooLargeForDestinationRefusedInPlan(t *testing.T) {
	w := newE2EWorld(t)
	require.Equal(t, int64(100<<30), w.Hub(migrate.ModelScope).Limits().MaxFileSize)
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/huge"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/huge"}
	w.Create(t, from, false)
	w.Seed(t, from, testworld.File{Path: "small.txt", Content: []byte("ok")},
		testworld.File{Path: "weights/huge.bin", Content: migratetest.Bytes(3<<20, 5), LFS: true})
	dst := mshub.New(msclient.NewClient(msclient.WithEndpoint(w.MS.URL()), msclient.WithToken(testworld.MSToken)),
		mshub.WithLimits(migrate.Limits{MaxFileSize: 1 << 20}))
	m, err := migrate.New(w.Hub(migrate.HuggingFace), dst, from, to)
	require.NoError(t, err)
	_, err = m.Plan(context.Background())
	require.ErrorIs(t, err, migrate.ErrTooLarge)
	require.Contains(t, err.Error(), "weights/huge.bin (3145728 bytes)")
	rep, err := m.Run(context.Background())
	require.ErrorIs(t, err, migrate.ErrTooLarge)
	require.Equal(t, migrate.StatusFailed, rep.Status)
	require.False(t, w.Exists(to), "nothing was created")
}

// One owner per retry: a blob the destination keeps refusing is sent exactly as many times as
// the engine's whole-blob retry allows (the clients and the transport do not add their own).
func TestBlobPutRetriedByTheEngineOnly(t *testing.T) {
	w := newE2EWorld(t)
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/one"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/one"}
	w.Create(t, from, false)
	w.Seed(t, from, testworld.File{Path: "w.bin", Content: migratetest.Bytes(200<<10, 9), LFS: true})
	w.Faults(migrate.ModelScope).Add(fault.Rule{Route: mstest.RouteBlobPut, Status: http.StatusInternalServerError})
	before := w.Faults(migrate.ModelScope).Count(mstest.RouteBlobPut)
	_, err := w.migrate(t, from, to, migrate.Options{})
	require.Error(t, err)
	require.Equal(t, 5, w.Faults(migrate.ModelScope).Count(mstest.RouteBlobPut)-before)
	require.Empty(t, w.Paths(t, to), "nothing committed")
}

// Fakes started with an object directory (hf2ms demo --serve --data) take real files above
// their memory limit, both ways, through basic and multipart uploads, and keep them on disk.
func TestFakesKeepLargeUploadsOnDisk(t *testing.T) {
	dir := t.TempDir()
	w := newE2EWorld(t,
		testworld.WithHF(hubtest.WithMemoryLimit(1<<20), hubtest.WithObjectDir(dir)),
		testworld.WithMS(mstest.WithMemoryLimit(1<<20), mstest.WithObjectDir(dir)))
	hf := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/big"}
	ms := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/big"}
	back := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.User + "/big-back"}
	big := migratetest.Bytes(3<<20, 21)
	w.Create(t, hf, false)
	w.Seed(t, hf, testworld.File{Path: "w.bin", Content: big, LFS: true})
	_, err := w.migrate(t, hf, ms, migrate.Options{})
	require.NoError(t, err)
	_, err = w.migrate(t, ms, back, migrate.Options{})
	require.NoError(t, err)
	require.Equal(t, big, w.Read(t, back, "w.bin"))
	require.FileExists(t, filepath.Join(dir, hubkit.SHA256Hex(big)))
}
