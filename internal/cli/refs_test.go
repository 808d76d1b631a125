package cli

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// TestRefs drives --refs through the CLI: plan shows every ref, migrate mirrors tags to
// ModelScope and reports them, verify --refs verifies each ref, and a re-run is up to date.
func TestRefs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 2)
	require.NoError(t, w.HF.CreateTag(hubkit.Model, "alice/model", "v1.0", "main"))
	_, err := w.HF.Commit(hubkit.Model, "alice/model", "main", "more", hubtest.File{Path: "notes.txt", Content: []byte("later")})
	require.NoError(t, err)
	require.NoError(t, w.HF.CreateBranch(hubkit.Model, "alice/model", "exp", "main"))

	res := run{env: w.env()}.exec(t, "plan", "hf:alice/model", "--to", "ms", "--refs", "all")
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "== tag v1.0 -> tag v1.0 (new)")
	require.Contains(t, res.stdout, "== branch main -> branch master (new)")
	require.Contains(t, res.stdout, "== branch exp -> not mirrored")
	require.False(t, w.Exists(migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"}))

	report := filepath.Join(t.TempDir(), "report.json")
	res = run{env: w.env()}.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--refs", "main,v*", "--report", report)
	require.Equal(t, ExitOK, res.code, res)
	require.Regexp(t, `tag v1\.0\s+tag v1\.0 \(new\)\s+succeeded`, res.stdout)
	var rep migrate.Report
	readReport(t, report, &rep)
	require.Len(t, rep.Refs, 2)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)

	res = run{env: w.env()}.exec(t, "verify", "hf:alice/model", "ms:alice/model", "--refs", "v*")
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "== tag v1.0 -> tag v1.0")
	require.NotContains(t, res.stdout, "NOT VERIFIED")

	res = run{env: w.env()}.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--refs", "all")
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "up to date")

	res = run{env: w.env()}.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--refs", "all", "--revision", "main")
	require.Equal(t, ExitUsage, res.code, res)
	w.assertNoLeaks(t)
}
