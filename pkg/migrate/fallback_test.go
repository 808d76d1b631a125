package migrate_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/hfhub"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
)

// The git fallback end to end: a storage-locked Hugging Face source read through git smart HTTP
// and the LFS batch API, migrated to migrate.ModelScope, verified.

// gitNotices returns the run's notices about git.
func gitNotices(rep *migrate.Report) []string {
	var out []string
	for _, n := range rep.Notices {
		if strings.Contains(n, "git") {
			out = append(out, n)
		}
	}
	return out
}

func TestGitFallbackMigratesStorageLockedRepo(t *testing.T) {
	tests := []struct {
		name   string
		typ    hubkit.RepoType
		locked bool
		useGit bool
		pinned bool // migrate the first of two commits
		notice string
	}{
		{"private model, locked", hubkit.Model, true, false, false, "storage locked"},
		{"private dataset, locked", hubkit.Dataset, true, false, false, "storage locked"},
		{"private model, locked, pinned revision", hubkit.Model, true, false, true, "storage locked"},
		{"private model, --use-git", hubkit.Model, false, true, false, "--use-git"},
		{"private dataset, locked and --use-git", hubkit.Dataset, true, true, true, "storage locked"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newE2EWorld(t)
			from := migrate.Repo{Hub: migrate.HuggingFace, Type: tc.typ, ID: fmt.Sprintf("%s/locked-%d", testworld.Org, i)}
			to := migrate.Repo{Hub: migrate.ModelScope, Type: tc.typ, ID: fmt.Sprintf("%s/mirror-%d", testworld.User, i)}
			w.Create(t, from, true)
			first := w.Seed(t, from, e2eModelFiles(byte(i))...)
			w.Seed(t, from, testworld.File{Path: "later.txt", Content: []byte("only in the second commit")},
				testworld.File{Path: "late.bin", Content: migratetest.Bytes(10<<10, 9), LFS: true})
			rev := ""
			if tc.pinned {
				rev = first
			}
			w.HF.SetStorageLock(tc.typ, from.ID, tc.locked)

			var mu sync.Mutex
			var notices []string
			rep, err := w.migrate(t, from, to, migrate.Options{Revision: rev, UseGit: tc.useGit}, migrate.WithEvents(func(ev migrate.Event) {
				if ev.Type == migrate.EventNotice && strings.Contains(ev.Message, "git") {
					mu.Lock()
					notices = append(notices, ev.Message)
					mu.Unlock()
				}
			}))
			require.NoError(t, err)
			require.Equal(t, migrate.StatusSucceeded, rep.Status)
			require.True(t, rep.Verification.OK(), "%+v", rep.Verification)

			// Exactly one notice, in the progress stream and in the report.
			require.Len(t, notices, 1, "%q", notices)
			require.Contains(t, notices[0], tc.notice)
			require.Equal(t, notices, gitNotices(rep))

			// The destination holds the source at the migrated revision, and stays private.
			want := map[string]string{}
			srcRev := rev
			if srcRev == "" {
				srcRev = hfhub.DefaultBranch
			}
			files, err := w.HF.Files(tc.typ, from.ID, srcRev)
			require.NoError(t, err)
			for _, f := range files {
				if f.Path == ".gitattributes" {
					continue
				}
				b, err := w.HF.ReadFile(tc.typ, from.ID, srcRev, f.Path)
				require.NoError(t, err)
				want[f.Path] = hubkit.SHA256Hex(b)
			}
			got := w.Contents(t, to)
			delete(got, ".gitattributes")
			require.Equal(t, want, got)
			require.True(t, w.Private(to))
			if tc.pinned {
				require.Equal(t, first, rep.SourceCommit)
				require.NotContains(t, got, "later.txt")
			}

			c := w.HF.Faults().Counts()
			require.Positive(t, c[hubtest.RouteGitUploadPack])
			if tc.useGit {
				// Never the HTTP API's downloads: no resolve, CDN redirect, tree or paths-info; LFS
				// bytes came only through the LFS batch API's links.
				for _, route := range hubtest.HTTPDownloadRoutes {
					require.Zero(t, c[route], "%s: %v", route, c)
				}
				require.Positive(t, c[hubtest.RouteLFSDownload], "%v", c)
			}
		})
	}
}

func TestGitFallbackNotOnMissingOrUnauthorized(t *testing.T) {
	w := newE2EWorld(t)
	priv := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.Org + "/private"}
	w.Create(t, priv, true)
	w.Seed(t, priv, e2eModelFiles(1)...)
	gated := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "bob/gated"}
	w.HF.AddUser("bob")
	require.NoError(t, w.HF.CreateRepo(hubkit.Model, gated.ID, hubtest.RepoOptions{Gated: "manual"}))
	w.HF.SetStorageLock(hubkit.Model, priv.ID, true) // even a locked repo: the 401/404 comes first

	bad := hfhub.New(hub.NewClient(hub.WithEndpoint(w.HF.URL()), hub.WithToken("hf_not_a_token")))
	anon := hfhub.New(hub.NewClient(hub.WithEndpoint(w.HF.URL())))
	tests := []struct {
		name string
		src  migrate.Hub
		from migrate.Repo
		want error
	}{
		{"404: no such repo", w.hubs[migrate.HuggingFace], migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: testworld.Org + "/nope"}, hubkit.ErrNotFound},
		{"401: invalid token", bad, priv, hubkit.ErrUnauthorized},
		{"401: anonymous on a private repo", anon, priv, hubkit.ErrNotFound},
		{"403: gated, not a storage lock", w.hubs[migrate.HuggingFace], gated, hubkit.ErrGated},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := w.HF.Faults().Counts()
			m, err := migrate.New(tc.src, w.hubs[migrate.ModelScope], tc.from, migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: testworld.User + "/x"})
			require.NoError(t, err)
			rep, err := m.Run(context.Background())
			require.ErrorIs(t, err, tc.want)
			require.Empty(t, gitNotices(rep))
			after := w.HF.Faults().Counts()
			require.Equal(t, before[hubtest.RouteGitRefs], after[hubtest.RouteGitRefs], "git was tried")
			require.Equal(t, before[hubtest.RouteGitUploadPack], after[hubtest.RouteGitUploadPack], "git was tried")
		})
	}
	// The switch can be turned off.
	off := hfhub.New(hub.NewClient(hub.WithEndpoint(w.HF.URL()), hub.WithToken(testworld.HFToken)), hfhub.WithGitFallback(false))
	_, err := off.List(context.Background(), priv, "")
	require.ErrorIs(t, err, hubkit.ErrStorageLocked)
}
