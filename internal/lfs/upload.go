package lfs

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// DefaultConcurrency is how many multipart parts are in flight at once when
// MultipartOptions.Concurrency is zero. Memory used is Concurrency x chunk size.
const DefaultConcurrency = 4

// mismatch builds the hubkit.ErrHashMismatch error for obj.
func mismatch(obj Object, gotSize int64, gotOID string) error {
	if gotSize != obj.Size {
		return fmt.Errorf("%w: %s: source gave %d bytes, want %d", hubkit.ErrHashMismatch, short(obj.OID), gotSize, obj.Size)
	}
	return fmt.Errorf("%w: %s: source bytes hash to %s", hubkit.ErrHashMismatch, short(obj.OID), short(gotOID))
}

func short(oid string) string {
	if len(oid) > 12 {
		return oid[:12]
	}
	return oid
}

// verifyingReader passes r through, hashing every byte; once obj.Size bytes were read it checks
// that the source has nothing more and that the sum matches, returning an error matching
// hubkit.ErrHashMismatch instead of io.EOF when it does not, so an HTTP body built on it never
// completes and the server cannot accept it. Read is called by one goroutine (the transport's);
// failure and complete may be called from others, as net/http may still read a body after Do
// returned.
type verifyingReader struct {
	r   io.Reader
	obj Object
	h   hash.Hash
	n   int64 // only touched by Read

	mu   sync.Mutex
	err  error
	done bool
}

func newVerifyingReader(r io.Reader, obj Object) *verifyingReader {
	return &verifyingReader{r: r, obj: obj, h: sha256.New()}
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if err, done := v.state(); err != nil || done {
		return 0, cmp.Or(err, io.EOF)
	}
	if left := v.obj.Size - v.n; int64(len(p)) > left {
		p = p[:left]
	}
	var n int
	var err error
	if len(p) > 0 {
		n, err = v.r.Read(p)
		v.h.Write(p[:n])
		v.n += int64(n)
	}
	switch {
	case v.n == v.obj.Size:
		// These are the last bytes: check everything before handing them out.
		var one [1]byte
		if m, _ := io.ReadFull(v.r, one[:]); m > 0 {
			return 0, v.fail(mismatch(v.obj, v.obj.Size+1, ""))
		}
		if got := hex.EncodeToString(v.h.Sum(nil)); got != v.obj.OID {
			return 0, v.fail(mismatch(v.obj, v.n, got))
		}
		v.mu.Lock()
		v.done = true
		v.mu.Unlock()
		return n, io.EOF
	case err == io.EOF:
		return 0, v.fail(mismatch(v.obj, v.n, ""))
	case err != nil:
		return 0, v.fail(fmt.Errorf("lfs upload: read source: %w", err))
	}
	return n, nil
}

func (v *verifyingReader) state() (error, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err, v.done
}

func (v *verifyingReader) fail(err error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
	return err
}

// failure returns the verification or source error, if any.
func (v *verifyingReader) failure() error {
	err, _ := v.state()
	return err
}

// complete reports whether the whole object went through verified.
func (v *verifyingReader) complete() bool {
	_, done := v.state()
	return done
}

// PutOptions tune PutBasic.
type PutOptions struct {
	// Header is sent with the PUT, without credential headers; the action's own header is sent
	// as is.
	Header http.Header
	// Prepare, when set, has the last word on the request: a client adds its own credentials
	// for an upload host it trusts.
	Prepare func(*http.Request)
	// Check, when set, judges the answer instead of "any 2xx is success": a hub that reports
	// errors inside a 200 body. The body is closed after it.
	Check func(*http.Response) error
}

// PutBasic uploads obj with the "basic" transfer: one PUT of the raw bytes to the upload
// action's href, streamed from r with Content-Length set (nothing is buffered). The bytes are
// verified in flight: if they do not add up to obj.Size or hash to obj.OID, the body fails
// before its end, the PUT never completes, and the error matches hubkit.ErrHashMismatch. Both
// hub clients upload single objects through it (one attempt; the caller owns retries).
func PutBasic(ctx context.Context, hc *http.Client, a Action, obj Object, r io.Reader, o PutOptions) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	vr := newVerifyingReader(r, obj)
	var body io.Reader = vr
	if obj.Size == 0 {
		// A zero-size body must still be checked before sending (net/http does not read it).
		if _, err := io.Copy(io.Discard, vr); err != nil {
			return err
		}
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, a.Href, io.NopCloser(body))
	if err != nil {
		return fmt.Errorf("lfs upload: %w", err)
	}
	req.ContentLength = obj.Size
	if obj.Size == 0 {
		req.Body = http.NoBody
	}
	copyHeader(req.Header, o.Header, false)
	applyAction(req.Header, a)
	if o.Prepare != nil {
		o.Prepare(req)
	}
	resp, err := hc.Do(req)
	if verr := vr.failure(); verr != nil {
		if resp != nil {
			drainClose(resp.Body)
		}
		return verr
	}
	if err != nil {
		return fmt.Errorf("lfs upload: %w", redactURLError(err))
	}
	defer drainClose(resp.Body)
	switch {
	case o.Check != nil:
		if err := o.Check(resp); err != nil {
			return err
		}
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return newStatusError("upload", resp)
	}
	if !vr.complete() {
		return fmt.Errorf("lfs upload: server answered %d before the whole %d-byte body was sent: %w", resp.StatusCode, obj.Size, hubkit.ErrServer)
	}
	return nil
}

