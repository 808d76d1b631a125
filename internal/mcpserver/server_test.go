package mcpserver

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

var (
	src = migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: "alice/model"}
	dst = migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: "alice/model"}
)

const modalSecret = "as-MODALsecretForTheMCPTest0123456789"

// needles are the strings no response may contain: the world's tokens and their cores.
var needles = []string{testworld.HFToken, testworld.MSToken, modalSecret, "FAKE-testworld", "FAKEtestworld", "MODALsecret"}

// session is a client connected to the server over the SDK's in-memory transport; it records
// every response and progress notification, to check none of them holds a token.
type session struct {
	cs *mcp.ClientSession

	mu       sync.Mutex
	seen     []string
	progress []*mcp.ProgressNotificationParams
	arrived  chan struct{} // a token per progress notification
}

func connect(t *testing.T, env map[string]string, opts ...Option) *session {
	t.Helper()
	e, err := app.NewEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "")
	require.NoError(t, err)
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := New(app.New(e), opts...).Connect(ctx, st, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ss.Close() })
	s := &session{arrived: make(chan struct{}, 1024)}
	client := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "v0"}, &mcp.ClientOptions{
		ProgressNotificationHandler: func(_ context.Context, r *mcp.ProgressNotificationClientRequest) {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.progress = append(s.progress, r.Params)
			b, _ := json.Marshal(r.Params)
			s.seen = append(s.seen, string(b))
			s.arrived <- struct{}{}
		}})
	s.cs, err = client.Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.cs.Close() })
	return s
}

// call calls a tool; a protocol error fails the test, a tool error is returned in the result.
func (s *session) call(t *testing.T, name string, args map[string]any, progressToken any) *mcp.CallToolResult {
	t.Helper()
	p := &mcp.CallToolParams{Name: name, Arguments: args}
	if progressToken != nil {
		p.SetProgressToken(progressToken)
	}
	res, err := s.cs.CallTool(context.Background(), p)
	require.NoError(t, err)
	b, err := json.Marshal(res)
	require.NoError(t, err)
	s.mu.Lock()
	s.seen = append(s.seen, string(b))
	s.mu.Unlock()
	return res
}

// requireNoSecret checks every response and notification the session saw.
func (s *session) requireNoSecret(t *testing.T) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.NotEmpty(t, s.seen)
	for i, text := range s.seen {
		for j, n := range needles {
			if strings.Contains(text, n) {
				t.Fatalf("a token (needle %d) leaked into response %d", j, i) // never print the text
			}
		}
	}
}

// waitProgress waits until a progress notification with message msg arrived (the client may
// handle notifications after the call returned) and returns every notification so far.
func (s *session) waitProgress(t *testing.T, msg string) []*mcp.ProgressNotificationParams {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		notes := append([]*mcp.ProgressNotificationParams(nil), s.progress...)
		s.mu.Unlock()
		for _, n := range notes {
			if n.Message == msg {
				return notes
			}
		}
		select {
		case <-s.arrived:
		case <-timeout:
			t.Fatalf("no progress notification %q among %d", msg, len(notes))
		}
	}
}

func text(r *mcp.CallToolResult) string {
	var b strings.Builder
	for _, c := range r.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

// decode unmarshals a successful result's structured content into v.
func decode(t *testing.T, r *mcp.CallToolResult, v any) {
	t.Helper()
	require.False(t, r.IsError, text(r))
	b, err := json.Marshal(r.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, v))
}

func planArgs() map[string]any { return map[string]any{"source": "hf:alice/model", "to": "ms"} }

func withPlan(id string, confirm any) map[string]any {
	a := planArgs()
	a["plan_id"] = id
	if confirm != nil {
		a["confirm"] = confirm
	}
	return a
}

// seeded is a test world holding src with n weight files, and a session with a server on it.
func seeded(t *testing.T, n int) (*testworld.World, *session) {
	t.Helper()
	w := testworld.New(t)
	w.SeedModel(t, src, n)
	return w, connect(t, w.Env())
}

// plan asks for a plan with args and returns it (the call must succeed).
func (s *session) plan(t *testing.T, args map[string]any) PlanResult {
	t.Helper()
	var plan PlanResult
	decode(t, s.call(t, "plan", args, nil), &plan)
	return plan
}

func TestListTools(t *testing.T) {
	s := connect(t, testworld.New(t).Env())
	res, err := s.cs.ListTools(context.Background(), nil)
	require.NoError(t, err)
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		schema, ok := tool.InputSchema.(map[string]any)
		require.True(t, ok, tool.Name)
		require.Equal(t, false, schema["additionalProperties"], "%s must reject arguments it does not declare", tool.Name)
		props, _ := schema["properties"].(map[string]any)
		for p := range props {
			require.NotContains(t, strings.ToLower(p), "token", "%s takes no token", tool.Name)
			require.NotContains(t, strings.ToLower(p), "secret", "%s takes no secret", tool.Name)
		}
		if tool.Name == "migrate" {
			require.Subset(t, schema["required"], []any{"source", "plan_id", "confirm"})
		}
	}
	sort.Strings(names)
	require.Equal(t, []string{"migrate", "plan", "status", "validate", "verify"}, names)
}

