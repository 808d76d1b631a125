package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// secretCommand is one command of the secrets test. Its args may use {report} (a fresh report
// path) and {job} (a worker job is then sent on stdin).
type secretCommand struct {
	name string
	args []string
	// hub commands talk to the hubs: they succeed in the success scenario and fail in every
	// failure scenario; the others (version, help, demo) succeed everywhere but the panic.
	hub bool
	// modal commands always fail here (no Modal control plane).
	modal bool
	// premigrate runs a successful migration first (verify needs a destination).
	premigrate bool
	// readsMS: the command only reads ModelScope, whose public repos (in the fake) answer
	// whatever token comes, so a wrong ModelScope token is no failure for it.
	readsMS bool
	// noHook: cobra serves help itself, before any command hook runs.
	noHook bool
}

var secretCommands = []secretCommand{
	{name: "migrate hf to ms", args: []string{"migrate", "hf:alice/model", "--to", "ms", "--report", "{report}"}, hub: true},
	{name: "migrate ms to hf", args: []string{"migrate", "ms:alice/ms-model", "--to", "hf", "--dest", "alice/back", "--report", "{report}"}, hub: true, readsMS: true},
	{name: "migrate subprocess", args: []string{"migrate", "hf:alice/model", "--to", "ms", "--executor", "subprocess", "--parallel", "--chunk-size", "100KiB", "--report", "{report}"}, hub: true},
	{name: "plan", args: []string{"plan", "hf:alice/model", "--to", "ms", "--report", "{report}"}, hub: true, readsMS: true},
	{name: "dry run", args: []string{"migrate", "hf:alice/model", "--to", "ms", "--dry-run"}, hub: true, readsMS: true},
	{name: "batch", args: []string{"batch", "--to", "ms", "alice/model", "hf:alice/model alice/model-copy", "--report", "{report}"}, hub: true},
	{name: "verify", args: []string{"verify", "hf:alice/model", "ms:alice/model", "--report", "{report}"}, hub: true, premigrate: true, readsMS: true},
	{name: "validate", args: []string{"validate"}, hub: true},
	{name: "worker", args: []string{"worker", "{job}"}, hub: true},
	{name: "demo", args: []string{"demo", "--size", "1MiB"}},
	{name: "version", args: []string{"version"}},
	{name: "help", args: []string{"--help"}, noHook: true},
	{name: "migrate help", args: []string{"migrate", "--help"}, noHook: true},
	{name: "hello", args: []string{"hello"}, modal: true},
	{name: "status", args: []string{"status", "abc123"}, modal: true},
	{name: "wait", args: []string{"wait", "abc123", "--poll", "100ms"}, modal: true},
	{name: "cancel", args: []string{"cancel", "abc123"}, modal: true},
	{name: "migrate on modal", args: []string{"migrate", "hf:alice/model", "--to", "ms", "--executor", "modal"}, modal: true},
	{name: "detach on modal", args: []string{"migrate", "hf:alice/model", "--to", "ms", "--executor", "modal", "--detach"}, modal: true},
}

// secretScenario is one way a run can go.
type secretScenario struct {
	name string
	// setup changes the world and the environment; the returned context bounds the run.
	setup func(t *testing.T, w *world, env map[string]string) map[string]string
	hook  func(string)
	// timeout bounds runs that would otherwise retry for a long time.
	timeout time.Duration
	ok      bool
}

// panicHook panics with every token in the message, as a careless error could.
func panicHook(string) {
	panic(fmt.Errorf("boom: Authorization: Bearer %s token=%s cookie %s %s", hfTok, msTok, modalID, modalSecret))
}

var secretScenarios = []secretScenario{
	{name: "success", ok: true, setup: func(_ *testing.T, _ *world, env map[string]string) map[string]string { return env }},
	{name: "wrong hf token", setup: func(_ *testing.T, _ *world, env map[string]string) map[string]string {
		return testworld.EnvWith(env, app.EnvHFToken, hfWrong)
	}},
	{name: "wrong ms token", setup: func(_ *testing.T, _ *world, env map[string]string) map[string]string {
		return testworld.EnvWith(env, app.EnvMSToken, msWrong)
	}},
	{name: "network error", timeout: 4 * time.Second, setup: func(_ *testing.T, _ *world, env map[string]string) map[string]string {
		return testworld.EnvWith(env, app.EnvHFEndpoint, closedURL, app.EnvMSEndpoint, closedURL)
	}},
	{name: "hubs answer 500", timeout: 4 * time.Second, setup: func(_ *testing.T, w *world, env map[string]string) map[string]string {
		w.HF.Faults().Add(fault.Rule{Status: 500, Message: "internal error " + hfTok})
		w.MS.Faults().Add(fault.Rule{Status: 500, Message: "internal error " + msTok})
		return env
	}},
	{name: "panic", hook: panicHook, setup: func(_ *testing.T, _ *world, env map[string]string) map[string]string {
		return testworld.EnvWith(env, "HF2MS_DEBUG", "1")
	}},
}

