package msclient

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/testworld/testclock"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

func TestCommit(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	for _, k := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		seedRepo(t, s, k, "alice/c", mstest.RepoOptions{}, mstest.File{Path: "old.txt", Content: []byte("old")})
		require.NoError(t, s.CreateBranch(k, "alice/c", "dev", ""))
	}
	lfs := []byte(strings.Repeat("L", 5000))
	for _, kind := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		mk := hubkit.RepoType(kind)
		repo := hubkit.Repo{Type: kind, ID: "alice/c"}
		ups, err := c.PrepareUpload(ctx, repo, []Object{obj(lfs)})
		require.NoError(t, err)
		for _, u := range ups {
			require.NoError(t, u.Upload(ctx, &bytesSource{b: lfs}))
		}
		info, err := c.Commit(ctx, repo, "", "migrate", []hubkit.CommitOp{
			{Kind: hubkit.OpAddFile, Path: "README.md", Content: []byte("# readme\n")},
			{Kind: hubkit.OpAddFile, Path: "dir/binary.dat", Content: []byte{0, 1, 2, 255}},
			{Kind: hubkit.OpAddLFS, Path: "w/model.bin", SHA256: strings.ToUpper(sha(lfs)), Size: int64(len(lfs))},
			{Kind: hubkit.OpDelete, Path: "old.txt"},
		})
		require.NoError(t, err)
		head, err := s.Head(mk, "alice/c", "")
		require.NoError(t, err)
		require.Equal(t, head, info.OID)
		require.Equal(t, 4, info.Actions)
		b, err := s.ReadFile(mk, "alice/c", "", "dir/binary.dat")
		require.NoError(t, err)
		require.Equal(t, []byte{0, 1, 2, 255}, b)
		files, err := c.ListFiles(ctx, repo, "")
		require.NoError(t, err)
		require.Equal(t, []string{"README.md", "dir/binary.dat", "w/model.bin"}, paths(files))
		hist, err := s.History(mk, "alice/c", "")
		require.NoError(t, err)
		require.Equal(t, "migrate", hist[0].Message)

		// Another branch takes no commits (ModelScope writes master only).
		before, err := s.Head(mk, "alice/c", "dev")
		require.NoError(t, err)
		_, err = c.Commit(ctx, repo, "dev", "on dev", []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "dev.txt", Content: []byte("d")}})
		require.ErrorIs(t, err, hubkit.ErrInvalid)
		dev, err := s.Head(mk, "alice/c", "dev")
		require.NoError(t, err)
		require.Equal(t, before, dev)
	}

	tests := []struct {
		name   string
		client *Client
		repo   hubkit.Repo
		branch string
		ops    []hubkit.CommitOp
		rule   *fault.Rule
		kind   error
	}{
		{name: "no ops", client: c, repo: model("alice/c"), kind: hubkit.ErrInvalid},
		{name: "unclean path", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a/../b"}}, kind: hubkit.ErrInvalid},
		{name: "absolute path", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "/a"}}, kind: hubkit.ErrInvalid},
		{name: "bad sha", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "a", SHA256: "zz"}}, kind: hubkit.ErrInvalid},
		{name: "size mismatch", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a", Content: []byte("ab"), Size: 3}}, kind: hubkit.ErrInvalid},
		{name: "unknown kind", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: 9, Path: "a"}}, kind: hubkit.ErrInvalid},
		{name: "commit sha as branch", client: c, repo: model("alice/c"), branch: strings.Repeat("a", 40),
			ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}}, kind: hubkit.ErrInvalid},
		{name: "unknown branch", client: c, repo: model("alice/c"), branch: "nope", ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}}, kind: hubkit.ErrNotFound},
		{name: "lfs blob not uploaded", client: c, repo: model("alice/c"),
			ops: []hubkit.CommitOp{{Kind: hubkit.OpAddLFS, Path: "x.bin", SHA256: sha([]byte("never")), Size: 5}}, kind: hubkit.ErrInvalid},
		{name: "delete missing path", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpDelete, Path: "never-there"}}, kind: ErrCommitTooFrequent},
		{name: "no write access", client: newClient(s, bobToken), repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}}, kind: hubkit.ErrForbidden},
		{name: "anonymous", client: newClient(s, ""), repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}}, kind: hubkit.ErrUnauthorized},
		{name: "missing repo", client: c, repo: model("alice/none"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}}, kind: hubkit.ErrNotFound},
		{name: "5xx not retried", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}},
			rule: &fault.Rule{Route: mstest.RouteCommit, Status: 502, Times: 1}, kind: hubkit.ErrServer},
		{name: "409", client: c, repo: model("alice/c"), ops: []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a"}},
			rule: &fault.Rule{Route: mstest.RouteCommit, Status: 409, Times: 1}, kind: hubkit.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rule != nil {
				s.Faults().Add(*tt.rule)
			}
			before, err := s.History(hubkit.Model, "alice/c", "")
			require.NoError(t, err)
			sent := s.Faults().Count(mstest.RouteCommit)
			_, err = tt.client.Commit(ctx, tt.repo, tt.branch, "m", tt.ops)
			requireKind(t, err, tt.kind)
			after, err := s.History(hubkit.Model, "alice/c", "")
			require.NoError(t, err)
			require.Len(t, after, len(before), "nothing applied")
			if tt.kind != ErrCommitTooFrequent { // frequency refusals are retried (TestCommitRetries)
				require.LessOrEqual(t, s.Faults().Count(mstest.RouteCommit), sent+1, "other failures are never retried")
			}
		})
	}
}

