package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

func readReport(t *testing.T, path string, v any) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
	return string(b)
}

func TestMigrateEachDirection(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     []string
		src, dst migrate.Repo
	}{
		{"hf to ms", []string{"migrate", "hf:alice/model", "--to", "ms"},
			migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/model"},
			migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"}},
		{"ms to hf, renamed", []string{"migrate", "ms:alice/ms-model", "--to", "hf", "--dest", "alice/copy"},
			migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/ms-model"},
			migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/copy"}},
		{"hf to hf", []string{"migrate", "hf:alice/model", "--to", "hf", "--dest", "alice/model-2"},
			migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/model"},
			migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/model-2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 3)
			w.seedMS(t, "alice/ms-model", 2)
			reportPath := filepath.Join(t.TempDir(), "report.json")
			res := run{env: w.env()}.exec(t, append(c.args, "--report", reportPath)...)
			require.Equal(t, ExitOK, res.code, res)
			src, dst := w.Sizes(t, c.src), w.Sizes(t, c.dst)
			require.NotEmpty(t, src)
			for p, size := range src {
				require.Contains(t, dst, p)
				if p != "README.md" { // the README's license may be rewritten for the Hub
					require.Equal(t, size, dst[p], p)
				}
			}
			require.Contains(t, res.stdout, "succeeded")
			require.Regexp(t, `verification\s+files\n`, res.stdout)
			require.Regexp(t, `mismatched\s+0\n`, res.stdout)
			require.Regexp(t, `missing\s+0\n`, res.stdout)
			require.Contains(t, res.stdout, "result: VERIFIED")

			var rep migrate.Report
			raw := readReport(t, reportPath, &rep)
			require.Equal(t, migrate.StatusSucceeded, rep.Status)
			require.Positive(t, rep.FilesCopied)
			require.GreaterOrEqual(t, rep.FilesCopied+rep.FilesSkipped, len(src)-1, "every source file (but a .gitattributes the new repo may already have)")
			require.NotEmpty(t, rep.DestCommit)
			require.NotNil(t, rep.Verification)
			require.True(t, rep.Verification.OK())
			require.GreaterOrEqual(t, rep.Verification.Matched, len(src))
			requireNoSecret(t, "the migrate output", res.stdout, res.stderr, raw)

			// the same command again moves nothing
			again := run{env: w.env()}.exec(t, c.args...)
			require.Equal(t, ExitOK, again.code, again)
			require.Contains(t, again.stdout, "up to date")
			require.Contains(t, again.stdout, "copied 0 files")
			w.assertNoLeaks(t)
			require.Positive(t, w.hfRec.OwnSeen(), "the Hugging Face requests went through the recorder")
		})
	}
}

func TestPlanAndDryRunChangeNothing(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"plan", "hf:alice/model", "--to", "ms"},
		{"migrate", "hf:alice/model", "--to", "ms", "--dry-run"},
	} {
		t.Run(args[0], func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 3)
			reportPath := filepath.Join(t.TempDir(), "plan.json")
			res := run{env: w.env()}.exec(t, append(args, "--report", reportPath)...)
			require.Equal(t, ExitOK, res.code, res)
			require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"), "a plan creates nothing")
			require.Contains(t, res.stdout, "destination does not exist yet")
			require.Contains(t, res.stdout, "copy (6 files")
			for _, p := range []string{"README.md", "config.json", "weights/part-000.bin", "weights/part-002.bin", ".gitattributes"} {
				require.Contains(t, res.stdout, p)
			}
			require.Regexp(t, `64\.0 KiB\s+weights/part-000\.bin`, res.stdout)
			require.Regexp(t, `estimated time at .* per worker: \d`, res.stdout)
			var rep migrate.Report
			readReport(t, reportPath, &rep)
			require.Equal(t, migrate.StatusPlanned, rep.Status)
			require.Equal(t, 6, rep.Plan.CopyFiles)
		})
	}

	t.Run("copy skip delete", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.seedHF(t, "alice/model", 2)
		require.Equal(t, ExitOK, run{env: w.env()}.exec(t, "migrate", "hf:alice/model", "--to", "ms").code)
		// one new file on the source, one stray file on the destination
		b := synth.Blob{Size: 70 << 10, Seed: 9}
		_, err := w.HF.Commit(hubkit.Model, "alice/model", "main", "more", hubtest.File{Path: "weights/new.bin", Blob: &b})
		require.NoError(t, err)
		_, err = w.MS.Commit(hubkit.Model, "alice/model", "", "stray", mstest.File{Path: "stray.txt", Content: []byte("x")})
		require.NoError(t, err)
		headBefore, err := w.MS.Files(hubkit.Model, "alice/model", "")
		require.NoError(t, err)

		res := run{env: w.env()}.exec(t, "plan", "hf:alice/model", "--to", "ms", "--delete")
		require.Equal(t, ExitOK, res.code, res)
		require.Contains(t, res.stdout, "\ncopy (1 files, 70.0 KiB):")
		require.Regexp(t, `70\.0 KiB\s+weights/new\.bin`, res.stdout)
		require.Contains(t, res.stdout, "skip (already identical) (5 files")
		require.Contains(t, res.stdout, "\ndelete (1 files, 1 B):")
		require.Contains(t, res.stdout, "stray.txt")
		require.Contains(t, res.stdout, "1 to copy (70.0 KiB), 5 to skip, 1 to delete")
		after, err := w.MS.Files(hubkit.Model, "alice/model", "")
		require.NoError(t, err)
		require.Equal(t, headBefore, after, "a plan changes nothing")
	})
}

func TestBatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		args  []string
		file  string // written to a temp file and passed as --file
		stdin string
	}{
		{name: "args", args: []string{"alice/a", "alice/b"}},
		{name: "file", file: "# repos\nalice/a\n\nalice/b alice/b-mirror\n"},
		{name: "stdin", args: []string{"--file", "-"}, stdin: "alice/a\nhf:alice/b\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/a", 1)
			w.seedHF(t, "alice/b", 2)
			args := append([]string{"batch", "--to", "ms"}, c.args...)
			if c.file != "" {
				p := filepath.Join(t.TempDir(), "repos.txt")
				require.NoError(t, os.WriteFile(p, []byte(c.file), 0o644))
				args = append(args, "--file", p)
			}
			reportPath := filepath.Join(t.TempDir(), "batch.json")
			res := run{env: w.env(), stdin: c.stdin}.exec(t, append(args, "--report", reportPath)...)
			require.Equal(t, ExitOK, res.code, res)
			require.Regexp(t, `source\s+destination\s+status\s+copied\s+bytes\s+verified\s+error`, res.stdout)
			require.Regexp(t, `hf:alice/a\s+ms:alice/a\s+succeeded\s+\d+\s+.*true`, res.stdout)
			require.Contains(t, res.stdout, "2 succeeded, 0 up to date, 0 failed")
			require.True(t, w.MS.RepoExists(hubkit.Model, "alice/a"))
			if c.file != "" {
				require.True(t, w.MS.RepoExists(hubkit.Model, "alice/b-mirror"))
			} else {
				require.True(t, w.MS.RepoExists(hubkit.Model, "alice/b"))
			}
			var rep migrate.BatchReport
			readReport(t, reportPath, &rep)
			require.Len(t, rep.Repos, 2)
		})
	}

	t.Run("one fails, the others succeed", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.seedHF(t, "alice/a", 1)
		w.seedHF(t, "alice/b", 1)
		// --repo-type skips detection, so the missing repo fails in the run, not while resolving
		res := run{env: w.env()}.exec(t, "batch", "--to", "ms", "--repo-type", "model", "alice/a", "alice/missing", "alice/b")
		require.Equal(t, ExitFailure, res.code, res)
		require.Regexp(t, `hf:alice/missing\s+ms:alice/missing\s+failed`, res.stdout)
		require.Contains(t, res.stdout, "2 succeeded, 0 up to date, 1 failed")
		require.True(t, w.MS.RepoExists(hubkit.Model, "alice/a"))
		require.True(t, w.MS.RepoExists(hubkit.Model, "alice/b"))
		require.False(t, w.MS.RepoExists(hubkit.Model, "alice/missing"))
	})

	t.Run("empty list is a usage error", func(t *testing.T) {
		t.Parallel()
		res := run{env: newWorld(t).env(), stdin: "# nothing\n"}.exec(t, "batch", "--to", "ms", "--file", "-")
		require.Equal(t, ExitUsage, res.code, res)
		require.Contains(t, res.stderr, "the batch list is empty")
	})
}

