package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	gha "github.com/sethvargo/go-githubactions"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// Recognisable fake tokens: the leak checks look for them everywhere.
const (
	hfToken = testworld.HFToken
	msToken = testworld.MSToken
)

// world is the shared test world (internal/testworld).
type world struct{ *testworld.World }

func newWorld(t *testing.T, opts ...testworld.Option) *world {
	return &world{testworld.New(t, opts...)}
}

// seedHF seeds hf:<id> (testworld.SeedModel) with n weight files.
func (w *world) seedHF(t *testing.T, id string, n int) {
	w.SeedModel(t, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: id}, n)
}

// result is everything the action left behind.
type result struct {
	code                   int
	log, summary, outputs  string
	outputMap              map[string]string
	report                 string
	workspace, summaryPath string
}

// step is the files GitHub gives a step (outputs, job summary, workspace) and its environment:
// those paths, the world's endpoints, over, and the inputs.
type step struct {
	env                  map[string]string
	outPath, sumPath, ws string
}

func (w *world) newStep(t *testing.T, inputs, over map[string]string) step {
	t.Helper()
	dir := t.TempDir()
	st := step{outPath: filepath.Join(dir, "output"), sumPath: filepath.Join(dir, "summary"), ws: filepath.Join(dir, "workspace")}
	require.NoError(t, os.MkdirAll(st.ws, 0o755))
	for _, p := range []string{st.outPath, st.sumPath} {
		require.NoError(t, os.WriteFile(p, nil, 0o644))
	}
	st.env = map[string]string{
		"GITHUB_OUTPUT":       st.outPath,
		"GITHUB_STEP_SUMMARY": st.sumPath,
		"GITHUB_WORKSPACE":    st.ws,
		"HF_ENDPOINT":         w.HF.URL(),
		"MODELSCOPE_ENDPOINT": w.MS.URL(),
	}
	for k, v := range over {
		st.env[k] = v
	}
	for k, v := range inputs {
		st.env["INPUT_"+strings.ToUpper(k)] = v
	}
	return st
}

func (w *world) run(t *testing.T, inputs map[string]string) *result {
	t.Helper()
	st := w.newStep(t, inputs, nil)
	env, outPath, sumPath, ws := st.env, st.outPath, st.sumPath, st.ws
	getenv := func(k string) string { return env[k] }
	var log bytes.Buffer
	a := gha.New(gha.WithGetenv(getenv), gha.WithWriter(&log))
	code := mainCode(context.Background(), a, getenv, &log)
	out, err := os.ReadFile(outPath)
	require.NoError(t, err)
	sum, err := os.ReadFile(sumPath)
	require.NoError(t, err)
	res := &result{code: code, log: log.String(), summary: string(sum), outputs: string(out), workspace: ws, summaryPath: sumPath}
	res.outputMap = parseOutputs(string(out))
	if b, err := os.ReadFile(filepath.Join(ws, reportName)); err == nil {
		res.report = string(b)
	}
	// ::add-mask:: lines carry the secret to the runner, which consumes them and never shows them.
	shown := regexp.MustCompile(`(?m)^::add-mask::.*$`).ReplaceAllString(res.log, "")
	for _, s := range []string{shown, res.summary, res.outputs, res.report} {
		require.NotContains(t, s, hfToken, "a token leaked")
		require.NotContains(t, s, msToken, "a token leaked")
	}
	return res
}

// parseOutputs reads the GITHUB_OUTPUT file format (name<<DELIM / value / DELIM).
func parseOutputs(s string) map[string]string {
	out := map[string]string{}
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		name, delim, ok := strings.Cut(lines[i], "<<")
		if !ok {
			continue
		}
		var val []string
		for i++; i < len(lines) && lines[i] != delim; i++ {
			val = append(val, lines[i])
		}
		out[name] = strings.Join(val, "\n")
	}
	return out
}

func tokens() map[string]string {
	return map[string]string{"hf_token": hfToken, "modelscope_token": msToken}
}

func TestSingleMigration(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/model", 3)
	res := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms"))
	require.Equal(t, 0, res.code, res.log)
	require.Equal(t, "true", res.outputMap["verified"])
	require.Equal(t, "6", res.outputMap["files_copied"], "3 weights, README, config and the Hub's .gitattributes")
	require.NotEmpty(t, res.outputMap["commit"])
	require.Contains(t, res.outputMap["destination_url"], "alice/model")
	require.Equal(t, filepath.Join(res.workspace, reportName), res.outputMap["report"])
	require.Contains(t, res.summary, "Verification: ✅ verified")
	require.Contains(t, res.summary, "<details><summary>Files (6)</summary>")
	require.Contains(t, res.log, "::add-mask::")
	require.Contains(t, res.log, "::group::")
	var rep migrate.Report
	require.NoError(t, json.Unmarshal([]byte(res.report), &rep))
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.True(t, w.MS.RepoExists(hubkit.Model, "alice/model"))

	// A scheduled re-run is an incremental no-op.
	again := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms"))
	require.Equal(t, 0, again.code, again.log)
	require.Equal(t, "0", again.outputMap["files_copied"])
	require.Contains(t, again.summary, "already up to date")
	writeSample(t, "migrate", res.summary)
}

