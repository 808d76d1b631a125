package lfs

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

const token = "hf_lfs_test_secret_token"

var zeroTime time.Time

// fakeLFS is a strict in-memory LFS server: a "hub" host serving batch/verify/completion and a
// separate "storage" host serving presigned PUTs and downloads, which fails any request that
// carries Authorization.
type fakeLFS struct {
	t         *testing.T
	hub       *httptest.Server
	storage   *httptest.Server
	chunk     int64 // multipart chunk size; objects larger than chunk go multipart (0: never)
	mu        sync.Mutex
	objects   map[string][]byte
	parts     map[string]map[int][]byte
	leaks     atomic.Int32
	completes atomic.Int32
	puts      atomic.Int32
	inflight  atomic.Int32
	maxFlight atomic.Int32
	cutAfter  atomic.Int64 // next download is cut after this many bytes (once)
	lastBatch batchRequest
}

func newFakeLFS(t *testing.T, chunk int64) *fakeLFS {
	f := &fakeLFS{t: t, chunk: chunk, objects: map[string][]byte{}, parts: map[string]map[int][]byte{}}
	f.hub = httptest.NewServer(http.HandlerFunc(f.serveHub))
	f.storage = httptest.NewServer(http.HandlerFunc(f.serveStorage))
	t.Cleanup(f.hub.Close)
	t.Cleanup(f.storage.Close)
	return f
}

func (f *fakeLFS) batchURL() string { return f.hub.URL + "/ns/repo.git/info/lfs/objects/batch" }

func (f *fakeLFS) serveHub(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Bearer "+token {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/objects/batch"):
		if r.Header.Get("Content-Type") != MediaType {
			http.Error(w, "bad content type", http.StatusBadRequest)
			return
		}
		var req batchRequest
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.lastBatch = req
		f.mu.Unlock()
		resp := BatchResponse{Transfer: TransferBasic}
		for _, o := range req.Objects {
			res := ObjectResult{Object: o}
			f.mu.Lock()
			_, have := f.objects[o.OID]
			f.mu.Unlock()
			switch {
			case o.Size < 0:
				res.Error = &ObjectError{Code: 422, Message: "bad size"}
			case req.Operation == OpDownload && !have:
				res.Error = &ObjectError{Code: 404, Message: "missing"}
			case req.Operation == OpDownload:
				res.Actions = map[string]Action{ActionDownload: {Href: f.storage.URL + "/obj/" + o.OID + "?sig=s3cr3t", Header: map[string]string{"X-Sig": "1"}}}
			case have:
			case f.chunk > 0 && o.Size > f.chunk:
				resp.Transfer = TransferMultipart
				h := map[string]string{"chunk_size": strconv.FormatInt(f.chunk, 10)}
				for i := int64(0); i*f.chunk < o.Size; i++ {
					h[fmt.Sprintf("%05d", i+1)] = fmt.Sprintf("%s/part/%s/%d?sig=s3cr3t", f.storage.URL, o.OID, i+1)
				}
				res.Actions = map[string]Action{
					ActionUpload: {Href: f.hub.URL + "/complete/" + o.OID, Header: h},
					ActionVerify: {Href: f.hub.URL + "/verify"},
				}
			default:
				res.Actions = map[string]Action{
					ActionUpload: {Href: f.storage.URL + "/obj/" + o.OID + "?sig=s3cr3t", Header: map[string]string{"X-Sig": "1"}},
					ActionVerify: {Href: f.hub.URL + "/verify"},
				}
			}
			resp.Objects = append(resp.Objects, res)
		}
		w.Header().Set("Content-Type", MediaType)
		_ = json.NewEncoder(w).Encode(resp)
	case strings.HasPrefix(r.URL.Path, "/verify"):
		var o Object
		_ = json.NewDecoder(r.Body).Decode(&o)
		f.mu.Lock()
		b, ok := f.objects[o.OID]
		f.mu.Unlock()
		if !ok || int64(len(b)) != o.Size {
			http.Error(w, "not stored", http.StatusNotFound)
		}
	default:
		http.NotFound(w, r)
	}
}

