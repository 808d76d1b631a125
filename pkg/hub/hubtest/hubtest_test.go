package hubtest_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

const (
	aliceW = "hf_alice_write"
	aliceR = "hf_alice_read"
	bobW   = "hf_bob_write"
)

// newHub starts a fake with alice (member of org acme) and bob, and a public repo alice/pub.
func newHub(t *testing.T, opts ...hubtest.Option) *hubtest.Server {
	t.Helper()
	s := hubtest.NewServer(opts...)
	t.Cleanup(s.Close)
	s.AddUser("alice", "acme")
	s.AddUser("bob")
	s.AddToken(aliceW, "alice", hubtest.RoleWrite)
	s.AddToken(aliceR, "alice", hubtest.RoleRead)
	s.AddToken(bobW, "bob", hubtest.RoleWrite)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/pub", hubtest.RepoOptions{}))
	return s
}

// noFollow never follows redirects, so tests see each hop.
var noFollow = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type reply struct {
	*http.Response
	body []byte
}

func (r reply) json(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

func call(t testing.TB, method, u, tok string, body any, hdr ...string) reply {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(t, err)
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := noFollow.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return reply{resp, data}
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestGitObjectIDs(t *testing.T) {
	// `printf 'hello\n' | git hash-object --stdin`
	require.Equal(t, "ce013625030ba8dba906f756967f9e9ca394464a", hubtest.GitBlobOID([]byte("hello\n")))
	require.Equal(t, "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391", hubtest.GitBlobOID(nil))
	ptr := hubtest.LFSPointer(strings.Repeat("a", 64), 1234)
	require.Equal(t, 125+4, len(ptr))

	s := newHub(t)
	c1, err := s.Commit(hubkit.Model, "alice/pub", "main", "add", hubtest.File{Path: "a/hello.txt", Content: []byte("hello\n")},
		hubtest.File{Path: "w.dat", Content: []byte("binary\x00"), LFS: true})
	require.NoError(t, err)
	require.Regexp(t, `^[0-9a-f]{40}$`, c1)
	files, err := s.Files(hubkit.Model, "alice/pub", "main")
	require.NoError(t, err)
	byPath := map[string]hubtest.FileInfo{}
	for _, f := range files {
		byPath[f.Path] = f
	}
	require.Equal(t, "ce013625030ba8dba906f756967f9e9ca394464a", byPath["a/hello.txt"].GitOID)
	w := byPath["w.dat"]
	require.True(t, w.LFS)
	require.Equal(t, sha([]byte("binary\x00")), w.SHA256)
	require.Equal(t, hubtest.GitBlobOID([]byte(hubtest.LFSPointer(w.SHA256, 7))), w.GitOID)
	// The commit's parent is the initial commit; history is newest first.
	hist, err := s.History(hubkit.Model, "alice/pub", "main")
	require.NoError(t, err)
	require.Len(t, hist, 2)
	require.Equal(t, c1, hist[0].ID)
	require.Equal(t, []string{hist[1].ID}, hist[0].Parents)
	require.Equal(t, "initial commit", hist[1].Message)
	// The server tracked the LFS path in .gitattributes.
	ga, err := s.ReadFile(hubkit.Model, "alice/pub", "main", ".gitattributes")
	require.NoError(t, err)
	require.Contains(t, string(ga), "\nw.dat filter=lfs diff=lfs merge=lfs -text\n")
	require.Equal(t, 1, strings.Count(string(ga), "filter=lfs")-strings.Count(hubtest.DefaultGitAttributes, "filter=lfs"))
	// Branches and tags resolve.
	require.NoError(t, s.CreateBranch(hubkit.Model, "alice/pub", "dev", "main"))
	require.NoError(t, s.CreateTag(hubkit.Model, "alice/pub", "v1", "dev"))
	for _, rev := range []string{"main", "dev", "v1", c1, "refs/heads/dev", "HEAD"} {
		h, err := s.Head(hubkit.Model, "alice/pub", rev)
		require.NoError(t, err, rev)
		require.Equal(t, c1, h, rev)
	}
	_, err = s.Head(hubkit.Model, "alice/pub", "nope")
	require.Error(t, err)
}

func TestAuth(t *testing.T) {
	s := newHub(t)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/priv", hubtest.RepoOptions{Private: true}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "acme/gated", hubtest.RepoOptions{Gated: "manual", Approved: []string{"bob"}}))
	require.NoError(t, s.CreateRepo(hubkit.Model, "acme/gated2", hubtest.RepoOptions{Gated: "auto"}))
	api := s.URL() + "/api/models/"
	tests := []struct {
		name, method, url, tok string
		body                   any
		status                 int
		code, msg              string
	}{
		{"anonymous private", "GET", api + "alice/priv", "", nil, 401, "", hubtest.MsgAnonymous},
		{"anonymous missing", "GET", api + "alice/none", "", nil, 401, "", hubtest.MsgAnonymous},
		{"invalid token", "GET", api + "alice/pub", "hf_bogus", nil, 401, "", hubtest.MsgInvalidCredentials},
		{"other user private", "GET", api + "alice/priv", bobW, nil, 404, "RepoNotFound", hubtest.MsgRepoNotFound},
		{"owner private", "GET", api + "alice/priv", aliceR, nil, 200, "", ""},
		{"gated metadata visible", "GET", api + "acme/gated", "", nil, 200, "", ""},
		{"gated anonymous file", "GET", s.URL() + "/acme/gated/resolve/main/.gitattributes", "", nil, 401, "GatedRepo", ""},
		{"gated not approved", "GET", api + "acme/gated2/auth-check", bobW, nil, 403, "GatedRepo", ""},
		{"gated approved", "GET", api + "acme/gated/auth-check", bobW, nil, 200, "", ""},
		{"gated org member", "GET", api + "acme/gated2/auth-check", aliceR, nil, 200, "", ""},
		{"read token write", "PUT", api + "alice/pub/settings", aliceR, map[string]any{"private": true}, 403, "", ""},
		{"other user write", "PUT", api + "alice/pub/settings", bobW, map[string]any{"private": true}, 403, "", ""},
		{"anonymous write", "PUT", api + "alice/pub/settings", "", map[string]any{"private": true}, 401, "", hubtest.MsgAnonymous},
		{"anonymous whoami", "GET", s.URL() + "/api/whoami-v2", "", nil, 401, "", hubtest.MsgAnonymous},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, tc.url, tc.tok, tc.body)
			require.Equal(t, tc.status, r.StatusCode, string(r.body))
			require.Equal(t, tc.code, r.Header.Get("X-Error-Code"))
			require.NotEmpty(t, r.Header.Get("X-Request-Id"))
			require.Contains(t, r.Header.Get("Access-Control-Expose-Headers"), "X-Error-Code")
			if tc.msg != "" {
				require.Equal(t, tc.msg, r.Header.Get("X-Error-Message"))
			}
			if tc.status >= 400 && !strings.Contains(tc.url, "/resolve/") {
				var e struct{ Error string }
				r.json(t, &e)
				require.Equal(t, r.Header.Get("X-Error-Message"), e.Error)
			}
			if tc.msg == hubtest.MsgAnonymous {
				require.Contains(t, r.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}

	// Basic auth with the token as password works on LFS routes.
	req, _ := http.NewRequest("POST", s.URL()+"/alice/priv.git/info/lfs/objects/batch",
		strings.NewReader(`{"operation":"download","transfers":["basic"],"objects":[]}`))
	req.SetBasicAuth("anything", aliceR)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)

	var who struct {
		Name string
		Orgs []struct{ Name string }
		Auth struct {
			Type        string
			AccessToken struct{ Role string }
		}
	}
	call(t, "GET", s.URL()+"/api/whoami-v2", aliceR, nil).json(t, &who)
	require.Equal(t, "alice", who.Name)
	require.Len(t, who.Orgs, 1)
	require.Equal(t, "acme", who.Orgs[0].Name)
	require.Equal(t, "read", who.Auth.AccessToken.Role)
}

func TestRepoLifecycle(t *testing.T) {
	s := newHub(t)
	create := s.URL() + "/api/repos/create"
	r := call(t, "POST", create, aliceW, map[string]any{"name": "m1", "organization": "acme", "type": "model", "visibility": "private"})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var out struct{ URL, Name, ID string }
	r.json(t, &out)
	require.Equal(t, s.URL()+"/acme/m1", out.URL)
	require.True(t, s.Private(hubkit.Model, "acme/m1"))

	r = call(t, "POST", create, aliceW, map[string]any{"name": "d1", "type": "dataset", "private": true})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.True(t, s.Private(hubkit.Dataset, "alice/d1"))

	for _, tc := range []struct {
		name   string
		tok    string
		body   map[string]any
		status int
	}{
		{"exists", aliceW, map[string]any{"name": "m1", "organization": "acme"}, 409},
		{"space without sdk", aliceW, map[string]any{"name": "sp", "type": "space"}, 400},
		{"foreign namespace", bobW, map[string]any{"name": "x", "organization": "acme"}, 403},
		{"read token", aliceR, map[string]any{"name": "x"}, 403},
		{"bad visibility", aliceW, map[string]any{"name": "x", "visibility": "secret"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", create, tc.tok, tc.body)
			require.Equal(t, tc.status, r.StatusCode, string(r.body))
			if tc.status == 409 {
				var e struct{ Error, URL string }
				r.json(t, &e)
				require.Equal(t, s.URL()+"/acme/m1", e.URL)
			}
		})
	}
	r = call(t, "POST", create, aliceW, map[string]any{"name": "sp", "type": "space", "sdk": "gradio"})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.Equal(t, s.URL()+"/spaces/alice/sp", func() string { var o struct{ URL string }; r.json(t, &o); return o.URL }())

	// Settings, current and legacy paths.
	r = call(t, "PUT", s.URL()+"/api/models/acme/m1/settings", aliceW, map[string]any{"visibility": "public", "gated": "auto"})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.False(t, s.Private(hubkit.Model, "acme/m1"))
	require.Equal(t, "auto", s.Gated(hubkit.Model, "acme/m1"))
	r = call(t, "PUT", s.URL()+"/api/repos/model/acme/m1/settings", aliceW, map[string]any{"private": true, "gated": false})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.True(t, s.Private(hubkit.Model, "acme/m1"))
	require.Empty(t, s.Gated(hubkit.Model, "acme/m1"))

	// Delete.
	r = call(t, "DELETE", s.URL()+"/api/repos/delete", aliceW, map[string]any{"name": "m1", "organization": "acme", "type": "model"})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.False(t, s.RepoExists(hubkit.Model, "acme/m1"))
	r = call(t, "DELETE", s.URL()+"/api/repos/delete", aliceW, map[string]any{"name": "m1", "organization": "acme", "type": "model"})
	require.Equal(t, 404, r.StatusCode)
	require.Equal(t, "RepoNotFound", r.Header.Get("X-Error-Code"))
}

func TestRepoInfo(t *testing.T) {
	s := newHub(t)
	c, err := s.Commit(hubkit.Model, "alice/pub", "main", "add", hubtest.File{Path: "a.txt", Content: []byte("abc")},
		hubtest.File{Path: "m.safetensors", Blob: &synth.Blob{Size: 1000, Seed: 1}})
	require.NoError(t, err)
	var info struct {
		ID          string `json:"id"`
		Sha         string `json:"sha"`
		Private     bool
		Gated       any
		UsedStorage int64
		Siblings    []struct {
			Rfilename string
			Size      int64
			BlobID    string
			LFS       *struct {
				SHA256      string
				Size        int64
				PointerSize int
			}
		}
	}
	r := call(t, "GET", s.URL()+"/api/models/alice/pub?blobs=true", "", nil)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	r.json(t, &info)
	require.Equal(t, c, info.Sha)
	require.Equal(t, false, info.Gated)
	require.Len(t, info.Siblings, 3)
	require.Equal(t, "m.safetensors", info.Siblings[2].Rfilename)
	require.Equal(t, int64(1000), info.Siblings[2].Size)
	require.Equal(t, (synth.Blob{Size: 1000, Seed: 1}).SHA256(), info.Siblings[2].LFS.SHA256)
	require.Equal(t, 129, info.Siblings[2].LFS.PointerSize)
	require.Greater(t, info.UsedStorage, int64(1000))

	r = call(t, "GET", s.URL()+"/api/models/alice/pub?expand=private&expand[]=sha", "", nil)
	var m map[string]any
	r.json(t, &m)
	require.ElementsMatch(t, []string{"_id", "id", "private", "sha"}, keys(m))
	require.Equal(t, 400, call(t, "GET", s.URL()+"/api/models/alice/pub?expand=bogus", "", nil).StatusCode)

	r = call(t, "GET", s.URL()+"/api/models/alice/pub/revision/nope", "", nil)
	require.Equal(t, 404, r.StatusCode)
	require.Equal(t, "RevisionNotFound", r.Header.Get("X-Error-Code"))
	require.Equal(t, "Invalid rev id: nope", r.Header.Get("X-Error-Message"))
	require.NoError(t, s.CreateBranch(hubkit.Model, "alice/pub", "refs-test/x", "main"))
	r = call(t, "GET", s.URL()+"/api/models/alice/pub/revision/refs-test%2Fx", "", nil)
	require.Equal(t, 200, r.StatusCode, string(r.body))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

type entry struct {
	Type string
	OID  string
	Size int64
	Path string
	LFS  *struct {
		OID         string
		Size        int64
		PointerSize int
	}
}

// listAll follows Link headers and returns all entries and the number of pages.
func listAll(t *testing.T, u, tok string) ([]entry, int) {
	t.Helper()
	var all []entry
	pages := 0
	linkRE := regexp.MustCompile(`<(https?://[^>]+)>;\s+rel="next"`)
	for u != "" {
		r := call(t, "GET", u, tok, nil)
		require.Equal(t, 200, r.StatusCode, string(r.body))
		var page []entry
		r.json(t, &page)
		all = append(all, page...)
		pages++
		u = ""
		if m := linkRE.FindStringSubmatch(r.Header.Get("Link")); m != nil {
			u = m[1]
		}
		require.Less(t, pages, 1000)
	}
	return all, pages
}

func TestTreePaging(t *testing.T) {
	s := newHub(t, hubtest.WithTreePageSize(3), hubtest.WithoutInitialCommit())
	var files []hubtest.File
	for i := 0; i < 10; i++ {
		files = append(files, hubtest.File{Path: fmt.Sprintf("d/f%02d.txt", i), Content: []byte(strconv.Itoa(i))})
	}
	files = append(files, hubtest.File{Path: "d/sub/x.txt", Content: []byte("x")}, hubtest.File{Path: "top.txt", Content: []byte("t")},
		hubtest.File{Path: "d-sibling.txt", Content: []byte("s")})
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "alice/ds", hubtest.RepoOptions{}))
	_, err := s.Commit(hubkit.Dataset, "alice/ds", "main", "files", files...)
	require.NoError(t, err)
	require.NoError(t, s.CreateBranch(hubkit.Dataset, "alice/ds", "feat/x", "main"))
	base := s.URL() + "/api/datasets/alice/ds/tree/"

	for _, tc := range []struct {
		name  string
		url   string
		paths []string
	}{
		{"recursive", base + "main?recursive=true", append(append([]string{"d"}, paths(files[:10])...), "d/sub", "d/sub/x.txt", "d-sibling.txt", "top.txt")},
		{"root only", base + "main?recursive=false", []string{"d", "d-sibling.txt", "top.txt"}},
		{"folder", base + "main/d?recursive=0", append(paths(files[:10]), "d/sub")},
		{"folder encoded", base + "main/d%2Fsub?recursive=1", []string{"d/sub/x.txt"}},
		{"raw branch with slash", base + "feat/x/d/sub?recursive=1", []string{"d/sub/x.txt"}},
		{"encoded branch", base + "feat%2Fx?recursive=false", []string{"d", "d-sibling.txt", "top.txt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, pages := listAll(t, tc.url, "")
			var gp []string
			for _, e := range got {
				gp = append(gp, e.Path)
			}
			require.Equal(t, tc.paths, gp)
			require.Equal(t, (len(tc.paths)+2)/3, pages)
		})
	}
	got, _ := listAll(t, base+"main/d/sub?recursive=1", "")
	require.Equal(t, "file", got[0].Type)
	require.Equal(t, hubtest.GitBlobOID([]byte("x")), got[0].OID)
	root, _ := listAll(t, base+"main", "")
	require.Equal(t, "directory", root[0].Type)
	require.Regexp(t, `^[0-9a-f]{40}$`, root[0].OID)

	r := call(t, "GET", base+"main/nope", "", nil)
	require.Equal(t, 404, r.StatusCode)
	require.Equal(t, "EntryNotFound", r.Header.Get("X-Error-Code"))
	r = call(t, "GET", base+"nope", "", nil)
	require.Equal(t, "RevisionNotFound", r.Header.Get("X-Error-Code"))

	// paths-info: JSON and form bodies; missing paths are omitted.
	pi := s.URL() + "/api/datasets/alice/ds/paths-info/main"
	var ents []entry
	call(t, "POST", pi, "", map[string]any{"paths": []string{"top.txt", "d/sub", "missing"}}).json(t, &ents)
	require.Len(t, ents, 2)
	require.Equal(t, "directory", ents[1].Type)
	call(t, "POST", pi, "", "paths=top.txt&paths=missing&expand=false", "Content-Type", "application/x-www-form-urlencoded").json(t, &ents)
	require.Len(t, ents, 1)
	require.Equal(t, int64(1), ents[0].Size)
}

func paths(fs []hubtest.File) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Path
	}
	return out
}

