package msclient

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

const (
	aliceToken = "ms-alice-3f9c2a7d1e8b4c6a"
	bobToken   = "ms-bob-77e1c0d2a9f34b18"
	readToken  = "ms-read-5a1b2c3d4e5f6a7b"
)

// fastHTTP is an httpx client with test-sized backoffs and its own rate-limit gate.
func fastHTTP() *http.Client {
	return httpx.NewClient(httpx.WithBackoff(time.Millisecond, 10*time.Millisecond),
		httpx.WithGate(httpx.NewGate()), httpx.WithMaxWait(2*time.Second))
}

// setup starts a fake hub with users alice (token aliceToken, org "acme"), bob (bobToken) and a
// read-only token for alice, and returns it with a client logged in as alice.
func setup(t *testing.T, opts ...mstest.Option) (*mstest.Server, *Client) {
	t.Helper()
	s := mstest.NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUser("alice", "acme")
	s.AddUser("bob")
	s.AddToken(aliceToken, "alice", mstest.RoleWrite)
	s.AddToken(bobToken, "bob", mstest.RoleWrite)
	s.AddToken(readToken, "alice", mstest.RoleRead)
	return s, newClient(s, aliceToken)
}

// seedRepo creates the repository id of kind k on s with opts and commits files to its default
// branch.
func seedRepo(t *testing.T, s *mstest.Server, k hubkit.RepoType, id string, opts mstest.RepoOptions, files ...mstest.File) {
	t.Helper()
	require.NoError(t, s.CreateRepo(k, id, opts))
	_, err := s.Commit(k, id, "", "seed", files...)
	require.NoError(t, err)
}

func newClient(s *mstest.Server, token string, opts ...Option) *Client {
	base := []Option{WithEndpoint(s.URL()), WithHTTPClient(fastHTTP()),
		WithResumeOptions(httpx.WithResumeBackoff(time.Millisecond, 10*time.Millisecond)),
		WithCommitRetry(8, 20*time.Millisecond, 10*time.Second)}
	if token != "" {
		base = append(base, WithToken(token))
	}
	return NewClient(append(base, opts...)...)
}

func model(id string) hubkit.Repo   { return hubkit.Repo{Type: hubkit.Model, ID: id} }
func dataset(id string) hubkit.Repo { return hubkit.Repo{Type: hubkit.Dataset, ID: id} }

// requireKind asserts err is a *Error of the given kind.
func requireKind(t *testing.T, err error, kind error) *Error {
	t.Helper()
	require.Error(t, err)
	require.ErrorIs(t, err, kind, "error: %v", err)
	var e *Error
	if errors.As(err, &e) {
		require.NotContains(t, e.Error(), aliceToken)
	}
	return e
}

func TestEndpointResolution(t *testing.T) {
	tests := []struct {
		name             string
		endpoint, domain string
		envEndpoint      string
		envDomain        string
		want             string
		wantErr          bool
	}{
		{name: "default", want: "https://modelscope.cn"},
		{name: "explicit endpoint", endpoint: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080"},
		{name: "endpoint without scheme", endpoint: "www.modelscope.ai", want: "https://www.modelscope.ai"},
		{name: "endpoint with base path", endpoint: "https://mirror.example/ms/", want: "https://mirror.example/ms"},
		{name: "domain bare", domain: "modelscope.ai", want: "https://modelscope.ai"},
		{name: "domain with scheme", domain: "http://modelscope.test", want: "http://modelscope.test"},
		{name: "endpoint wins over domain", endpoint: "https://a.example", domain: "modelscope.ai", want: "https://a.example"},
		{name: "env endpoint", envEndpoint: "http://localhost:9/", envDomain: "modelscope.ai", want: "http://localhost:9"},
		{name: "env domain", envDomain: "modelscope.ai", want: "https://modelscope.ai"},
		{name: "a later option beats env", endpoint: "https://a.example", envEndpoint: "http://localhost:9", want: "https://a.example"},
		{name: "bad scheme", endpoint: "ftp://x.example", wantErr: true},
		{name: "userinfo refused", endpoint: "https://u:p@x.example", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{EnvEndpoint: tt.envEndpoint, EnvDomain: tt.envDomain}
			opts := OptionsFromEnv(func(k string) string { return env[k] })
			if tt.endpoint != "" {
				opts = append(opts, WithEndpoint(tt.endpoint))
			}
			if tt.domain != "" {
				opts = append(opts, WithDomain(tt.domain))
			}
			c := NewClient(opts...)
			if tt.wantErr {
				require.Equal(t, "", c.Endpoint())
				_, err := c.RepoExists(context.Background(), model("a/b"))
				require.ErrorIs(t, err, hubkit.ErrInvalid)
				require.NotContains(t, err.Error(), "u:p")
				return
			}
			require.Equal(t, tt.want, c.Endpoint())
		})
	}
	// NewClient itself never reads the environment.
	t.Setenv(EnvEndpoint, "http://127.0.0.1:9")
	t.Setenv(EnvToken, "ms-from-the-environment")
	c := NewClient()
	require.Equal(t, "https://modelscope.cn", c.Endpoint())
	require.Empty(t, c.token)
}

