package msclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient/mstest"
)

// bytesSource serves a byte slice; opens counts OpenRange calls.
type bytesSource struct {
	b     []byte
	opens atomic.Int32
}

func (s *bytesSource) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	s.opens.Add(1)
	end := int64(len(s.b))
	if n >= 0 && off+n < end {
		end = off + n
	}
	return io.NopCloser(bytes.NewReader(s.b[off:end])), nil
}

// blobSource serves a synthetic blob.
type blobSource struct{ b synth.Blob }

func (s blobSource) OpenRange(_ context.Context, off, n int64) (io.ReadCloser, error) {
	if n < 0 {
		n = s.b.Size - off
	}
	return io.NopCloser(s.b.NewReader(off, n)), nil
}

// failingSource fails to open.
type failingSource struct{}

func (failingSource) OpenRange(context.Context, int64, int64) (io.ReadCloser, error) {
	return nil, errors.New("source unavailable")
}

func obj(b []byte) Object { return Object{OID: sha(b), Size: int64(len(b))} }

// preparedUpload starts a fake (setup) with the empty model alice/up and returns it with the
// upload of data the batch API handed out.
func preparedUpload(t *testing.T, data []byte) (*mstest.Server, *BlobUpload) {
	t.Helper()
	s, c := setup(t)
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/up", mstest.RepoOptions{}))
	ups, err := c.PrepareUpload(context.Background(), model("alice/up"), []Object{obj(data)})
	require.NoError(t, err)
	require.Len(t, ups, 1)
	return s, ups[0]
}

