package msclient

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// These tests cover answers the real hub may give but the fake does not: the client must be
// tolerant where the protocol notes are uncertain.

func TestWhoAmITolerant(t *testing.T) {
	tests := []struct {
		name string
		me   string // users/me body, "" = route missing (404)
		want User
	}{
		{name: "OIDC claims", me: `{"success":true,"data":{"preferred_username":"alice","sub":12,"mail":"a@x","picture":"p","orgs":[{"name":"acme"},{"Name":"labs"}]}}`,
			want: User{Name: "alice", ID: "12", Email: "a@x", AvatarURL: "p", Orgs: []string{"acme", "labs"}}},
		{name: "PascalCase", me: `{"Code":200,"Success":true,"Data":{"Username":"alice","UserId":"u1","Email":"a@x","Organizations":["acme"]}}`,
			want: User{Name: "alice", ID: "u1", Email: "a@x", Orgs: []string{"acme"}}},
		{name: "route missing: falls back to login", me: "", want: User{Name: "alice", Email: "a@login"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mux := http.NewServeMux()
			mux.HandleFunc("GET /openapi/v1/users/me", func(w http.ResponseWriter, r *http.Request) {
				if tt.me == "" {
					w.WriteHeader(http.StatusNotFound)
					_, _ = w.Write([]byte(`{"success":false,"code":"ResourceNotFound","message":"no route"}`))
					return
				}
				_, _ = w.Write([]byte(tt.me))
			})
			mux.HandleFunc("POST /api/v1/login", func(w http.ResponseWriter, r *http.Request) {
				_, _ = w.Write([]byte(`{"Code":200,"Success":true,"Data":{"AccessToken":"git-abcdef-123456","Username":"alice","Email":"a@login"}}`))
			})
			c := NewClient(WithEndpoint(newLocal(t, mux)), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
			u, err := c.WhoAmI(context.Background())
			require.NoError(t, err)
			require.Equal(t, tt.want, *u)
		})
	}
	// An answer without a user name is not a user.
	mux := http.NewServeMux()
	mux.HandleFunc("GET /openapi/v1/users/me", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"success":true,"data":{"email":"a@x"}}`))
	})
	_, err := NewClient(WithEndpoint(newLocal(t, mux)), WithToken(aliceToken), WithHTTPClient(fastHTTP())).WhoAmI(context.Background())
	requireKind(t, err, hubkit.ErrUnauthorized)
}

// TestDownloadIgnoredRange: a server that answers 200 to a Range request; the client skips to the
// offset itself.
func TestDownloadIgnoredRange(t *testing.T) {
	content := strings.Repeat("abcdefghij", 50)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/models/alice/m/repo", func(w http.ResponseWriter, r *http.Request) {
		require.Equal(t, "x/y z.txt", r.URL.Query().Get("FilePath"))
		_, _ = io.WriteString(w, content)
	})
	c := NewClient(WithEndpoint(newLocal(t, mux)), WithHTTPClient(fastHTTP()))
	rc, err := c.Download(context.Background(), model("alice/m"), "", "x/y z.txt", 123, 77)
	require.Equal(t, content[123:200], string(readAll(t, rc, err)))
}

// TestDownload416AtEnd: asking from the very end of a file is an empty read, not an error.
func TestDownload416AtEnd(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/models/alice/m/repo", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Range", "bytes */10")
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
	})
	c := NewClient(WithEndpoint(newLocal(t, mux)), WithHTTPClient(fastHTTP()))
	rc, err := c.Download(context.Background(), model("alice/m"), "", "f", 10, -1)
	require.Empty(t, readAll(t, rc, err))
	_, err = c.Download(context.Background(), model("alice/m"), "", "f", 3, -1)
	requireKind(t, err, hubkit.ErrInvalid)
}

// TestResolveRevisionWithoutCommitLog: a hub without the commit log route still pins a model
// revision from the listing's LatestCommitter, and reports unknown revisions.
func TestResolveRevisionWithoutCommitLog(t *testing.T) {
	const head = "0123456789abcdef0123456789abcdef01234567"
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/models/alice/m/repo/files", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("Revision") != "master" {
			_, _ = w.Write([]byte(`{"Code":200,"Success":true,"Data":{"Files":null}}`))
			return
		}
		_, _ = w.Write([]byte(`{"Code":200,"Success":true,"Data":{"Files":[],"LatestCommitter":{"Id":"` + strings.ToUpper(head) + `"}}}`))
	})
	c := NewClient(WithEndpoint(newLocal(t, mux)), WithHTTPClient(fastHTTP()))
	got, err := c.ResolveRevision(context.Background(), model("alice/m"), "")
	require.NoError(t, err)
	require.Equal(t, head, got)
	_, err = c.ResolveRevision(context.Background(), model("alice/m"), "main")
	requireKind(t, err, hubkit.ErrNotFound)
}

func TestParseHelpers(t *testing.T) {
	for _, tt := range []struct {
		in           string
		start, total int64
		ok           bool
	}{
		{"bytes 0-9/10", 0, 10, true},
		{"bytes 5-9/*", 5, -1, true},
		{"bytes */42", 0, 42, true},
		{"bits 0-1/2", 0, 0, false},
		{"bytes 0-1", 0, 0, false},
		{"bytes x-1/2", 0, 0, false},
		{"bytes 0-1/x", 0, 0, false},
	} {
		s, tot, ok := parseContentRange(tt.in)
		require.Equal(t, tt.ok, ok, tt.in)
		if ok {
			require.Equal(t, tt.start, s, tt.in)
			require.Equal(t, tt.total, tot, tt.in)
		}
	}
	require.Equal(t, int64(2), int64(parseRetryAfter("2").Seconds()))
	require.Zero(t, parseRetryAfter(""))
	require.Zero(t, parseRetryAfter("soon"))
	require.Positive(t, parseRetryAfter("Mon, 02 Jan 2100 15:04:05 GMT"))
}
