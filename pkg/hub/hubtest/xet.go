package hubtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/xet"
	"github.com/linaqruf/hf2ms/pkg/xet/xettest"
)

// RouteXetToken names the xet-read-token and xet-write-token routes (for fault rules).
const RouteXetToken = "xet-token"

// xetFileInfoType is the media type the Hub answers a resolve with when asked for the Xet file
// info of a Xet-backed file (huggingface.js lib/file-download-info.ts).
const xetFileInfoType = "application/vnd.xet-fileinfo+json"

// xetState is the Hub's Xet side: a strict fake CAS, the switch that turns Xet off, and the Xet
// file hash of each LFS object the Hub has converted.
type xetState struct {
	cas *xettest.Server
	on  atomic.Bool
	// noBridge makes the storage host refuse LFS downloads while Xet is on (SetXetBridge).
	noBridge atomic.Bool
	mu       sync.Mutex
	hashes   map[string]xet.Hash // LFS oid -> Xet file hash
	seq      atomic.Uint64
}

// WithXet makes the fake Hub Xet-enabled, as every Hub repo is: a strict fake CAS
// (pkg/xet/xettest) stores the bytes, the token routes hand out CAS tokens, the LFS batch answers
// transfer "xet" to clients that offer it, listings carry xetHash and resolves X-Xet-Hash, and
// files uploaded through plain LFS are converted to Xet (hub-docs xet/legacy-git-lfs.md).
func WithXet() Option { return func(c *config) { c.xet = true } }

func newXetState(enabled bool) *xetState {
	if !enabled {
		return nil
	}
	x := &xetState{cas: xettest.New(), hashes: map[string]xet.Hash{}}
	x.on.Store(true)
	return x
}

// XetCAS is the fake CAS behind the Hub (nil unless WithXet).
func (s *Server) XetCAS() *xettest.Server {
	if s.xet == nil {
		return nil
	}
	return s.xet.cas
}

// SetXet turns the Hub's Xet side on or off (only with WithXet): off, the Hub behaves as one
// without Xet, so clients must fall back to LFS and the bridge.
func (s *Server) SetXet(on bool) {
	if s.xet != nil {
		s.xet.on.Store(on)
	}
}

func (s *Server) xetOn() bool { return s.xet != nil && s.xet.on.Load() }

// XetHash is the Xet file hash of an LFS object the Hub has converted.
func (s *Server) XetHash(oid string) (string, bool) {
	if s.xet == nil {
		return "", false
	}
	s.xet.mu.Lock()
	defer s.xet.mu.Unlock()
	h, ok := s.xet.hashes[oid]
	return h.String(), ok
}

func xetScope(r *repo) string { return repoKey(r.typ, r.id()) }

// xetHashOf converts an LFS object for the repo's scope if needed and returns its Xet hash (""
// when Xet is off or the object is kept on disk). Synthetic blobs are converted without being
// materialised (xettest.Server.ImportSynthetic).
func (s *Server) xetHashOf(r *repo, oid string, obj *lfsObject) string {
	if !s.xetOn() || obj == nil || obj.Size() == 0 || obj.Data == nil && obj.Blob == nil {
		return ""
	}
	x := s.xet
	x.mu.Lock()
	defer x.mu.Unlock()
	h, ok := x.hashes[oid]
	if !ok || !x.cas.HasFile(xetScope(r), h) {
		var nh xet.Hash
		var err error
		if obj.Data == nil {
			nh, err = x.cas.ImportSynthetic(xetScope(r), *obj.Blob)
		} else {
			nh, err = x.cas.Import(xetScope(r), obj.Data)
		}
		if err != nil {
			return ""
		}
		h = nh
		x.hashes[oid] = h
	}
	return h.String()
}

// xetAdoptLocked makes an object uploaded through Xet (a file whose SHA-256 extension names oid,
// registered in the repo's scope) an LFS object of the repo, so the commit that names it
// succeeds and the bridge can serve it. The caller holds s.mu.
func (s *Server) xetAdoptLocked(r *repo, oid string) {
	if !s.xetOn() {
		return
	}
	if s.lfsObjs[oid] != nil && r.lfs[oid] {
		s.xetHashOf(r, oid, s.lfsObjs[oid]) // the Hub converts LFS uploads to Xet
		return
	}
	h, size, ok := s.xet.cas.FileBySHA256(xetScope(r), oid)
	if !ok {
		return
	}
	if s.lfsObjs[oid] == nil {
		obj, ok := s.xetObject(r, oid, size)
		if !ok {
			return
		}
		s.lfsObjs[oid] = obj
	}
	r.lfs[oid] = true
	s.xet.mu.Lock()
	s.xet.hashes[oid] = h
	s.xet.mu.Unlock()
}

// xetObject is the LFS object for a file stored through Xet: its bytes when they fit the memory
// limit, else the registered synthetic blob with that SHA-256, as for plain LFS uploads (none:
// the file stays unadopted and a commit naming it fails).
func (s *Server) xetObject(r *repo, oid string, size int64) (*lfsObject, bool) {
	if size > s.cfg.MemoryLimit {
		b, ok := synth.Lookup(oid, size)
		if !ok {
			return nil, false
		}
		return &lfsObject{Blob: &b}, true
	}
	_, data, ok := s.xet.cas.FindSHA256(xetScope(r), oid)
	if !ok {
		return nil, false
	}
	return &lfsObject{Data: data}, true
}

