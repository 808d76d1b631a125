package xet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Span is an index or byte range as the reconstruction API writes it. Chunk spans end
// exclusive, byte spans end inclusive.
type Span struct {
	Start int64 `json:"start"`
	End   int64 `json:"end"`
}

// ReconTerm is one term of a reconstruction answer.
type ReconTerm struct {
	Hash           string `json:"hash"`
	UnpackedLength int64  `json:"unpacked_length"`
	Range          Span   `json:"range"`
}

// FetchRange is a chunk range of a xorb and the bytes that hold it.
type FetchRange struct {
	Chunks Span `json:"chunks"`
	Bytes  Span `json:"bytes"`
}

// FetchEntry is a signed URL and the ranges it may be asked for.
type FetchEntry struct {
	URL    string       `json:"url"`
	Ranges []FetchRange `json:"ranges"`
}

// Reconstruction is the answer of GET /v2/reconstructions/{file} (a v1 answer is converted to
// this form: one range per entry).
type Reconstruction struct {
	OffsetIntoFirstRange int64                   `json:"offset_into_first_range"`
	Terms                []ReconTerm             `json:"terms"`
	Xorbs                map[string][]FetchEntry `json:"xorbs"`
}

type reconV1 struct {
	OffsetIntoFirstRange int64       `json:"offset_into_first_range"`
	Terms                []ReconTerm `json:"terms"`
	FetchInfo            map[string][]struct {
		Range    Span   `json:"range"`
		URL      string `json:"url"`
		URLRange Span   `json:"url_range"`
	} `json:"fetch_info"`
}

// errURLExpired marks a signed URL the transfer host refused (403): the window is retried with
// a new reconstruction.
var errURLExpired = errors.New("xet: signed URL refused (expired)")

// reconstruction asks for the reconstruction of bytes [a, b] (inclusive) of file, with the v2
// route, falling back to v1 when the CAS does not know v2 (404 or 501 on v2).
func (c *Client) reconstruction(ctx context.Context, file Hash, a, b int64) (*Reconstruction, error) {
	hdr := http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", a, b)}}
	if !c.v1Only.Load() {
		resp, err := c.casRequest(ctx, "reconstruction", http.MethodGet, "/v2/reconstructions/"+file.String(), nil, hdr)
		var se *StatusError
		switch {
		case err == nil:
			defer func() { _ = resp.Body.Close() }()
			var r Reconstruction
			if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
				return nil, fmt.Errorf("%w: reconstruction answer: %v", ErrCorrupt, err)
			}
			return &r, nil
		case errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusNotImplemented):
		default:
			return nil, err
		}
	}
	resp, err := c.casRequest(ctx, "reconstruction (v1)", http.MethodGet, "/v1/reconstructions/"+file.String(), nil, hdr)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	c.v1Only.Store(true)
	var v1 reconV1
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&v1); err != nil {
		return nil, fmt.Errorf("%w: reconstruction answer: %v", ErrCorrupt, err)
	}
	r := &Reconstruction{OffsetIntoFirstRange: v1.OffsetIntoFirstRange, Terms: v1.Terms, Xorbs: map[string][]FetchEntry{}}
	for h, es := range v1.FetchInfo {
		for _, e := range es {
			r.Xorbs[h] = append(r.Xorbs[h], FetchEntry{URL: e.URL, Ranges: []FetchRange{{Chunks: e.Range, Bytes: e.URLRange}}})
		}
	}
	return r, nil
}

// File is a file in the store, read by its Xet hash. It is a ranged source: OpenRange serves
// any byte range.
type File struct {
	c    *Client
	hash Hash
	size int64
}

// File returns the stored file with the given hash and size.
func (c *Client) File(hash Hash, size int64) *File { return &File{c: c, hash: hash, size: size} }

// Size is the file's length.
func (f *File) Size() int64 { return f.size }