func TestVerify(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 3)
	require.Equal(t, ExitOK, run{env: w.env()}.exec(t, "migrate", "hf:alice/model", "--to", "ms").code)

	for _, args := range [][]string{
		{"verify", "hf:alice/model", "ms:alice/model"},
		{"verify", "hf:alice/model", "--to", "ms"},
	} {
		res := run{env: w.env()}.exec(t, args...)
		require.Equal(t, ExitOK, res.code, res)
		require.Contains(t, res.stdout, "result: VERIFIED")
		require.Regexp(t, `matched\s+6\n`, res.stdout)
	}

	// Break the destination behind the tool's back: one file changed, one gone.
	_, err := w.MS.Commit(hubkit.Model, "alice/model", "", "break",
		mstest.File{Path: "config.json", Content: []byte(`{"hidden_size":65}`)},
		mstest.File{Path: "weights/part-001.bin", Delete: true},
		mstest.File{Path: "notes/extra.txt", Content: []byte("only here")})
	require.NoError(t, err)
	reportPath := filepath.Join(t.TempDir(), "verify.json")
	res := run{env: w.env()}.exec(t, "verify", "hf:alice/model", "ms:alice/model", "--report", reportPath)
	require.Equal(t, ExitFailure, res.code, res)
	require.Contains(t, res.stdout, "result: NOT VERIFIED")
	require.Regexp(t, `(?m)^  mismatched: config\.json`, res.stdout)
	require.Regexp(t, `(?m)^  missing: weights/part-001\.bin`, res.stdout)
	require.Regexp(t, `(?m)^  only_in_dest: notes/extra\.txt`, res.stdout)
	require.Regexp(t, `only on destination\s+1\n`, res.stdout)
	require.NotContains(t, res.stdout, "part-000.bin", "only bad files are named")
	var v migrate.Verification
	readReport(t, reportPath, &v)
	require.False(t, v.OK())
	require.Equal(t, 1, v.Mismatched)
	require.Equal(t, 1, v.Missing)
	require.Equal(t, 1, v.OnlyInDest)
	w.assertNoLeaks(t)
}

func TestValidate(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.HF.AddToken("hf_readonlyTOKENforvalidate0123", "alice", hubtest.RoleRead)
	cases := []struct {
		name  string
		env   map[string]string
		args  []string
		code  int
		lines []string // regexps
	}{
		{"ok", w.env(), nil, ExitOK, []string{
			`ok\s+Hugging Face \(HF_TOKEN\)\s+user alice, token role write`,
			`ok\s+ModelScope \(MODELSCOPE_TOKEN\)\s+user alice at http://127\.0\.0\.1`,
			`skip\s+Modal \(MODAL_TOKEN_ID, MODAL_TOKEN_SECRET\)`,
		}},
		{"missing hf token", testworld.EnvWith(w.env(), app.EnvHFToken, ""), nil, ExitFailure, []string{
			`FAIL\s+Hugging Face \(HF_TOKEN\)\s+not set`,
			`fix: create a write token at https://huggingface\.co/settings/tokens and export HF_TOKEN=\.\.\.`,
			`ok\s+ModelScope`,
		}},
		{"missing ms token", testworld.EnvWith(w.env(), app.EnvMSToken, ""), nil, ExitFailure, []string{
			`FAIL\s+ModelScope \(MODELSCOPE_TOKEN\)\s+not set`,
			`fix: copy your SDK token from https://modelscope\.cn/my/myaccesstoken`,
		}},
		{"wrong hf token", testworld.EnvWith(w.env(), app.EnvHFToken, hfWrong), nil, ExitFailure, []string{
			`FAIL\s+Hugging Face \(HF_TOKEN\)\s+the Hub rejected the token`,
			`fix: the token is invalid or expired`,
		}},
		{"wrong ms token", testworld.EnvWith(w.env(), app.EnvMSToken, msWrong), nil, ExitFailure, []string{
			`FAIL\s+ModelScope \(MODELSCOPE_TOKEN\)\s+ModelScope rejected the token`,
			`MODELSCOPE_DOMAIN=modelscope\.ai`,
		}},
		{"read-only hf token", testworld.EnvWith(w.env(), app.EnvHFToken, "hf_readonlyTOKENforvalidate0123"), nil, ExitOK, []string{
			`WARN\s+Hugging Face \(HF_TOKEN\)\s+user alice, token role read`,
			`fix: this token can only read`,
		}},
		{"modal required", w.env(), []string{"--modal"}, ExitFailure, []string{
			`FAIL\s+Modal \(MODAL_TOKEN_ID, MODAL_TOKEN_SECRET\)\s+.*MODAL_TOKEN_ID`,
			`fix: only needed for --executor modal`,
		}},
		{"modal present", testworld.EnvWith(w.env(), app.EnvModalTokenID, modalID, app.EnvModalTokenSecret, modalSecret), nil, ExitOK, []string{
			`ok\s+Modal \(MODAL_TOKEN_ID, MODAL_TOKEN_SECRET\)\s+present`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := run{env: c.env}.exec(t, append([]string{"validate"}, c.args...)...)
			require.Equal(t, c.code, res.code, res)
			for _, l := range c.lines {
				require.Regexp(t, l, res.stdout)
			}
			requireNoSecret(t, "validate", res.stdout, res.stderr)
		})
	}
}

