package cli

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// oneDocument decodes stdout as exactly one JSON document into v and returns the raw text.
func oneDocument(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader([]byte(stdout)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(v), "stdout is one JSON document of the report schema:\n%s", stdout)
	var extra json.RawMessage
	require.ErrorIs(t, dec.Decode(&extra), io.EOF, "nothing but the document on stdout")
}

func TestJSONOutput(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 3)
	r := run{env: w.env()}

	// plan: the dry run's report, the same document --report writes
	reportPath := filepath.Join(t.TempDir(), "plan.json")
	res := r.exec(t, "plan", "hf:alice/model", "--to", "ms", "--json", "--report", reportPath)
	require.Equal(t, ExitOK, res.code, res)
	var plan migrate.Report
	oneDocument(t, res.stdout, &plan)
	require.Equal(t, migrate.StatusPlanned, plan.Status)
	require.Equal(t, 6, plan.Plan.CopyFiles)
	require.False(t, plan.Plan.DestExists)
	var fromFile migrate.Report
	readReport(t, reportPath, &fromFile)
	require.Equal(t, fromFile, plan)
	require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"))

	// migrate: the run's report; the notes and the progress stay on stderr
	res = r.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var rep migrate.Report
	oneDocument(t, res.stdout, &rep)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Equal(t, 6, rep.FilesCopied)
	require.True(t, rep.Verification.OK())
	require.NotEmpty(t, rep.DestCommit)

	// again: up to date
	res = r.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--json")
	require.Equal(t, ExitOK, res.code, res)
	oneDocument(t, res.stdout, &rep)
	require.Equal(t, migrate.StatusUpToDate, rep.Status)

	// verify: the verification
	res = r.exec(t, "verify", "hf:alice/model", "ms:alice/model", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var v migrate.Verification
	oneDocument(t, res.stdout, &v)
	require.True(t, v.OK())
	require.GreaterOrEqual(t, v.Matched, 6)

	// a destination that does not verify: the document, and exit 1
	w.Seed(t, migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"},
		testworld.File{Path: "config.json", Content: []byte(`{"hidden_size":6400}`)})
	res = r.exec(t, "verify", "hf:alice/model", "ms:alice/model", "--json")
	require.Equal(t, ExitFailure, res.code, res)
	oneDocument(t, res.stdout, &v)
	require.False(t, v.OK())
	require.Equal(t, 1, v.Mismatched)

	// batch: the batch report
	res = r.exec(t, "batch", "--to", "ms", "hf:alice/model alice/model-b", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var br migrate.BatchReport
	oneDocument(t, res.stdout, &br)
	require.Len(t, br.Repos, 1)
	require.Equal(t, migrate.StatusSucceeded, br.Repos[0].Status)
	requireNoSecret(t, "the JSON output", res.stdout, res.stderr)
	w.assertNoLeaks(t)
}

func TestJSONOutputOnFailure(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"unknown source", []string{"plan", "hf:alice/none", "--to", "ms", "--json"}, w.env()},
		{"wrong token", []string{"migrate", "hf:alice/none", "--to", "ms", "--json"}, testworld.EnvWith(w.env(), app.EnvHFToken, hfWrong)},
		{"status without Modal", []string{"status", "abc123", "--json"}, w.env()},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := run{env: c.env}.exec(t, c.args...)
			require.NotEqual(t, ExitOK, res.code, res)
			require.Empty(t, res.stdout, "a command that made no document prints nothing on stdout")
			require.Contains(t, res.stderr, "hf2ms: ")
			requireNoSecret(t, "the output", res.stdout, res.stderr)
		})
	}
}

func TestJSONFlagOnEveryReportingCommand(t *testing.T) {
	t.Parallel()
	root := (&App{}).rootCommand()
	for _, name := range []string{"plan", "migrate", "verify", "status", "batch"} {
		cmd, _, err := root.Find([]string{name})
		require.NoError(t, err)
		require.NotNil(t, cmd.Flags().Lookup("json"), name)
	}
}

func TestJSONOutputWithRefs(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 1)
	require.NoError(t, w.HF.CreateTag(hubkit.Model, "alice/model", "v1.0", "main"))
	r := run{env: w.env()}

	res := r.exec(t, "plan", "hf:alice/model", "--to", "ms", "--refs", "all", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var plan migrate.Report
	oneDocument(t, res.stdout, &plan)
	require.Equal(t, migrate.StatusPlanned, plan.Status)
	require.Len(t, plan.Refs, 2, "the default branch and the tag")

	res = r.exec(t, "migrate", "hf:alice/model", "--to", "ms", "--refs", "all", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var rep migrate.Report
	oneDocument(t, res.stdout, &rep)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Len(t, rep.Refs, 2)

	res = r.exec(t, "verify", "hf:alice/model", "ms:alice/model", "--refs", "all", "--json")
	require.Equal(t, ExitOK, res.code, res)
	var vs []migrate.RefVerification
	oneDocument(t, res.stdout, &vs)
	require.Len(t, vs, 2)
	for _, v := range vs {
		require.True(t, v.Verification.OK(), v.Source.Name)
	}
	requireNoSecret(t, "the JSON output", res.stdout, res.stderr)
}
