package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	gha "github.com/sethvargo/go-githubactions"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
)

// Tokens of the secrets test, on top of hfToken/msToken: as recognisable, never accepted.
const (
	hfWrongToken     = "hf_actiontest_SECRET_wrong_0123456789"
	msWrongToken     = "ms-actiontest-SECRET-wrong-0123456789"
	modalIDToken     = "ak-actiontest-MODAL_SECRET-id-0123"
	modalSecretToken = "as-actiontest-MODAL_SECRET-secret-0123"
)

var actionNeedles = []string{hfToken, msToken, hfWrongToken, msWrongToken, modalIDToken, modalSecretToken, "actiontest", "FAKE-testworld", "FAKEtestworld"}

// TestMain keeps the Modal SDK (which reads only the process environment and ~/.modal.toml) on
// a closed loopback port with no profile, so no test can reach Modal.
func TestMain(m *testing.M) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	os.Setenv("MODAL_SERVER_URL", "http://"+l.Addr().String())
	l.Close()
	dir, err := os.MkdirTemp("", "hf2ms-action-test")
	if err != nil {
		panic(err)
	}
	os.Setenv("MODAL_CONFIG_PATH", filepath.Join(dir, "none.toml"))
	for _, k := range []string{"MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE"} {
		os.Unsetenv(k)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	u := "http://" + l.Addr().String()
	require.NoError(t, l.Close())
	return u
}

// runRaw runs the action like world.run but lets the test shape the environment and the
// mainCode getenv, and returns every place a user could read.
func (w *world) runRaw(t *testing.T, inputs map[string]string, envOver map[string]string, wrap func(func(string) string) func(string) string, timeout time.Duration) (code int, shown []string) {
	t.Helper()
	st := w.newStep(t, inputs, map[string]string{"MODAL_SERVER_URL": closedPort(t)})
	for k, v := range envOver {
		st.env[k] = v
	}
	env, outPath, sumPath, ws := st.env, st.outPath, st.sumPath, st.ws
	getenv := func(k string) string { return env[k] }
	var log bytes.Buffer
	a := gha.New(gha.WithGetenv(getenv), gha.WithWriter(&log))
	ctx := context.Background()
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	mainGetenv := getenv
	if wrap != nil {
		mainGetenv = wrap(getenv)
	}
	code = mainCode(ctx, a, mainGetenv, &log)
	out, _ := os.ReadFile(outPath)
	sum, _ := os.ReadFile(sumPath)
	rep, _ := os.ReadFile(filepath.Join(ws, reportName))
	// ::add-mask:: lines carry the secret to the runner, which consumes them and shows nothing.
	logShown := regexp.MustCompile(`(?m)^::add-mask::.*$`).ReplaceAllString(log.String(), "")
	return code, []string{logShown, string(sum), string(out), string(rep)}
}

// TestActionSecretsNeverLeak runs the Action through success and every failure path with
// recognisable tokens and checks the log (without ::add-mask:: lines), the summary, the outputs
// and the report, and that no credential reached a CDN.
func TestActionSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	all := map[string]string{"hf_token": hfToken, "modelscope_token": msToken,
		"modal_token_id": modalIDToken, "modal_token_secret": modalSecretToken}
	cases := []struct {
		name    string
		inputs  map[string]string
		env     func(w *world) map[string]string
		setup   func(w *world)
		wrap    func(func(string) string) func(string) string
		timeout time.Duration
		code    int
	}{
		{name: "success", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms"), code: 0},
		{name: "dry run", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms", "dry_run", "true"), code: 0},
		{name: "batch", inputs: testworld.EnvWith(all, "batch", "alice/model\nalice/model alice/copy", "to", "ms"), code: 0},
		{name: "bad input", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "github"), code: 1},
		{name: "bad chunk size", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "chunk_size", hfToken), code: 1},
		{name: "bad source", inputs: testworld.EnvWith(all, "source", msToken), code: 1},
		{name: "detach without modal", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "detach", "true"), code: 1},
		{name: "wrong hf token", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms", "hf_token", hfWrongToken), code: 1},
		{name: "wrong ms token", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms", "modelscope_token", msWrongToken), code: 1},
		{name: "wrong ms token in batch", inputs: testworld.EnvWith(all, "batch", "alice/model", "to", "ms", "modelscope_token", msWrongToken), code: 1},
		{name: "network error", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms"), timeout: 4 * time.Second, code: 1,
			env: func(*world) map[string]string { return map[string]string{"MODELSCOPE_ENDPOINT": "CLOSED"} }},
		{name: "hub answers 500", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms"), timeout: 4 * time.Second, code: 1,
			setup: func(w *world) { w.MS.Faults().Add(fault.Rule{Status: 500, Message: "oops " + msToken}) }},
		{name: "corrupt source", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms"), code: 1,
			setup: func(w *world) { w.HF.Faults().Add(fault.Rule{Route: hubtest.RouteCDN, Corrupt: true}) }},
		{name: "modal executor, closed control plane", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms", "executor", "modal"), timeout: 20 * time.Second, code: 1},
		{name: "panic", inputs: testworld.EnvWith(all, "source", "hf:alice/model", "to", "ms"), code: 70,
			wrap: func(g func(string) string) func(string) string {
				return func(k string) string {
					if k == "MODELSCOPE_ENDPOINT" {
						panic(fmt.Sprintf("boom: Bearer %s %s %s", hfToken, msToken, modalSecretToken))
					}
					return g(k)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 2)
			if c.setup != nil {
				c.setup(w)
			}
			var env map[string]string
			if c.env != nil {
				env = c.env(w)
				for k, v := range env {
					if v == "CLOSED" {
						env[k] = closedPort(t)
					}
				}
			}
			code, shown := w.runRaw(t, c.inputs, env, c.wrap, c.timeout)
			for i, s := range shown {
				for j, n := range actionNeedles {
					if strings.Contains(s, n) {
						t.Fatalf("a token (needle %d) leaked into %s", j, []string{"the log", "the summary", "the outputs", "the report"}[i])
					}
				}
			}
			require.Equal(t, c.code, code, "exit code")
			if c.code != 0 {
				require.Contains(t, shown[0], "::error", "a failure is annotated")
			}
			require.Empty(t, w.HF.AuthLeaks())
			require.Empty(t, w.MS.AuthLeaks())
		})
	}
}