func TestDryRunChangesNothing(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/model", 2)
	res := w.run(t, testworld.EnvWith(tokens(), "source", "alice/model", "to", "ms", "dry_run", "true"))
	require.Equal(t, 0, res.code, res.log)
	require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"), "a dry run must not create the destination")
	require.Contains(t, res.summary, "dry run")
	require.Contains(t, res.summary, "| to copy | 5 |")
}

func TestBatch(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/a", 1)
	w.seedHF(t, "alice/b", 2)
	res := w.run(t, testworld.EnvWith(tokens(), "to", "ms", "batch", "alice/a\n# a comment\nalice/b alice/b-mirror\n"))
	require.Equal(t, 0, res.code, res.log)
	require.True(t, w.MS.RepoExists(hubkit.Model, "alice/a"))
	require.True(t, w.MS.RepoExists(hubkit.Model, "alice/b-mirror"))
	require.Contains(t, res.summary, "## hf2ms batch: 2 repos")
	require.Contains(t, res.summary, "2 succeeded, 0 up to date, 0 failed")
	require.Equal(t, "true", res.outputMap["verified"])
}

func TestCorruptSourceFailsTheStepAndNamesTheFile(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/model", 1)
	w.HF.Faults().Add(fault.Rule{Route: hubtest.RouteCDN, Corrupt: true})
	res := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/model", "to", "ms"))
	require.Equal(t, 1, res.code)
	require.Contains(t, res.summary, "weights/part-000.bin")
	require.Contains(t, res.log, "::error::")
	require.Contains(t, res.log, "weights/part-000.bin")
	if w.MS.RepoExists(hubkit.Model, "alice/model") {
		files, err := w.MS.Files(hubkit.Model, "alice/model", "master")
		require.NoError(t, err)
		for _, f := range files {
			require.NotEqual(t, "weights/part-000.bin", f.Path, "no commit may carry the corrupt file")
		}
	}
}

