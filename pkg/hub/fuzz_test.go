package hub

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/hub/hubtest"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Fuzz tests for what the Hugging Face client reads from untrusted places: LFS pointer files
// (git fallback), error answers (status, X-Error-Code, X-Error-Message, body), and the NDJSON
// commit body it writes, which the fake Hub must read back to the same operations. Seeds live in
// testdata/fuzz/FuzzXxx and run as plain tests. Tree pages and Link cursors are fuzzed through
// the engine's adapter in pkg/migrate (FuzzHFListing), where the planner's path check applies.

var pointerSize = regexp.MustCompile(`(?m)^size ([0-9]+)$`)

// FuzzParseLFSPointer: ParseLFSPointer never panics; an accepted pointer is small, has a
// lower-case SHA-256 and a non-negative size that its text spells as plain digits, has exactly
// one oid and one size line, and re-encoding it canonically parses back to the same object.
func FuzzParseLFSPointer(f *testing.F) {
	f.Add([]byte(hubtest.LFSPointer(strings.Repeat("ab", 32), 1234)))
	f.Fuzz(func(t *testing.T, b []byte) {
		info, ok := ParseLFSPointer(b)
		if !ok {
			require.Nil(t, info)
			return
		}
		require.Less(t, len(b), MaxLFSPointerSize)
		require.True(t, bytes.HasSuffix(b, []byte("\n")))
		require.True(t, bytes.HasPrefix(b, []byte("version https://")))
		require.GreaterOrEqual(t, info.Size, int64(0))
		require.Len(t, info.OID, 64)
		require.True(t, isHex(info.OID), "oid %q", info.OID)
		require.Equal(t, int64(len(b)), info.PointerSize)
		require.Equal(t, 1, bytes.Count(b, []byte("\noid ")), "oid lines in %q", b)
		require.Equal(t, 1, bytes.Count(b, []byte("\nsize ")), "size lines in %q", b)
		m := pointerSize.FindSubmatch(b)
		require.NotNil(t, m, "size is not plain digits in %q", b)
		n, err := strconv.ParseInt(string(m[1]), 10, 64)
		require.NoError(t, err)
		require.Equal(t, n, info.Size)

		canon := []byte(hubtest.LFSPointer(info.OID, info.Size))
		again, ok := ParseLFSPointer(canon)
		require.True(t, ok, "canonical pointer %q rejected", canon)
		require.Equal(t, info.OID, again.OID)
		require.Equal(t, info.Size, again.Size)
	})
}

const fuzzToken = "hf_FAKE-fuzz-secret-token"

// FuzzHubError: whatever status, X-Error-Code, X-Error-Message, Retry-After and body the Hub
// answers, newError never panics, the error matches exactly the kinds its status and code call
// for, its text is bounded and never shows the token, and a 2xx is never an error.
func FuzzHubError(f *testing.F) {
	f.Add(404, "RepoNotFound", "Repository not found", "", `{"error":"Repository not found"}`, uint8(1), false)
	f.Fuzz(func(t *testing.T, status int, code, msg, retryAfter, body string, route uint8, anon bool) {
		if status < 100 || status > 599 {
			return
		}
		c := NewClient(WithEndpoint("http://127.0.0.1:1"), WithToken(fuzzToken))
		if anon {
			c = NewClient(WithEndpoint("http://127.0.0.1:1"))
		}
		h := http.Header{}
		for k, v := range map[string]string{"X-Error-Code": code, "X-Error-Message": msg, "Retry-After": retryAfter} {
			if v != "" {
				h.Set(k, v)
			}
		}
		resp := &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(strings.NewReader(body))}
		rc := routeClass(route % 4)
		err := c.checkResponse("fuzz", rc, resp)
		if status >= 200 && status < 300 {
			require.NoError(t, err)
			return
		}
		var e *Error
		require.ErrorAs(t, err, &e)
		require.Equal(t, status, e.StatusCode)
		require.LessOrEqual(t, len(e.Message), 503)
		require.NotContains(t, e.Error(), fuzzToken)

		kinds := []error{hubkit.ErrNotFound, hubkit.ErrUnauthorized, hubkit.ErrForbidden, hubkit.ErrGated, hubkit.ErrStorageLocked,
			hubkit.ErrRateLimited, hubkit.ErrConflict, hubkit.ErrInvalid, hubkit.ErrServer}
		matched := 0
		for _, k := range kinds {
			if errors.Is(err, k) {
				matched++
			}
		}
		require.Positive(t, matched, "%v matches no kind", err)
		switch code := h.Get("X-Error-Code"); {
		case code == "RepoNotFound" || code == "RevisionNotFound" || code == "EntryNotFound":
			require.ErrorIs(t, err, hubkit.ErrNotFound)
		case code == "GatedRepo":
			require.ErrorIs(t, err, hubkit.ErrGated)
		case status == http.StatusTooManyRequests:
			require.ErrorIs(t, err, hubkit.ErrRateLimited)
			if secs, perr := strconv.Atoi(strings.TrimSpace(retryAfter)); perr == nil && secs >= 0 {
				require.False(t, e.RetryAt.Before(time.Now().Add(-time.Minute)),
					"Retry-After %q put the reset in the past: %s", retryAfter, e.RetryAt)
			}
		case status >= 500:
			require.ErrorIs(t, err, hubkit.ErrServer)
		case status == http.StatusConflict || status == http.StatusPreconditionFailed:
			require.ErrorIs(t, err, hubkit.ErrConflict)
		}
		if errors.Is(err, hubkit.ErrGated) || errors.Is(err, hubkit.ErrStorageLocked) {
			require.True(t, errors.Is(err, hubkit.ErrForbidden) || errors.Is(err, hubkit.ErrUnauthorized))
		}
	})
}

