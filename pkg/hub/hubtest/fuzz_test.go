package hubtest

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// unsafeRepoPath is an independent statement of the paths a Hub must never store: empty,
// absolute, escaping or dot segments, backslashes, NUL, and anything inside .git.
func unsafeRepoPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return true
	}
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." || s == ".git" {
			return true
		}
	}
	return false
}

// FuzzCommitNDJSON: the fake's NDJSON commit endpoint never panics on an arbitrary body, answers
// every body (2xx or a 4xx with a message, never a dropped connection or a 5xx), and never stores
// an unsafe path; a refused commit changes nothing.
func FuzzCommitNDJSON(f *testing.F) {
	f.Add([]byte(`{"key":"header","value":{"summary":"Upload","description":""}}` + "\n" +
		`{"key":"file","value":{"path":"a.txt","content":"aGk=","encoding":"base64"}}` + "\n"))
	s := NewServer()
	f.Cleanup(s.Close)
	s.AddUser("alice")
	s.AddToken("hf_fuzzCommitToken", "alice", RoleWrite)
	hc := &http.Client{Timeout: 10 * time.Second}
	var n int
	f.Fuzz(func(t *testing.T, body []byte) {
		// A fresh repo each time, seeded with a regular file and an LFS object the body may use.
		n++
		id := "alice/r" + strconv.Itoa(n)
		require.NoError(t, s.CreateRepo(hubkit.Model, id, RepoOptions{}))
		defer func() {
			s.mu.Lock()
			delete(s.repos, repoKey(hubkit.Model, id))
			s.mu.Unlock()
		}()
		_, err := s.Commit(hubkit.Model, id, "main", "seed",
			File{Path: "README.md", Content: []byte("# hi\n")},
			File{Path: "weights.bin", Content: []byte("lfs object\n"), LFS: true})
		require.NoError(t, err)
		before, err := s.Head(hubkit.Model, id, "main")
		require.NoError(t, err)

		req, err := http.NewRequest(http.MethodPost, s.URL()+"/api/models/"+id+"/commit/main", bytes.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer hf_fuzzCommitToken")
		req.Header.Set("Content-Type", "application/x-ndjson")
		resp, err := hc.Do(req)
		require.NoError(t, err, "the fake dropped the connection (a handler panic?)")
		_ = resp.Body.Close()
		require.Less(t, resp.StatusCode, 500, "the fake answered %d", resp.StatusCode)

		after, err := s.Head(hubkit.Model, id, "main")
		require.NoError(t, err)
		if resp.StatusCode != http.StatusOK {
			require.GreaterOrEqual(t, resp.StatusCode, 400)
			require.NotEmpty(t, resp.Header.Get("X-Error-Message"), "a refusal without a message")
			require.Equal(t, before, after, "a refused commit moved the branch")
			return
		}
		files, err := s.Files(hubkit.Model, id, "main")
		require.NoError(t, err)
		for _, fi := range files {
			require.False(t, unsafeRepoPath(fi.Path), "the fake stored the unsafe path %q", fi.Path)
		}
	})
}