func TestVersion(t *testing.T) {
	t.Parallel()
	res := run{}.exec(t, "version")
	require.Equal(t, ExitOK, res.code, res)
	require.Regexp(t, `^hf2ms \S+ \(go\S+ \w+/\w+\)\n$`, res.stdout)
	require.Empty(t, res.stderr)
}

// workerJobs plans hf:alice/model -> ms:<dest> against w and returns the jobs as JSON: one
// PhaseAll job, or the protocol's blobs jobs (one per shard) and the commit job.
func workerJobs(t *testing.T, w *world, dest string, all bool) []string {
	t.Helper()
	ep := migrate.Endpoints{HF: w.hfRec.srv.URL, MS: w.msRec.srv.URL}
	from := migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/model"}
	to := migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: dest}
	opts := migrate.Options{}
	if !all {
		opts = migrate.Options{Parallel: true, ChunkSize: 100 << 10}
	}
	m, err := migrate.New(testworld.NewHub(from.Hub, ep.HF), testworld.NewHub(to.Hub, ep.MS), from, to, migrate.WithEndpoints(ep), migrate.WithOptions(opts))
	require.NoError(t, err)
	plan, err := m.Plan(context.Background())
	require.NoError(t, err)
	jobs := migrate.Jobs(plan, "clitest", opts, ep)
	if all {
		jobs[0].Phase, jobs[0].Shard = migrate.PhaseAll, 1
		jobs = jobs[:1]
	} else {
		require.Greater(t, len(jobs), 2, "several blobs shards and the commit")
		require.Equal(t, migrate.PhaseCommit, jobs[len(jobs)-1].Phase)
	}
	var out []string
	for _, j := range jobs {
		b, err := json.Marshal(j)
		require.NoError(t, err)
		requireNoSecret(t, "a job", string(b))
		out = append(out, string(b))
	}
	return out
}

func parseEvents(t *testing.T, out string) []migrate.Event {
	t.Helper()
	var evs []migrate.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e migrate.Event
		require.NoError(t, json.Unmarshal(sc.Bytes(), &e), "every stdout line is an event: %q", sc.Text())
		evs = append(evs, e)
	}
	return evs
}

func TestWorker(t *testing.T) {
	t.Parallel()
	for _, via := range []string{"stdin", "HF2MS_JOB", "blobs then commit"} {
		t.Run(via, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 2)
			// the orchestrator creates the destination before it hands out jobs
			require.NoError(t, w.MS.CreateRepo(hubkit.Model, "alice/worker-dest", mstest.RepoOptions{}))
			jobs := workerJobs(t, w, "alice/worker-dest", via != "blobs then commit")
			types := map[migrate.EventType]int{}
			for _, job := range jobs {
				r := run{env: w.env()}
				if via == "HF2MS_JOB" {
					r.env = testworld.EnvWith(r.env, app.EnvJob, job)
					r.stdin = "this is not read"
				} else {
					r.stdin = job
				}
				res := r.exec(t, "worker")
				require.Equal(t, ExitOK, res.code, res)
				evs := parseEvents(t, res.stdout)
				require.NotEmpty(t, evs)
				for _, e := range evs {
					types[e.Type]++
				}
				require.Equal(t, migrate.EventDone, evs[len(evs)-1].Type)
				requireNoSecret(t, "worker events", res.stdout, res.stderr)
			}
			require.Equal(t, 5, types[migrate.EventFileDone], "README, config, 2 weights, .gitattributes")
			require.Equal(t, 1, types[migrate.EventCommit])
			require.Zero(t, types[migrate.EventError])
			require.True(t, w.MS.RepoExists(hubkit.Model, "alice/worker-dest"))
			files, err := w.MS.Files(hubkit.Model, "alice/worker-dest", "")
			require.NoError(t, err)
			require.Len(t, files, 5)
			w.assertNoLeaks(t)
		})
	}

	t.Run("bad jobs", func(t *testing.T) {
		t.Parallel()
		w := newWorld(t)
		w.seedHF(t, "alice/model", 1)
		require.NoError(t, w.MS.CreateRepo(hubkit.Model, "alice/worker-dest", mstest.RepoOptions{}))
		good := workerJobs(t, w, "alice/worker-dest", true)[0]
		unknownHub := strings.Replace(good, `"hub":"ms"`, `"hub":"gitlab"`, 1)
		require.NotEqual(t, good, unknownHub)
		missing := strings.Replace(good, `"id":"alice/model"`, `"id":"alice/gone"`, 1)
		require.NotEqual(t, good, missing)
		for name, job := range map[string]string{"unknown hub": unknownHub, "missing source": missing} {
			res := run{env: w.env(), stdin: job}.exec(t, "worker")
			require.Equal(t, ExitFailure, res.code, "%s: %s", name, res)
			evs := parseEvents(t, res.stdout)
			require.NotEmpty(t, evs, name)
			var errs int
			for _, e := range evs {
				if e.Type == migrate.EventError {
					errs++
					require.NotEmpty(t, e.Error)
				}
			}
			require.Positive(t, errs, "%s: an error event", name)
			require.Contains(t, res.stderr, "hf2ms: worker:")
		}
		// garbage is refused with a message
		res := run{env: w.env(), stdin: "{not json"}.exec(t, "worker")
		require.Equal(t, ExitFailure, res.code, res)
		require.Contains(t, res.stderr, "read job")
	})
}

