package cli

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// A migration that needs two ModelScope commits and loses the second says how far it got, exits
// with ExitPartial, and the same command run again finishes it.
func TestPartialMigrationExitCodeAndRerun(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	src := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/many"}
	w.Create(t, src, false)
	w.Seed(t, src, testworld.ManyFiles("# many\n", "d", 2100)...)
	w.MS.Faults().Add(fault.Rule{Route: mstest.RouteCommit, Skip: 1, Times: 1, Status: http.StatusForbidden,
		Message: "no write permission to repository"})

	r := run{env: w.env()}
	res := r.exec(t, "migrate", "hf:alice/many", "--to", "ms")
	require.Equal(t, ExitPartial, res.code, res)
	require.Contains(t, res.stdout, "partial: 2000 of 2102 files committed", res)
	require.Contains(t, res.stderr, "re-run to finish", res)

	res = r.exec(t, "migrate", "hf:alice/many", "--to", "ms")
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "succeeded", res)
	w.assertNoLeaks(t)
}