// OpenRange returns n bytes from off (n < 0: to the end). Windows of the file are reconstructed
// one after another; the next window is fetched while the current one is read.
func (f *File) OpenRange(ctx context.Context, off, n int64) (io.ReadCloser, error) {
	if n < 0 {
		n = f.size - off
	}
	if off < 0 || n < 0 || off+n > f.size {
		return nil, fmt.Errorf("xet: range [%d, %d) outside a %d-byte file", off, off+n, f.size)
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		defer cancel()
		pw.CloseWithError(f.stream(ctx, pw, off, off+n))
	}()
	return &pipeReader{pr: pr, cancel: cancel}, nil
}

type pipeReader struct {
	pr     *io.PipeReader
	cancel context.CancelFunc
}

func (p *pipeReader) Read(b []byte) (int, error) { return p.pr.Read(b) }
func (p *pipeReader) Close() error {
	p.cancel()
	return p.pr.Close()
}

type windowResult struct {
	segs [][]byte
	err  error
}

func (f *File) stream(ctx context.Context, w io.Writer, start, end int64) error {
	if start == end {
		return nil
	}
	load := func(a, b int64) <-chan windowResult {
		ch := make(chan windowResult, 1)
		go func() {
			segs, err := f.loadWindow(ctx, a, b)
			ch <- windowResult{segs, err}
		}()
		return ch
	}
	a := start
	b := min(end, a+f.c.window)
	next := load(a, b)
	for a < end {
		res := <-next
		if res.err != nil {
			return res.err
		}
		na, nb := b, min(end, b+f.c.window)
		if na < end {
			next = load(na, nb)
		}
		for _, s := range res.segs {
			if _, err := w.Write(s); err != nil {
				return err
			}
		}
		a, b = na, nb
	}
	return nil
}

// loadWindow reconstructs bytes [a, b) of the file, retrying with a fresh reconstruction when a
// signed URL has expired.
func (f *File) loadWindow(ctx context.Context, a, b int64) ([][]byte, error) {
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		var segs [][]byte
		segs, err = f.tryWindow(ctx, a, b)
		if !errors.Is(err, errURLExpired) {
			return segs, err
		}
	}
	return nil, fmt.Errorf("xet: file %s bytes [%d, %d): %w", f.hash, a, b, err)
}

type located struct {
	xorb  string
	entry int
	rng   int
}

