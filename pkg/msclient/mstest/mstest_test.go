package mstest

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

const (
	tokAlice = "ms-alice-token"
	tokBob   = "ms-bob-token"
	tokRO    = "ms-readonly-token"
)

// fixture: alice (member of org acme), bob, a read-only token of alice's; a public and a private
// model of alice's, a private dataset of acme's.
func newFixture(t *testing.T, opts ...Option) *Server {
	t.Helper()
	s := NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUser("alice", "acme")
	s.AddToken(tokAlice, "alice", RoleWrite)
	s.AddToken(tokBob, "bob", RoleWrite)
	s.AddToken(tokRO, "alice", RoleRead)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/pub", RepoOptions{}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/priv", RepoOptions{Private: true}))
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "acme/data", RepoOptions{Private: true}))
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "seed", File{Path: "README.md", Content: []byte("# pub\n")},
		File{Path: "config.json", Content: []byte(`{"a":1}`)})
	require.NoError(t, err)
	return s
}

type reqOpt func(*http.Request)

func bearer(tok string) reqOpt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}
func cookie(tok string) reqOpt {
	return func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "m_session_id", Value: tok}) }
}
func auth(tok string) reqOpt    { return func(r *http.Request) { bearer(tok)(r); cookie(tok)(r) } }
func header(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func do(t *testing.T, method, u string, body io.Reader, opts ...reqOpt) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	require.NoError(t, err)
	for _, o := range opts {
		o(req)
	}
	resp, err := noRedirect.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

func jsonBody(t *testing.T, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return bytes.NewReader(b)
}

type env struct {
	Code       int64           `json:"Code"`
	Data       json.RawMessage `json:"Data"`
	Message    string          `json:"Message"`
	RequestID  string          `json:"RequestId"`
	Success    bool            `json:"Success"`
	TotalCount *int            `json:"TotalCount"`
}

func decodeEnv(t *testing.T, b []byte) env {
	t.Helper()
	var e env
	require.NoError(t, json.Unmarshal(b, &e), "body: %s", b)
	require.NotEmpty(t, e.RequestID, "envelope without RequestId: %s", b)
	return e
}

// expect checks status and envelope code of a legacy reply.
func expect(t *testing.T, resp *http.Response, b []byte, status int, code int64) env {
	t.Helper()
	require.Equal(t, status, resp.StatusCode, "body: %s", b)
	e := decodeEnv(t, b)
	require.Equal(t, code, e.Code, "body: %s", b)
	require.Equal(t, code == CodeOK, e.Success, "body: %s", b)
	return e
}

func TestLoginAndWhoami(t *testing.T) {
	s := newFixture(t)
	tests := []struct {
		name   string
		token  string
		status int
		code   int64
	}{
		{"valid", tokAlice, 200, CodeOK},
		{"unknown", "ms-nope", 400, CodeLoginRefused},
		{"read-only tier", tokRO, 400, CodeLoginRefused},
		{"empty", "", 400, CodeLoginRefused},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, "POST", s.URL()+"/api/v1/login", jsonBody(t, map[string]string{"AccessToken": tc.token}))
			e := expect(t, resp, b, tc.status, tc.code)
			if tc.code != CodeOK {
				require.Equal(t, MsgLoginRefused, e.Message)
				return
			}
			var d struct{ AccessToken, Username, Email string }
			require.NoError(t, json.Unmarshal(e.Data, &d))
			require.Equal(t, "alice", d.Username)
			require.Equal(t, s.GitToken("alice"), d.AccessToken)
			require.NotEqual(t, tc.token, d.AccessToken, "login returns a separate git token")
			require.NotEmpty(t, resp.Cookies())
			require.Equal(t, "m_session_id", resp.Cookies()[0].Name)
		})
	}

	whoami := []struct {
		name   string
		opt    reqOpt
		status int
		user   string
	}{
		{"bearer", bearer(tokAlice), 200, "alice"},
		{"read-only bearer", bearer(tokRO), 200, "alice"},
		{"cookie only", cookie(tokAlice), 401, ""},
		{"bad token", bearer("ms-nope"), 401, ""},
		{"anonymous", func(*http.Request) {}, 401, ""},
	}
	for _, tc := range whoami {
		t.Run("whoami "+tc.name, func(t *testing.T) {
			resp, b := do(t, "GET", s.URL()+"/openapi/v1/users/me", nil, tc.opt)
			require.Equal(t, tc.status, resp.StatusCode, "%s", b)
			var o struct {
				Success   bool   `json:"success"`
				Code      string `json:"code"`
				RequestID string `json:"request_id"`
				Data      struct {
					Username string `json:"username"`
				} `json:"data"`
			}
			require.NoError(t, json.Unmarshal(b, &o))
			require.NotEmpty(t, o.RequestID)
			require.Equal(t, tc.status == 200, o.Success)
			require.Equal(t, tc.user, o.Data.Username)
			if tc.status == 401 {
				require.Equal(t, "InvalidAuthentication", o.Code)
			}
		})
	}
}

func TestPrivateReposAndReadAuth(t *testing.T) {
	tests := []struct {
		name   string
		opts   []Option
		path   string
		opt    reqOpt
		status int
	}{
		{"public anonymous", nil, "/api/v1/models/alice/pub", func(*http.Request) {}, 200},
		{"public bad token is anonymous, not 401", nil, "/api/v1/models/alice/pub", bearer("ms-bad"), 200},
		{"private anonymous", nil, "/api/v1/models/alice/priv", func(*http.Request) {}, 404},
		{"private other user", nil, "/api/v1/models/alice/priv", auth(tokBob), 404},
		{"private bad token", nil, "/api/v1/models/alice/priv", bearer("ms-bad"), 404},
		{"private owner bearer", nil, "/api/v1/models/alice/priv", bearer(tokAlice), 200},
		{"private owner cookie", nil, "/api/v1/models/alice/priv", cookie(tokAlice), 200},
		{"private owner read-only token", nil, "/api/v1/models/alice/priv", bearer(tokRO), 200},
		{"org dataset member", nil, "/api/v1/datasets/acme/data", auth(tokAlice), 200},
		{"org dataset outsider", nil, "/api/v1/datasets/acme/data", auth(tokBob), 404},
		{"hidden as 403", []Option{WithHiddenStatus(403)}, "/api/v1/models/alice/priv", auth(tokBob), 403},
		{"missing model", nil, "/api/v1/models/alice/nope", auth(tokAlice), 404},
		{"missing dataset", nil, "/api/v1/datasets/alice/nope", auth(tokAlice), 404},
		{"listing private outsider", nil, "/api/v1/models/alice/priv/repo/files?Recursive=true", auth(tokBob), 404},
		{"download private outsider", nil, "/api/v1/models/alice/priv/repo?FilePath=README.md", auth(tokBob), 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newFixture(t, tc.opts...)
			resp, b := do(t, "GET", s.URL()+tc.path, nil, tc.opt)
			require.Equal(t, tc.status, resp.StatusCode, "%s", b)
			e := decodeEnv(t, b)
			require.Equal(t, tc.status == 200, e.Success)
			if strings.Contains(tc.path, "datasets") && tc.status == 404 {
				require.Equal(t, int64(CodeDatasetMissing), e.Code)
			}
		})
	}
}