func TestDemo(t *testing.T) {
	t.Parallel()
	res := run{}.exec(t, "demo", "--size", "8MiB")
	require.Equal(t, ExitOK, res.code, res)
	require.Equal(t, 4, strings.Count(res.stdout, "result: VERIFIED"), res.stdout)
	require.Len(t, regexp.MustCompile(`\nverification\s+files\n`).FindAllString(res.stdout, -1), 4, res.stdout)
	legs := strings.Split(res.stdout, "\n== ")
	require.Len(t, legs, 5)
	require.Contains(t, legs[1], "hf:demo/tiny-llm -> ms:demo/tiny-llm: succeeded")
	require.Contains(t, legs[2], "ms:demo/tiny-llm -> hf:demo/tiny-llm-roundtrip: succeeded")
	require.Contains(t, legs[3], "hf:demo/tiny-llm -> ms:demo/tiny-llm: up to date")
	require.Contains(t, legs[3], "copied 0 files")
	require.Regexp(t, `tag v1\.0\s+tag v1\.0 \(new\)\s+succeeded\s+0\s`, legs[4], "the tag's content is already master's: only a tag")
	require.Regexp(t, `branch main\s+branch master\s+succeeded\s+1\s`, legs[4])
	require.Contains(t, res.stdout, "license: apache-2.0")
	requireNoSecret(t, "demo", res.stdout, res.stderr)
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"bad ref", []string{"migrate", "not a repo"}, []string{"hf:", "ms:", "https://"}},
		{"bad URL ref", []string{"migrate", "https://example.com/a/b", "--to", "ms"}, []string{"hf:", "ms:"}},
		{"bad --to", []string{"migrate", "alice/model", "--to", "github"}, []string{"github"}},
		{"private and public", []string{"migrate", "alice/model", "--private", "--public"}, []string{"--private and --public exclude each other"}},
		{"bad chunk size", []string{"migrate", "alice/model", "--chunk-size", "lots"}, []string{"--chunk-size", "20GiB", "512MB"}},
		{"detach without modal", []string{"migrate", "alice/model", "--detach"}, []string{"--detach needs --executor modal"}},
		{"bad executor", []string{"migrate", "alice/model", "--executor", "k8s"}, []string{"want local, subprocess or modal"}},
		{"bad repo type", []string{"migrate", "alice/model", "--repo-type", "kernel"}, []string{"want model, dataset or space"}},
		{"source twice", []string{"migrate", "alice/model", "--source", "alice/other"}, []string{"give the source once"}},
		{"plan source twice", []string{"plan", "alice/model", "--source", "alice/other"}, []string{"give the source once"}},
		{"no source", []string{"migrate"}, []string{"no source repo given"}},
		{"unknown flag", []string{"migrate", "alice/model", "--frobnicate"}, []string{"unknown flag: --frobnicate"}},
		{"too many workers", []string{"migrate", "alice/model", "--workers", "1000"}, []string{"--workers must be between 1 and"}},
		{"bad batch line", []string{"batch", "--to", "ms", "--file", "-"}, []string{"batch line 2: want SOURCE [DEST]"}},
		{"bad demo size", []string{"demo", "--size", "huge"}, []string{"--size"}},
		{"verify bad second ref", []string{"verify", "alice/model", "not a repo"}, []string{"hf:"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			res := run{env: w.env(), stdin: "a b c\n"}.exec(t, c.args...)
			require.Equal(t, ExitUsage, res.code, res)
			require.True(t, strings.HasPrefix(res.stderr, "hf2ms: "), res.stderr)
			for _, s := range c.want {
				require.Contains(t, res.stderr, s)
			}
			require.Empty(t, res.stdout)
		})
	}
	require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"))
}

