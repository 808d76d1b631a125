package xettest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/xet"
)

// admit answers a CAS request with the route's injected fault if one is due, else checks its
// token (write: it needs write scope) as auth does; false when it has answered. An upload's body
// is read to the end before a fault is answered, so the client sees the status and not a reset.
func (s *Server) admit(w http.ResponseWriter, r *http.Request, route Route, write bool) (token, bool) {
	if st := s.takeFault(route); st != 0 {
		if write {
			_, _ = io.Copy(io.Discard, r.Body)
		}
		http.Error(w, "injected fault", st)
		return token{}, false
	}
	return s.auth(w, r, write)
}

// pathHash reads the "<prefix>/<hash>" tail of a CAS path: false unless the prefix is one of
// prefixes and the hash is well formed.
func pathHash(rest string, prefixes ...string) (xet.Hash, bool) {
	prefix, id, _ := strings.Cut(rest, "/")
	h, err := xet.ParseHash(id)
	return h, err == nil && slices.Contains(prefixes, prefix)
}

func (s *Server) handleReconstruction(w http.ResponseWriter, r *http.Request, id string, v2 bool) {
	t, ok := s.admit(w, r, RouteReconstruction, false)
	if !ok {
		return
	}
	s.mu.Lock()
	noV2 := s.noV2
	s.mu.Unlock()
	if v2 && noV2 {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h, err := xet.ParseHash(id)
	if err != nil {
		http.Error(w, "malformed file id", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	f := s.files[h]
	visible := s.scopes[t.scope][h]
	s.mu.Unlock()
	if f == nil || !visible {
		http.Error(w, "file not found", http.StatusNotFound)
		return
	}
	a, b := int64(0), f.size-1
	if rh := r.Header.Get("Range"); rh != "" {
		var ok bool
		a, b, ok = parseOneRange(rh)
		if !ok {
			http.Error(w, "malformed Range", http.StatusBadRequest)
			return
		}
		if a >= f.size {
			http.Error(w, "range start past the end of the file", http.StatusRequestedRangeNotSatisfiable)
			return
		}
		b = min(b, f.size-1)
	}
	rec := s.reconstruct(f, a, b)
	s.mu.Lock()
	tamper := s.tamperRec
	s.mu.Unlock()
	if tamper != nil {
		tamper(rec)
	}
	w.Header().Set("Content-Type", "application/json")
	if v2 {
		s.count("reconstruction-v2")
		_ = json.NewEncoder(w).Encode(rec)
		return
	}
	s.count("reconstruction-v1")
	_ = json.NewEncoder(w).Encode(toV1(rec))
}

type v1Entry struct {
	Range    xet.Span `json:"range"`
	URL      string   `json:"url"`
	URLRange xet.Span `json:"url_range"`
}

// toV1 re-signs every range as its own URL, as the v1 answer has one range per entry.
func toV1(rec *xet.Reconstruction) any {
	fi := map[string][]v1Entry{}
	for h, es := range rec.Xorbs {
		for _, e := range es {
			for _, fr := range e.Ranges {
				fi[h] = append(fi[h], v1Entry{Range: fr.Chunks, URL: e.URL, URLRange: fr.Bytes})
			}
		}
	}
	return map[string]any{"offset_into_first_range": rec.OffsetIntoFirstRange, "terms": rec.Terms, "fetch_info": fi}
}

// reconstruct narrows the file's terms to the chunks that hold bytes [a, b] and lists, per xorb,
// the merged chunk ranges with their byte ranges under one signed URL.
func (s *Server) reconstruct(f *storedFile, a, b int64) *xet.Reconstruction {
	rec := &xet.Reconstruction{Xorbs: map[string][]xet.FetchEntry{}}
	need := map[xet.Hash][]xet.Span{}
	var pos int64
	first := true
	for _, t := range f.info.Terms {
		s.mu.Lock()
		x := s.xorbs[t.Xorb]
		s.mu.Unlock()
		cs, ce := int64(-1), int64(-1)
		var unpacked, skip int64
		for i := t.Start; i < t.End; i++ {
			n := int64(x.chunks[i].Size)
			if pos+n > a && pos <= b {
				if cs < 0 {
					cs = int64(i)
					if first {
						skip = a - pos
					}
				}
				ce = int64(i) + 1
				unpacked += n
			}
			pos += n
		}
		if cs < 0 {
			continue
		}
		if first {
			rec.OffsetIntoFirstRange = skip
			first = false
		}
		rec.Terms = append(rec.Terms, xet.ReconTerm{Hash: t.Xorb.String(), UnpackedLength: unpacked, Range: xet.Span{Start: cs, End: ce}})
		need[t.Xorb] = append(need[t.Xorb], xet.Span{Start: cs, End: ce})
	}
	s.mu.Lock()
	ttl := s.urlTTL
	if s.expireURLs > 0 {
		s.expireURLs--
		ttl = -time.Second
	}
	s.mu.Unlock()
	exp := strconv.FormatInt(time.Now().Add(ttl).UnixMilli(), 10)
	for xh, spans := range need {
		s.mu.Lock()
		x := s.xorbs[xh]
		s.mu.Unlock()
		var ranges []xet.FetchRange
		for _, sp := range merge(spans) {
			ranges = append(ranges, xet.FetchRange{Chunks: sp,
				Bytes: xet.Span{Start: int64(x.offsets[sp.Start]), End: int64(x.offsets[sp.End]) - 1}})
		}
		signed := rangeList(ranges)
		q := url.Values{"X-Xet-Signed-Range": {signed}, "exp": {exp}, "sig": {s.sign(xh.String(), signed, exp)}}
		rec.Xorbs[xh.String()] = []xet.FetchEntry{{URL: s.transfer.URL + "/xorb/default/" + xh.String() + "?" + q.Encode(), Ranges: ranges}}
	}
	return rec
}

func merge(spans []xet.Span) []xet.Span {
	sort.Slice(spans, func(i, j int) bool { return spans[i].Start < spans[j].Start })
	var out []xet.Span
	for _, sp := range spans {
		if n := len(out); n > 0 && sp.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, sp.End)
			continue
		}
		out = append(out, sp)
	}
	return out
}

func rangeList(rs []xet.FetchRange) string {
	parts := make([]string, len(rs))
	for i, fr := range rs {
		parts[i] = fmt.Sprintf("%d-%d", fr.Bytes.Start, fr.Bytes.End)
	}
	return strings.Join(parts, ",")
}

func parseOneRange(v string) (int64, int64, bool) {
	v, ok := strings.CutPrefix(v, "bytes=")
	if !ok || strings.Contains(v, ",") {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(v, "-")
	if !ok {
		return 0, 0, false
	}
	x, err1 := strconv.ParseInt(a, 10, 64)
	y, err2 := strconv.ParseInt(b, 10, 64)
	return x, y, err1 == nil && err2 == nil && x >= 0 && y >= x
}

// serveTransfer answers GET /xorb/default/{hash} with the signed ranges only: no credentials,
// an unexpired signature, and a Range header naming only ranges from the signed set
// (huggingface.js XetBlob.ts: "requesting bytes outside that set fails authorization").
func (s *Server) serveTransfer(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" {
		s.mu.Lock()
		s.leaks = append(s.leaks, fmt.Sprintf("%s %s carried credentials to the transfer host", r.Method, r.URL.Path))
		s.mu.Unlock()
		http.Error(w, "credentials are not accepted here", http.StatusBadRequest)
		return
	}
	if st := s.takeFault(RouteFetch); st != 0 {
		http.Error(w, "injected fault", st)
		return
	}
	xh := strings.TrimPrefix(r.URL.Path, "/xorb/default/")
	q := r.URL.Query()
	signed, exp := q.Get("X-Xet-Signed-Range"), q.Get("exp")
	if q.Get("sig") != s.sign(xh, signed, exp) {
		http.Error(w, "bad signature", http.StatusForbidden)
		return
	}
	if ms, err := strconv.ParseInt(exp, 10, 64); err != nil || time.Now().UnixMilli() > ms {
		http.Error(w, "signed URL expired", http.StatusForbidden)
		return
	}
	h, _ := xet.ParseHash(xh)
	s.mu.Lock()
	x := s.xorbs[h]
	cut := s.cutFetches > 0
	if cut {
		s.cutFetches--
	}
	tamper := s.tamperBody
	s.mu.Unlock()
	allowed := map[string]bool{}
	for _, p := range strings.Split(signed, ",") {
		allowed[p] = true
	}
	want, ok := strings.CutPrefix(r.Header.Get("Range"), "bytes=")
	if !ok || x == nil {
		http.Error(w, "a Range from the signed set is required", http.StatusForbidden)
		return
	}
	var parts [][2]int64
	for _, p := range strings.Split(want, ",") {
		a, b, ok := parseOneRange("bytes=" + p)
		if !allowed[p] || !ok || b >= int64(len(x.raw)) {
			http.Error(w, "range "+p+" is not signed", http.StatusForbidden)
			return
		}
		parts = append(parts, [2]int64{a, b})
	}
	body := func(p [2]int64) []byte {
		b := x.raw[p[0] : p[1]+1]
		if tamper != nil {
			b = tamper(append([]byte(nil), b...))
		}
		return b
	}
	if len(parts) == 1 {
		b := body(parts[0])
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", parts[0][0], parts[0][1], len(x.raw)))
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.WriteHeader(http.StatusPartialContent)
		if cut {
			b = b[:len(b)/2]
		}
		_, _ = w.Write(b)
		return
	}
	s.count("multirange")
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		pw, _ := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {"application/octet-stream"},
			"Content-Range": {fmt.Sprintf("bytes %d-%d/%d", p[0], p[1], len(x.raw))}})
		_, _ = pw.Write(body(p))
	}
	_ = mw.Close()
	out := buf.Bytes()
	w.Header().Set("Content-Type", "multipart/byteranges; boundary="+mw.Boundary())
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusPartialContent)
	if cut {
		out = out[:len(out)/2]
	}
	_, _ = w.Write(out)
}