func TestInfo(t *testing.T) {
	s := newFixture(t)
	blob := synth.Blob{Size: 5000, Seed: 1}
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "add weights", File{Path: "w.bin", Blob: &blob})
	require.NoError(t, err)
	require.NoError(t, s.CreateTag(hubkit.Model, "alice/pub", "v1", ""))

	resp, b := do(t, "GET", s.URL()+"/api/v1/models/alice/pub", nil)
	e := expect(t, resp, b, 200, CodeOK)
	require.Equal(t, "success", e.Message)
	var m struct {
		Id          int64
		Name, Path  string
		Visibility  int
		StorageSize int64
		Revision    string
	}
	require.NoError(t, json.Unmarshal(e.Data, &m))
	require.Equal(t, "pub", m.Name)
	require.Equal(t, "alice", m.Path)
	require.Equal(t, int(Public), m.Visibility)
	require.Equal(t, int64(6+7+5000), m.StorageSize)
	head, err := s.Head(hubkit.Model, "alice/pub", "")
	require.NoError(t, err)
	require.Equal(t, head, m.Revision)

	for _, rev := range []string{"master", "v1", head} {
		resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub?Revision="+rev, nil)
		expect(t, resp, b, 200, CodeOK)
	}
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub?Revision=main", nil)
	expect(t, resp, b, 404, CodeModelMissing)

	resp, b = do(t, "GET", s.URL()+"/api/v1/datasets/acme/data", nil, auth(tokAlice))
	e = expect(t, resp, b, 200, CodeOK)
	var d struct {
		Id         int64
		Owner      string
		Visibility int
	}
	require.NoError(t, json.Unmarshal(e.Data, &d))
	require.Equal(t, s.DatasetID("acme/data"), d.Id)
	require.NotZero(t, d.Id)
	require.Equal(t, "acme", d.Owner)
	require.Equal(t, int(Private), d.Visibility)

	// OpenAPI shape, Bearer only.
	resp, b = do(t, "GET", s.URL()+"/openapi/v1/models/alice/priv", nil, bearer(tokAlice))
	require.Equal(t, 200, resp.StatusCode, "%s", b)
	var o struct {
		Success bool `json:"success"`
		Data    struct {
			ID      string `json:"id"`
			Private bool   `json:"private"`
		} `json:"data"`
	}
	require.NoError(t, json.Unmarshal(b, &o))
	require.True(t, o.Success)
	require.Equal(t, "alice/priv", o.Data.ID)
	require.True(t, o.Data.Private)
	resp, b = do(t, "GET", s.URL()+"/openapi/v1/models/alice/priv", nil, cookie(tokAlice))
	require.Equal(t, 404, resp.StatusCode)
	require.Contains(t, string(b), `"ResourceNotFound"`)

	// Revisions list.
	require.NoError(t, s.CreateBranch(hubkit.Model, "alice/pub", "dev", "master"))
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub/revisions", nil)
	e = expect(t, resp, b, 200, CodeOK)
	var rv struct {
		RevisionMap struct{ Branches, Tags []struct{ Revision string } }
	}
	require.NoError(t, json.Unmarshal(e.Data, &rv))
	require.Len(t, rv.RevisionMap.Branches, 2)
	require.Equal(t, "v1", rv.RevisionMap.Tags[0].Revision)
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/nope/revisions", nil)
	expect(t, resp, b, 404, CodeModelMissing)

	// Commits list.
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub/commits?Ref=master&PageNumber=1&PageSize=2", nil)
	e = expect(t, resp, b, 200, CodeOK)
	require.Equal(t, 3, *e.TotalCount)
	var cl struct {
		Commit []struct{ Id, Message string }
	}
	require.NoError(t, json.Unmarshal(e.Data, &cl))
	require.Len(t, cl.Commit, 2)
	require.Equal(t, head, cl.Commit[0].Id)
	require.Equal(t, "add weights", cl.Commit[0].Message)
}

type listing struct {
	Files []struct {
		Path, Type, Sha256 string
		Size               int64
		IsLFS              bool
	}
}

func listModel(t *testing.T, s *Server, query string) (*listing, bool) {
	t.Helper()
	resp, b := do(t, "GET", s.URL()+"/api/v1/models/alice/pub/repo/files?"+query, nil)
	e := expect(t, resp, b, 200, CodeOK)
	var raw struct{ Files json.RawMessage }
	require.NoError(t, json.Unmarshal(e.Data, &raw))
	if string(raw.Files) == "null" {
		return nil, false
	}
	var l listing
	require.NoError(t, json.Unmarshal(e.Data, &l))
	return &l, true
}

