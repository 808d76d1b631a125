package testworld

import (
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/migrate/migratetest"
)

// Foreign is a user of both fakes (added by AddForeign) whose namespace the world's user may not
// write to.
const Foreign = "bob"

// AddForeign adds the user Foreign, without orgs or tokens, to both fakes.
func (w *World) AddForeign() {
	w.HF.AddUser(Foreign)
	w.MS.AddUser(Foreign)
}

// ContractEnv is the environment in which migratetest.Run checks the adapter of hub h against
// the world's fake: the repository User/contract, created here as an empty public model; the hub
// under test, newHub(token), with the world's write token and with an invalid one; seeding
// straight into the fake; Foreign (added here) as the namespace the user may not write to. Only
// Hugging Face says which orgs a user is in, so only there must CheckWrite refuse Foreign.
func (w *World) ContractEnv(t testing.TB, h migrate.HubName, newHub func(token string) migrate.Hub) migratetest.Env {
	t.Helper()
	w.AddForeign()
	repo := migrate.Repo{Hub: h, Type: hubkit.Model, ID: User + "/contract"}
	w.Create(t, repo, false)
	var env migratetest.Env
	if h == migrate.HuggingFace {
		env = migratetest.Env{Hub: newHub(HFToken), BadToken: newHub("hf_not_a_token"), TokenVar: EnvHFToken,
			Endpoint: w.HF.URL(), StrictNamespace: true}
	} else {
		env = migratetest.Env{Hub: newHub(MSToken), BadToken: newHub("ms-not-a-token"), TokenVar: EnvMSToken,
			Endpoint: w.MS.URL()}
	}
	env.Repo, env.ForeignNS = repo, Foreign
	env.HasBlob = func(sha string) bool { return w.HasLFSObject(h, sha) }
	env.Seed = func(t *testing.T, files ...migratetest.File) string {
		t.Helper()
		fs := make([]File, len(files))
		for i, f := range files {
			fs[i] = File{Path: f.Path, Content: f.Content, LFS: f.LFS}
		}
		return w.Seed(t, repo, fs...)
	}
	return env
}
