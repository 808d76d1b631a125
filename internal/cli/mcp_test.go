package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// mcpRun is `hf2ms mcp` running in-process, with the SDK's client on the other end of its
// stdin and stdout.
type mcpRun struct {
	cs     *mcp.ClientSession
	stderr *bytes.Buffer
	code   chan int
}

func startMCP(t *testing.T, env map[string]string) *mcpRun {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	m := &mcpRun{stderr: &bytes.Buffer{}, code: make(chan int, 1)}
	a := &App{Stdin: inR, Stdout: outW, Stderr: m.stderr,
		Lookup: func(k string) (string, bool) { v, ok := env[k]; return v, ok }}
	go func() {
		code := a.Run(context.Background(), []string{"mcp"})
		outW.Close()
		m.code <- code
	}()
	client := mcp.NewClient(&mcp.Implementation{Name: "cli-test", Version: "v0"}, nil)
	cs, err := client.Connect(context.Background(), &mcp.IOTransport{Reader: outR, Writer: inW}, nil)
	require.NoError(t, err)
	m.cs = cs
	return m
}

// stop closes the client (the server sees EOF on stdin) and returns the exit code.
func (m *mcpRun) stop(t *testing.T) int {
	t.Helper()
	require.NoError(t, m.cs.Close())
	select {
	case code := <-m.code:
		return code
	case <-time.After(30 * time.Second):
		t.Fatal("hf2ms mcp did not exit when its stdin closed")
		return -1
	}
}

// call calls a tool and returns the result as JSON text (protocol errors included).
func (m *mcpRun) call(ctx context.Context, t *testing.T, name string, args map[string]any) (string, *mcp.CallToolResult) {
	t.Helper()
	res, err := m.cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return err.Error(), nil
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	return string(b), res
}

func TestMCPCommand(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	w.seedHF(t, "alice/model", 2)
	m := startMCP(t, w.env())
	ctx := context.Background()
	tools, err := m.cs.ListTools(ctx, nil)
	require.NoError(t, err)
	require.Len(t, tools.Tools, 5)

	args := map[string]any{"source": "hf:alice/model", "to": "ms"}
	out, res := m.call(ctx, t, "plan", args)
	require.NotNil(t, res, out)
	require.False(t, res.IsError, out)
	var plan struct {
		PlanID string `json:"plan_id"`
	}
	require.NoError(t, json.Unmarshal(mustJSON(t, res.StructuredContent), &plan))
	require.NotEmpty(t, plan.PlanID)

	out, res = m.call(ctx, t, "migrate", args)
	require.True(t, res.IsError, "migrate without confirmation runs nothing: %s", out)
	require.False(t, w.MS.RepoExists(hubkit.Model, "alice/model"))

	args["plan_id"], args["confirm"] = plan.PlanID, true
	out, res = m.call(ctx, t, "migrate", args)
	require.False(t, res.IsError, out)
	require.Contains(t, out, `"status":"succeeded"`)
	require.True(t, w.MS.RepoExists(hubkit.Model, "alice/model"))
	requireNoSecret(t, "the MCP responses", out, m.stderr.String())
	require.Equal(t, ExitOK, m.stop(t))
	w.assertNoLeaks(t)
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// TestMCPSecretsNeverLeak runs the server's tools through every failure scenario of the CLI's
// secrets test (but the panic, which never reaches the server) and checks no token shows in
// any response or on stderr.
func TestMCPSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	for _, sc := range secretScenarios {
		if sc.hook != nil {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.seedHF(t, "alice/model", 2)
			env := testworld.EnvWith(w.env(), "MODAL_TOKEN_ID", modalID, "MODAL_TOKEN_SECRET", modalSecret)
			env = sc.setup(t, w, env)
			m := startMCP(t, env)
			timeout := sc.timeout
			if timeout == 0 {
				timeout = time.Minute
			}
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			args := map[string]any{"source": "hf:alice/model", "to": "ms"}
			var outs []string
			out, res := m.call(ctx, t, "plan", args)
			outs = append(outs, out)
			if res != nil && !res.IsError {
				var plan struct {
					PlanID string `json:"plan_id"`
				}
				require.NoError(t, json.Unmarshal(mustJSON(t, res.StructuredContent), &plan))
				args["plan_id"], args["confirm"] = plan.PlanID, true
				out, _ = m.call(ctx, t, "migrate", args)
				outs = append(outs, out)
			}
			for _, c := range []struct {
				tool string
				args map[string]any
			}{
				{"verify", map[string]any{"source": "hf:alice/model", "to": "ms"}},
				{"validate", map[string]any{"modal": true}},
				{"status", map[string]any{"run_id": "abc123"}},
				{"plan", map[string]any{"source": "hf:alice/model", "hf_token": hfTok}},
			} {
				out, _ := m.call(ctx, t, c.tool, c.args)
				outs = append(outs, out)
			}
			m.stop(t)
			requireNoSecret(t, "the MCP responses or stderr", append(outs, m.stderr.String())...)
			w.assertNoLeaks(t)
		})
	}
}