func TestModelListing(t *testing.T) {
	s := newFixture(t, WithListingCut(10))
	var files []File
	for d := 0; d < 3; d++ {
		for i := 0; i < 8; i++ {
			files = append(files, File{Path: fmt.Sprintf("d%d/f%02d.txt", d, i), Content: []byte(fmt.Sprint(d, i))})
		}
	}
	files = append(files, File{Path: "d1/sub/deep.bin", Content: []byte("deep"), LFS: true})
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "many", files...)
	require.NoError(t, err)
	all, err := s.Files(hubkit.Model, "alice/pub", "")
	require.NoError(t, err)
	require.Len(t, all, 27)

	// Recursive listing is cut silently at 10 entries.
	l, ok := listModel(t, s, "Recursive=true&Revision=master")
	require.True(t, ok)
	require.Len(t, l.Files, 10)

	// Top level, non-recursive: the two files and three directories.
	l, _ = listModel(t, s, "Recursive=False")
	var got []string
	for _, f := range l.Files {
		got = append(got, f.Type+":"+f.Path)
	}
	require.Equal(t, []string{"blob:README.md", "blob:config.json", "tree:d0", "tree:d1", "tree:d2"}, got)

	// Walking sub-folders non-recursively (each under the cut) finds every file with its hash.
	seen := map[string]int64{}
	var walk func(root string)
	walk = func(root string) {
		l, _ := listModel(t, s, "Recursive=false&Root="+url.QueryEscape(root))
		require.Less(t, len(l.Files), 10)
		for _, f := range l.Files {
			if f.Type == "tree" {
				walk(f.Path)
				continue
			}
			sum := sha256.Sum256(must(s.ReadFile(hubkit.Model, "alice/pub", "", f.Path)))
			require.Equal(t, hex.EncodeToString(sum[:]), f.Sha256, f.Path)
			seen[f.Path] = f.Size
		}
	}
	walk("")
	require.Len(t, seen, 27)
	l, _ = listModel(t, s, "Recursive=true&Root=d1/sub")
	require.Len(t, l.Files, 1)
	require.True(t, l.Files[0].IsLFS)

	// Unknown revision: the real hub's trap, success with Files null (not an empty list).
	_, ok = listModel(t, s, "Recursive=true&Revision=main")
	require.False(t, ok)
	empty := NewServer()
	defer empty.Close()
	require.NoError(t, empty.CreateRepo(hubkit.Model, "alice/pub", RepoOptions{}))
	l, ok = listModel(t, empty, "Recursive=true")
	require.True(t, ok)
	require.Empty(t, l.Files)
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDefaultListingCut(t *testing.T) {
	s := newFixture(t)
	files := make([]File, 3100)
	for i := range files {
		files[i] = File{Path: fmt.Sprintf("shard/%05d.json", i), Content: []byte("{}")}
	}
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "3100 files", files...)
	require.NoError(t, err)
	l, _ := listModel(t, s, "Recursive=true")
	require.Len(t, l.Files, 3000)
	l, _ = listModel(t, s, "Recursive=false")
	require.Len(t, l.Files, 3)
}

func TestDatasetPaging(t *testing.T) {
	s := newFixture(t, WithDatasetPageSize(10))
	files := make([]File, 25)
	for i := range files {
		files[i] = File{Path: fmt.Sprintf("data/%02d.csv", i), Content: []byte{byte(i)}}
	}
	_, err := s.Commit(hubkit.Dataset, "acme/data", "", "rows", files...)
	require.NoError(t, err)
	id := s.DatasetID("acme/data")

	tests := []struct {
		name  string
		base  string
		query string
		want  int
	}{
		{"page 1 owner/name", "/api/v1/datasets/acme/data/repo/tree", "Root=/data&PageNumber=1&PageSize=10", 10},
		{"page 3 numeric id", fmt.Sprintf("/api/v1/datasets/%d/repo/tree", id), "Root=/data&Recursive=True&PageNumber=3&PageSize=10", 5},
		{"past the end", "/api/v1/datasets/acme/data/repo/tree", "Root=/data&PageNumber=4&PageSize=10", 0},
		{"smaller page honoured", "/api/v1/datasets/acme/data/repo/tree", "Root=data&PageNumber=1&PageSize=4", 4},
		{"larger page capped", "/api/v1/datasets/acme/data/repo/tree", "Root=data&PageNumber=1&PageSize=200", 10},
		{"root non-recursive", "/api/v1/datasets/acme/data/repo/tree", "Root=/&PageNumber=1", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, b := do(t, "GET", s.URL()+tc.base+"?"+tc.query, nil, auth(tokAlice))
			e := expect(t, resp, b, 200, CodeOK)
			var l listing
			require.NoError(t, json.Unmarshal(e.Data, &l))
			require.Len(t, l.Files, tc.want)
			require.NotNil(t, e.TotalCount)
			if strings.Contains(tc.query, "data") {
				require.Equal(t, 25, *e.TotalCount)
			}
		})
	}
	// Walking all pages yields every file once.
	seen := map[string]bool{}
	for p := 1; ; p++ {
		resp, b := do(t, "GET", fmt.Sprintf("%s/api/v1/datasets/acme/data/repo/tree?Recursive=true&PageNumber=%d&PageSize=10", s.URL(), p), nil, auth(tokAlice))
		e := expect(t, resp, b, 200, CodeOK)
		var l listing
		require.NoError(t, json.Unmarshal(e.Data, &l))
		for _, f := range l.Files {
			require.False(t, seen[f.Path], f.Path)
			seen[f.Path] = true
		}
		if len(l.Files) < 10 {
			break
		}
	}
	require.Len(t, seen, 26) // 25 files + the data directory
	resp, b := do(t, "GET", s.URL()+"/api/v1/datasets/acme/data/repo/tree?Revision=nope", nil, auth(tokAlice))
	expect(t, resp, b, 404, CodeDatasetMissing)
	resp, b = do(t, "GET", s.URL()+"/api/v1/datasets/acme/data/repo/tree", nil, auth(tokBob))
	expect(t, resp, b, 404, CodeDatasetMissing)
}