func TestTreePagingLargeRepo(t *testing.T) {
	s := newHub(t, hubtest.WithTreePageSize(1000))
	files := make([]hubtest.File, 20000)
	for i := range files {
		files[i] = hubtest.File{Path: fmt.Sprintf("shard%02d/file%05d.json", i%20, i), Content: []byte("{}")}
	}
	_, err := s.Commit(hubkit.Model, "alice/pub", "main", "many", files...)
	require.NoError(t, err)
	start := time.Now()
	got, pages := listAll(t, s.URL()+"/api/models/alice/pub/tree/main?recursive=true", "")
	require.Len(t, got, 20000+20+1) // files, folders, .gitattributes
	require.Equal(t, 21, pages)
	require.Less(t, time.Since(start), 20*time.Second)
}

func TestResolve(t *testing.T) {
	s := newHub(t)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/priv", hubtest.RepoOptions{Private: true}))
	lfsData := bytes.Repeat([]byte("0123456789"), 5000)
	files := []hubtest.File{{Path: "dir/a b.txt", Content: []byte("hello world")}, {Path: "empty.txt"}, {Path: "w.bin", Content: lfsData, LFS: true}}
	c, err := s.Commit(hubkit.Model, "alice/pub", "main", "files", files...)
	require.NoError(t, err)
	_, err = s.Commit(hubkit.Model, "alice/priv", "main", "files", files...)
	require.NoError(t, err)

	// Public regular file: 307 relative to resolve-cache, then 200 with ranges.
	r := call(t, "GET", s.URL()+"/alice/pub/resolve/main/dir/a%20b.txt", aliceR, nil)
	require.Equal(t, 307, r.StatusCode)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/api/resolve-cache/models/alice/pub/"+c+"/dir/a%20b.txt?"), loc)
	require.Equal(t, c, r.Header.Get("X-Repo-Commit"))
	oid := hubtest.GitBlobOID([]byte("hello world"))
	require.Equal(t, `"`+oid+`"`, r.Header.Get("X-Linked-Etag"))
	require.Empty(t, r.Header.Get("X-Linked-Size"))
	r = call(t, "GET", s.URL()+loc, "", nil)
	require.Equal(t, 200, r.StatusCode)
	require.Equal(t, "hello world", string(r.body))
	require.Equal(t, `"`+oid+`"`, r.Header.Get("ETag"))
	r = call(t, "GET", s.URL()+loc, "", nil, "Range", "bytes=6-")
	require.Equal(t, 206, r.StatusCode)
	require.Equal(t, "world", string(r.body))
	require.Equal(t, "bytes 6-10/11", r.Header.Get("Content-Range"))

	// Private regular file and 0-byte file: 200 directly.
	r = call(t, "GET", s.URL()+"/alice/priv/resolve/main/dir/a%20b.txt", aliceR, nil, "Range", "bytes=0-4")
	require.Equal(t, 206, r.StatusCode)
	require.Equal(t, "hello", string(r.body))
	r = call(t, "HEAD", s.URL()+"/alice/pub/resolve/main/empty.txt", "", nil)
	require.Equal(t, 200, r.StatusCode)
	require.Equal(t, "0", r.Header.Get("Content-Length"))

	// LFS: 302 absolute to the CDN, signed, with linked headers; the body is not the file.
	for _, repo := range []string{"alice/pub", "alice/priv"} {
		r = call(t, "HEAD", s.URL()+"/"+repo+"/resolve/"+c[:0]+"main/w.bin", aliceR, nil)
		require.Equal(t, 302, r.StatusCode)
		cdn := r.Header.Get("Location")
		require.True(t, strings.HasPrefix(cdn, s.CDNURL()+"/"), cdn)
		require.Contains(t, cdn, "Signature=")
		require.Equal(t, `"`+sha(lfsData)+`"`, r.Header.Get("X-Linked-Etag"))
		require.Equal(t, strconv.Itoa(len(lfsData)), r.Header.Get("X-Linked-Size"))
		require.NotEqual(t, strconv.Itoa(len(lfsData)), r.Header.Get("Content-Length"))
		require.NotEmpty(t, r.Header.Get("X-Repo-Commit"))

		r = call(t, "GET", cdn, "", nil)
		require.Equal(t, 200, r.StatusCode)
		require.Equal(t, lfsData, r.body)
		require.NotContains(t, r.Header.Get("ETag"), sha(lfsData))
		r = call(t, "GET", cdn, "", nil, "Range", "bytes=10-19")
		require.Equal(t, 206, r.StatusCode)
		require.Equal(t, lfsData[10:20], r.body)
		require.Equal(t, fmt.Sprintf("bytes 10-19/%d", len(lfsData)), r.Header.Get("Content-Range"))
		r = call(t, "GET", cdn, "", nil, "Range", "bytes=99999999-")
		require.Equal(t, 416, r.StatusCode)
		// Tampered signature.
		r = call(t, "GET", strings.Replace(cdn, "Signature=", "Signature=00", 1), "", nil)
		require.Equal(t, 403, r.StatusCode)
	}
	require.Empty(t, s.AuthLeaks())

	// raw serves the pointer of LFS files.
	r = call(t, "GET", s.URL()+"/alice/pub/raw/main/w.bin", "", nil)
	require.Equal(t, 200, r.StatusCode)
	require.Equal(t, hubtest.LFSPointer(sha(lfsData), int64(len(lfsData))), string(r.body))

	// Missing entry: text body.
	r = call(t, "GET", s.URL()+"/alice/pub/resolve/main/nope.txt", "", nil)
	require.Equal(t, 404, r.StatusCode)
	require.Equal(t, "EntryNotFound", r.Header.Get("X-Error-Code"))
	require.Equal(t, "Entry not found", string(r.body))
	require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain"))
	r = call(t, "GET", s.URL()+"/alice/pub/resolve/nope/w.bin", "", nil)
	require.Equal(t, "RevisionNotFound", r.Header.Get("X-Error-Code"))
}

