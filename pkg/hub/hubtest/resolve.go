package hubtest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"
)

// content returns a seekable reader over a file's bytes (LFS dereferenced).
func (s *Server) content(f *fileEntry) (io.ReadSeeker, bool) {
	if f.lfs == nil {
		return bytes.NewReader(f.data), true
	}
	s.mu.RLock()
	obj := s.lfsObjs[f.lfs.oid]
	s.mu.RUnlock()
	if obj == nil {
		return nil, false
	}
	return obj.Reader(), true
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// handleResolve serves /{prefix}{id}/resolve/{rev}/{path} and /raw/.
func (s *Server) handleResolve(w http.ResponseWriter, r *http.Request, q *request, raw bool) {
	fr, ok := s.revisionOf(w, q, accFiles, true)
	if !ok {
		return
	}
	rp, c, rev := fr.rp, fr.c, fr.rev
	uid, typ, id := rp.uid, rp.typ, rp.id()
	p := strings.Join(fr.rest, "/")
	f, ok := c.snap.files[p]
	if !ok {
		writeError(w, &hubError{status: http.StatusNotFound, code: "EntryNotFound", msg: "Entry not found"}, true)
		return
	}
	h := w.Header()
	h.Set("X-Repo-Commit", c.id)
	h.Add("Vary", "Accept")
	if raw {
		// The git blob as stored: the pointer text for LFS files.
		data := f.data
		if f.lfs != nil {
			data = []byte(LFSPointer(f.lfs.oid, f.lfs.size))
		}
		serveBytes(w, r, bytes.NewReader(data), `"`+f.oid+`"`, path.Base(p), r.URL.Query().Get("noContentDisposition") == "")
		return
	}
	if f.lfs != nil && f.size > 0 {
		if s.xetOn() && s.xetResolve(w, r, rp, rev, f) {
			return
		}
		exp := time.Now().Add(URLExpiry).Unix()
		disp := fmt.Sprintf("inline; filename*=UTF-8''%s; filename=%q", url.PathEscape(path.Base(p)), path.Base(p))
		expS := strconv.FormatInt(exp, 10)
		loc := fmt.Sprintf("%s/repos/%s/%s?Expires=%s&Signature=%s&response-content-disposition=%s",
			s.CDNURL(), uid, f.lfs.oid, expS, s.Sign("GET", uid, f.lfs.oid, expS), url.QueryEscape(disp))
		h.Set("X-Linked-Etag", `"`+f.lfs.oid+`"`)
		h.Set("X-Linked-Size", strconv.FormatInt(f.size, 10))
		h.Set("Cache-Control", "no-store")
		h.Set("Accept-Ranges", "bytes")
		redirect(w, r, loc, http.StatusFound)
		return
	}
	if fr.private || fr.gated || f.size == 0 {
		rs, _ := s.content(f)
		serveBytes(w, r, rs, `"`+f.oid+`"`, path.Base(p), r.URL.Query().Get("noContentDisposition") == "")
		return
	}
	orig := "/" + urlPrefix(typ) + id + "/resolve/" + url.PathEscape(rev) + "/" + escapePath(p)
	loc := fmt.Sprintf("/api/resolve-cache/%ss/%s/%s/%s?%s=&etag=%s",
		typ, id, c.id, escapePath(p), url.QueryEscape(orig), url.QueryEscape(`"`+f.oid+`"`))
	h.Set("X-Linked-Etag", `"`+f.oid+`"`)
	redirect(w, r, loc, http.StatusTemporaryRedirect)
}

// redirect writes a redirect whose body is a short text (its length is not the file's).
func redirect(w http.ResponseWriter, r *http.Request, loc string, status int) {
	body := fmt.Sprintf("%s. Redirecting to %s", http.StatusText(status), loc)
	h := w.Header()
	h.Set("Location", loc)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// serveBytes serves content with ranges (206, 416), HEAD and the given ETag.
func serveBytes(w http.ResponseWriter, r *http.Request, rs io.ReadSeeker, etag, name string, disposition bool) {
	h := w.Header()
	h.Set("ETag", etag)
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	if disposition {
		h.Set("Content-Disposition", fmt.Sprintf("inline; filename*=UTF-8''%s; filename=%q", url.PathEscape(name), name))
	}
	http.ServeContent(w, r, "", time.Time{}, rs)
}

// handleResolveCache serves /api/resolve-cache/{type}s/{id}/{commit}/{path}.
func (s *Server) handleResolveCache(w http.ResponseWriter, r *http.Request, q *request) {
	s.mu.RLock()
	rp, ok := s.filesRepoLocked(w, q, accFiles, true)
	if !ok {
		s.mu.RUnlock()
		return
	}
	c := rp.commits[q.rest[0]]
	s.mu.RUnlock()
	if c == nil {
		writeError(w, errRevision(q.rest[0]), true)
		return
	}
	p := strings.Join(q.rest[1:], "/")
	f, ok := c.snap.files[p]
	if !ok || f.lfs != nil {
		writeError(w, &hubError{status: http.StatusNotFound, code: "EntryNotFound", msg: "Entry not found"}, true)
		return
	}
	w.Header().Set("X-Repo-Commit", c.id)
	serveBytes(w, r, bytes.NewReader(f.data), `"`+f.oid+`"`, path.Base(p), true)
}

// cdnETag is the storage host's ETag for an object: stable, and not its sha256 (like the Xet
// bridge, whose ETag is the xetHash).
func cdnETag(oid string) string {
	sum := sha256.Sum256([]byte("cdn:" + oid))
	return `"` + hex.EncodeToString(sum[:16]) + `"`
}

// serveCDN is the storage host: signed LFS downloads, basic and multipart part uploads.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Request-Id", fmt.Sprintf("cdn-%d", s.reqSeq.Add(1)))
	route := RouteCDN
	segs, ok := splitEscaped(r.URL.EscapedPath())
	switch {
	case ok && len(segs) > 0 && (segs[0] == "upload" || segs[0] == "multipart"):
		route = RouteLFSUpload
	case r.URL.Query().Get("via") == "lfs":
		// Links handed out by the LFS batch API (download operation), counted apart from the
		// HTTP API's resolve redirects so tests can tell the git fallback from the API path.
		route = RouteLFSDownload
	}
	rule, faulted := s.Faults().Take(route)
	if s.Credentials(r) {
		storageError(w, http.StatusBadRequest, "InvalidArgument", MsgCredentialsOnStorage)
		return
	}
	if faulted {
		if rule.Status != 0 {
			rule.WriteStatus(w, func(w http.ResponseWriter, status int, msg string) {
				storageError(w, status, "InjectedFault", msg)
			})
			return
		}
		w, r = applyRule(rule, w, r, route)
	}
	switch {
	case ok && len(segs) == 3 && segs[0] == "repos" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		s.serveObject(w, r, segs[1], segs[2])
	case ok && len(segs) == 3 && segs[0] == "upload" && r.Method == http.MethodPut:
		s.handleBasicUpload(w, r, segs[1], segs[2])
	case ok && len(segs) == 3 && segs[0] == "multipart" && r.Method == http.MethodPut:
		s.handlePartUpload(w, r, segs[1], segs[2])
	default:
		storageError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
	}
}

// storageError answers like an object store: an XML error document.
func storageError(w http.ResponseWriter, status int, code, msg string) {
	body := fmt.Sprintf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code><Message>%s</Message></Error>", code, msg)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// validExpiry checks a signed URL's Expires parameter.
func validExpiry(exp string) bool {
	n, err := strconv.ParseInt(exp, 10, 64)
	return err == nil && time.Now().Unix() <= n
}

// storageRefusal is how the storage host answers a URL whose signature does not match.
type storageRefusal struct{ code, msg string }

var (
	// refuseDownload is the answer to a download link with a wrong signature.
	refuseDownload = storageRefusal{"AccessDenied", "Invalid signature"}
	// refuseUpload is the answer to an upload link with a wrong signature.
	refuseUpload = storageRefusal{"SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."}
)

// signedURL checks a storage URL: its Signature over fields and then the Expires parameter
// (the last field), answering the request like the object store (403, refusal when the signature
// is wrong) when either fails.
func (s *Server) signedURL(w http.ResponseWriter, qs url.Values, refusal storageRefusal, fields ...string) bool {
	if !s.Verify(qs.Get("Signature"), fields...) {
		storageError(w, http.StatusForbidden, refusal.code, refusal.msg)
		return false
	}
	if !validExpiry(qs.Get("Expires")) {
		storageError(w, http.StatusForbidden, "AccessDenied", "Request has expired")
		return false
	}
	return true
}

func (s *Server) serveObject(w http.ResponseWriter, r *http.Request, uid, oid string) {
	qs := r.URL.Query()
	if !s.signedURL(w, qs, refuseDownload, "GET", uid, oid, qs.Get("Expires")) {
		return
	}
	if s.bridgeOff() {
		storageError(w, http.StatusForbidden, "AccessDenied", "LFS downloads are switched off on this Hub; read the file through Xet")
		return
	}
	s.mu.RLock()
	obj := s.lfsObjs[oid]
	s.mu.RUnlock()
	if obj == nil {
		storageError(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	rng := r.Header.Get("Range")
	if r.Method == http.MethodGet && rng == "" && s.cfg.unranged > 0 && obj.Size() > s.cfg.unranged {
		storageError(w, http.StatusBadRequest, "InvalidRequest", fmt.Sprintf(
			"an un-ranged GET of an object of %d bytes is not served (over %d); read it with Range requests", obj.Size(), s.cfg.unranged))
		return
	}
	if r.Method == http.MethodGet {
		s.noteResponse(rangeLength(rng, obj.Size()))
	}
	h := w.Header()
	h.Set("ETag", cdnETag(oid))
	h.Set("Accept-Ranges", "bytes")
	h.Set("Content-Type", "application/octet-stream")
	if d := qs.Get("response-content-disposition"); d != "" {
		h.Set("Content-Disposition", d)
	}
	http.ServeContent(w, r, "", time.Time{}, obj.Reader())
}

// rangeLength is how many bytes a single-range header asks of an object of size bytes (the
// whole object when there is no header or it cannot be read).
func rangeLength(h string, size int64) int64 {
	spec, ok := strings.CutPrefix(h, "bytes=")
	if !ok || strings.Contains(spec, ",") {
		return size
	}
	a, b, _ := strings.Cut(spec, "-")
	start, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	end, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	switch {
	case err1 != nil && err2 == nil: // suffix range "-n"
		return min(end, size)
	case err1 != nil:
		return size
	case err2 != nil || end >= size:
		end = size - 1
	}
	return max(0, end-start+1)
}

// noteResponse records a body length the storage host served.
func (s *Server) noteResponse(n int64) {
	for {
		cur := s.largest.Load()
		if n <= cur || s.largest.CompareAndSwap(cur, n) {
			return
		}
	}
}

// LargestResponse is the longest body the storage host has sent for one GET of an LFS object.
func (s *Server) LargestResponse() int64 { return s.largest.Load() }
