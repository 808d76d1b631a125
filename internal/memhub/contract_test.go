package memhub_test

import (
	"testing"

	"github.com/linaqruf/hf2ms/internal/memhub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
)

// TestContract holds memhub, which the engine's tests stand on, to the same contract as the real
// adapters, in both hubs' flavours.
func TestContract(t *testing.T) {
	for _, name := range []migrate.HubName{migrate.HuggingFace, migrate.ModelScope} {
		t.Run(string(name), func(t *testing.T) {
			migratetest.Run(t, func(t *testing.T) migratetest.Env {
				h := memhub.New(name, memhub.WithNamespaces("alice"), memhub.WithPartSize(64<<10), memhub.WithLFSThreshold(256<<10))
				repo := migrate.Repo{Hub: name, Type: hubkit.Model, ID: "alice/contract"}
				h.Seed(repo, false)
				return migratetest.Env{
					Hub:      h,
					BadToken: h.Unauthorized(),
					Repo:     repo,
					Seed: func(t *testing.T, files ...migratetest.File) string {
						specs := make([]memhub.FileSpec, len(files))
						for i, f := range files {
							specs[i] = memhub.FileSpec{Path: f.Path, Data: f.Content, LFS: f.LFS}
						}
						return h.Seed(repo, false, specs...)
					},
					ForeignNS:       "bob",
					HasBlob:         func(sha string) bool { return h.HasBlob(repo, sha) },
					Endpoint:        "mem://" + string(name),
					StrictNamespace: true,
				}
			})
		})
	}
}