func TestCDNRefusesCredentials(t *testing.T) {
	s := newHub(t)
	_, err := s.Commit(hubkit.Model, "alice/pub", "main", "f", hubtest.File{Path: "w.bin", Blob: &synth.Blob{Size: 4096, Seed: 9}})
	require.NoError(t, err)
	// Go's client forwards Authorization on a redirect to the same host name (only the port
	// differs here), which the storage host must catch.
	req, _ := http.NewRequest("GET", s.URL()+"/alice/pub/resolve/main/w.bin", nil)
	req.Header.Set("Authorization", "Bearer "+aliceW)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 400, resp.StatusCode)
	require.Contains(t, string(body), "Only one auth mechanism allowed")
	leaks := s.AuthLeaks()
	require.Len(t, leaks, 1)
	require.Contains(t, leaks[0], "(Authorization)")
	require.NotContains(t, leaks[0], aliceW)

	r := call(t, "GET", s.CDNURL()+"/anything", "", nil, "Cookie", "token=x")
	require.Equal(t, 400, r.StatusCode)
	require.Len(t, s.AuthLeaks(), 2)
}

type batchObj struct {
	OID     string
	Size    int64
	Actions map[string]struct {
		Href   string
		Header map[string]string
	}
	Error *struct {
		Code    int
		Message string
	}
}