// SetXetBridge switches the bridge on or off (only with WithXet): off, while Xet is on, the
// storage host refuses every LFS download, so reads of Xet-backed files must go through the CAS.
// The Hub serves Xet-backed files through such a bridge for clients that do not speak Xet
// (hub-docs xet/legacy-git-lfs.md); this switch checks a client does not lean on it.
func (s *Server) SetXetBridge(on bool) {
	if s.xet != nil {
		s.xet.noBridge.Store(!on)
	}
}

func (s *Server) bridgeOff() bool { return s.xetOn() && s.xet.noBridge.Load() }

// xetURL is the Hub's token route for a repo and revision.
func (s *Server) xetTokenURL(r *repo, rev string, write bool) string {
	kind := "read"
	if write {
		kind = "write"
	}
	return fmt.Sprintf("%s/api/%ss/%s/xet-%s-token/%s", s.URL(), r.typ, r.id(), kind, url.PathEscape(rev))
}

// handleXetToken serves GET /api/{type}s/{ns}/{name}/xet-{read|write}-token/{rev}: the Hub
// token (or anonymous access to a public repo) buys a CAS token scoped to that repo and
// revision, as {accessToken, exp, casUrl} and as X-Xet-* headers.
func (s *Server) handleXetToken(w http.ResponseWriter, r *http.Request, q *request) {
	write := strings.Contains(r.URL.Path, "/xet-write-token/")
	level := accFiles
	if write {
		level = accWrite
	}
	s.mu.RLock()
	rp, he := s.repoFor(q, level)
	var rev string
	if he == nil {
		rev = strings.Join(q.rest, "/")
		if rp.resolve(rev) == nil {
			he = errRevision(rev)
		}
	}
	s.mu.RUnlock()
	if he != nil {
		writeError(w, he, false)
		return
	}
	if !s.xetOn() {
		writeError(w, &hubError{status: http.StatusNotFound, msg: "Xet is not enabled for this repository"}, false)
		return
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && tok != "" {
		s.xet.cas.ForbidCredential(tok)
	}
	a, h := s.xet.cas.Answer(xetScope(rp), rev, write)
	for k, v := range h {
		w.Header()[k] = v
	}
	writeJSON(w, http.StatusOK, a)
}

// xetUploadAction is the batch action of an object the client will upload through Xet
// (huggingface.js commit.ts reads the X-Xet-* headers and refreshes the token at href).
func (s *Server) xetUploadAction(r *repo, rev string) map[string]*lfsAction {
	a, h := s.xet.cas.Answer(xetScope(r), rev, true)
	hdr := map[string]string{
		"X-Xet-Cas-Url":          a.CasURL,
		"X-Xet-Access-Token":     a.AccessToken,
		"X-Xet-Token-Expiration": h.Get("X-Xet-Token-Expiration"),
		"X-Xet-Session-Id":       strconv.FormatUint(s.xet.seq.Add(1), 10),
	}
	return map[string]*lfsAction{"upload": {Href: s.xetTokenURL(r, rev, true), Header: hdr}}
}

func batchRefName(raw json.RawMessage) string {
	var ref struct {
		Name string `json:"name"`
	}
	if len(raw) > 0 && json.Unmarshal(raw, &ref) == nil && ref.Name != "" {
		return strings.TrimPrefix(ref.Name, "refs/heads/")
	}
	return "main"
}

// xetResolve adds the Xet headers to the resolve of a Xet-backed file and, when the client asks
// for the Xet file info, answers it instead of redirecting (huggingface.js
// lib/file-download-info.ts reads X-Xet-Hash, X-Linked-Size and the xet-auth and
// xet-reconstruction-info links). It reports whether it answered.
func (s *Server) xetResolve(w http.ResponseWriter, r *http.Request, rp *repo, rev string, f *fileEntry) bool {
	s.mu.RLock()
	obj := s.lfsObjs[f.lfs.oid]
	s.mu.RUnlock()
	hash := s.xetHashOf(rp, f.lfs.oid, obj)
	if hash == "" {
		return false
	}
	h := w.Header()
	h.Set("X-Xet-Hash", hash)
	auth := s.xetTokenURL(rp, rev, false)
	recon := s.xet.cas.URL() + "/v1/reconstructions/" + hash
	h.Set("Link", fmt.Sprintf(`<%s>; rel="xet-auth", <%s>; rel="xet-reconstruction-info"`, auth, recon))
	if !strings.Contains(r.Header.Get("Accept"), xetFileInfoType) {
		return false
	}
	h.Set("X-Linked-Size", strconv.FormatInt(f.size, 10))
	h.Set("X-Linked-Etag", `"`+f.lfs.oid+`"`)
	h.Set("Content-Type", xetFileInfoType)
	body, _ := json.Marshal(map[string]any{"hash": hash, "refreshUrl": auth, "reconstructionUrl": recon,
		"etag": f.lfs.oid, "size": f.size})
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
	return true
}

// entryXetHash is the xetHash of a tree entry ("" for regular files or when Xet is off).
func (s *Server) entryXetHash(f *fileEntry) string {
	if !s.xetOn() || f == nil || f.lfs == nil {
		return ""
	}
	h, _ := s.XetHash(f.lfs.oid)
	return h
}

// Close stops the Hub's hosts and, with WithXet, its CAS.
func (s *Server) Close() {
	s.Hosts.Close()
	if s.xet != nil {
		s.xet.cas.Close()
	}
}