func TestPrepareUpload(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Model, "alice/up", mstest.RepoOptions{}))
	stored := []byte("already stored blob")
	_, err := s.Commit(hubkit.Model, "alice/up", "", "seed", mstest.File{Path: "s.bin", Content: stored, LFS: true})
	require.NoError(t, err)

	// 150 new objects (three batches of <= 64), one stored, one duplicate.
	var objs []Object
	for i := 0; i < 150; i++ {
		objs = append(objs, obj([]byte(fmt.Sprintf("blob %d", i))))
	}
	objs = append(objs, obj(stored), objs[3])
	ups, err := c.PrepareUpload(ctx, model("alice/up"), objs)
	require.NoError(t, err)
	require.Len(t, ups, 150)
	for i, u := range ups {
		require.Equal(t, objs[i], u.Object())
	}
	require.Equal(t, 3, s.Faults().Count(mstest.RouteLFSBatch))

	// The same oid with another size is a different object.
	ups, err = c.PrepareUpload(ctx, model("alice/up"), []Object{{OID: sha(stored), Size: 5}})
	require.NoError(t, err)
	require.Len(t, ups, 1)

	none, err := c.PrepareUpload(ctx, model("alice/up"), nil)
	require.NoError(t, err)
	require.Empty(t, none)

	tests := []struct {
		name   string
		client *Client
		repo   hubkit.Repo
		objs   []Object
		rule   *fault.Rule
		kind   error
	}{
		{name: "bad oid", client: c, repo: model("alice/up"), objs: []Object{{OID: "xyz", Size: 1}}, kind: hubkit.ErrInvalid},
		{name: "negative size", client: c, repo: model("alice/up"), objs: []Object{{OID: sha(stored), Size: -1}}, kind: hubkit.ErrInvalid},
		{name: "missing repo", client: c, repo: model("alice/none"), objs: objs[:1], kind: hubkit.ErrNotFound},
		{name: "no write access", client: newClient(s, bobToken), repo: model("alice/up"), objs: objs[:1], kind: hubkit.ErrForbidden},
		{name: "anonymous", client: newClient(s, ""), repo: model("alice/up"), objs: objs[:1], kind: hubkit.ErrUnauthorized},
		{name: "error in 200", client: c, repo: model("alice/up"), objs: objs[:1],
			rule: ptr(mstest.EnvelopeError(mstest.RouteLFSBatch, "batch refused", 1)), kind: hubkit.ErrInvalid},
		{name: "5xx retried (batch is idempotent)", client: c, repo: model("alice/up"), objs: objs[:1],
			rule: &fault.Rule{Route: mstest.RouteLFSBatch, Status: 502, Times: 2}},
		{name: "429 retried", client: c, repo: model("alice/up"), objs: objs[:1],
			rule: &fault.Rule{Route: mstest.RouteLFSBatch, Status: 429, Times: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.rule != nil {
				s.Faults().Add(*tt.rule)
			}
			ups, err := tt.client.PrepareUpload(ctx, tt.repo, tt.objs)
			if tt.kind != nil {
				requireKind(t, err, tt.kind)
				return
			}
			require.NoError(t, err)
			require.Len(t, ups, len(tt.objs))
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestUpload(t *testing.T) {
	s, c := setup(t)
	ctx := context.Background()
	require.NoError(t, s.CreateRepo(hubkit.Dataset, "alice/up", mstest.RepoOptions{Private: true}))
	repo := dataset("alice/up")
	small := []byte(strings.Repeat("weights ", 5000))
	big := synth.Blob{Size: 3<<20 + 1, Seed: 9}
	bigObj := Object{OID: big.SHA256(), Size: big.Size}
	empty := []byte{}

	ups, err := c.PrepareUpload(ctx, repo, []Object{obj(small), bigObj, obj(empty)})
	require.NoError(t, err)
	require.Len(t, ups, 3)
	require.NoError(t, ups[0].Upload(ctx, &bytesSource{b: small}))
	require.NoError(t, ups[1].Upload(ctx, blobSource{big}))
	require.NoError(t, ups[2].Upload(ctx, &bytesSource{b: empty}))
	require.True(t, s.HasLFSObject(sha(small)))
	require.True(t, s.HasLFSObject(big.SHA256()))

	// Once stored, the batch omits them.
	again, err := c.PrepareUpload(ctx, repo, []Object{obj(small), bigObj})
	require.NoError(t, err)
	require.Empty(t, again)

	// And a commit can point at them.
	_, err = c.Commit(ctx, repo, "", "add blobs", []hubkit.CommitOp{
		{Kind: hubkit.OpAddLFS, Path: "a.bin", SHA256: sha(small), Size: int64(len(small))},
		{Kind: hubkit.OpAddLFS, Path: "big/b.bin", SHA256: big.SHA256(), Size: big.Size},
	})
	require.NoError(t, err)
	files, err := c.ListFiles(ctx, repo, "")
	require.NoError(t, err)
	require.Equal(t, []string{"a.bin", "big/b.bin"}, paths(files))
	require.True(t, files[0].LFS)
}

func TestUploadHashMismatch(t *testing.T) {
	good := []byte(strings.Repeat("good bytes ", 1000))
	tests := []struct {
		name string
		src  []byte
	}{
		{"same size, other bytes", append([]byte("X"), good[1:]...)},
		{"last byte differs", append(append([]byte{}, good[:len(good)-1]...), 'Z')},
		{"short source", good[:len(good)-10]},
		{"empty source", []byte{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, up := preparedUpload(t, good)
			src := &bytesSource{b: tt.src}
			err := up.Upload(context.Background(), src)
			require.ErrorIs(t, err, hubkit.ErrHashMismatch)
			require.Equal(t, int32(1), src.opens.Load(), "a mismatch is not retried")
			require.False(t, s.HasLFSObject(sha(good)))
			require.False(t, s.HasLFSObject(sha(tt.src)))
		})
	}
	// A source that serves more than the object's size is wrong too: the last bytes are held back
	// and nothing is stored.
	s, up := preparedUpload(t, good)
	err := up.Upload(context.Background(), &longSource{append(append([]byte{}, good...), "trailing"...)})
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
	require.False(t, s.HasLFSObject(sha(good)))
}

// longSource ignores n and serves everything from off.
type longSource struct{ b []byte }

func (l *longSource) OpenRange(_ context.Context, off, _ int64) (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.b[off:])), nil
}

// TestUploadFaults: Upload makes one attempt and says what failed with the error kind the
// engine's whole-blob retry branches on; a failed PUT stores nothing.
func TestUploadFaults(t *testing.T) {
	data := []byte(strings.Repeat("0123456789abcdef", 64<<10)) // 1 MiB
	tests := []struct {
		name string
		rule fault.Rule
		src  hubkit.Source
		kind error // nil: any error that is not a hub answer (a cut connection)
	}{
		{name: "cut upload", rule: fault.Rule{Route: mstest.RouteBlobPut, CutAfter: 100 << 10, Times: 1}},
		{name: "5xx", rule: fault.Rule{Route: mstest.RouteBlobPut, Status: 500, Times: 1}, kind: hubkit.ErrServer},
		{name: "429", rule: fault.Rule{Route: mstest.RouteBlobPut, Status: 429, Times: 1}, kind: hubkit.ErrRateLimited},
		{name: "403", rule: fault.Rule{Route: mstest.RouteBlobPut, Status: 403}, kind: hubkit.ErrForbidden},
		{name: "error in 200", rule: mstest.EnvelopeError(mstest.RouteBlobPut, mstest.MsgNotLoggedIn, 1), kind: hubkit.ErrUnauthorized},
		{name: "source fails", src: failingSource{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, up := preparedUpload(t, data)
			if tt.rule.Route != "" {
				s.Faults().Add(tt.rule)
			}
			bs := &bytesSource{b: data}
			src := tt.src
			if src == nil {
				src = bs
			}
			err := up.Upload(context.Background(), src)
			require.Error(t, err)
			if tt.kind != nil {
				require.ErrorIs(t, err, tt.kind)
			}
			require.NotErrorIs(t, err, hubkit.ErrHashMismatch)
			require.False(t, s.HasLFSObject(sha(data)), "a failed PUT stores nothing")
			if tt.src == nil {
				require.Equal(t, int32(1), bs.opens.Load(), "one attempt")
				require.Equal(t, 1, s.Faults().Count(mstest.RouteBlobPut))
			}
		})
	}
}

// TestUploadCredentials checks the PUT carries Bearer and cookie to the API origin, exactly
// Content-Length bytes (no chunking), and no credentials to an href on a foreign host.
func TestUploadCredentials(t *testing.T) {
	data := []byte("blob content for the credentials test")
	type seen struct {
		auth, cookie, te string
		cl               int64
	}
	var got []seen
	var foreign string
	other := newLocal(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Header.Get("Authorization"), r.Header.Get("Cookie"), strings.Join(r.TransferEncoding, ","), r.ContentLength})
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/repos/models/alice/m/info/lfs/objects/batch", func(w http.ResponseWriter, r *http.Request) {
		href := foreign
		if r.URL.Query().Get("foreign") == "" && foreign == "" {
			href = "http://" + r.Host + "/api/v1/repos/models/alice/m/blobs/" + sha(data) + "/" + fmt.Sprint(len(data))
		}
		fmt.Fprintf(w, `{"Code":200,"Success":true,"Data":{"objects":[{"oid":%q,"size":%d,"actions":{"upload":{"href":%q,"upload_header":{"Range":"bytes=0-"}}}}]}}`,
			sha(data), len(data), href)
	})
	mux.HandleFunc("PUT /api/v1/repos/models/alice/m/blobs/", func(w http.ResponseWriter, r *http.Request) {
		got = append(got, seen{r.Header.Get("Authorization"), r.Header.Get("Cookie"), strings.Join(r.TransferEncoding, ","), r.ContentLength})
		b, _ := io.ReadAll(r.Body)
		require.Equal(t, data, b)
		require.Empty(t, r.Header.Get("Range"))
		_, _ = w.Write([]byte(`{"Code":200,"Data":{},"Message":"success","Success":true}`))
	})
	api := newLocal(t, mux)
	c := NewClient(WithEndpoint(api), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
	ctx := context.Background()
	ups, err := c.PrepareUpload(ctx, model("alice/m"), []Object{obj(data)})
	require.NoError(t, err)
	require.NoError(t, ups[0].Upload(ctx, &bytesSource{b: data}))
	require.Equal(t, []seen{{"Bearer " + aliceToken, "m_session_id=" + aliceToken, "", int64(len(data))}}, got)

	got = nil
	foreign = other + "/upload/here"
	ups, err = c.PrepareUpload(ctx, model("alice/m"), []Object{obj(data)})
	require.NoError(t, err)
	require.NoError(t, ups[0].Upload(ctx, &bytesSource{b: data}))
	require.Equal(t, []seen{{"", "", "", int64(len(data))}}, got)
}