// serveHub's completion route does not need the token; route it before the auth check.
func (f *fakeLFS) serveComplete(w http.ResponseWriter, r *http.Request) {
	oid := strings.TrimPrefix(r.URL.Path, "/complete/")
	var c completion
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil || c.OID != oid {
		http.Error(w, "bad completion", http.StatusBadRequest)
		return
	}
	f.completes.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	var all []byte
	for i, p := range c.Parts {
		b, ok := f.parts[oid][p.PartNumber]
		if p.PartNumber != i+1 || !ok || p.ETag != etagOf(b) {
			http.Error(w, "bad part list", http.StatusBadRequest)
			return
		}
		all = append(all, b...)
	}
	if sum := sha256.Sum256(all); hex.EncodeToString(sum[:]) != oid {
		http.Error(w, "hash mismatch", http.StatusBadRequest)
		return
	}
	f.objects[oid] = all
}

func etagOf(b []byte) string {
	s := sha256.Sum256(b)
	return `"` + hex.EncodeToString(s[:8]) + `"`
}

func (f *fakeLFS) serveStorage(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" || r.URL.Query().Get("sig") != "s3cr3t" {
		f.leaks.Add(1)
		http.Error(w, "signature or auth problem", http.StatusForbidden)
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	switch {
	case parts[0] == "obj" && r.Method == http.MethodPut:
		f.puts.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		if r.Header.Get("X-Sig") != "1" || r.ContentLength != int64(len(b)) {
			http.Error(w, "bad put", http.StatusBadRequest)
			return
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != parts[1] {
			http.Error(w, "hash mismatch", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.objects[parts[1]] = b
		f.mu.Unlock()
	case parts[0] == "obj" && r.Method == http.MethodGet:
		f.mu.Lock()
		b, ok := f.objects[parts[1]]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		if cut := f.cutAfter.Swap(0); cut > 0 {
			w.Header().Set("Content-Length", strconv.Itoa(len(b)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(b[:cut])
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, "", zeroTime, bytes.NewReader(b))
	case parts[0] == "part" && r.Method == http.MethodPut:
		cur := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for {
			m := f.maxFlight.Load()
			if cur <= m || f.maxFlight.CompareAndSwap(m, cur) {
				break
			}
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		n, _ := strconv.Atoi(parts[2])
		f.mu.Lock()
		if f.parts[parts[1]] == nil {
			f.parts[parts[1]] = map[int][]byte{}
		}
		f.parts[parts[1]][n] = b
		f.mu.Unlock()
		w.Header().Set("ETag", etagOf(b))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeLFS) client() *Client {
	return &Client{HTTP: http.DefaultClient, Header: http.Header{"Authorization": {"Bearer " + token}}}
}

func objOf(b []byte) Object {
	s := sha256.Sum256(b)
	return Object{OID: hex.EncodeToString(s[:]), Size: int64(len(b))}
}

func setup(t *testing.T, chunk int64) *fakeLFS {
	f := newFakeLFS(t, chunk)
	mux := http.NewServeMux()
	mux.HandleFunc("/complete/", f.serveComplete)
	mux.HandleFunc("/", f.serveHub)
	f.hub.Config.Handler = mux
	return f
}

func hostOf(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }

// upload runs batch -> basic/multipart -> verify, as a hub client does.
func upload(ctx context.Context, t *testing.T, f *fakeLFS, obj Object, src hubkit.Source, conc int) error {
	c := f.client()
	resp, err := c.Batch(ctx, f.batchURL(), OpUpload, []Object{obj}, "main", nil)
	require.NoError(t, err)
	require.Len(t, resp.Objects, 1)
	res := resp.Objects[0]
	if res.Error != nil {
		return res.Error
	}
	up, ok := res.Actions[ActionUpload]
	if !ok {
		return nil // stored already
	}
	switch resp.Transfer {
	case TransferBasic:
		rc, err := src.OpenRange(ctx, 0, -1) // to the end, so a long source is caught
		require.NoError(t, err)
		defer rc.Close()
		err = PutBasic(ctx, c.HTTP, up, obj, rc, PutOptions{Header: http.Header{"Authorization": {"Bearer " + token}, "User-Agent": {"t"}}})
		if err != nil {
			return err
		}
	case TransferMultipart:
		err = PutMultipart(ctx, c.HTTP, up, obj, src, MultipartOptions{Concurrency: conc, Header: http.Header{"Authorization": {"Bearer " + token}}, Client: c})
		if err != nil {
			return err
		}
	default:
		t.Fatalf("unexpected transfer %q", resp.Transfer)
	}
	if v, ok := res.Actions[ActionVerify]; ok {
		return c.Verify(ctx, v, obj, hostOf(f.hub.URL))
	}
	return nil
}

func TestUpload(t *testing.T) {
	small := synth.Blob{Size: 100_000, Seed: 1}.Bytes()
	big := synth.Blob{Size: 1<<20 + 12345, Seed: 2}.Bytes()
	exact := synth.Blob{Size: 256 << 10, Seed: 3}.Bytes()
	bad := append([]byte(nil), big...)
	bad[len(bad)/2] ^= 1
	tests := []struct {
		name     string
		data     []byte // what the source serves
		obj      Object // what we claim
		chunk    int64
		conc     int
		wantErr  error
		wantPuts int32
	}{
		{name: "basic", data: small, obj: objOf(small), wantPuts: 1},
		{name: "basic empty", data: nil, obj: objOf(nil), wantPuts: 1},
		{name: "basic wrong bytes", data: bad[:len(small)], obj: objOf(small), wantErr: hubkit.ErrHashMismatch},
		{name: "basic short source", data: small[:len(small)-1], obj: objOf(small), wantErr: hubkit.ErrHashMismatch},
		{name: "basic long source", data: append(append([]byte(nil), small...), 'x'), obj: objOf(small), wantErr: hubkit.ErrHashMismatch},
		{name: "multipart", data: big, obj: objOf(big), chunk: 64 << 10, conc: 4},
		{name: "multipart one part at a time", data: big, obj: objOf(big), chunk: 300 << 10, conc: 1},
		{name: "multipart exact chunks", data: exact, obj: objOf(exact), chunk: 64 << 10, conc: 3},
		{name: "multipart wrong bytes", data: bad, obj: objOf(big), chunk: 64 << 10, conc: 4, wantErr: hubkit.ErrHashMismatch},
		{name: "multipart short source", data: big[:len(big)-10], obj: objOf(big), chunk: 64 << 10, conc: 4, wantErr: hubkit.ErrHashMismatch},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, tc.chunk)
			err := upload(context.Background(), t, f, tc.obj, hubkit.ReaderAtSource(bytes.NewReader(tc.data)), tc.conc)
			require.Zero(t, f.leaks.Load(), "storage saw credentials or a bad signature")
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				require.NotContains(t, err.Error(), "s3cr3t")
				f.mu.Lock()
				require.Empty(t, f.objects, "server stored an object despite the mismatch")
				f.mu.Unlock()
				require.Zero(t, f.completes.Load(), "multipart completed despite the mismatch")
				return
			}
			require.NoError(t, err)
			f.mu.Lock()
			require.True(t, bytes.Equal(tc.data, f.objects[tc.obj.OID]), "stored bytes differ")
			f.mu.Unlock()
			if tc.wantPuts > 0 {
				require.Equal(t, tc.wantPuts, f.puts.Load())
			}
			if tc.chunk > 0 {
				require.Equal(t, int32(1), f.completes.Load())
				require.LessOrEqual(t, f.maxFlight.Load(), int32(max(tc.conc, 1)))
			}
			// A second upload finds the object stored and sends nothing.
			before := f.puts.Load()
			require.NoError(t, upload(context.Background(), t, f, tc.obj, hubkit.ReaderAtSource(bytes.NewReader(tc.data)), tc.conc))
			require.Equal(t, before, f.puts.Load())
		})
	}
}

func TestMultipartRunsPartsConcurrently(t *testing.T) {
	data := synth.Blob{Size: 2 << 20, Seed: 9}.Bytes()
	f := setup(t, 32<<10)
	var opened atomic.Int32
	// The first two parts' reads wait for each other: parts read one after the other would
	// never get past the first (and fail after the bound), parts read side by side always do.
	both := make(chan struct{})
	var once sync.Once
	src := hubkit.SourceFunc(func(ctx context.Context, off, n int64) (io.ReadCloser, error) {
		if opened.Add(1) == 2 {
			once.Do(func() { close(both) })
		}
		select {
		case <-both:
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("part at %d: no other part was read at the same time", off)
		}
		return io.NopCloser(bytes.NewReader(data[off : off+n])), nil
	})
	require.NoError(t, upload(context.Background(), t, f, objOf(data), src, 4))
	require.Equal(t, int32(64), opened.Load(), "one OpenRange per part")
	require.LessOrEqual(t, f.maxFlight.Load(), int32(4))
}

func TestParseMultipart(t *testing.T) {
	obj := Object{OID: "x", Size: 250}
	tests := []struct {
		name    string
		header  map[string]string
		wantN   int
		wantErr string
	}{
		{name: "ok", header: map[string]string{"chunk_size": "100", "00001": "a", "00002": "b", "00003": "c"}, wantN: 3},
		{name: "missing chunk size", header: map[string]string{"00001": "a"}, wantErr: "chunk_size"},
		{name: "too few parts", header: map[string]string{"chunk_size": "100", "00001": "a", "00002": "b"}, wantErr: "want 3"},
		{name: "gap", header: map[string]string{"chunk_size": "100", "00001": "a", "00002": "b", "00004": "c"}, wantErr: "part 3 missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseMultipart(Action{Href: "h", Header: tc.header}, obj)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			require.Len(t, p.URLs, tc.wantN)
			require.Equal(t, []string{"a", "b", "c"}, p.URLs)
		})
	}
}

func TestBatch(t *testing.T) {
	f := setup(t, 0)
	c := f.client()
	objs := []Object{objOf([]byte("a")), {OID: "neg", Size: -1}}
	resp, err := c.Batch(context.Background(), f.batchURL(), OpUpload, objs, "main", nil)
	require.NoError(t, err)
	require.Equal(t, TransferBasic, resp.Transfer)
	require.Len(t, resp.Objects, 2)
	require.NotNil(t, resp.Objects[1].Error)
	require.Equal(t, 422, resp.Objects[1].Error.Code)
	f.mu.Lock()
	require.Equal(t, batchRequest{Operation: OpUpload, Transfers: []string{"basic", "multipart"}, Ref: &ref{Name: "main"}, Objects: objs, HashAlgo: "sha256"}, f.lastBatch)
	f.mu.Unlock()

	// Errors: status errors carry the status and never the token.
	c.Header.Set("Authorization", "Bearer wrong")
	_, err = c.Batch(context.Background(), f.batchURL(), OpUpload, objs, "", nil)
	var se *StatusError
	require.ErrorAs(t, err, &se)
	require.Equal(t, http.StatusUnauthorized, se.StatusCode)

	// CheckResponse lets the caller map errors.
	sentinel := errors.New("mapped")
	c.CheckResponse = func(op string, resp *http.Response) error { return fmt.Errorf("%s: %w", op, sentinel) }
	_, err = c.Batch(context.Background(), f.batchURL(), OpUpload, objs, "", nil)
	require.ErrorIs(t, err, sentinel)
}

func TestDownload(t *testing.T) {
	data := synth.Blob{Size: 300_000, Seed: 5}.Bytes()
	obj := objOf(data)
	tests := []struct {
		name   string
		off, n int64
		cut    int64
	}{
		{name: "whole", off: 0, n: -1},
		{name: "range", off: 1000, n: 5000},
		{name: "tail", off: 299_000, n: -1},
		{name: "n past end", off: 10, n: 1 << 30},
		{name: "cut resumed", off: 0, n: -1, cut: 70_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 0)
			f.objects[obj.OID] = data
			c := f.client()
			resp, err := c.Batch(context.Background(), f.batchURL(), OpDownload, []Object{obj, objOf([]byte("nope"))}, "", []string{TransferBasic})
			require.NoError(t, err)
			require.NotNil(t, resp.Objects[1].Error)
			require.Equal(t, 404, resp.Objects[1].Error.Code)
			f.cutAfter.Store(tc.cut)
			rc, err := Download(context.Background(), c.HTTP, resp.Objects[0].Actions[ActionDownload], obj, tc.off, tc.n, c.Header)
			require.NoError(t, err)
			got, err := io.ReadAll(rc)
			require.NoError(t, rc.Close())
			require.NoError(t, err)
			end := int64(len(data))
			if tc.n >= 0 && tc.off+tc.n < end {
				end = tc.off + tc.n
			}
			require.True(t, bytes.Equal(data[tc.off:end], got), "got %d bytes, want %d", len(got), end-tc.off)
			require.Zero(t, f.leaks.Load())
		})
	}
}

func TestVerifyingReaderNeverEOFsOnMismatch(t *testing.T) {
	data := []byte("hello world")
	obj := objOf([]byte("hello there"))
	r := newVerifyingReader(bytes.NewReader(data), obj)
	_, err := io.ReadAll(r)
	require.ErrorIs(t, err, hubkit.ErrHashMismatch)
}