func TestDotEnvNeverOverridesTheEnvironment(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	dir := t.TempDir()
	dotenv := filepath.Join(dir, ".env")
	// .env: a wrong HF token (the environment's right one must win), the right MS token and
	// both endpoints (the environment sets neither).
	require.NoError(t, os.WriteFile(dotenv, []byte("HF_TOKEN="+hfWrong+"\nMODELSCOPE_TOKEN="+msTok+
		"\nHF_ENDPOINT="+w.hfRec.srv.URL+"\nMODELSCOPE_ENDPOINT="+w.msRec.srv.URL+"\n"), 0o600))
	res := run{env: map[string]string{app.EnvHFToken: hfTok}, dotenv: dotenv}.exec(t, "validate")
	require.Equal(t, ExitOK, res.code, res)
	require.Regexp(t, `ok\s+Hugging Face \(HF_TOKEN\)\s+user alice`, res.stdout)
	require.Regexp(t, `ok\s+ModelScope \(MODELSCOPE_TOKEN\)\s+user alice`, res.stdout)

	// without the environment's token the .env one is used (and rejected)
	res = run{env: map[string]string{}, dotenv: dotenv}.exec(t, "validate")
	require.Equal(t, ExitFailure, res.code, res)
	require.Regexp(t, `FAIL\s+Hugging Face \(HF_TOKEN\)\s+the Hub rejected the token`, res.stdout)
	requireNoSecret(t, "validate with .env", res.stdout, res.stderr)

	// a missing .env is fine; a malformed one is a usage error naming the file
	res = run{env: w.env(), dotenv: filepath.Join(dir, "absent.env")}.exec(t, "version")
	require.Equal(t, ExitOK, res.code, res)
	bad := filepath.Join(dir, "bad.env")
	require.NoError(t, os.WriteFile(bad, []byte("HF_TOKEN=\"unterminated\n"), 0o600))
	res = run{env: w.env(), dotenv: bad}.exec(t, "version")
	require.Equal(t, ExitUsage, res.code, res)
	require.Contains(t, res.stderr, "reading "+bad)
}

func TestSubprocessExecutor(t *testing.T) {
	t.Parallel()
	exe := hf2msBinary(t)
	w := newWorld(t)
	w.seedHF(t, "alice/model", 4)
	reportPath := filepath.Join(t.TempDir(), "report.json")
	res := run{env: w.env(), exe: exe}.exec(t, "migrate", "hf:alice/model", "--to", "ms",
		"--executor", "subprocess", "--parallel", "--chunk-size", "100KiB", "--workers", "2", "--report", reportPath)
	require.Equal(t, ExitOK, res.code, res)
	require.Contains(t, res.stdout, "result: VERIFIED")
	var rep migrate.Report
	raw := readReport(t, reportPath, &rep)
	require.Equal(t, migrate.StatusSucceeded, rep.Status)
	require.Greater(t, rep.Plan.Shards, 1, "the repo was split across worker processes")
	require.Equal(t, 7, rep.FilesCopied)
	requireNoSecret(t, "a subprocess run", res.stdout, res.stderr, raw)
	w.assertNoLeaks(t)
	require.Positive(t, w.msRec.OwnSeen())

	// a worker binary that cannot reach the hub fails the run, naming the shard's error
	res = run{env: testworld.EnvWith(w.env(), app.EnvMSEndpoint, closedURL), exe: exe}.exec(t, "migrate", "hf:alice/model", "--to", "ms",
		"--dest", "alice/elsewhere", "--executor", "subprocess", "--repo-type", "model")
	require.NotEqual(t, ExitOK, res.code, res)
	requireNoSecret(t, "a failed subprocess run", res.stdout, res.stderr)
}