type batchResp struct {
	Transfer string
	Objects  []batchObj
}

func batch(t testing.TB, s *hubtest.Server, repoPath, tok, op string, transfers []string, objs ...map[string]any) batchResp {
	t.Helper()
	r := call(t, "POST", s.URL()+"/"+repoPath+".git/info/lfs/objects/batch", tok,
		map[string]any{"operation": op, "transfers": transfers, "objects": objs, "hash_algo": "sha_256", "ref": map[string]string{"name": "main"}},
		"Accept", "application/vnd.git-lfs+json", "Content-Type", "application/vnd.git-lfs+json")
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var out batchResp
	r.json(t, &out)
	return out
}

func obj(data []byte) map[string]any { return map[string]any{"oid": sha(data), "size": len(data)} }

func commitNDJSON(t *testing.T, s *hubtest.Server, repoPath, tok string, lines ...any) reply {
	t.Helper()
	var b strings.Builder
	for _, l := range lines {
		switch v := l.(type) {
		case string:
			b.WriteString(v)
		default:
			j, err := json.Marshal(v)
			require.NoError(t, err)
			b.Write(j)
		}
		b.WriteString("\n")
	}
	return call(t, "POST", s.URL()+"/api/models/"+repoPath+"/commit/main", tok, b.String(), "Content-Type", "application/x-ndjson")
}