// MultipartOptions tunes PutMultipart.
type MultipartOptions struct {
	// Concurrency is how many parts are read and uploaded at once (0: DefaultConcurrency).
	Concurrency int
	// Header is sent with part PUTs and the completion call, without credentials.
	Header http.Header
	// Progress, when set, is called with the size of each part once the server accepted it.
	Progress func(n int64)
	// Client sends the completion call when set (so it can carry a CheckResponse); part PUTs use
	// the http.Client given to PutMultipart.
	Client *Client
}

// Part is one part of a multipart upload, as sent in the completion call.
type Part struct {
	PartNumber int    `json:"partNumber"`
	ETag       string `json:"etag"`
}

// MultipartPlan is the part layout of a multipart upload action.
type MultipartPlan struct {
	ChunkSize int64
	// URLs holds the presigned part URLs, part 1 first.
	URLs []string
}

// ParseMultipart reads the chunk size and part URLs from a multipart upload action and checks
// that there is exactly one part URL per chunk of obj.
func ParseMultipart(a Action, obj Object) (*MultipartPlan, error) {
	cs, err := strconv.ParseInt(a.Header["chunk_size"], 10, 64)
	if err != nil || cs <= 0 {
		return nil, fmt.Errorf("lfs multipart: bad chunk_size %q", a.Header["chunk_size"])
	}
	type kv struct {
		n    int
		href string
	}
	var parts []kv
	for k, v := range a.Header {
		if !isPartKey(k) {
			continue
		}
		n, err := strconv.Atoi(k)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("lfs multipart: bad part key %q", k)
		}
		parts = append(parts, kv{n, v})
	}
	sort.Slice(parts, func(i, j int) bool { return parts[i].n < parts[j].n })
	want := (obj.Size + cs - 1) / cs
	if int64(len(parts)) != want {
		return nil, fmt.Errorf("lfs multipart: %d part URLs for %d bytes in chunks of %d (want %d)", len(parts), obj.Size, cs, want)
	}
	p := &MultipartPlan{ChunkSize: cs, URLs: make([]string, len(parts))}
	for i, x := range parts {
		if x.n != i+1 {
			return nil, fmt.Errorf("lfs multipart: part %d missing", i+1)
		}
		p.URLs[i] = x.href
	}
	return p, nil
}

// maxFreeParts bounds the part buffers kept for reuse per chunk size.
const maxFreeParts = 16

// partBufs keeps part buffers for reuse. Unlike a sync.Pool it is not emptied by the garbage
// collector, so a long multipart upload reuses the same few buffers instead of allocating a
// fresh chunk-sized buffer for most parts (which doubled the heap the GC let grow: 164 MiB peak
// RSS for 4 x 16 MiB parts in bench/run.sh).
var partBufs = struct {
	sync.Mutex
	free map[int64][]*[]byte
}{free: map[int64][]*[]byte{}}

func getBuf(size int64) *[]byte {
	partBufs.Lock()
	defer partBufs.Unlock()
	if l := partBufs.free[size]; len(l) > 0 {
		b := l[len(l)-1]
		partBufs.free[size] = l[:len(l)-1]
		return b
	}
	b := make([]byte, size)
	return &b
}

func putBuf(size int64, b *[]byte) {
	partBufs.Lock()
	defer partBufs.Unlock()
	if len(partBufs.free[size]) < maxFreeParts {
		partBufs.free[size] = append(partBufs.free[size], b)
	}
}

// orderedHasher hashes parts in part order while they complete in any order.
type orderedHasher struct {
	h    hash.Hash
	done []chan struct{}
}