// checkXorb decodes a serialised xorb, recomputing every chunk hash and the xorb hash.
func checkXorb(h xet.Hash, raw []byte) (*storedXorb, error) {
	if len(raw) > xet.MaxXorbBytes {
		return nil, fmt.Errorf("xorb of %d bytes exceeds %d", len(raw), xet.MaxXorbBytes)
	}
	body, _ := xet.SplitXorbFooter(raw)
	chunks, err := xet.DecodeChunks(body, 0)
	if err != nil {
		return nil, err
	}
	if len(chunks) == 0 {
		return nil, fmt.Errorf("empty xorb")
	}
	x := &storedXorb{raw: raw}
	refs := make([]xet.ChunkRef, len(chunks))
	for i, c := range chunks {
		ch := xet.ChunkHash(c.Data)
		x.chunks = append(x.chunks, xet.XorbChunk{Hash: ch, Size: uint32(len(c.Data)), Offset: uint32(c.Offset)})
		x.offsets = append(x.offsets, c.Offset)
		refs[i] = xet.ChunkRef{Hash: ch, Size: uint32(len(c.Data))}
	}
	x.offsets = append(x.offsets, len(body))
	if got := xet.XorbHash(refs); got != h {
		return nil, fmt.Errorf("xorb hash of the body is %s, the path says %s", got, h)
	}
	return x, nil
}