func hdr(summary string) map[string]any {
	return map[string]any{"key": "header", "value": map[string]any{"summary": summary, "description": ""}}
}

func TestLFSBasicUpload(t *testing.T) {
	s := newHub(t)
	data := bytes.Repeat([]byte{0, 1, 2, 3}, 1<<16)
	b := batch(t, s, "alice/pub", aliceW, "upload", []string{"basic", "multipart", "xet"}, obj(data))
	require.Equal(t, "basic", b.Transfer)
	up := b.Objects[0].Actions["upload"]
	require.True(t, strings.HasPrefix(up.Href, s.CDNURL()), up.Href)
	require.NotEmpty(t, b.Objects[0].Actions["verify"].Href)

	// Wrong bytes of the right length are refused and nothing is stored.
	bad := append([]byte(nil), data...)
	bad[100] ^= 1
	r := call(t, "PUT", up.Href, "", bad)
	require.Equal(t, 400, r.StatusCode)
	require.False(t, s.HasLFSObject(sha(data)))
	// Credentials on the storage host are refused.
	r = call(t, "PUT", up.Href, aliceW, data)
	require.Equal(t, 400, r.StatusCode)
	require.Len(t, s.AuthLeaks(), 1)
	// A cut upload stores nothing.
	remove := s.Faults().Add(fault.Rule{Route: hubtest.RouteLFSUpload, Times: 1, CutAfter: 1000})
	req, _ := http.NewRequest("PUT", up.Href, bytes.NewReader(data))
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		require.NotEqual(t, 200, resp.StatusCode)
	}
	remove()
	require.False(t, s.HasLFSObject(sha(data)))

	r = call(t, "PUT", up.Href, "", data)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.True(t, s.HasLFSObject(sha(data)))

	// Verify, then the batch answers without actions. git-lfs sends only the action's own
	// header, which must authenticate on its own.
	verify := b.Objects[0].Actions["verify"]
	require.True(t, strings.HasPrefix(verify.Header["Authorization"], "Basic "), verify.Header)
	r = call(t, "POST", verify.Href, "", obj(data))
	require.Equal(t, 401, r.StatusCode, "verify without credentials")
	r = call(t, "POST", verify.Href, "", obj(data), "Authorization", verify.Header["Authorization"])
	require.Equal(t, 200, r.StatusCode, string(r.body))
	r = call(t, "POST", b.Objects[0].Actions["verify"].Href, aliceW, obj(data))
	require.Equal(t, 200, r.StatusCode, string(r.body))
	r = call(t, "POST", b.Objects[0].Actions["verify"].Href, aliceW, map[string]any{"oid": sha(data), "size": 3})
	require.Equal(t, 422, r.StatusCode)
	b = batch(t, s, "alice/pub", aliceW, "upload", []string{"basic"}, obj(data), map[string]any{"oid": "xyz", "size": 1},
		map[string]any{"oid": sha(data), "size": 5})
	require.Empty(t, b.Objects[0].Actions)
	require.Nil(t, b.Objects[0].Error)
	require.Equal(t, 422, b.Objects[1].Error.Code)
	require.Equal(t, 422, b.Objects[2].Error.Code)

	// Commit it and download through the batch API.
	r = commitNDJSON(t, s, "alice/pub", aliceW, hdr("add weights"), "",
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.dat", "algo": "sha256", "oid": sha(data), "size": len(data)}})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	got, err := s.ReadFile(hubkit.Model, "alice/pub", "main", "w.dat")
	require.NoError(t, err)
	require.Equal(t, data, got)
	b = batch(t, s, "alice/pub", "", "download", []string{"basic"}, obj(data), obj([]byte("missing")))
	require.Equal(t, 404, b.Objects[1].Error.Code)
	r = call(t, "GET", b.Objects[0].Actions["download"].Href, "", nil)
	require.Equal(t, data, r.body)
	// Read tokens cannot upload.
	r = call(t, "POST", s.URL()+"/alice/pub.git/info/lfs/objects/batch", aliceR,
		map[string]any{"operation": "upload", "objects": []any{obj(data)}})
	require.Equal(t, 403, r.StatusCode)
}