// add hashes part i's bytes once parts before it are hashed.
func (o *orderedHasher) add(ctx context.Context, i int, p []byte) error {
	if i > 0 {
		select {
		case <-o.done[i-1]:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	o.h.Write(p)
	close(o.done[i])
	return nil
}

// PutMultipart uploads obj with the "multipart" transfer. Each part (the action's chunk_size,
// the last one shorter) is read with src.OpenRange into a pooled buffer and PUT to its presigned
// URL; opt.Concurrency parts run at once, so memory is Concurrency x chunk size. One ordered
// hasher consumes the parts as they complete in order; only when the whole object hashes to
// obj.OID (and every part had its full size) is the completion call POSTed to the action's href
// with the part ETags. On a mismatch no completion is sent and the error matches hubkit.ErrHashMismatch.
func PutMultipart(ctx context.Context, hc *http.Client, a Action, obj Object, src hubkit.Source, opt MultipartOptions) error {
	if hc == nil {
		hc = http.DefaultClient
	}
	plan, err := ParseMultipart(a, obj)
	if err != nil {
		return err
	}
	conc := opt.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	n := len(plan.URLs)
	oh := &orderedHasher{h: sha256.New(), done: make([]chan struct{}, n)}
	for i := range oh.done {
		oh.done[i] = make(chan struct{})
	}
	parts := make([]Part, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(conc)
	for i := 0; i < n; i++ {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			off := int64(i) * plan.ChunkSize
			size := min(plan.ChunkSize, obj.Size-off)
			bp := getBuf(plan.ChunkSize)
			defer putBuf(plan.ChunkSize, bp)
			buf := (*bp)[:size]
			if err := readPart(gctx, src, off, buf, obj); err != nil {
				return err
			}
			hashErr := make(chan error, 1)
			go func() { hashErr <- oh.add(gctx, i, buf) }()
			etag, err := putPart(gctx, hc, plan.URLs[i], buf, opt.Header)
			if herr := <-hashErr; err == nil {
				err = herr
			}
			if err != nil {
				return fmt.Errorf("lfs multipart: part %d of %d: %w", i+1, n, err)
			}
			parts[i] = Part{PartNumber: i + 1, ETag: etag}
			if opt.Progress != nil {
				opt.Progress(size)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if got := hex.EncodeToString(oh.h.Sum(nil)); got != obj.OID {
		return mismatch(obj, obj.Size, got)
	}
	return complete(ctx, opt.Client, hc, a, obj, parts, opt.Header)
}

// readPart fills buf with the part at off, failing with hubkit.ErrHashMismatch if the source is short
// or long.
func readPart(ctx context.Context, src hubkit.Source, off int64, buf []byte, obj Object) error {
	rc, err := src.OpenRange(ctx, off, int64(len(buf)))
	if err != nil {
		return fmt.Errorf("lfs multipart: open source at %d: %w", off, err)
	}
	defer rc.Close()
	m, err := io.ReadFull(rc, buf)
	if err == io.ErrUnexpectedEOF || err == io.EOF {
		return mismatch(obj, off+int64(m), "")
	}
	if err != nil {
		return fmt.Errorf("lfs multipart: read source at %d: %w", off, err)
	}
	var one [1]byte
	if k, _ := io.ReadFull(rc, one[:]); k > 0 {
		return fmt.Errorf("%w: %s: source range at %d is longer than %d bytes", hubkit.ErrHashMismatch, short(obj.OID), off, len(buf))
	}
	return nil
}

func putPart(ctx context.Context, hc *http.Client, href string, buf []byte, extra http.Header) (string, error) {
	// bytes.Reader gives the request a GetBody, so the HTTP layer may retry a failed part.
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, href, bytes.NewReader(buf))
	if err != nil {
		return "", err
	}
	copyHeader(req.Header, extra, false)
	resp, err := hc.Do(req)
	if err != nil {
		return "", redactURLError(err)
	}
	defer drainClose(resp.Body)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", newStatusError("upload part", resp)
	}
	etag := resp.Header.Get("ETag")
	if etag == "" {
		return "", fmt.Errorf("lfs multipart: part accepted without an ETag")
	}
	return etag, nil
}

type completion struct {
	OID   string `json:"oid"`
	Parts []Part `json:"parts"`
}

// complete POSTs the completion call. It is self-authenticating (no credentials are sent) and
// marked idempotent: completing the same parts twice is harmless.
func complete(ctx context.Context, c *Client, hc *http.Client, a Action, obj Object, parts []Part, extra http.Header) error {
	buf, _ := json.Marshal(completion{OID: obj.OID, Parts: parts})
	req, err := http.NewRequestWithContext(httpx.Idempotent(ctx), http.MethodPost, a.Href, bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("lfs multipart complete: %w", err)
	}
	copyHeader(req.Header, extra, false)
	applyAction(req.Header, a)
	req.Header.Set("Accept", MediaType)
	req.Header.Set("Content-Type", MediaType)
	if c == nil {
		c = &Client{HTTP: hc}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("lfs multipart complete: %w", redactURLError(err))
	}
	defer drainClose(resp.Body)
	return c.check("multipart complete", resp)
}