func TestCommitTooManyActions(t *testing.T) {
	s, c := setup(t, mstest.WithMaxActions(10))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/c", mstest.RepoOptions{}))
	ops := make([]hubkit.CommitOp, 11)
	for i := range ops {
		ops[i] = hubkit.CommitOp{Kind: hubkit.OpAddFile, Path: fmt.Sprintf("f%02d", i), Content: []byte{byte(i)}}
	}
	_, err := c.Commit(context.Background(), model("alice/c"), "", "m", ops)
	e := requireKind(t, err, hubkit.ErrInvalid)
	require.Equal(t, http.StatusUnprocessableEntity, e.HTTPStatus)
	require.Contains(t, e.Message, "actions limit")
}

// TestCommitFrequency: the hub refuses commits that come faster than its interval; each refused
// commit is retried after a backoff and lands exactly once.
func TestCommitFrequency(t *testing.T) {
	s, _ := setup(t, mstest.WithCommitInterval(150*time.Millisecond))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/c", mstest.RepoOptions{}))
	c := newClient(s, aliceToken, WithCommitRetry(10, 20*time.Millisecond, 10*time.Second))
	for part := 1; part <= 4; part++ {
		ops := make([]hubkit.CommitOp, 5)
		for i := range ops {
			n := (part-1)*5 + i
			ops[i] = hubkit.CommitOp{Kind: hubkit.OpAddFile, Path: fmt.Sprintf("f%02d", n), Content: []byte{byte(n)}}
		}
		_, err := c.Commit(context.Background(), model("alice/c"), "", fmt.Sprintf("freq (part %d/4)", part), ops)
		require.NoError(t, err)
	}
	hist, err := s.History(hubkit.Model, "alice/c", "")
	require.NoError(t, err)
	var msgs []string
	for _, h := range hist {
		msgs = append(msgs, h.Message)
	}
	require.Equal(t, []string{"freq (part 4/4)", "freq (part 3/4)", "freq (part 2/4)", "freq (part 1/4)"}, msgs[:4])
	require.Len(t, hist, 5, "each part landed once (plus the initial commit)")
	require.Greater(t, s.Faults().Count(mstest.RouteCommit), 4, "some commits were refused and retried")
	files, err := s.Files(hubkit.Model, "alice/c", "")
	require.NoError(t, err)
	require.Len(t, files, 20)
}

// TestCommitFrequencyBudget: with the default budget (the official SDK's 300 s per commit) a
// 60 s commit-frequency window is waited out, with growing, jittered waits; a window longer than
// the budget fails with the frequency error after about 300 s of waiting, not before.
func TestCommitFrequencyBudget(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		ok     bool
	}{
		{"60s window waited out", time.Minute, true},
		{"window beyond the budget", 10 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := testclock.New()
			s, _ := setup(t, mstest.WithCommitInterval(tc.window), mstest.WithClock(clk.Now))
			require.NoError(t, s.CreateRepo(hubkit.Model, "alice/w", mstest.RepoOptions{}))
			c := NewClient(WithEndpoint(s.URL()), WithHTTPClient(fastHTTP()), WithToken(aliceToken))
			c.now, c.sleep = clk.Now, clk.Sleep
			op := func(p string) []hubkit.CommitOp {
				return []hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: p, Content: []byte(p)}}
			}
			_, err := c.Commit(context.Background(), model("alice/w"), "", "first", op("a"))
			require.NoError(t, err)
			_, err = c.Commit(context.Background(), model("alice/w"), "", "second", op("b"))
			if tc.ok {
				require.NoError(t, err)
				require.GreaterOrEqual(t, clk.Slept(), tc.window)
				require.Less(t, clk.Slept(), tc.window+time.Minute, "waits stay near the window")
				require.Greater(t, len(clk.Sleeps()), 3, "several tries with backoff")
				return
			}
			require.ErrorIs(t, err, ErrCommitTooFrequent)
			require.InDelta(t, (5 * time.Minute).Seconds(), clk.Slept().Seconds(), 1, "the whole budget, no more")
		})
	}
}