// niceCommitPath is a path every Hub must accept: plain name segments, no dots-only segment,
// nothing git-reserved.
var niceCommitPath = regexp.MustCompile(`^[A-Za-z0-9_-][A-Za-z0-9_.-]*(/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$`)

// related reports whether a and b cannot both be files in one tree.
func related(a, b string) bool {
	return a == b || strings.HasPrefix(a, b+"/") || strings.HasPrefix(b, a+"/")
}

// FuzzCommitNDJSON: the client's NDJSON commit body for a regular file, an LFS file and a
// deletion, sent to the fake Hub, commits exactly those operations: the file's path and bytes,
// the LFS pointer's path and object, the summary. Paths the Hub must accept are accepted; an
// empty path is refused before anything is sent.
func FuzzCommitNDJSON(f *testing.F) {
	f.Add("config.json", []byte(`{"a":1}`), "model.safetensors", "Upload model", "", true)
	f.Fuzz(func(t *testing.T, p1 string, content []byte, p2, summary, desc string, del bool) {
		s := hubtest.NewServer()
		defer s.Close()
		s.AddUser("alice")
		s.AddToken(fuzzToken, "alice", hubtest.RoleWrite)
		lfsData := []byte("fuzz lfs object\n")
		require.NoError(t, s.CreateRepo(hubkit.Model, "alice/model", hubtest.RepoOptions{}))
		_, err := s.Commit(hubkit.Model, "alice/model", "main", "seed",
			hubtest.File{Path: "README.md", Content: []byte("# hi\n")},
			hubtest.File{Path: "weights.bin", Content: lfsData, LFS: true})
		require.NoError(t, err)
		var lfsOID string
		files, err := s.Files(hubkit.Model, "alice/model", "main")
		require.NoError(t, err)
		for _, fi := range files {
			if fi.Path == "weights.bin" {
				lfsOID = fi.SHA256
			}
		}
		require.Len(t, lfsOID, 64)

		c := NewClient(WithEndpoint(s.URL()), WithToken(fuzzToken), WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
		ops := []hubkit.CommitOp{
			{Kind: hubkit.OpAddFile, Path: p1, Content: content},
			{Kind: hubkit.OpAddLFS, Path: p2, SHA256: lfsOID, Size: int64(len(lfsData))},
		}
		if del {
			ops = append(ops, hubkit.CommitOp{Kind: hubkit.OpDelete, Path: "README.md"})
		}
		repo := hubkit.Repo{Type: hubkit.Model, ID: "alice/model"}
		ci, err := c.Commit(context.Background(), repo, "main", CommitOptions{Summary: summary, Description: desc}, ops)
		q1, q2 := strings.TrimPrefix(p1, "/"), strings.TrimPrefix(p2, "/")
		if q1 == "" || q2 == "" {
			require.ErrorIs(t, err, hubkit.ErrInvalid)
			return
		}
		nice := niceCommitPath.MatchString(q1) && niceCommitPath.MatchString(q2) && !related(q1, q2) &&
			!related(q1, "weights.bin") && !related(q2, "README.md") && (del || !related(q1, "README.md")) &&
			!strings.Contains(q1+"/"+q2, ".git")
		if err != nil {
			require.NotContains(t, err.Error(), fuzzToken)
			require.False(t, nice, "the Hub refused a commit of plain paths %q, %q: %v", q1, q2, err)
			return
		}
		require.NotEmpty(t, ci.OID)
		require.True(t, utf8.ValidString(q1) && utf8.ValidString(q2), "a path that is not UTF-8 was committed")
		if related(q1, q2) || (del && related(q1, "README.md")) {
			return // one operation overrides the other; which one is the Hub's business
		}

		got := map[string]hubtest.FileInfo{}
		files, err = s.Files(hubkit.Model, "alice/model", "main")
		require.NoError(t, err)
		for _, fi := range files {
			got[fi.Path] = fi
		}
		require.Contains(t, got, q1, "file committed under another path: %v", got)
		data, err := s.ReadFile(hubkit.Model, "alice/model", "main", q1)
		require.NoError(t, err)
		if q1 != ".gitattributes" {
			require.Equal(t, string(content), string(data))
		}
		require.Contains(t, got, q2, "LFS file committed under another path: %v", got)
		require.True(t, got[q2].LFS)
		require.Equal(t, lfsOID, got[q2].SHA256)
		if del && !related(q1, "README.md") && !related(q2, "README.md") {
			require.NotContains(t, got, "README.md")
		}
		hist, err := s.History(hubkit.Model, "alice/model", "main")
		require.NoError(t, err)
		require.NotEmpty(t, hist)
		if utf8.ValidString(summary) && strings.TrimSpace(summary) != "" && utf8.ValidString(desc) {
			want := summary
			if desc != "" {
				want += "\n\n" + desc
			}
			require.Equal(t, want, hist[0].Message)
		}
	})
}