func TestPlanMigrateVerify(t *testing.T) {
	w, s := seeded(t, 3)

	plan := s.plan(t, planArgs())
	require.Regexp(t, `^plan-[0-9a-f]{16}$`, plan.PlanID)
	require.Equal(t, migrate.StatusPlanned, plan.Report.Status)
	require.Equal(t, 6, plan.Report.Plan.CopyFiles)
	require.Len(t, plan.Copy, 6)
	require.Contains(t, plan.Summary, "the destination will be created")
	require.False(t, w.Exists(dst), "a plan creates nothing")

	// The same plan again has the same id.
	again := s.plan(t, planArgs())
	require.Equal(t, plan.PlanID, again.PlanID)

	for _, c := range []struct {
		name string
		args map[string]any
		want string
	}{
		{"no confirmation", withPlan(plan.PlanID, nil), "confirm"},
		{"confirm false", withPlan(plan.PlanID, false), "not confirmed"},
		{"no plan id", withPlan("", true), "not confirmed"},
		{"another plan's id", withPlan("plan-0000000000000000", true), "plan changed"},
		{"other arguments than planned", func() map[string]any { a := withPlan(plan.PlanID, true); a["delete"] = true; return a }(), "plan changed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := s.call(t, "migrate", c.args, nil)
			require.True(t, res.IsError, text(res))
			require.Contains(t, text(res), c.want)
			require.False(t, w.Exists(dst), "a refused migrate writes nothing")
		})
	}

	var res MigrateResult
	decode(t, s.call(t, "migrate", withPlan(plan.PlanID, true), "tok-1"), &res)
	require.Equal(t, migrate.StatusSucceeded, res.Report.Status)
	require.True(t, res.Report.Verification.OK())
	require.NotEmpty(t, res.Report.DestCommit)
	require.True(t, w.Exists(dst))
	require.Subset(t, w.Paths(t, dst), []string{"config.json", "weights/part-000.bin", "weights/part-002.bin"})

	notes := s.waitProgress(t, "verified the destination")
	var last float64
	var msgs []string
	for _, n := range notes {
		require.Equal(t, "tok-1", n.ProgressToken)
		require.GreaterOrEqual(t, n.Progress, last, "progress never goes back")
		last = n.Progress
		msgs = append(msgs, n.Message)
	}
	require.Equal(t, float64(res.Report.Plan.CopyBytes), last, "the last notification counts every byte copied")
	require.Contains(t, strings.Join(msgs, "\n"), "weights/part-001.bin")
	require.Contains(t, strings.Join(msgs, "\n"), "committed")

	var v VerifyResult
	decode(t, s.call(t, "verify", map[string]any{"source": "hf:alice/model", "to": "ms"}, nil), &v)
	require.True(t, v.Verified)
	require.Positive(t, v.Verification.Matched)

	// The destination changed since this plan was made: the old id no longer runs.
	res2 := s.call(t, "migrate", withPlan(plan.PlanID, true), nil)
	require.True(t, res2.IsError)
	require.Contains(t, text(res2), "plan changed")
	s.requireNoSecret(t)
}

func TestChangedSourceForcesANewPlan(t *testing.T) {
	w, s := seeded(t, 1)
	plan := s.plan(t, planArgs())
	w.Seed(t, src, testworld.File{Path: "extra.txt", Content: []byte("new")})
	res := s.call(t, "migrate", withPlan(plan.PlanID, true), nil)
	require.True(t, res.IsError)
	require.Contains(t, text(res), "plan changed")
	require.False(t, w.Exists(dst))

	var fresh PlanResult
	decode(t, s.call(t, "plan", planArgs(), nil), &fresh)
	require.NotEqual(t, plan.PlanID, fresh.PlanID)
	var done MigrateResult
	decode(t, s.call(t, "migrate", withPlan(fresh.PlanID, true), nil), &done)
	require.Contains(t, w.Paths(t, dst), "extra.txt")
	s.requireNoSecret(t)
}

func TestTokensAreNeverArguments(t *testing.T) {
	w, s := seeded(t, 1)
	for _, tool := range []string{"plan", "verify", "validate", "migrate"} {
		for _, key := range []string{"token", "hf_token", "HF_TOKEN", "modelscope_token"} {
			args := planArgs()
			switch tool {
			case "validate":
				args = map[string]any{}
			case "migrate":
				args["plan_id"], args["confirm"] = "plan-0000000000000000", true
			}
			args[key] = testworld.HFToken
			res := s.call(t, tool, args, nil)
			require.True(t, res.IsError, "%s accepted %s", tool, key)
			require.Contains(t, text(res), key, "the refusal names the argument")
			require.Contains(t, text(res), "validating", "the SDK's argument validation refused it")
		}
	}
	require.False(t, w.Exists(dst))
	s.requireNoSecret(t)
}