func (f *File) tryWindow(ctx context.Context, a, b int64) ([][]byte, error) {
	r, err := f.c.reconstruction(ctx, f.hash, a, b-1)
	if err != nil {
		return nil, err
	}
	locs, err := checkReconstruction(r, b-a)
	if err != nil {
		return nil, fmt.Errorf("xet: file %s bytes [%d, %d): %w", f.hash, a, b, err)
	}
	// One request per fetch entry, asking for every range of it that some term needs.
	type job struct {
		xorb   string
		entry  int
		ranges []int
	}
	jobs := map[[2]any]*job{}
	var order []*job
	for _, l := range locs {
		k := [2]any{l.xorb, l.entry}
		j := jobs[k]
		if j == nil {
			j = &job{xorb: l.xorb, entry: l.entry}
			jobs[k] = j
			order = append(order, j)
		}
		if !contains(j.ranges, l.rng) {
			j.ranges = append(j.ranges, l.rng)
		}
	}
	decoded := make(map[located][]DecodedChunk)
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(f.c.concurrency)
	for _, j := range order {
		g.Go(func() error {
			e := r.Xorbs[j.xorb][j.entry]
			sort.Ints(j.ranges)
			got, err := f.c.fetchRanges(gctx, e, j.ranges)
			if err != nil {
				return err
			}
			mu.Lock()
			for i, ri := range j.ranges {
				decoded[located{j.xorb, j.entry, ri}] = got[i]
			}
			mu.Unlock()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return assemble(r, locs, decoded, b-a)
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// checkReconstruction refuses answers that cannot be right for a window of want bytes: empty or
// inverted chunk ranges, terms whose lengths do not cover the window, an offset past the first
// term, a term no fetch entry covers.
func checkReconstruction(r *Reconstruction, want int64) ([]located, error) {
	if len(r.Terms) == 0 {
		return nil, fmt.Errorf("%w: reconstruction has no terms", ErrCorrupt)
	}
	var total int64
	locs := make([]located, len(r.Terms))
	for i, t := range r.Terms {
		if t.Range.Start < 0 || t.Range.End <= t.Range.Start || t.UnpackedLength <= 0 ||
			t.UnpackedLength > (t.Range.End-t.Range.Start)*MaxChunkSize {
			return nil, fmt.Errorf("%w: reconstruction term %d (%s chunks [%d, %d), %d bytes) is impossible",
				ErrCorrupt, i, t.Hash, t.Range.Start, t.Range.End, t.UnpackedLength)
		}
		total += t.UnpackedLength
		l, ok := locate(r, t)
		if !ok {
			return nil, fmt.Errorf("%w: reconstruction term %d (%s chunks [%d, %d)) has no fetch entry covering it",
				ErrCorrupt, i, t.Hash, t.Range.Start, t.Range.End)
		}
		locs[i] = l
	}
	off := r.OffsetIntoFirstRange
	if off < 0 || off >= r.Terms[0].UnpackedLength {
		return nil, fmt.Errorf("%w: offset_into_first_range %d outside the first term's %d bytes",
			ErrCorrupt, off, r.Terms[0].UnpackedLength)
	}
	if total-off < want {
		return nil, fmt.Errorf("%w: reconstruction terms add up to %d bytes after the offset, the range needs %d",
			ErrCorrupt, total-off, want)
	}
	return locs, nil
}

func locate(r *Reconstruction, t ReconTerm) (located, bool) {
	for ei, e := range r.Xorbs[t.Hash] {
		for ri, fr := range e.Ranges {
			if fr.Chunks.Start <= t.Range.Start && fr.Chunks.End >= t.Range.End &&
				fr.Bytes.Start >= 0 && fr.Bytes.End >= fr.Bytes.Start {
				return located{t.Hash, ei, ri}, true
			}
		}
	}
	return located{}, false
}

func assemble(r *Reconstruction, locs []located, decoded map[located][]DecodedChunk, want int64) ([][]byte, error) {
	skip := r.OffsetIntoFirstRange
	var segs [][]byte
	left := want
	for i, t := range r.Terms {
		if left == 0 {
			break
		}
		l := locs[i]
		fr := r.Xorbs[l.xorb][l.entry].Ranges[l.rng]
		chunks := decoded[l][t.Range.Start-fr.Chunks.Start : t.Range.End-fr.Chunks.Start]
		var n int64
		for _, ch := range chunks {
			n += int64(len(ch.Data))
		}
		if n != t.UnpackedLength {
			return nil, fmt.Errorf("%w: term %d (%s chunks [%d, %d)) decodes to %d bytes, the reconstruction says %d",
				ErrCorrupt, i, t.Hash, t.Range.Start, t.Range.End, n, t.UnpackedLength)
		}
		for _, ch := range chunks {
			d := ch.Data
			if skip > 0 {
				s := min(skip, int64(len(d)))
				d, skip = d[s:], skip-s
			}
			if int64(len(d)) > left {
				d = d[:left]
			}
			if len(d) > 0 {
				segs = append(segs, d)
				left -= int64(len(d))
			}
		}
	}
	if left != 0 {
		return nil, fmt.Errorf("%w: reconstruction is %d bytes short", ErrCorrupt, left)
	}
	return segs, nil
}

// fetchRanges gets the listed ranges of one fetch entry with one GET (a multi-range request when
// there are several) and decodes each into its chunks. Transient failures, including a body
// that ends early, are retried; a 403 means the signed URL expired.
func (c *Client) fetchRanges(ctx context.Context, e FetchEntry, idx []int) ([][]DecodedChunk, error) {
	parts := make([]string, len(idx))
	for i, ri := range idx {
		fr := e.Ranges[ri]
		parts[i] = fmt.Sprintf("%d-%d", fr.Bytes.Start, fr.Bytes.End)
	}
	rangeHdr := "bytes=" + strings.Join(parts, ",")
	var last error
	for attempt := 0; attempt < c.attempts; attempt++ {
		if attempt > 0 {
			if err := sleep(ctx, c.backoff<<min(attempt-1, 6)); err != nil {
				return nil, err
			}
		}
		out, err := c.fetchOnce(ctx, e, idx, rangeHdr)
		if err == nil || errors.Is(err, errURLExpired) || errors.Is(err, ErrCorrupt) || ctx.Err() != nil {
			return out, err
		}
		var se *StatusError
		if errors.As(err, &se) && !se.Retryable() {
			return nil, err
		}
		last = err
	}
	return nil, fmt.Errorf("xet: xorb fetch: gave up after %d attempts: %w", c.attempts, last)
}

func (c *Client) fetchOnce(ctx context.Context, e FetchEntry, idx []int, rangeHdr string) ([][]DecodedChunk, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.URL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: fetch URL: %v", ErrCorrupt, err)
	}
	req.Header.Set("Range", rangeHdr)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("xet: xorb fetch: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	switch {
	case resp.StatusCode == http.StatusForbidden:
		return nil, errURLExpired
	case resp.StatusCode != http.StatusPartialContent:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, &StatusError{Op: "xorb fetch", Status: resp.StatusCode, Body: snippet(b)}
	}
	bodies := make([][]byte, len(idx))
	if len(idx) == 1 {
		fr := e.Ranges[idx[0]]
		if bodies[0], err = readExactly(resp.Body, fr.Bytes.End-fr.Bytes.Start+1); err != nil {
			return nil, err
		}
	} else if err := readMultipart(resp, e, idx, bodies); err != nil {
		return nil, err
	}
	out := make([][]DecodedChunk, len(idx))
	for i, ri := range idx {
		fr := e.Ranges[ri]
		out[i], err = DecodeChunks(bodies[i], int(fr.Chunks.End-fr.Chunks.Start))
		if err != nil {
			return nil, fmt.Errorf("xorb range bytes %d-%d: %w", fr.Bytes.Start, fr.Bytes.End, err)
		}
	}
	return out, nil
}

func readExactly(r io.Reader, n int64) ([]byte, error) {
	if n > MaxXorbBytes {
		return nil, fmt.Errorf("%w: fetch range of %d bytes exceeds a xorb", ErrCorrupt, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("xet: xorb fetch: body ended early: %w", err)
	}
	var one [1]byte
	if k, _ := r.Read(one[:]); k > 0 {
		return nil, fmt.Errorf("%w: xorb range body longer than the %d bytes asked for", ErrCorrupt, n)
	}
	return b, nil
}

func readMultipart(resp *http.Response, e FetchEntry, idx []int, bodies [][]byte) error {
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/byteranges" || params["boundary"] == "" {
		return fmt.Errorf("%w: multi-range fetch answered %q, not multipart/byteranges", ErrCorrupt, resp.Header.Get("Content-Type"))
	}
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for i := 0; ; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			if i != len(idx) {
				return fmt.Errorf("xet: xorb fetch: %d of %d parts arrived", i, len(idx))
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("xet: xorb fetch: multipart: %w", err)
		}
		if i >= len(idx) {
			return fmt.Errorf("%w: more multipart parts than the %d ranges asked for", ErrCorrupt, len(idx))
		}
		fr := e.Ranges[idx[i]]
		if s, en, ok := parseContentRange(p.Header.Get("Content-Range")); !ok || s != fr.Bytes.Start || en != fr.Bytes.End {
			return fmt.Errorf("%w: part %d has Content-Range %q, asked for %d-%d", ErrCorrupt, i, p.Header.Get("Content-Range"), fr.Bytes.Start, fr.Bytes.End)
		}
		if bodies[i], err = readExactly(p, fr.Bytes.End-fr.Bytes.Start+1); err != nil {
			return err
		}
	}
}

func parseContentRange(v string) (int64, int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return 0, 0, false
	}
	v, _, _ = strings.Cut(v, "/")
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, false
	}
	s, err1 := strconv.ParseInt(a, 10, 64)
	e, err2 := strconv.ParseInt(b, 10, 64)
	return s, e, err1 == nil && err2 == nil
}