func TestLFSMultipart(t *testing.T) {
	s := newHub(t, hubtest.WithMultipartThreshold(1000), hubtest.WithChunkSize(400))
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i * 7)
	}
	b := batch(t, s, "alice/pub", aliceW, "upload", []string{"basic", "multipart"}, obj(data), obj([]byte("small")))
	require.Equal(t, "multipart", b.Transfer)
	require.Nil(t, b.Objects[1].Actions["upload"].Header, "objects below the threshold use basic")
	up := b.Objects[0].Actions["upload"]
	require.Equal(t, "400", up.Header["chunk_size"])
	require.Len(t, up.Header, 4)
	require.True(t, strings.HasPrefix(up.Href, s.URL()+"/"), "completion is on the Hub host")

	etags := map[int]string{}
	for n := 1; n <= 3; n++ {
		u := up.Header[fmt.Sprintf("%05d", n)]
		require.True(t, strings.HasPrefix(u, s.CDNURL()), u)
		part := data[(n-1)*400 : min(n*400, 1000)]
		// A part of the wrong size is refused.
		require.Equal(t, 400, call(t, "PUT", u, "", part[:len(part)-1]).StatusCode)
		r := call(t, "PUT", u, "", part)
		require.Equal(t, 200, r.StatusCode, string(r.body))
		etags[n] = r.Header.Get("ETag")
		require.Regexp(t, `^".+"$`, etags[n])
	}
	parts := func(order ...int) []map[string]any {
		var out []map[string]any
		for _, n := range order {
			out = append(out, map[string]any{"partNumber": n, "etag": etags[n]})
		}
		return out
	}
	for _, tc := range []struct {
		name string
		body map[string]any
	}{
		{"missing part", map[string]any{"oid": sha(data), "parts": parts(1, 2)}},
		{"out of order", map[string]any{"oid": sha(data), "parts": parts(2, 1, 3)}},
		{"wrong etag", map[string]any{"oid": sha(data), "parts": []map[string]any{{"partNumber": 1, "etag": etags[1]}, {"partNumber": 2, "etag": `"x"`}, {"partNumber": 3, "etag": etags[3]}}}},
		{"wrong oid", map[string]any{"oid": sha([]byte("x")), "parts": parts(1, 2, 3)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, "POST", up.Href, "", tc.body)
			require.Equal(t, 400, r.StatusCode, string(r.body))
			require.False(t, s.HasLFSObject(sha(data)))
		})
	}
	r := call(t, "POST", up.Href, "", map[string]any{"oid": sha(data), "parts": parts(1, 2, 3)})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.True(t, s.HasLFSObject(sha(data)))
	// A tampered completion URL is refused.
	require.Equal(t, 403, call(t, "POST", up.Href+"0", "", map[string]any{}).StatusCode)
}