func TestValidate(t *testing.T) {
	w := testworld.New(t)
	s := connect(t, w.Env())
	var v ValidateResult
	decode(t, s.call(t, "validate", map[string]any{}, nil), &v)
	require.True(t, v.OK)
	require.Len(t, v.Checks, 3)
	require.Equal(t, app.CheckOK, v.Checks[0].Status, v.Checks[0].Detail)
	require.Equal(t, app.CheckOK, v.Checks[1].Status, v.Checks[1].Detail)
	require.Equal(t, app.CheckSkip, v.Checks[2].Status)

	decode(t, s.call(t, "validate", map[string]any{"modal": true}, nil), &v)
	require.False(t, v.OK, "modal: true fails without Modal credentials")

	bad := connect(t, testworld.EnvWith(w.Env(), testworld.EnvHFToken, "hf_FAKE-testworld-not-a-token-999"))
	decode(t, bad.call(t, "validate", map[string]any{}, nil), &v)
	require.False(t, v.OK)
	require.Equal(t, app.CheckFail, v.Checks[0].Status)
	s.requireNoSecret(t)
	bad.requireNoSecret(t)
}

func TestStatus(t *testing.T) {
	w := testworld.New(t)
	t.Run("without Modal credentials", func(t *testing.T) {
		s := connect(t, w.Env())
		res := s.call(t, "status", map[string]any{"run_id": "abc123"}, nil)
		require.True(t, res.IsError)
		require.Contains(t, text(res), "MODAL_TOKEN")
	})
	t.Run("a run's shards, redacted", func(t *testing.T) {
		code := 1
		env := testworld.EnvWith(w.Env(), app.EnvModalTokenSecret, modalSecret)
		s := connect(t, env, WithStatus(func(_ context.Context, id string) (*modal.RunStatus, error) {
			if id != "run1" {
				return nil, modal.ErrNotFound
			}
			return &modal.RunStatus{RunID: id, Shards: []modal.ShardStatus{
				{Name: "hf2ms-run1-s1", Shard: 1, State: modal.StateDone},
				{Name: "hf2ms-run1-s2", Shard: 2, State: modal.StateFailed, ExitCode: &code,
					Error: "upload refused for " + testworld.MSToken + " and " + modalSecret},
			}}, nil
		}))
		var st StatusResult
		decode(t, s.call(t, "status", map[string]any{"run_id": "run1"}, nil), &st)
		require.True(t, st.Finished)
		require.True(t, st.Failed)
		require.Len(t, st.Status.Shards, 2)
		require.Contains(t, st.Status.Shards[1].Error, "[REDACTED]")
		res := s.call(t, "status", map[string]any{"run_id": "other"}, nil)
		require.True(t, res.IsError)
		require.Contains(t, text(res), modal.ErrNotFound.Error())
		s.requireNoSecret(t)
	})
}

func TestProgressWithoutTokenSendsNothing(t *testing.T) {
	_, s := seeded(t, 2)
	plan := s.plan(t, planArgs())
	var res MigrateResult
	decode(t, s.call(t, "migrate", withPlan(plan.PlanID, true), nil), &res)
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(t, s.progress)
}

func TestRefsPlanAndMigrate(t *testing.T) {
	w, s := seeded(t, 1)
	require.NoError(t, w.HF.CreateTag(hubkit.Model, src.ID, "v1.0", "main"))
	args := planArgs()
	args["refs"] = "all"
	plan := s.plan(t, args)
	require.Len(t, plan.Report.Refs, 2, "the default branch and the tag")
	require.Contains(t, plan.Summary, "2 refs")

	// A new tag on the source changes the refs plan.
	require.NoError(t, w.HF.CreateTag(hubkit.Model, src.ID, "v1.1", "main"))
	stale := withPlan(plan.PlanID, true)
	stale["refs"] = "all"
	res := s.call(t, "migrate", stale, nil)
	require.True(t, res.IsError)
	require.Contains(t, text(res), "plan changed")
	require.False(t, w.Exists(dst))

	plan = s.plan(t, args)
	require.Len(t, plan.Report.Refs, 3)
	run := withPlan(plan.PlanID, true)
	run["refs"] = "all"
	var done MigrateResult
	decode(t, s.call(t, "migrate", run, nil), &done)
	require.Equal(t, migrate.StatusSucceeded, done.Report.Status)
	require.Len(t, done.Report.Refs, 3)
	for _, r := range done.Report.Refs {
		// main holds the tags' content already: up to date once they are mirrored
		require.Contains(t, []string{migrate.StatusSucceeded, migrate.StatusUpToDate}, r.Status, "%s: %s", r.Source.Name, r.Error)
	}

	bad := planArgs()
	bad["refs"], bad["revision"] = "all", "main"
	res = s.call(t, "plan", bad, nil)
	require.True(t, res.IsError)
	require.Contains(t, text(res), "exclude each other")
	s.requireNoSecret(t)
}