func TestCommitRetries(t *testing.T) {
	tests := []struct {
		name   string
		rules  []fault.Rule
		err    error // nil: lands
		landed bool
		sent   int
	}{
		{name: "policy rejection in 200 retried", rules: []fault.Rule{mstest.EnvelopeError(mstest.RouteCommit, mstest.MsgPolicyRejected, 2)}, landed: true, sent: 3},
		{name: "429 with Retry-After retried", rules: []fault.Rule{{Route: mstest.RouteCommit, Status: 429, RetryAfter: time.Second, Times: 1}}, landed: true, sent: 2},
		{name: "ref conflict retried", rules: []fault.Rule{{Route: mstest.RouteCommit, Status: 500, Message: "Could not update refs", Times: 1}}, landed: true, sent: 2},
		{name: "try again retried", rules: []fault.Rule{mstest.EnvelopeError(mstest.RouteCommit, "please try again later", 1)}, landed: true, sent: 2},
		{name: "plain 5xx not retried", rules: []fault.Rule{{Route: mstest.RouteCommit, Status: 502, Times: 1}}, err: hubkit.ErrServer, sent: 1},
		{name: "403 not retried", rules: []fault.Rule{{Route: mstest.RouteCommit, Status: 403, Times: 1}}, err: hubkit.ErrForbidden, sent: 1},
		{name: "retries exhausted", rules: []fault.Rule{mstest.EnvelopeError(mstest.RouteCommit, mstest.MsgPolicyRejected, 0)}, err: ErrCommitTooFrequent, sent: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := setup(t)
			c := newClient(s, aliceToken, WithCommitRetry(3, 5*time.Millisecond, 5*time.Second))
			require.NoError(t, s.CreateRepo(hubkit.Model, "alice/c", mstest.RepoOptions{}))
			for _, r := range tt.rules {
				s.Faults().Add(r)
			}
			start := time.Now()
			info, err := c.Commit(context.Background(), model("alice/c"), "", "m",
				[]hubkit.CommitOp{{Kind: hubkit.OpAddFile, Path: "a.txt", Content: []byte("a")}})
			if tt.err != nil {
				requireKind(t, err, tt.err)
				require.Nil(t, info)
			} else {
				require.NoError(t, err)
				require.NotEmpty(t, info.OID)
			}
			require.Equal(t, tt.sent, s.Faults().Count(mstest.RouteCommit))
			hist, err := s.History(hubkit.Model, "alice/c", "")
			require.NoError(t, err)
			if tt.landed {
				require.Len(t, hist, 2)
			} else {
				require.Len(t, hist, 1)
			}
			if tt.rules[0].RetryAfter > 0 {
				require.GreaterOrEqual(t, time.Since(start), tt.rules[0].RetryAfter, "Retry-After honoured")
			}
		})
	}
}

// TestCommitWireFormat pins the JSON the hub receives.
func TestCommitWireFormat(t *testing.T) {
	var body map[string]any
	var path string
	var calls atomic.Int32
	api := newLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		path = r.URL.EscapedPath()
		b, _ := io.ReadAll(r.Body)
		require.NoError(t, json.Unmarshal(b, &body))
		_, _ = w.Write([]byte(`{"Code":200,"Data":{"oid":"ABCDEF"},"Success":true}`))
	}))
	c := NewClient(WithEndpoint(api+"/base"), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
	info, err := c.Commit(context.Background(), dataset("alice/d"), "feat/x", "msg", []hubkit.CommitOp{
		{Kind: hubkit.OpAddFile, Path: "r.md", Content: []byte("hi")},
		{Kind: hubkit.OpAddLFS, Path: "w.bin", SHA256: sha([]byte("w")), Size: 1},
		{Kind: hubkit.OpDelete, Path: "gone"},
	})
	require.NoError(t, err)
	require.Equal(t, "abcdef", info.OID)
	require.Equal(t, "/base/api/v1/repos/datasets/alice/d/commit/feat%2Fx", path)
	want := map[string]any{"commit_message": "msg", "actions": []any{
		map[string]any{"action": "create", "path": "r.md", "type": "normal", "size": 2.0, "sha256": "", "content": "aGk=", "encoding": "base64"},
		map[string]any{"action": "create", "path": "w.bin", "type": "lfs", "size": 1.0, "sha256": sha([]byte("w")), "content": "", "encoding": ""},
		map[string]any{"action": "delete", "path": "gone", "type": "normal", "size": 0.0, "sha256": "", "content": "", "encoding": ""},
	}}
	require.Equal(t, want, body)
	require.Equal(t, int32(1), calls.Load())
}