func TestBigSyntheticBlobs(t *testing.T) {
	const limit = 1 << 20
	s := newHub(t, hubtest.WithMemoryLimit(limit), hubtest.WithMultipartThreshold(2<<20), hubtest.WithChunkSize(1<<20))
	basic := synth.Blob{Size: limit + 12345, Seed: 1}
	multi := synth.Blob{Size: 3<<20 + 1, Seed: 2}
	basicOID, multiOID := basic.SHA256(), multi.SHA256()
	notSynth := map[string]any{"oid": strings.Repeat("ab", 32), "size": limit + 1}

	b := batch(t, s, "alice/pub", aliceW, "upload", []string{"basic", "multipart"},
		map[string]any{"oid": basicOID, "size": basic.Size}, map[string]any{"oid": multiOID, "size": multi.Size}, notSynth)
	require.Equal(t, 507, b.Objects[2].Error.Code)
	require.Contains(t, b.Objects[2].Error.Message, "memory limit")

	put := func(u string, r io.Reader, n int64) *http.Response {
		req, err := http.NewRequest("PUT", u, r)
		require.NoError(t, err)
		req.ContentLength = n
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// Wrong content above the limit is caught by comparing with the synthetic blob.
	wrong := synth.Blob{Size: basic.Size, Seed: 3}
	require.Equal(t, 400, put(b.Objects[0].Actions["upload"].Href, wrong.NewReader(0, wrong.Size), wrong.Size).StatusCode)
	require.Equal(t, 200, put(b.Objects[0].Actions["upload"].Href, basic.NewReader(0, basic.Size), basic.Size).StatusCode)

	up := b.Objects[1].Actions["upload"]
	var parts []map[string]any
	for n := 1; n <= 4; n++ {
		off := int64(n-1) << 20
		sz := min(1<<20, multi.Size-off)
		resp := put(up.Header[fmt.Sprintf("%05d", n)], multi.NewReader(off, sz), sz)
		require.Equal(t, 200, resp.StatusCode)
		parts = append(parts, map[string]any{"partNumber": n, "etag": resp.Header.Get("ETag")})
	}
	r := call(t, "POST", up.Href, "", map[string]any{"oid": multiOID, "parts": parts})
	require.Equal(t, 200, r.StatusCode, string(r.body))

	r = commitNDJSON(t, s, "alice/pub", aliceW, hdr("big"),
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": "a.bin", "algo": "sha256", "oid": basicOID, "size": basic.Size}},
		map[string]any{"key": "lfsFile", "value": map[string]any{"path": "b.bin", "algo": "sha256", "oid": multiOID, "size": multi.Size}})
	require.Equal(t, 200, r.StatusCode, string(r.body))
	// Served from the synthetic blob, ranges included.
	r = call(t, "GET", s.URL()+"/alice/pub/resolve/main/b.bin", "", nil)
	require.Equal(t, 302, r.StatusCode)
	r = call(t, "GET", r.Header.Get("Location"), "", nil, "Range", "bytes=3145700-")
	require.Equal(t, 206, r.StatusCode)
	require.Equal(t, multi.Bytes()[3145700:], r.body)
}

func TestCommitErrors(t *testing.T) {
	s := newHub(t)
	head, err := s.Commit(hubkit.Model, "alice/pub", "main", "seed", hubtest.File{Path: "keep.txt", Content: []byte("k")},
		hubtest.File{Path: "dir/x.txt", Content: []byte("x")})
	require.NoError(t, err)
	file := func(p string) map[string]any {
		return map[string]any{"key": "file", "value": map[string]any{"path": p, "content": base64.StdEncoding.EncodeToString([]byte("c")), "encoding": "base64"}}
	}
	for _, tc := range []struct {
		name   string
		lines  []any
		status int
		code   string
	}{
		{"stale parent", []any{map[string]any{"key": "header", "value": map[string]any{"summary": "s", "parentCommit": strings.Repeat("0", 40)}}, file("n.txt")}, 412, ""},
		{"dotdot", []any{hdr("s"), file("../x")}, 422, ""},
		{"absolute", []any{hdr("s"), file("/etc/x")}, 422, ""},
		{"backslash", []any{hdr("s"), file(`..\x`)}, 422, ""},
		{"nul", []any{hdr("s"), file("a\x00b")}, 422, ""},
		{"newline", []any{hdr("s"), file("a\nb.txt")}, 422, ""},
		{"carriage return", []any{hdr("s"), file("a\rb.txt")}, 422, ""},
		{"tab", []any{hdr("s"), file("a\tb.txt")}, 422, ""},
		{"escape", []any{hdr("s"), file("a\x1b[31mb.txt")}, 422, ""},
		{"unit separator", []any{hdr("s"), file("dir/\x1f")}, 422, ""},
		{"del", []any{hdr("s"), file("a\x7fb.txt")}, 422, ""},
		{"dot git", []any{hdr("s"), file(".git/config")}, 422, ""},
		{"file under a file", []any{hdr("s"), file("keep.txt/y")}, 422, ""},
		{"missing delete", []any{hdr("s"), file("ok.txt"), map[string]any{"key": "deletedFile", "value": map[string]any{"path": "nope.txt"}}}, 404, "EntryNotFound"},
		{"missing folder", []any{hdr("s"), map[string]any{"key": "deletedFolder", "value": map[string]any{"path": "nodir"}}}, 404, "EntryNotFound"},
		{"lfs not uploaded", []any{hdr("s"), map[string]any{"key": "lfsFile", "value": map[string]any{"path": "w.bin", "algo": "sha256", "oid": strings.Repeat("1", 64), "size": 1}}}, 422, ""},
		{"no header", []any{file("a.txt")}, 400, ""},
		{"bad json", []any{hdr("s"), "{not json"}, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := commitNDJSON(t, s, "alice/pub", aliceW, tc.lines...)
			require.Equal(t, tc.status, r.StatusCode, string(r.body))
			require.Equal(t, tc.code, r.Header.Get("X-Error-Code"))
			// Atomic: nothing changed.
			h, err := s.Head(hubkit.Model, "alice/pub", "main")
			require.NoError(t, err)
			require.Equal(t, head, h)
		})
	}
	// Blank lines, utf-8 content, delete folder, correct parent.
	r := commitNDJSON(t, s, "alice/pub", aliceW,
		map[string]any{"key": "header", "value": map[string]any{"summary": "ok", "description": "d", "parentCommit": head}}, "", "",
		map[string]any{"key": "file", "value": map[string]any{"path": "u.txt", "content": "héllo", "encoding": "utf-8"}},
		map[string]any{"key": "deletedFolder", "value": map[string]any{"path": "dir/"}}, "")
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var out struct {
		Success   bool
		CommitOid string
		CommitURL string
	}
	r.json(t, &out)
	require.True(t, out.Success)
	require.Equal(t, s.URL()+"/alice/pub/commit/"+out.CommitOid, out.CommitURL)
	files, err := s.Files(hubkit.Model, "alice/pub", "main")
	require.NoError(t, err)
	require.Equal(t, []string{".gitattributes", "keep.txt", "u.txt"}, func() []string {
		var p []string
		for _, f := range files {
			p = append(p, f.Path)
		}
		return p
	}())
	hist, _ := s.History(hubkit.Model, "alice/pub", "main")
	require.Equal(t, "ok\n\nd", hist[0].Message)

	// create_pr makes refs/pr/1.
	r = call(t, "POST", s.URL()+"/api/models/alice/pub/commit/main?create_pr=1", aliceW,
		`{"key":"header","value":{"summary":"pr"}}`+"\n"+`{"key":"file","value":{"path":"pr.txt","content":"cA==","encoding":"base64"}}`)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	var pr struct{ PullRequestURL string }
	r.json(t, &pr)
	require.Equal(t, s.URL()+"/alice/pub/discussions/1", pr.PullRequestURL)
	got, err := s.ReadFile(hubkit.Model, "alice/pub", "refs/pr/1", "pr.txt")
	require.NoError(t, err)
	require.Equal(t, "p", string(got))
	r = call(t, "GET", s.URL()+"/api/models/alice/pub/tree/refs/pr/1", "", nil)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	require.Contains(t, string(r.body), "pr.txt")
}