func (s *Server) handleXorb(w http.ResponseWriter, r *http.Request, rest string) {
	if _, ok := s.admit(w, r, RouteXorb, true); !ok {
		return
	}
	h, ok := pathHash(rest, "default")
	if !ok {
		http.Error(w, "malformed xorb path", http.StatusBadRequest)
		return
	}
	var buf bytes.Buffer
	if r.ContentLength > 0 && r.ContentLength <= xet.MaxXorbBytes {
		buf.Grow(int(r.ContentLength) + 1)
	}
	_, err := buf.ReadFrom(io.LimitReader(r.Body, xet.MaxXorbBytes+1))
	raw := buf.Bytes()
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	x, err := checkXorb(h, raw)
	if err != nil {
		http.Error(w, "xorb refused: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	_, had := s.xorbs[h]
	if !had {
		s.xorbs[h] = x
		s.received += int64(len(raw))
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]bool{"was_inserted": !had})
}

func (s *Server) handleShard(w http.ResponseWriter, r *http.Request) {
	t, ok := s.admit(w, r, RouteShard, true)
	if !ok {
		return
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<20+1))
	if err != nil {
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return
	}
	sh, err := xet.ParseShard(raw)
	if err != nil {
		http.Error(w, "shard refused: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.register(t.scope, sh); err != nil {
		http.Error(w, "shard refused: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int{"result": 1})
}

// register checks a shard against the stored xorbs and records its files in the scope.
func (s *Server) register(scope string, sh *xet.Shard) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, xi := range sh.Xorbs {
		x := s.xorbs[xi.Hash]
		if x == nil {
			return fmt.Errorf("xorb %s was never uploaded", xi.Hash)
		}
		if len(xi.Chunks) != len(x.chunks) {
			return fmt.Errorf("xorb %s: shard lists %d chunks, the xorb has %d", xi.Hash, len(xi.Chunks), len(x.chunks))
		}
		for i, c := range xi.Chunks {
			if c.Hash != x.chunks[i].Hash || c.Size != x.chunks[i].Size {
				return fmt.Errorf("xorb %s chunk %d: shard says %s/%d, the xorb holds %s/%d",
					xi.Hash, i, c.Hash, c.Size, x.chunks[i].Hash, x.chunks[i].Size)
			}
		}
	}
	var files []*storedFile
	for _, fi := range sh.Files {
		f, err := s.checkFile(fi)
		if err != nil {
			return fmt.Errorf("file %s: %w", fi.Hash, err)
		}
		files = append(files, f)
	}
	var group []xet.Hash
	for _, xi := range sh.Xorbs {
		group = append(group, xi.Hash)
		for _, c := range xi.Chunks {
			s.chunks[c.Hash] = xi.Hash
		}
	}
	for _, xh := range group {
		s.groups[xh] = group
	}
	if s.scopes[scope] == nil {
		s.scopes[scope] = map[xet.Hash]bool{}
	}
	for _, f := range files {
		s.files[f.info.Hash] = f
		s.scopes[scope][f.info.Hash] = true
	}
	return nil
}

// checkFile verifies every term, the verification hashes, the file hash and the SHA-256
// extension (which git-backed repos require) against the stored chunks. Caller holds s.mu.
func (s *Server) checkFile(fi xet.FileInfo) (*storedFile, error) {
	if len(fi.Terms) == 0 {
		return nil, fmt.Errorf("no terms")
	}
	if len(fi.Verification) != len(fi.Terms) {
		return nil, fmt.Errorf("%d verification entries for %d terms", len(fi.Verification), len(fi.Terms))
	}
	if fi.SHA256 == nil {
		return nil, fmt.Errorf("no SHA-256 metadata extension")
	}
	var leaves []xet.ChunkRef
	var size int64
	for i, t := range fi.Terms {
		x := s.xorbs[t.Xorb]
		if x == nil {
			return nil, fmt.Errorf("term %d names unknown xorb %s", i, t.Xorb)
		}
		if t.End <= t.Start || int(t.End) > len(x.chunks) {
			return nil, fmt.Errorf("term %d chunk range [%d, %d) outside xorb %s of %d chunks", i, t.Start, t.End, t.Xorb, len(x.chunks))
		}
		var n uint32
		var hashes []xet.Hash
		for _, c := range x.chunks[t.Start:t.End] {
			n += c.Size
			hashes = append(hashes, c.Hash)
			leaves = append(leaves, xet.ChunkRef{Hash: c.Hash, Size: c.Size})
		}
		if n != t.UnpackedBytes {
			return nil, fmt.Errorf("term %d says %d bytes, its chunks hold %d", i, t.UnpackedBytes, n)
		}
		if xet.VerificationHash(hashes) != fi.Verification[i] {
			return nil, fmt.Errorf("term %d verification hash does not verify", i)
		}
		size += int64(n)
	}
	if got := xet.FileHash(leaves); got != fi.Hash {
		return nil, fmt.Errorf("file hash of the terms is %s", got)
	}
	sum, err := s.fileSHA256(fi, leaves, size)
	if err != nil {
		return nil, err
	}
	if xet.HashFromSHA256(sum) != *fi.SHA256 {
		return nil, fmt.Errorf("SHA-256 extension does not match the file's bytes (%s)", hex.EncodeToString(sum[:]))
	}
	return &storedFile{info: fi, size: size, sha256: hex.EncodeToString(sum[:])}, nil
}

// fileSHA256 is the SHA-256 of a file's bytes. A file the size of a registered synthetic blob
// whose SHA-256 the extension names is compared chunk by chunk with that blob (every chunk hash
// was recomputed from the bytes when its xorb was stored), so multi-GiB synthetic files are
// verified without decoding them; any other file is decoded and hashed. Caller holds s.mu.
func (s *Server) fileSHA256(fi xet.FileInfo, leaves []xet.ChunkRef, size int64) ([32]byte, error) {
	var sum [32]byte
	if b, ok := synth.Lookup(fi.SHA256.String(), size); ok && size > synthVerifyMin {
		want, err := synthLeaves(b)
		if err != nil {
			return sum, err
		}
		if !slices.Equal(want, leaves) {
			return sum, fmt.Errorf("the file's chunks are not those of the %d-byte content its SHA-256 extension names", size)
		}
		raw, _ := hex.DecodeString(b.SHA256())
		return [32]byte(raw), nil
	}
	sha := sha256.New()
	for i, t := range fi.Terms {
		x := s.xorbs[t.Xorb]
		chunks, err := xet.DecodeChunks(x.raw[x.offsets[t.Start]:x.offsets[t.End]], int(t.End-t.Start))
		if err != nil {
			return sum, fmt.Errorf("term %d: %w", i, err)
		}
		for _, c := range chunks {
			sha.Write(c.Data)
		}
	}
	sha.Sum(sum[:0])
	return sum, nil
}

// handleDedup answers a global deduplication query with a shard describing the xorb that holds
// the chunk, its chunk hashes protected by the server's HMAC key; 404 when no shard registered it.
// The official JS client queries the "default" prefix, the spec names "default-merkledb".
func (s *Server) handleDedup(w http.ResponseWriter, r *http.Request, rest string) {
	if _, ok := s.admit(w, r, RouteDedup, false); !ok {
		return
	}
	h, ok := pathHash(rest, "default-merkledb", "default")
	if !ok {
		http.Error(w, "malformed chunk path", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	xh, ok := s.chunks[h]
	var xs []*storedXorb
	var hs []xet.Hash
	if ok {
		// The answer is the shard that registered the chunk's xorb: that xorb and its siblings
		// ("other xorbs ... are possibly more likely to reference content that the client has",
		// docs/xet/shard.md).
		for _, gh := range s.groups[xh] {
			xs, hs = append(xs, s.xorbs[gh]), append(hs, gh)
		}
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "chunk not tracked", http.StatusNotFound)
		return
	}
	sh := xet.Shard{HMACKey: s.hmacKey, Expiry: time.Now().Add(24 * time.Hour)}
	for i, x := range xs {
		info := xet.XorbInfo{Hash: hs[i], SerializedBytes: uint32(len(x.raw))}
		for _, c := range x.chunks {
			info.Chunks = append(info.Chunks, xet.XorbChunk{Hash: xet.HMAC(c.Hash, s.hmacKey), Size: c.Size})
			info.UnpackedBytes += c.Size
		}
		sh.Xorbs = append(sh.Xorbs, info)
	}
	b, _ := sh.Marshal(true)
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}