func TestDownloadRedirectAndRanges(t *testing.T) {
	s := newFixture(t, WithRedirectThreshold(1024))
	big := synth.Blob{Size: 10_000, Seed: 7}
	small := []byte("0123456789abcdef")
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "files", File{Path: "small.txt", Content: small},
		File{Path: "dir/big.bin", Blob: &big}, File{Path: "inline-big.txt", Content: bytes.Repeat([]byte("x"), 2048)})
	require.NoError(t, err)
	dl := s.URL() + "/api/v1/models/alice/pub/repo?Revision=master&FilePath="

	tests := []struct {
		name, rng    string
		status       int
		body         string
		contentRange string
	}{
		{"whole", "", 200, string(small), ""},
		{"range", "bytes=2-5", 206, "2345", "bytes 2-5/16"},
		{"open range", "bytes=10-", 206, "abcdef", "bytes 10-15/16"},
		{"suffix", "bytes=-3", 206, "def", "bytes 13-15/16"},
		{"end past size", "bytes=14-99", 206, "ef", "bytes 14-15/16"},
		{"unsatisfiable", "bytes=16-", 416, "", "bytes */16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var opts []reqOpt
			if tc.rng != "" {
				opts = append(opts, header("Range", tc.rng))
			}
			resp, b := do(t, "GET", dl+"small.txt", nil, opts...)
			require.Equal(t, tc.status, resp.StatusCode)
			require.Equal(t, tc.body, string(b))
			require.Equal(t, tc.contentRange, resp.Header.Get("Content-Range"))
		})
	}

	// Large files answer 302 to the CDN host, LFS or inline.
	for _, p := range []string{"dir/big.bin", "inline-big.txt"} {
		resp, _ := do(t, "GET", dl+url.QueryEscape(p), nil, auth(tokAlice))
		require.Equal(t, http.StatusFound, resp.StatusCode)
		loc := resp.Header.Get("Location")
		require.True(t, strings.HasPrefix(loc, s.CDNURL()+"/"), loc)
		require.NotContains(t, loc, tokAlice)
		resp, b := do(t, "GET", loc, nil)
		require.Equal(t, 200, resp.StatusCode)
		require.Equal(t, must(s.ReadFile(hubkit.Model, "alice/pub", "", p)), b)
		resp, b = do(t, "GET", loc, nil, header("Range", "bytes=100-199"))
		require.Equal(t, 206, resp.StatusCode)
		require.Equal(t, must(s.ReadFile(hubkit.Model, "alice/pub", "", p))[100:200], b)
		resp, _ = do(t, "HEAD", loc, nil)
		require.Equal(t, 200, resp.StatusCode)
		require.EqualValues(t, len(must(s.ReadFile(hubkit.Model, "alice/pub", "", p))), resp.ContentLength)
		resp, _ = do(t, "GET", loc, nil, header("Range", "bytes=99999-"))
		require.Equal(t, 416, resp.StatusCode)
		// A tampered auth_key is refused.
		resp, _ = do(t, "GET", strings.Replace(loc, "auth_key=", "auth_key=1", 1), nil)
		require.Equal(t, 403, resp.StatusCode)
	}

	// Missing file, unknown revision, the wrong "repos/" route.
	for _, u := range []string{dl + "nope.txt", s.URL() + "/api/v1/models/alice/pub/repo?Revision=main&FilePath=small.txt"} {
		resp, b := do(t, "GET", u, nil)
		e := expect(t, resp, b, 404, CodeFileMissing)
		require.Equal(t, MsgFileMissing, e.Message)
	}
	resp, b := do(t, "GET", s.URL()+"/api/v1/repos/models/alice/pub/repo?FilePath=small.txt", nil)
	expect(t, resp, b, 421, 421)
	resp, b = do(t, "HEAD", dl+"small.txt", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Empty(t, b)
	require.EqualValues(t, 16, resp.ContentLength)

	// WithRedirectLFS sends small LFS files to the CDN too.
	s2 := newFixture(t, WithRedirectLFS())
	_, err = s2.Commit(hubkit.Model, "alice/pub", "", "lfs", File{Path: "tiny.bin", Content: []byte("tiny"), LFS: true})
	require.NoError(t, err)
	resp, _ = do(t, "GET", s2.URL()+"/api/v1/models/alice/pub/repo?FilePath=tiny.bin", nil)
	require.Equal(t, http.StatusFound, resp.StatusCode)
}

func TestCDNRefusesCredentials(t *testing.T) {
	s := newFixture(t, WithRedirectThreshold(10))
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "big", File{Path: "big.txt", Content: bytes.Repeat([]byte("y"), 100)})
	require.NoError(t, err)
	dl := s.URL() + "/api/v1/models/alice/pub/repo?FilePath=big.txt"
	resp, _ := do(t, "GET", dl, nil)
	loc := resp.Header.Get("Location")

	tests := []struct {
		name string
		opt  reqOpt
		leak string
	}{
		{"authorization", bearer(tokAlice), "Authorization"},
		{"session cookie", cookie(tokAlice), "Cookie"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.AuthLeaks())
			resp, _ := do(t, "GET", loc, nil, tc.opt)
			require.Equal(t, 400, resp.StatusCode)
			leaks := s.AuthLeaks()
			require.Len(t, leaks, before+1)
			require.Contains(t, leaks[before], tc.leak)
			require.NotContains(t, leaks[before], tokAlice)
		})
	}

	// A naive Go client leaks: net/http keeps Authorization across a redirect to the same host
	// name on another port. The CDN catches it.
	before := len(s.AuthLeaks())
	req, err := http.NewRequest("GET", dl, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tokAlice)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
	require.Len(t, s.AuthLeaks(), before+1)
}

// lfsObject is an LFS batch answer entry.
type lfsObject struct {
	OID     string `json:"oid"`
	Size    int64  `json:"size"`
	Actions struct {
		Upload *struct {
			Href string `json:"href"`
		} `json:"upload"`
	} `json:"actions"`
	Error map[string]any `json:"error"`
}

func batch(t *testing.T, s *Server, repo string, opt reqOpt, objs ...map[string]any) (*http.Response, []byte) {
	t.Helper()
	return do(t, "POST", s.URL()+"/api/v1/repos/models/"+repo+"/info/lfs/objects/batch",
		jsonBody(t, map[string]any{"operation": "upload", "objects": objs}), opt)
}