// TestSecretsNeverLeak runs every command through success and every failure path with
// recognisable tokens, and checks that no token shows in stdout, stderr or a report, that no
// credential reached a CDN, and that no token reached another service's host.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	exe := hf2msBinary(t)
	for _, sc := range secretScenarios {
		for _, cmd := range secretCommands {
			t.Run(sc.name+"/"+cmd.name, func(t *testing.T) {
				t.Parallel()
				w := newWorld(t)
				w.seedHF(t, "alice/model", 3)
				w.seedMS(t, "alice/ms-model", 2)
				// Modal credentials are configured (through the program's environment only: the
				// Modal SDK reads the process environment, where TestMain put none).
				env := testworld.EnvWith(w.env(), app.EnvModalTokenID, modalID, app.EnvModalTokenSecret, modalSecret)
				r := run{exe: exe, hook: sc.hook}
				if cmd.premigrate {
					require.Equal(t, ExitOK, run{env: env}.exec(t, "migrate", "hf:alice/model", "--to", "ms").code)
				}
				var args []string
				report := filepath.Join(t.TempDir(), "report.json")
				for _, a := range cmd.args {
					switch a {
					case "{report}":
						args = append(args, report)
					case "{job}":
						require.NoError(t, w.MS.CreateRepo(hubkit.Model, "alice/worker-dest", mstest.RepoOptions{}))
						r.stdin = workerJobs(t, w, "alice/worker-dest", true)[0]
					default:
						args = append(args, a)
					}
				}
				r.env = sc.setup(t, w, env)
				if r.env[app.EnvHFEndpoint] == closedURL {
					// a job carries its endpoints: the worker must meet the same closed port
					r.stdin = strings.NewReplacer(w.hfRec.srv.URL, closedURL, w.msRec.srv.URL, closedURL).Replace(r.stdin)
				}
				if sc.timeout > 0 {
					ctx, cancel := context.WithTimeout(context.Background(), sc.timeout)
					defer cancel()
					r.ctx = ctx
				}
				res := r.exec(t, args...)

				rep, _ := os.ReadFile(report)
				requireNoSecret(t, "stdout, stderr or the report", res.stdout, res.stderr, string(rep))
				w.assertNoLeaks(t)

				switch {
				case sc.hook != nil && !cmd.noHook:
					require.Equal(t, ExitInternal, res.code)
					require.Contains(t, res.stderr, "hf2ms: internal error: boom: Authorization:")
					require.Contains(t, res.stderr, "goroutine", "HF2MS_DEBUG prints the (redacted) stack")
				case cmd.modal:
					require.NotEqual(t, ExitOK, res.code)
					require.Contains(t, res.stderr, "hf2ms: ")
				case !cmd.hub || sc.ok || (cmd.readsMS && sc.name == "wrong ms token"):
					require.Equal(t, ExitOK, res.code, "exit %d, stderr %d bytes", res.code, len(res.stderr))
				default:
					require.NotEqual(t, ExitOK, res.code)
				}
			})
		}
	}
}

// TestSecretsModalClosedPort gives the Modal SDK credentials (it reads only the process
// environment) pointing at a closed loopback port: every Modal command fails with a network
// error that names neither credential.
func TestSecretsModalClosedPort(t *testing.T) {
	t.Setenv("MODAL_TOKEN_ID", modalID)
	t.Setenv("MODAL_TOKEN_SECRET", modalSecret)
	t.Setenv("MODAL_SERVER_URL", closedURL)
	for _, cmd := range secretCommands {
		if !cmd.modal {
			continue
		}
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 1)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			env := testworld.EnvWith(w.env(), app.EnvModalTokenID, modalID, app.EnvModalTokenSecret, modalSecret)
			res := run{env: env, ctx: ctx}.exec(t, cmd.args...)
			require.NotEqual(t, ExitOK, res.code)
			require.Contains(t, res.stderr, "hf2ms: ")
			requireNoSecret(t, "a Modal command's output", res.stdout, res.stderr)
			w.assertNoLeaks(t)
		})
	}
}