func TestRepoValidate(t *testing.T) {
	tests := []struct {
		repo hubkit.Repo
		ok   bool
		msg  string
	}{
		{model("alice/m1"), true, ""},
		{dataset("acme/data.v2_x-y"), true, ""},
		{hubkit.Repo{Type: "space", ID: "a/b"}, false, "neither"},
		{model("noslash"), false, "owner/name"},
		{model("a/b/c"), false, "owner/name"},
		{model("/b"), false, "empty owner"},
		{model("a/"), false, "empty name"},
		{model("a/.."), false, "may not be"},
		{model("a/b c"), false, "letters, digits"},
	}
	for _, tt := range tests {
		t.Run(tt.repo.String(), func(t *testing.T) {
			err := validateRepo(tt.repo)
			if tt.ok {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, hubkit.ErrInvalid)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
	// Every method validates before sending anything.
	c := NewClient(WithEndpoint("http://127.0.0.1:1"))
	_, err := c.ListFiles(context.Background(), model("bad"), "")
	require.ErrorIs(t, err, hubkit.ErrInvalid)
}

func TestLoginAndWhoAmI(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()

	l, err := c.Login(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", l.Username)
	require.Equal(t, s.GitToken("alice"), l.GitToken)
	require.NotEmpty(t, l.GitToken)
	require.False(t, l.Reduced)
	// The git token is one of the client's secrets from now on.
	require.NotContains(t, c.secrets.String("token "+l.GitToken), l.GitToken)

	u, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", u.Name)

	tests := []struct {
		name  string
		token string
		login func(*testing.T, *Login, error)
		whoam func(*testing.T, *User, error)
	}{
		{"no token", "", func(t *testing.T, _ *Login, err error) { requireKind(t, err, hubkit.ErrUnauthorized) },
			func(t *testing.T, _ *User, err error) { requireKind(t, err, hubkit.ErrUnauthorized) }},
		{"unknown token", "ms-unknown-0000000000000000", func(t *testing.T, _ *Login, err error) {
			e := requireKind(t, err, hubkit.ErrUnauthorized)
			require.Equal(t, int64(mstest.CodeLoginRefused), e.Code)
			require.Equal(t, http.StatusBadRequest, e.HTTPStatus)
			require.NotEmpty(t, e.Message)
		}, func(t *testing.T, _ *User, err error) {
			e := requireKind(t, err, hubkit.ErrUnauthorized)
			require.Equal(t, "InvalidAuthentication", e.CodeName)
		}},
		{"read-only token: reduced login", readToken, func(t *testing.T, l *Login, err error) {
			require.NoError(t, err)
			require.True(t, l.Reduced)
			require.Equal(t, "alice", l.Username)
			require.Empty(t, l.GitToken)
		}, func(t *testing.T, u *User, err error) {
			require.NoError(t, err)
			require.Equal(t, "alice", u.Name)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(s, tt.token)
			l, err := c.Login(ctx)
			tt.login(t, l, err)
			u, err := c.WhoAmI(ctx)
			tt.whoam(t, u, err)
		})
	}
}

func TestLoginFaults(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	// An error inside a 200 envelope is an error.
	s.Faults().Add(mstest.EnvelopeError(mstest.RouteLogin, mstest.MsgNotLoggedIn, 1))
	_, err := c.Login(ctx)
	e := requireKind(t, err, hubkit.ErrUnauthorized)
	require.Equal(t, http.StatusOK, e.HTTPStatus)
	require.Equal(t, int64(mstest.CodeRefused), e.Code)
	// Login has no side effect: a 5xx is retried, and the login succeeds.
	s.Faults().Add(fault.Rule{Route: mstest.RouteLogin, Status: http.StatusInternalServerError, Times: 2})
	l, err := c.Login(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", l.Username)
	// A 5xx that lasts is a server error, not a refused token.
	s.Faults().Add(fault.Rule{Route: mstest.RouteLogin, Status: http.StatusBadGateway, Times: 20})
	_, err = c.Login(ctx)
	requireKind(t, err, hubkit.ErrServer)
	require.NotErrorIs(t, err, hubkit.ErrUnauthorized)
	s.Faults().Clear()
	// whoami is a GET: a 503 is retried and the call succeeds.
	before := s.Faults().Count(mstest.RouteWhoami)
	s.Faults().Add(fault.Rule{Route: mstest.RouteWhoami, Status: http.StatusServiceUnavailable, Times: 2})
	u, err := c.WhoAmI(ctx)
	require.NoError(t, err)
	require.Equal(t, "alice", u.Name)
	require.Equal(t, before+3, s.Faults().Count(mstest.RouteWhoami))
}

// TestLoginCookieReused checks that cookies the hub sets at login go with later API calls.
func TestLoginCookieReused(t *testing.T) {
	var sawCookie []string
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "ms_sess", Value: "server-session-value-1234", Path: "/"})
		_, _ = w.Write([]byte(`{"Code":200,"Data":{"AccessToken":"git-token-abcdef123456","Username":"alice"},"Success":true}`))
	})
	mux.HandleFunc("GET /api/v1/models/alice/m", func(w http.ResponseWriter, r *http.Request) {
		sawCookie = append(sawCookie, r.Header.Get("Cookie"))
		_, _ = w.Write([]byte(`{"Code":"200","Data":{"Id":"7","Visibility":"5"},"Success":true}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := NewClient(WithEndpoint(srv.URL), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
	ctx := context.Background()
	_, err := c.Login(ctx)
	require.NoError(t, err)
	info, err := c.RepoInfo(ctx, model("alice/m"), "")
	require.NoError(t, err)
	require.False(t, info.Private)
	require.Equal(t, int64(7), info.NumericID)
	require.Len(t, sawCookie, 1)
	require.Contains(t, sawCookie[0], "ms_sess=server-session-value-1234")
	require.Contains(t, sawCookie[0], "m_session_id="+aliceToken)
}

func TestRepoInfoAndExists(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/pub", mstest.RepoOptions{}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/priv", mstest.RepoOptions{Private: true}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "acme/internal", mstest.RepoOptions{Internal: true}))
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "alice/ds", mstest.RepoOptions{}))
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "seed", mstest.File{Path: "a.bin", Content: make([]byte, 1000), LFS: true},
		mstest.File{Path: "README.md", Content: []byte("# hi\n")})
	require.NoError(t, err)

	tests := []struct {
		name        string
		repo        hubkit.Repo
		client      *Client
		private     bool
		visibility  int
		datasetID   int64
		minStorage  int64
		exists      bool
		errKind     error
		existsError error
	}{
		{name: "public model", repo: model("alice/pub"), client: c, visibility: 5, minStorage: 1000, exists: true},
		{name: "private model", repo: model("alice/priv"), client: c, private: true, visibility: 1, exists: true},
		{name: "internal model is private", repo: model("acme/internal"), client: c, private: true, visibility: 3, exists: true},
		{name: "dataset has numeric id", repo: dataset("alice/ds"), client: c, visibility: 5, datasetID: s.DatasetID("alice/ds"), exists: true},
		{name: "missing model", repo: model("alice/nope"), client: c, errKind: hubkit.ErrNotFound},
		{name: "missing dataset", repo: dataset("alice/nope"), client: c, errKind: hubkit.ErrNotFound},
		{name: "private invisible to bob", repo: model("alice/priv"), client: newClient(s, bobToken), errKind: hubkit.ErrNotFound},
		{name: "private invisible anonymously", repo: model("alice/priv"), client: newClient(s, ""), errKind: hubkit.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := tt.client.RepoInfo(ctx, tt.repo, "")
			exists, eerr := tt.client.RepoExists(ctx, tt.repo)
			require.NoError(t, eerr)
			if tt.errKind != nil {
				requireKind(t, err, tt.errKind)
				require.False(t, exists)
				return
			}
			require.NoError(t, err)
			require.True(t, exists)
			require.Equal(t, tt.private, info.Private)
			require.Equal(t, tt.visibility, info.Visibility)
			require.Equal(t, tt.datasetID, info.DatasetID)
			require.GreaterOrEqual(t, info.StorageSize, tt.minStorage)
			require.Equal(t, tt.repo.ID, info.ID)
		})
	}
	require.NotZero(t, s.DatasetID("alice/ds"))
}

func TestRepoExistsErrorsAreNotNo(t *testing.T) {
	tests := []struct {
		name string
		rule fault.Rule
		kind error
	}{
		{"403", fault.Rule{Route: mstest.RouteModelInfo, Status: http.StatusForbidden}, hubkit.ErrForbidden},
		{"401", fault.Rule{Route: mstest.RouteModelInfo, Status: http.StatusUnauthorized}, hubkit.ErrUnauthorized},
		{"500 persisting", fault.Rule{Route: mstest.RouteModelInfo, Status: http.StatusInternalServerError}, hubkit.ErrServer},
		{"429 persisting", fault.Rule{Route: mstest.RouteModelInfo, Status: http.StatusTooManyRequests}, hubkit.ErrRateLimited},
		{"envelope error in 200", mstest.EnvelopeError(mstest.RouteModelInfo, "list_models_failed", 0), hubkit.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, c := setup(t)
			require.NoError(t, s.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
			s.Faults().Add(tt.rule)
			ok, err := c.RepoExists(context.Background(), model("alice/m"))
			require.False(t, ok)
			requireKind(t, err, tt.kind)
		})
	}
	// And a transient 5xx is retried: the repo exists.
	s, c := setup(t)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
	s.Faults().Add(fault.Rule{Route: mstest.RouteModelInfo, Status: http.StatusBadGateway, Times: 2})
	ok, err := c.RepoExists(context.Background(), model("alice/m"))
	require.NoError(t, err)
	require.True(t, ok)
}

func TestHiddenAs403(t *testing.T) {
	s, _ := setup(t, mstest.WithHiddenStatus(http.StatusForbidden))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/priv", mstest.RepoOptions{Private: true}))
	ok, err := newClient(s, bobToken).RepoExists(context.Background(), model("alice/priv"))
	require.False(t, ok)
	requireKind(t, err, hubkit.ErrForbidden)
}

func TestCreateRepo(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	tests := []struct {
		name    string
		client  *Client
		repo    hubkit.Repo
		private bool
		kind    error
		vis     mstest.Visibility
	}{
		{name: "public model", client: c, repo: model("alice/m1"), vis: mstest.Public},
		{name: "private model", client: c, repo: model("alice/m2"), private: true, vis: mstest.Private},
		{name: "public dataset", client: c, repo: dataset("alice/d1"), vis: mstest.Public},
		{name: "private dataset in org", client: c, repo: dataset("acme/d2"), private: true, vis: mstest.Private},
		{name: "model exists", client: c, repo: model("alice/m1"), kind: hubkit.ErrConflict},
		{name: "dataset exists", client: c, repo: dataset("alice/d1"), kind: hubkit.ErrConflict},
		{name: "other namespace", client: c, repo: model("bob/m"), kind: hubkit.ErrForbidden},
		{name: "anonymous", client: newClient(s, ""), repo: model("alice/m3"), kind: hubkit.ErrUnauthorized},
		{name: "read-only token", client: newClient(s, readToken), repo: model("alice/m4"), kind: hubkit.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.client.CreateRepo(ctx, tt.repo, tt.private)
			if tt.kind != nil {
				requireKind(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			k := hubkit.Model
			if tt.repo.Type == hubkit.Dataset {
				k = hubkit.Dataset
			}
			require.Equal(t, tt.vis, s.RepoVisibility(k, tt.repo.ID))
		})
	}
	t.Run("conflict keeps the hub's code and message", func(t *testing.T) {
		err := c.CreateRepo(ctx, model("alice/m1"), false)
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, int64(mstest.CodeModelExists), e.Code)
		require.Equal(t, mstest.MsgExists, e.Message)
	})
	t.Run("5xx on create is not retried", func(t *testing.T) {
		s.Faults().Add(fault.Rule{Route: mstest.RouteCreateModel, Status: http.StatusBadGateway, Times: 1})
		before := s.Faults().Count(mstest.RouteCreateModel)
		err := c.CreateRepo(ctx, model("alice/m9"), false)
		requireKind(t, err, hubkit.ErrServer)
		require.Equal(t, before+1, s.Faults().Count(mstest.RouteCreateModel))
	})
}

func TestSetPrivate(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "alice/d", mstest.RepoOptions{}))
	for _, r := range []struct {
		repo hubkit.Repo
		kind hubkit.RepoType
	}{{model("alice/m"), hubkit.Model}, {dataset("alice/d"), hubkit.Dataset}} {
		require.NoError(t, c.SetPrivate(ctx, r.repo, true))
		require.Equal(t, mstest.Private, s.RepoVisibility(r.kind, r.repo.ID))
		info, err := c.RepoInfo(ctx, r.repo, "")
		require.NoError(t, err)
		require.True(t, info.Private)
		require.NoError(t, c.SetPrivate(ctx, r.repo, false))
		require.Equal(t, mstest.Public, s.RepoVisibility(r.kind, r.repo.ID))
	}
	requireKind(t, newClient(s, bobToken).SetPrivate(ctx, model("alice/m"), true), hubkit.ErrForbidden)
	requireKind(t, c.SetPrivate(ctx, model("alice/none"), true), hubkit.ErrNotFound)
	s.Faults().Add(mstest.EnvelopeError(mstest.RouteVisibility, mstest.MsgNoWrite, 1))
	requireKind(t, c.SetPrivate(ctx, dataset("alice/d"), true), hubkit.ErrForbidden)
	require.Equal(t, mstest.Public, s.RepoVisibility(hubkit.Dataset, "alice/d"))
}

func TestDeleteRepo(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "alice/d", mstest.RepoOptions{}))
	requireKind(t, newClient(s, bobToken).DeleteRepo(ctx, model("alice/m")), hubkit.ErrForbidden)
	require.NoError(t, c.DeleteRepo(ctx, model("alice/m")))
	require.NoError(t, c.DeleteRepo(ctx, dataset("alice/d")))
	require.False(t, s.RepoExists(hubkit.Model, "alice/m"))
	require.False(t, s.RepoExists(hubkit.Dataset, "alice/d"))
	requireKind(t, c.DeleteRepo(ctx, model("alice/m")), hubkit.ErrNotFound)

	s2, c2 := setup(t, mstest.WithDeletionRefused())
	require.NoError(t, s2.CreateRepo(hubkit.Model, "alice/m", mstest.RepoOptions{}))
	e := requireKind(t, c2.DeleteRepo(ctx, model("alice/m")), hubkit.ErrForbidden)
	require.Contains(t, e.Message, "no longer supports deletion")
	require.True(t, s2.RepoExists(hubkit.Model, "alice/m"))
}

func TestResolveRevision(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	for _, k := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		seedRepo(t, s, k, "alice/r", mstest.RepoOptions{}, mstest.File{Path: "a.txt", Content: []byte("a")})
		require.NoError(t, s.CreateTag(k, "alice/r", "v1", ""))
		require.NoError(t, s.CreateBranch(k, "alice/r", "dev", ""))
		_, err := s.Commit(k, "alice/r", "", "two", mstest.File{Path: "b.txt", Content: []byte("b")})
		require.NoError(t, err)
	}
	for _, kind := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		mk := hubkit.Model
		if kind == hubkit.Dataset {
			mk = hubkit.Dataset
		}
		repo := hubkit.Repo{Type: kind, ID: "alice/r"}
		head, err := s.Head(mk, "alice/r", "")
		require.NoError(t, err)
		v1, err := s.Head(mk, "alice/r", "v1")
		require.NoError(t, err)
		require.NotEqual(t, head, v1)
		tests := []struct {
			rev, want string
			kind      error
		}{
			{"", head, nil},
			{"master", head, nil},
			{"v1", v1, nil},
			{"dev", v1, nil},
			{v1, v1, nil},
			{"main", "", hubkit.ErrNotFound},
			{strings.Repeat("ab", 20), "", hubkit.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(string(kind)+"/"+tt.rev, func(t *testing.T) {
				got, err := c.ResolveRevision(ctx, repo, tt.rev)
				if tt.kind != nil {
					requireKind(t, err, tt.kind)
					return
				}
				require.NoError(t, err)
				require.Equal(t, tt.want, got)
			})
		}
	}
	_, err := c.ResolveRevision(ctx, model("alice/none"), "")
	requireKind(t, err, hubkit.ErrNotFound)
}

func TestErrorText(t *testing.T) {
	e := &Error{Method: "POST", Path: "/api/v1/models", HTTPStatus: 400, Code: 10010101001,
		Message: "exists", RequestID: "rid", Kind: hubkit.ErrConflict}
	require.Equal(t, "msclient: POST /api/v1/models: HTTP 400, code 10010101001: exists (request id rid) [conflict]", e.Error())
	require.ErrorIs(t, ErrCommitTooFrequent, hubkit.ErrRateLimited)
	require.NotErrorIs(t, hubkit.ErrRateLimited, ErrCommitTooFrequent)
	// Tokens never appear in errors, even if the hub echoes them.
	s, c := setup(t)
	s.Faults().Add(fault.Rule{Status: 400, Message: "bad token " + aliceToken})
	_, err := c.RepoInfo(context.Background(), model("alice/x"), "")
	require.ErrorContains(t, err, "bad token [REDACTED]")
	require.NotContains(t, err.Error(), aliceToken)
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		kind   error
	}{
		{"404 legacy", 404, `{"Code":10990101007,"Message":"x","Success":false}`, hubkit.ErrNotFound},
		{"200 dataset missing", 200, `{"Code":10020101002,"Message":"不存在的数据集","Success":false}`, hubkit.ErrNotFound},
		{"400 login", 400, `{"Code":10010103009,"Message":"登录失败","Success":false}`, hubkit.ErrUnauthorized},
		{"400 not logged in", 400, `{"Code":10030000001,"Message":"user not logged in","Success":false}`, hubkit.ErrUnauthorized},
		{"200 code 403", 200, `{"Code":403,"Message":"no write permission to repository","Success":false}`, hubkit.ErrForbidden},
		{"401 openapi", 401, `{"success":false,"code":"InvalidAuthentication","message":"m","request_id":"r"}`, hubkit.ErrUnauthorized},
		{"403 quota", 403, `{"success":false,"code":"QuotaLimitExceed","message":"m"}`, hubkit.ErrForbidden},
		{"409", 409, `{"success":false,"code":"DuplicateEntity"}`, hubkit.ErrConflict},
		{"412", 412, `{}`, hubkit.ErrConflict},
		{"422 actions", 422, `{"Code":422,"Message":"commit request exceeds actions limit: 2001 > 2000","Success":false}`, hubkit.ErrInvalid},
		{"429", 429, `{"Code":429,"Message":"slow down","Success":false}`, hubkit.ErrRateLimited},
		{"500 list", 500, `{"Code":10010207001,"Message":"list_models_failed","Success":false}`, hubkit.ErrServer},
		{"502 html", 502, `<html>bad gateway</html>`, hubkit.ErrServer},
		{"400 other", 400, `{"Code":400,"Message":"invalid PageNumber","Success":false}`, hubkit.ErrInvalid},
		{"200 string code", 200, `{"Code":"10020101002","Message":"x","Success":false}`, hubkit.ErrNotFound},
		{"deletion refused", 400, `{"Code":400,"Message":"the current token no longer supports deletion operations","Success":false}`, hubkit.ErrForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newError("GET", "/p", &http.Response{StatusCode: tt.status, Header: http.Header{"Retry-After": {"3"}}}, []byte(tt.body), nil, nil)
			require.ErrorIs(t, e, tt.kind)
			require.Equal(t, 3*time.Second, e.RetryAfter)
		})
	}
}

func TestEnvelopeFailed(t *testing.T) {
	tests := []struct {
		body   string
		failed bool
	}{
		{`{"Code":200,"Success":true,"Data":{}}`, false},
		{`{"Code":"200","Success":true}`, false},
		{`{"success":true,"data":{}}`, false},
		{`{"Code":200,"Success":false}`, true},
		{`{"Code":10030000001,"Message":"x"}`, true},
		{`{"success":false,"code":"ResourceNotFound"}`, true},
		{`{"Data":{}}`, false},
	}
	for _, tt := range tests {
		var env envelope
		require.NoError(t, json.Unmarshal([]byte(tt.body), &env))
		require.Equal(t, tt.failed, env.failed(), tt.body)
	}
}