func TestPreupload(t *testing.T) {
	s := newHub(t)
	head, err := s.Commit(hubkit.Model, "alice/pub", "main", "seed", hubtest.File{Path: "same.txt", Content: []byte("same")})
	require.NoError(t, err)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	body := map[string]any{"files": []map[string]any{
		{"path": "README.md", "sample": b64("# hi"), "size": 4},
		{"path": "model.safetensors", "sample": b64("{}"), "size": 2},
		{"path": "data.raw", "sample": b64("a\x00b"), "size": 3},
		{"path": "big.txt", "sample": b64("aaaa"), "size": 10 << 20},
		{"path": "empty.bin", "sample": "", "size": 0},
		{"path": "same.txt", "sample": b64("same"), "size": 4},
		{"path": "custom.foo", "sample": b64("x"), "size": 1},
	}, "gitAttributes": DefaultPlus("*.foo filter=lfs diff=lfs merge=lfs -text")}
	var out struct {
		Files []struct {
			Path, UploadMode, OID string
			ShouldIgnore          bool
		}
		CommitOid string
	}
	r := call(t, "POST", s.URL()+"/api/models/alice/pub/preupload/main", aliceW, body)
	require.Equal(t, 200, r.StatusCode, string(r.body))
	r.json(t, &out)
	require.Equal(t, head, out.CommitOid)
	modes := map[string]string{}
	for _, f := range out.Files {
		modes[f.Path] = f.UploadMode
	}
	require.Equal(t, map[string]string{"README.md": "regular", "model.safetensors": "lfs", "data.raw": "lfs", "big.txt": "lfs",
		"empty.bin": "regular", "same.txt": "regular", "custom.foo": "lfs"}, modes)
	require.Equal(t, hubtest.GitBlobOID([]byte("same")), out.Files[5].OID)

	many := make([]map[string]any, hubtest.MaxPreuploadFiles+1)
	for i := range many {
		many[i] = map[string]any{"path": fmt.Sprint(i), "sample": "", "size": 0}
	}
	require.Equal(t, 400, call(t, "POST", s.URL()+"/api/models/alice/pub/preupload/main", aliceW, map[string]any{"files": many}).StatusCode)
	require.Equal(t, 404, call(t, "POST", s.URL()+"/api/models/alice/pub/preupload/nope", aliceW, map[string]any{"files": []any{}}).StatusCode)
}

// DefaultPlus returns the Hub's default .gitattributes plus one line.
func DefaultPlus(line string) string { return hubtest.DefaultGitAttributes + line + "\n" }

func TestFaultsAndStorageLock(t *testing.T) {
	s := newHub(t)
	data := bytes.Repeat([]byte("z"), 100000)
	_, err := s.Commit(hubkit.Model, "alice/pub", "main", "f", hubtest.File{Path: "w.bin", Content: data, LFS: true})
	require.NoError(t, err)

	// 429 with rate-limit headers and the Hub's error body.
	s.Faults().Add(fault.Rule{Route: hubtest.RouteTree, Times: 1, Status: 429, RetryAfter: 2 * time.Second})
	r := call(t, "GET", s.URL()+"/api/models/alice/pub/tree/main", "", nil)
	require.Equal(t, 429, r.StatusCode)
	require.Equal(t, "2", r.Header.Get("Retry-After"))
	require.Contains(t, r.Header.Get("RateLimit"), "r=0")
	require.NotEmpty(t, r.Header.Get("X-Error-Message"))
	require.Equal(t, 200, call(t, "GET", s.URL()+"/api/models/alice/pub/tree/main", "", nil).StatusCode)
	require.Equal(t, 2, s.Faults().Count(hubtest.RouteTree))

	// 503 on resolve has a text body.
	s.Faults().Add(fault.Rule{Route: hubtest.RouteResolve, Times: 1, Status: 503})
	r = call(t, "GET", s.URL()+"/alice/pub/resolve/main/w.bin", "", nil)
	require.Equal(t, 503, r.StatusCode)
	require.True(t, strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain"))

	cdn := call(t, "GET", s.URL()+"/alice/pub/resolve/main/w.bin", "", nil).Header.Get("Location")
	// Corrupted bytes on the CDN.
	s.Faults().Add(fault.Rule{Route: hubtest.RouteCDN, Times: 1, Corrupt: true})
	r = call(t, "GET", cdn, "", nil)
	require.Len(t, r.body, len(data))
	require.NotEqual(t, data, r.body)
	// Cut connection after 1000 bytes.
	s.Faults().Add(fault.Rule{Route: hubtest.RouteCDN, Times: 1, CutAfter: 1000})
	resp, err := http.Get(cdn)
	require.NoError(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Error(t, err)
	require.Less(t, len(got), len(data))
	r = call(t, "GET", cdn, "", nil)
	require.Equal(t, data, r.body)

	// Storage lock: API listings and resolve refuse, LFS batch download still works.
	s.SetStorageLock(hubkit.Model, "alice/pub", true)
	for _, u := range []string{"/api/models/alice/pub", "/api/models/alice/pub/tree/main", "/alice/pub/resolve/main/w.bin"} {
		r = call(t, "GET", s.URL()+u, aliceR, nil)
		require.Equal(t, 403, r.StatusCode, u)
		require.Equal(t, hubtest.StorageLockedMessage, r.Header.Get("X-Error-Message"), u)
	}
	b := batch(t, s, "alice/pub", aliceR, "download", []string{"basic"}, obj(data))
	r = call(t, "GET", b.Objects[0].Actions["download"].Href, "", nil)
	require.Equal(t, data, r.body)
	s.SetStorageLock(hubkit.Model, "alice/pub", false)
	require.Equal(t, 200, call(t, "GET", s.URL()+"/api/models/alice/pub", "", nil).StatusCode)
}

func TestRefsBranchesTags(t *testing.T) {
	s := newHub(t)
	base := s.URL() + "/api/models/alice/pub/"
	require.Equal(t, 200, call(t, "POST", base+"branch/dev", aliceW, map[string]any{"startingPoint": "main"}).StatusCode)
	require.Equal(t, 409, call(t, "POST", base+"branch/dev", aliceW, nil).StatusCode)
	require.Equal(t, 200, call(t, "POST", base+"tag/dev", aliceW, map[string]any{"tag": "v1"}).StatusCode)
	require.Equal(t, 409, call(t, "POST", base+"tag/main", aliceW, map[string]any{"tag": "v1"}).StatusCode)
	var refs struct {
		Branches []struct{ Name, Ref, TargetCommit string }
		Tags     []struct{ Name string }
	}
	call(t, "GET", base+"refs", "", nil).json(t, &refs)
	require.Len(t, refs.Branches, 2)
	require.Equal(t, "refs/heads/dev", refs.Branches[0].Ref)
	require.Equal(t, "v1", refs.Tags[0].Name)
	require.Equal(t, 200, call(t, "DELETE", base+"branch/dev", aliceW, nil).StatusCode)
	_, err := s.Head(hubkit.Model, "alice/pub", "dev")
	require.Error(t, err)
}