func TestUploadHostTrusted(t *testing.T) {
	tests := []struct {
		endpoint, href string
		want           bool
	}{
		{"https://www.modelscope.cn", "https://www.modelscope.cn/api/v1/x", true},
		{"https://www.modelscope.cn", "https://lfs.modelscope.cn/api/v1/x", true},
		{"https://modelscope.cn", "https://lfs.modelscope.cn/api/v1/x", true},
		{"https://www.modelscope.ai", "https://lfs.modelscope.ai/x", true},
		{"https://www.modelscope.cn", "http://lfs.modelscope.cn/x", false},
		{"https://www.modelscope.cn", "https://evil.example/x", false},
		{"https://www.modelscope.cn", "https://modelscope.cn.evil.example/x", false},
		{"http://127.0.0.1:80", "http://127.0.0.1:81/x", false},
	}
	for _, tt := range tests {
		c := NewClient(WithEndpoint(tt.endpoint))
		u, err := url.Parse(tt.href)
		require.NoError(t, err)
		require.Equal(t, tt.want, c.uploadHostTrusted(u), "%s -> %s", tt.endpoint, tt.href)
	}
}

// TestUploadMismatchNeverCompletes checks the hub never receives a complete body when the source's
// bytes are wrong: the chunk that would complete it is withheld.
func TestUploadMismatchNeverCompletes(t *testing.T) {
	good := bytes.Repeat([]byte("abcdefgh"), 1<<15) // 256 KiB
	bad := append([]byte{}, good...)
	bad[len(bad)-1] ^= 1
	var received atomic.Int64
	var completed atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/repos/models/alice/m/info/lfs/objects/batch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"Code":200,"Success":true,"Data":{"objects":[{"oid":%q,"size":%d,"actions":{"upload":{"href":"/api/v1/repos/models/alice/m/blobs/x"}}}]}}`,
			sha(good), len(good))
	})
	mux.HandleFunc("PUT /api/v1/repos/models/alice/m/blobs/x", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		received.Store(n)
		completed.Store(err == nil && n == int64(len(good)))
		_, _ = w.Write([]byte(`{"Code":200,"Success":true}`))
	})
	c := NewClient(WithEndpoint(newLocal(t, mux)), WithToken(aliceToken), WithHTTPClient(fastHTTP()))
	ups, err := c.PrepareUpload(context.Background(), model("alice/m"), []Object{obj(good)})
	require.NoError(t, err)
	err = ups[0].Upload(context.Background(), &bytesSource{b: bad})
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
	require.False(t, completed.Load())
	require.Less(t, received.Load(), int64(len(good)))
}

func TestUploadPinnedToHTTP1(t *testing.T) {
	pinned := func(hc *http.Client) bool {
		tr, ok := hc.Transport.(*http.Transport)
		return ok && tr.Protocols != nil && tr.Protocols.HTTP1() && !tr.Protocols.HTTP2() && !tr.ForceAttemptHTTP2
	}
	own := &http.Client{Transport: &http.Transport{ForceAttemptHTTP2: true}}
	c := NewClient(WithHTTPClient(own))
	require.True(t, pinned(c.upload))
	require.True(t, own.Transport.(*http.Transport).ForceAttemptHTTP2, "the caller's transport is not modified")
	require.True(t, pinned(NewClient(WithHTTPClient(&http.Client{})).upload))
	given := &http.Client{}
	require.Same(t, given, NewClient(WithUploadHTTPClient(given)).upload)
}