func TestBadInputs(t *testing.T) {
	w := newWorld(t)
	cases := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"no source", tokens(), `input "source"`},
		{"bad to", testworld.EnvWith(tokens(), "source", "a/b", "to", "github"), `input "to" is "github": want hf or ms`},
		{"bad bool", testworld.EnvWith(tokens(), "source", "a/b", "delete", "yes please"), `input "delete" is "yes please": want true or false`},
		{"bad executor", testworld.EnvWith(tokens(), "source", "a/b", "executor", "k8s"), `input "executor" is "k8s": want local or modal`},
		{"bad chunk", testworld.EnvWith(tokens(), "source", "a/b", "chunk_size", "lots"), `input "chunk_size"`},
		{"bad repo", testworld.EnvWith(tokens(), "source", "not a repo"), `input "source"`},
		{"detach local", testworld.EnvWith(tokens(), "source", "a/b", "detach", "true"), `input "detach"`},
		{"both", testworld.EnvWith(tokens(), "source", "a/b", "batch", "c/d"), `input "batch"`},
		{"bad repo type", testworld.EnvWith(tokens(), "source", "a/b", "repo_type", "kernel"), `input "repo_type"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := w.run(t, c.inputs)
			require.Equal(t, 1, res.code)
			require.Contains(t, res.log, c.want)
			require.Equal(t, 1, strings.Count(res.log, "::error"), "exactly one annotation:\n%s", res.log)
		})
	}
}

func TestWrongTokenFailsCleanly(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/model", 1)
	res := w.run(t, map[string]string{"source": "hf:alice/model", "to": "ms", "hf_token": hfToken, "modelscope_token": "ms-wrong-SECRET-token-0123456789"})
	require.Equal(t, 1, res.code)
	require.Contains(t, res.log, "::error")
	shown := regexp.MustCompile(`(?m)^::add-mask::.*$`).ReplaceAllString(res.log, "")
	require.NotContains(t, shown+res.summary+res.outputs, "ms-wrong-SECRET-token-0123456789")
}

func TestSummaryOfHugeRepoStaysUnderLimit(t *testing.T) {
	rep := &migrate.Report{Status: migrate.StatusFailed,
		Source:       migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "a/b"},
		Dest:         migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/b"},
		Verification: &migrate.Verification{}}
	for i := 0; i < 100_000; i++ {
		p := fmt.Sprintf("data/shard-%06d/some/long/folder/name/file-%06d.parquet", i/100, i)
		rep.Files = append(rep.Files, migrate.FileResult{Path: p, Size: int64(i), Action: migrate.ActionCopied})
		if i%3 == 0 {
			rep.Verification.Mismatched++
			rep.Verification.Bad = append(rep.Verification.Bad, migrate.FileCheck{Path: p, Problem: "mismatched", Detail: "sha256 differs"})
		}
	}
	md := summaryMarkdown(rep, nil, redact.Shapes)
	require.Less(t, len(md), summaryLimit)
	require.Contains(t, md, "more files (the JSON report lists every file)")
	require.Contains(t, md, "and 33134 more (see the JSON report)")
}

// writeSample keeps the markdown a real run wrote, for the README's sample.
func writeSample(t *testing.T, name, md string) {
	if dir := os.Getenv("HF2MS_SUMMARY_SAMPLES"); dir != "" {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644))
	}
}

func TestBatchGoesOnPastAMissingRepo(t *testing.T) {
	w := newWorld(t)
	w.seedHF(t, "alice/a", 1)
	res := w.run(t, testworld.EnvWith(tokens(), "to", "ms", "batch", "alice/missing\nalice/a\n"))
	require.Equal(t, 1, res.code, res.log)
	require.True(t, w.MS.RepoExists(hubkit.Model, "alice/a"), "the other repo still migrates")
	require.Contains(t, res.summary, "1 succeeded, 0 up to date, 1 failed")
	var br migrate.BatchReport
	require.NoError(t, json.Unmarshal([]byte(res.report), &br))
	require.Len(t, br.Repos, 2)
	require.Equal(t, "alice/missing", br.Repos[0].Source.ID, "input order kept")
	require.Equal(t, migrate.StatusFailed, br.Repos[0].Status)
	require.Contains(t, br.Repos[0].Error, "not found")
	require.Equal(t, migrate.StatusSucceeded, br.Repos[1].Status)
}

func TestSummaryCodeSpansEscapeOnlyWhatTablesNeed(t *testing.T) {
	rep := &migrate.Report{Status: migrate.StatusSucceeded,
		Source: migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "a/b"},
		Dest:   migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "a/b"},
		Files: []migrate.FileResult{
			{Path: "generation_config.json", Size: 10, Action: migrate.ActionCopied},
			{Path: "odd|name*.bin", Size: 10, Action: migrate.ActionCopied},
			{Path: "tick`s.txt", Size: 10, Action: migrate.ActionCopied},
		},
		Verification: &migrate.Verification{Mismatched: 1,
			Bad: []migrate.FileCheck{{Path: "my_file.bin", Problem: "mismatched", Detail: "sha256 differs"}}},
	}
	rep.BytesDeduplicated = 3 << 20
	md := summaryMarkdown(rep, nil, redact.Shapes)
	require.Contains(t, md, "| deduplicated (Xet, not sent) | | 3.0 MiB |")
	require.Contains(t, md, "| `generation_config.json` |")
	require.Contains(t, md, "| `odd\\|name*.bin` |")
	require.Contains(t, md, "| `` tick`s.txt `` |")
	require.Contains(t, md, "**mismatched**: `my_file.bin`")
	require.NotContains(t, md, `\_`)
}

// A partial run (the second of two ModelScope commits refused) fails the step with status
// "partial" and says how far it got; a hub that ignored "private" gives a warning annotation.
func TestPartialRunAndVisibilityWarning(t *testing.T) {
	w := newWorld(t, testworld.WithMS(mstest.WithIgnoredVisibility()))
	src := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/many"}
	w.Create(t, src, true)
	w.Seed(t, src, testworld.ManyFiles("# many\n", "d", 2050)...)
	w.MS.Faults().Add(fault.Rule{Route: mstest.RouteCommit, Skip: 1, Times: 1, Status: http.StatusForbidden})
	res := w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/many", "to", "ms"))
	require.Equal(t, 1, res.code, res.log)
	require.Equal(t, "partial", res.outputMap["status"])
	require.Equal(t, "2000", res.outputMap["files_committed"])
	require.Contains(t, res.summary, "partial: 2000 of 2052 files committed (re-run to finish)")
	require.Contains(t, res.summary, "**warning**: ms:alice/many was asked to be private but ModelScope reports it public")
	require.Contains(t, res.log, "::warning::ms:alice/many was asked to be private")

	res = w.run(t, testworld.EnvWith(tokens(), "source", "hf:alice/many", "to", "ms"))
	require.Equal(t, 0, res.code, res.log)
	require.Equal(t, "succeeded", res.outputMap["status"])
}