func oidOf(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func commitBody(msg string, actions ...map[string]any) map[string]any {
	return map[string]any{"commit_message": msg, "actions": actions}
}

func lfsAction(path string, b []byte) map[string]any {
	return map[string]any{"action": "create", "path": path, "type": "lfs", "size": len(b), "sha256": oidOf(b), "content": "", "encoding": ""}
}

func normalAction(path string, b []byte) map[string]any {
	return map[string]any{"action": "create", "path": path, "type": "normal", "size": len(b), "sha256": "",
		"content": base64.StdEncoding.EncodeToString(b), "encoding": "base64"}
}

func deleteAction(path string) map[string]any {
	return map[string]any{"action": "delete", "path": path}
}

func TestUploadFlow(t *testing.T) {
	s := newFixture(t)
	weights := bytes.Repeat([]byte("w"), 3000)
	oid := oidOf(weights)

	// Batch: one upload action per unknown object.
	resp, b := batch(t, s, "alice/pub", auth(tokAlice), map[string]any{"oid": oid, "size": len(weights)},
		map[string]any{"oid": "not-a-sha", "size": 1})
	e := expect(t, resp, b, 200, CodeOK)
	var d struct {
		Objects []lfsObject `json:"objects"`
		Reused  []any       `json:"reused-objects"`
	}
	require.NoError(t, json.Unmarshal(e.Data, &d))
	require.NotNil(t, d.Reused)
	require.Len(t, d.Objects, 2)
	require.NotNil(t, d.Objects[1].Error)
	href := d.Objects[0].Actions.Upload.Href
	require.Equal(t, fmt.Sprintf("%s/api/v1/repos/models/alice/pub/blobs/%s/%d", s.URL(), oid, len(weights)), href)

	// PUT the blob.
	resp, b = do(t, "PUT", href, bytes.NewReader(weights), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.True(t, s.HasLFSObject(oid))

	// The batch now omits it, but not when asked with another size.
	resp, b = batch(t, s, "alice/pub", auth(tokAlice), map[string]any{"oid": oid, "size": len(weights)},
		map[string]any{"oid": oid, "size": len(weights) + 1})
	e = expect(t, resp, b, 200, CodeOK)
	require.NoError(t, json.Unmarshal(e.Data, &d))
	require.Len(t, d.Objects, 1)
	require.EqualValues(t, len(weights)+1, d.Objects[0].Size)

	// Commit: LFS pointer, inline file, delete; overwrite of an existing path.
	resp, b = do(t, "POST", s.URL()+"/api/v1/repos/models/alice/pub/commit/master", jsonBody(t, commitBody("upload",
		lfsAction("model/w.bin", weights), normalAction("README.md", []byte("new readme")), deleteAction("config.json"))), auth(tokAlice))
	e = expect(t, resp, b, 200, CodeOK)
	var cd struct{ Oid string }
	require.NoError(t, json.Unmarshal(e.Data, &cd))
	head, err := s.Head(hubkit.Model, "alice/pub", "master")
	require.NoError(t, err)
	require.Equal(t, head, cd.Oid)
	files, err := s.Files(hubkit.Model, "alice/pub", "")
	require.NoError(t, err)
	require.Equal(t, []FileInfo{
		{Path: "README.md", Size: 10, SHA256: oidOf([]byte("new readme"))},
		{Path: "model/w.bin", Size: 3000, SHA256: oid, LFS: true},
	}, files)
	require.Equal(t, weights, must(s.ReadFile(hubkit.Model, "alice/pub", "", "model/w.bin")))
	hist, err := s.History(hubkit.Model, "alice/pub", "")
	require.NoError(t, err)
	require.Equal(t, "upload", hist[0].Message)
	require.Equal(t, []string{hist[1].ID}, hist[0].Parents)
	require.Len(t, hist, 3)

	// The uploaded file downloads back.
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub/repo?FilePath=model%2Fw.bin", nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, weights, b)
}

func TestUploadErrors(t *testing.T) {
	s := newFixture(t)
	data := []byte("some lfs bytes")
	oid := oidOf(data)
	href := fmt.Sprintf("%s/api/v1/repos/models/alice/pub/blobs/%s/%d", s.URL(), oid, len(data))
	none := func(*http.Request) {}

	batchTests := []struct {
		name   string
		repo   string
		opt    reqOpt
		status int
		code   int64
	}{
		{"no credentials", "alice/pub", none, 400, CodeRefused},
		{"bad token", "alice/pub", auth("ms-bad"), 400, CodeRefused},
		{"not a member", "alice/pub", auth(tokBob), 403, 403},
		{"read-only token", "alice/pub", auth(tokRO), 403, 403},
		{"private repo outsider", "alice/priv", auth(tokBob), 404, CodeModelMissing},
		{"missing repo", "alice/nope", auth(tokAlice), 404, CodeModelMissing},
	}
	for _, tc := range batchTests {
		t.Run("batch "+tc.name, func(t *testing.T) {
			resp, b := batch(t, s, tc.repo, tc.opt, map[string]any{"oid": oid, "size": len(data)})
			e := expect(t, resp, b, tc.status, tc.code)
			if tc.code == CodeRefused {
				require.Equal(t, MsgNotLoggedIn, e.Message)
			}
		})
	}

	putTests := []struct {
		name   string
		url    string
		body   io.Reader
		opts   []reqOpt
		status int
		code   int64
	}{
		{"no credentials", href, bytes.NewReader(data), nil, 400, CodeRefused},
		{"other user", href, bytes.NewReader(data), []reqOpt{auth(tokBob)}, 403, 403},
		{"chunked", href, io.MultiReader(bytes.NewReader(data)), []reqOpt{auth(tokAlice)}, 411, 411},
		{"wrong hash", href, bytes.NewReader([]byte("some lfs BYTES")), []reqOpt{auth(tokAlice)}, 400, 400},
		{"length differs from size", href, bytes.NewReader(data[:5]), []reqOpt{auth(tokAlice)}, 400, 400},
		{"bad oid", s.URL() + "/api/v1/repos/models/alice/pub/blobs/xyz/14", bytes.NewReader(data), []reqOpt{auth(tokAlice)}, 400, 400},
	}
	for _, tc := range putTests {
		t.Run("put "+tc.name, func(t *testing.T) {
			resp, b := do(t, "PUT", tc.url, tc.body, tc.opts...)
			expect(t, resp, b, tc.status, tc.code)
			require.False(t, s.HasLFSObject(oid))
		})
	}

	// A cut upload stores nothing.
	s.Faults().Add(fault.Rule{Route: RouteBlobPut, CutAfter: 4, Times: 1})
	req, err := http.NewRequest("PUT", href, bytes.NewReader(data))
	require.NoError(t, err)
	auth(tokAlice)(req)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		require.NotEqual(t, 200, resp.StatusCode)
	}
	require.False(t, s.HasLFSObject(oid))
	require.Equal(t, 1, s.Faults().Count(RouteBlobPut)-len(putTests))

	resp, b := do(t, "PUT", href, bytes.NewReader(data), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.True(t, s.HasLFSObject(oid))

	commitURL := s.URL() + "/api/v1/repos/models/alice/pub/commit/"
	longActions := make([]map[string]any, 2001)
	for i := range longActions {
		longActions[i] = normalAction(fmt.Sprintf("f%d", i), nil)
	}
	head := must(s.Head(hubkit.Model, "alice/pub", ""))
	commitTests := []struct {
		name   string
		branch string
		body   map[string]any
		opt    reqOpt
		status int
		code   int64
		msg    string
	}{
		{"no credentials", "master", commitBody("m", normalAction("a", []byte("a"))), none, 400, CodeRefused, MsgNotLoggedIn},
		{"not a member", "master", commitBody("m", normalAction("a", []byte("a"))), auth(tokBob), 403, 403, MsgNoWrite},
		{"too many actions", "master", commitBody("m", longActions...), auth(tokAlice), 422, 422,
			"commit request exceeds actions limit: 2001 > 2000; split the commit into smaller batches"},
		{"delete of a missing path rejects the whole commit", "master",
			commitBody("m", normalAction("new.txt", []byte("n")), deleteAction("nope.txt")), auth(tokAlice), 400, CodeRefused, MsgPolicyRejected},
		{"lfs blob not uploaded", "master", commitBody("m", lfsAction("x.bin", []byte("never uploaded"))), auth(tokAlice), 400, 400, ""},
		{"lfs size mismatch", "master", commitBody("m", map[string]any{"action": "create", "path": "x.bin", "type": "lfs",
			"size": len(data) + 1, "sha256": oid}), auth(tokAlice), 400, 400, ""},
		{"normal size mismatch", "master", commitBody("m", map[string]any{"action": "create", "path": "a", "type": "normal",
			"size": 99, "content": base64.StdEncoding.EncodeToString([]byte("a")), "encoding": "base64"}), auth(tokAlice), 400, 400, ""},
		{"bad base64", "master", commitBody("m", map[string]any{"action": "create", "path": "a", "type": "normal",
			"size": 1, "content": "!!!", "encoding": "base64"}), auth(tokAlice), 400, 400, ""},
		{"unknown action", "master", commitBody("m", map[string]any{"action": "update", "path": "a", "type": "normal"}), auth(tokAlice), 400, 400, ""},
		{"path escapes", "master", commitBody("m", normalAction("../a", []byte("a"))), auth(tokAlice), 400, 400, ""},
		{"file over directory", "master", commitBody("m", normalAction("README.md/x", []byte("a"))), auth(tokAlice), 400, 400, ""},
		{"no actions", "master", commitBody("m"), auth(tokAlice), 400, 400, ""},
		{"commit sha as revision", head, commitBody("m", normalAction("a", []byte("a"))), auth(tokAlice), 400, 400, ""},
		{"unknown branch", "dev", commitBody("m", normalAction("a", []byte("a"))), auth(tokAlice), 404, 404, ""},
	}
	for _, tc := range commitTests {
		t.Run("commit "+tc.name, func(t *testing.T) {
			resp, b := do(t, "POST", commitURL+url.PathEscape(tc.branch), jsonBody(t, tc.body), tc.opt)
			e := expect(t, resp, b, tc.status, tc.code)
			if tc.msg != "" {
				require.Equal(t, tc.msg, e.Message)
			}
			require.Equal(t, head, must(s.Head(hubkit.Model, "alice/pub", "")), "a rejected commit changes nothing")
		})
	}

	// A branch other than master exists but takes no commits; the LFS blob commits to master
	// once uploaded.
	require.NoError(t, s.CreateBranch(hubkit.Model, "alice/pub", "feat/x", ""))
	resp, b = do(t, "POST", commitURL+url.PathEscape("feat/x"), jsonBody(t, commitBody("m", lfsAction("x.bin", data))), auth(tokAlice))
	expect(t, resp, b, 400, 400)
	require.Equal(t, head, must(s.Head(hubkit.Model, "alice/pub", "feat/x")))
	resp, b = do(t, "POST", commitURL+"master", jsonBody(t, commitBody("m", lfsAction("x.bin", data))), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.Equal(t, data, must(s.ReadFile(hubkit.Model, "alice/pub", "", "x.bin")))
}

func TestMaxActionsOption(t *testing.T) {
	s := newFixture(t, WithMaxActions(2))
	body := commitBody("m", normalAction("a", nil), normalAction("b", nil), normalAction("c", nil))
	resp, b := do(t, "POST", s.URL()+"/api/v1/repos/models/alice/pub/commit/master", jsonBody(t, body), auth(tokAlice))
	e := expect(t, resp, b, 422, 422)
	require.Equal(t, "commit request exceeds actions limit: 3 > 2; split the commit into smaller batches", e.Message)
}

func TestCommitInterval(t *testing.T) {
	s := newFixture(t, WithCommitInterval(150*time.Millisecond))
	u := s.URL() + "/api/v1/repos/models/alice/pub/commit/master"
	resp, b := do(t, "POST", u, jsonBody(t, commitBody("one", normalAction("1.txt", []byte("1")))), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	head := must(s.Head(hubkit.Model, "alice/pub", ""))

	// Too soon: rejected inside HTTP 200, nothing changes.
	resp, b = do(t, "POST", u, jsonBody(t, commitBody("two", normalAction("2.txt", []byte("2")))), auth(tokAlice))
	e := expect(t, resp, b, 200, CodeRefused)
	require.Equal(t, MsgPolicyRejected, e.Message)
	require.Equal(t, head, must(s.Head(hubkit.Model, "alice/pub", "")))

	// Other repos are not throttled by this one.
	resp, b = do(t, "POST", s.URL()+"/api/v1/repos/models/alice/priv/commit/master",
		jsonBody(t, commitBody("x", normalAction("x.txt", []byte("x")))), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)

	time.Sleep(160 * time.Millisecond)
	resp, b = do(t, "POST", u, jsonBody(t, commitBody("two", normalAction("2.txt", []byte("2")))), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.Len(t, must(s.History(hubkit.Model, "alice/pub", "")), 4)
}

func multipartBody(t *testing.T, fields map[string]string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		require.NoError(t, w.WriteField(k, v))
	}
	require.NoError(t, w.Close())
	return &buf, w.FormDataContentType()
}

func TestCreateVisibilityDelete(t *testing.T) {
	s := newFixture(t)
	createModel := func(opt reqOpt, body map[string]any) (*http.Response, []byte) {
		return do(t, "POST", s.URL()+"/api/v1/models", jsonBody(t, body), opt)
	}
	modelTests := []struct {
		name   string
		opt    reqOpt
		body   map[string]any
		status int
		code   int64
	}{
		{"create", auth(tokAlice), map[string]any{"Path": "alice", "Name": "new", "Visibility": 1, "License": "Apache License 2.0"}, 200, CodeOK},
		{"exists", auth(tokAlice), map[string]any{"Path": "alice", "Name": "new", "Visibility": 5, "License": "MIT"}, 400, CodeModelExists},
		{"in an org", auth(tokAlice), map[string]any{"Path": "acme", "Name": "m", "Visibility": 5, "License": "MIT"}, 200, CodeOK},
		{"foreign namespace", auth(tokBob), map[string]any{"Path": "alice", "Name": "x", "Visibility": 5, "License": "MIT"}, 403, 403},
		{"no credentials", func(*http.Request) {}, map[string]any{"Path": "alice", "Name": "x", "Visibility": 5, "License": "MIT"}, 400, CodeRefused},
		{"bad visibility", auth(tokAlice), map[string]any{"Path": "alice", "Name": "x", "Visibility": 2, "License": "MIT"}, 400, 400},
		{"missing visibility", auth(tokAlice), map[string]any{"Path": "alice", "Name": "x", "License": "MIT"}, 400, 400},
		{"null licence", auth(tokAlice), map[string]any{"Path": "alice", "Name": "x", "Visibility": 5, "License": nil}, 400, 400},
		{"no licence", auth(tokAlice), map[string]any{"Path": "alice", "Name": "x", "Visibility": 5}, 400, 400},
		{"bad name", auth(tokAlice), map[string]any{"Path": "alice", "Name": "a b", "Visibility": 5, "License": "MIT"}, 400, 400},
	}
	for _, tc := range modelTests {
		t.Run("model "+tc.name, func(t *testing.T) {
			resp, b := createModel(tc.opt, tc.body)
			e := expect(t, resp, b, tc.status, tc.code)
			if tc.code == CodeModelExists {
				require.Equal(t, MsgExists, e.Message)
			}
		})
	}
	require.True(t, s.RepoExists(hubkit.Model, "alice/new"))
	require.Equal(t, Private, s.RepoVisibility(hubkit.Model, "alice/new"))
	hist := must(s.History(hubkit.Model, "alice/new", ""))
	require.Len(t, hist, 1, "a new repo has one initial commit on master")
	require.Empty(t, must(s.Files(hubkit.Model, "alice/new", "master")))

	// Datasets are created with multipart/form-data only.
	body, ctype := multipartBody(t, map[string]string{"Name": "ds", "Owner": "alice", "Visibility": "5", "License": "MIT"})
	resp, b := do(t, "POST", s.URL()+"/api/v1/datasets", body, auth(tokAlice), header("Content-Type", ctype))
	e := expect(t, resp, b, 200, CodeOK)
	var id int64
	require.NoError(t, json.Unmarshal(e.Data, &id))
	require.Equal(t, s.DatasetID("alice/ds"), id)
	body, ctype = multipartBody(t, map[string]string{"Name": "ds", "Owner": "alice", "Visibility": "5", "License": "MIT"})
	resp, b = do(t, "POST", s.URL()+"/api/v1/datasets", body, auth(tokAlice), header("Content-Type", ctype))
	e = expect(t, resp, b, 400, CodeDatasetExists)
	require.Equal(t, MsgExists, e.Message)
	resp, b = do(t, "POST", s.URL()+"/api/v1/datasets", jsonBody(t, map[string]any{"Name": "ds2", "Owner": "alice", "Visibility": 5}),
		auth(tokAlice), header("Content-Type", "application/json"))
	expect(t, resp, b, 400, 400)
	require.False(t, s.RepoExists(hubkit.Dataset, "alice/ds2"))

	// Visibility: model by owner/name, dataset by numeric id.
	resp, b = do(t, "PUT", s.URL()+"/api/v1/models/alice/new", jsonBody(t, map[string]any{"Visibility": 5, "ProtectedMode": 2, "ChineseName": "n"}), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.Equal(t, Public, s.RepoVisibility(hubkit.Model, "alice/new"))
	resp, b = do(t, "PUT", s.URL()+"/api/v1/models/alice/new", jsonBody(t, map[string]any{"Visibility": 1}), auth(tokBob))
	expect(t, resp, b, 403, 403)
	resp, b = do(t, "PUT", s.URL()+"/api/v1/models/alice/new", jsonBody(t, map[string]any{"Visibility": 4}), auth(tokAlice))
	expect(t, resp, b, 400, 400)
	resp, b = do(t, "PUT", fmt.Sprintf("%s/api/v1/datasets/%d", s.URL(), id), jsonBody(t, map[string]any{"Visibility": 1, "ProtectedMode": 2}), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.Equal(t, Private, s.RepoVisibility(hubkit.Dataset, "alice/ds"))
	resp, b = do(t, "PUT", s.URL()+"/api/v1/datasets/999999", jsonBody(t, map[string]any{"Visibility": 1}), auth(tokAlice))
	expect(t, resp, b, 404, CodeDatasetMissing)

	// Delete.
	resp, b = do(t, "DELETE", s.URL()+"/api/v1/models/alice/new", nil, auth(tokBob))
	expect(t, resp, b, 403, 403)
	resp, b = do(t, "DELETE", s.URL()+"/api/v1/models/alice/new", nil, auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.False(t, s.RepoExists(hubkit.Model, "alice/new"))
	resp, b = do(t, "DELETE", s.URL()+"/api/v1/datasets/alice/ds", nil, auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	require.Zero(t, s.DatasetID("alice/ds"))

	refusing := newFixture(t, WithDeletionRefused())
	resp, b = do(t, "DELETE", refusing.URL()+"/api/v1/models/alice/pub", nil, auth(tokAlice))
	e = expect(t, resp, b, 400, 400)
	require.Equal(t, MsgNoDeletion, e.Message)
	require.True(t, refusing.RepoExists(hubkit.Model, "alice/pub"))
}

func TestFaults(t *testing.T) {
	s := newFixture(t, WithRedirectThreshold(1024))
	blob := synth.Blob{Size: 64 << 10, Seed: 3}
	_, err := s.Commit(hubkit.Model, "alice/pub", "", "blob", File{Path: "b.bin", Blob: &blob})
	require.NoError(t, err)
	files := s.URL() + "/api/v1/models/alice/pub/repo/files?Recursive=true"

	// 429 with Retry-After once, then normal service.
	s.Faults().Add(fault.Rule{Route: RouteModelFiles, Status: 429, RetryAfter: 2 * time.Second, Times: 1})
	resp, b := do(t, "GET", files, nil)
	expect(t, resp, b, 429, 429)
	require.Equal(t, "2", resp.Header.Get("Retry-After"))
	resp, b = do(t, "GET", files, nil)
	expect(t, resp, b, 200, CodeOK)
	require.Equal(t, 2, s.Faults().Count(RouteModelFiles))

	// Error inside HTTP 200.
	s.Faults().Add(EnvelopeError(RouteModelInfo, "list_models_failed", 1))
	resp, b = do(t, "GET", s.URL()+"/api/v1/models/alice/pub", nil)
	e := expect(t, resp, b, 200, CodeRefused)
	require.Equal(t, "list_models_failed", e.Message)

	// OpenAPI routes fail in the OpenAPI shape.
	s.Faults().Add(fault.Rule{Route: RouteWhoami, Status: 503, Times: 1})
	resp, b = do(t, "GET", s.URL()+"/openapi/v1/users/me", nil, bearer(tokAlice))
	require.Equal(t, 503, resp.StatusCode)
	require.Contains(t, string(b), `"code":"ServiceUnavailable"`)

	// CDN: cut, corrupted and 5xx responses.
	resp, _ = do(t, "GET", s.URL()+"/api/v1/models/alice/pub/repo?FilePath=b.bin", nil)
	loc := resp.Header.Get("Location")
	require.NotEmpty(t, loc)

	s.Faults().Add(fault.Rule{Route: RouteCDN, CutAfter: 1000, Times: 1})
	r2, err := http.Get(loc)
	require.NoError(t, err)
	got, err := io.ReadAll(r2.Body)
	r2.Body.Close()
	require.Error(t, err, "a cut body must fail the read")
	require.Less(t, len(got), int(blob.Size))

	s.Faults().Add(fault.Rule{Route: RouteCDN, Corrupt: true, Times: 1})
	resp, b = do(t, "GET", loc, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Len(t, b, int(blob.Size))
	require.NotEqual(t, blob.Bytes(), b)

	s.Faults().Add(fault.Rule{Route: RouteCDN, Status: 502, Times: 1})
	resp, _ = do(t, "GET", loc, nil)
	require.Equal(t, 502, resp.StatusCode)
	resp, b = do(t, "GET", loc, nil)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, blob.Bytes(), b)
	require.Equal(t, 4, s.Faults().Count(RouteCDN))

	// Faults on the commit route: an injected transient ref conflict.
	s.Faults().Add(EnvelopeError(RouteCommit, "Could not update refs, try again", 1))
	u := s.URL() + "/api/v1/repos/models/alice/pub/commit/master"
	resp, b = do(t, "POST", u, jsonBody(t, commitBody("m", normalAction("a", []byte("a")))), auth(tokAlice))
	expect(t, resp, b, 200, CodeRefused)
	resp, b = do(t, "POST", u, jsonBody(t, commitBody("m", normalAction("a", []byte("a")))), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
}

func TestBigBlobs(t *testing.T) {
	s := newFixture(t, WithMemoryLimit(1<<20), WithRedirectThreshold(1<<20))
	put := func(size int64, oid string, body io.Reader) (*http.Response, []byte) {
		req, err := http.NewRequest("PUT", fmt.Sprintf("%s/api/v1/repos/models/alice/pub/blobs/%s/%d", s.URL(), oid, size), body)
		require.NoError(t, err)
		req.ContentLength = size
		auth(tokAlice)(req)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp, b
	}

	// A registered synthetic blob above the limit is compared in place and served back.
	blob := synth.Blob{Size: 3<<20 + 5, Seed: 11}
	oid := blob.SHA256()
	resp, b := put(blob.Size, oid, blob.NewReader(0, blob.Size))
	expect(t, resp, b, 200, CodeOK)
	require.True(t, s.HasLFSObject(oid))

	// The same size and hash with one byte changed is refused.
	other := synth.Blob{Size: 2<<20 + 1, Seed: 12}
	bad := other.Bytes()
	bad[len(bad)/2] ^= 1
	resp, b = put(other.Size, other.SHA256(), bytes.NewReader(bad))
	expect(t, resp, b, 400, 400)
	require.False(t, s.HasLFSObject(other.SHA256()))

	// Non-synthetic content above the limit is refused with a clear error.
	plain := bytes.Repeat([]byte("p"), 2<<20)
	resp, b = put(int64(len(plain)), oidOf(plain), bytes.NewReader(plain))
	e := expect(t, resp, b, 413, 413)
	require.Contains(t, e.Message, "memory limit")
	require.False(t, s.HasLFSObject(oidOf(plain)))

	// Commit the synthetic blob and download it through the CDN.
	resp, b = do(t, "POST", s.URL()+"/api/v1/repos/models/alice/pub/commit/master", jsonBody(t, commitBody("big",
		map[string]any{"action": "create", "path": "big.bin", "type": "lfs", "size": blob.Size, "sha256": oid})), auth(tokAlice))
	expect(t, resp, b, 200, CodeOK)
	r2, err := http.Get(s.URL() + "/api/v1/models/alice/pub/repo?FilePath=big.bin")
	require.NoError(t, err)
	defer r2.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, r2.Body)
	require.NoError(t, err)
	require.Equal(t, blob.Size, n)
	require.Equal(t, oid, hex.EncodeToString(h.Sum(nil)))
	require.True(t, strings.HasPrefix(r2.Request.URL.String(), s.CDNURL()))
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		h                    string
		start, n             int64
		partial, satisfiable bool
	}{
		{"", 0, 100, false, true},
		{"bytes=0-", 0, 100, true, true},
		{"bytes=0-0", 0, 1, true, true},
		{"bytes=99-", 99, 1, true, true},
		{"bytes=100-", 0, 0, false, false},
		{"bytes=-100", 0, 100, true, true},
		{"bytes=-500", 0, 100, true, true},
		{"bytes=-0", 0, 0, false, false},
		{"bytes=5-4", 0, 0, false, false},
		{"bytes=0-1,5-6", 0, 100, false, true},
		{"items=0-1", 0, 100, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.h, func(t *testing.T) {
			start, n, partial, ok := parseRange(tc.h, 100)
			require.Equal(t, tc.satisfiable, ok)
			if ok {
				require.Equal(t, []any{tc.start, tc.n, tc.partial}, []any{start, n, partial})
			}
		})
	}
}
