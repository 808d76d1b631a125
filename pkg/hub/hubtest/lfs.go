package hubtest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/internal/synth"
)

// multipartUpload is one multipart LFS upload in progress.
type multipartUpload struct {
	id     string
	repo   *repo
	oid    string
	size   int64
	chunk  int64
	nparts int
	synth  *synth.Blob         // set when the object is above the memory limit
	spool  *fakehost.SpoolFile // set when it is above the memory limit and kept on disk

	mu    sync.Mutex
	buf   []byte
	etags []string
}

const lfsMediaType = "application/vnd.git-lfs+json"

// ioBufSize is the streaming buffer size for uploads.
const ioBufSize = 1 << 20

func validOID(oid string) bool {
	if len(oid) != 64 {
		return false
	}
	_, err := hex.DecodeString(oid)
	return err == nil && oid == strings.ToLower(oid)
}

func writeLFS(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", lfsMediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

type lfsAction struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header,omitempty"`
	ExpiresIn int               `json:"expires_in,omitempty"`
}

type lfsObjError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

type lfsObjResp struct {
	OID           string                `json:"oid"`
	Size          int64                 `json:"size"`
	Authenticated bool                  `json:"authenticated,omitempty"`
	Actions       map[string]*lfsAction `json:"actions,omitempty"`
	Error         *lfsObjError          `json:"error,omitempty"`
}

// handleBatch serves POST {prefix}{id}.git/info/lfs/objects/batch.
func (s *Server) handleBatch(w http.ResponseWriter, r *http.Request, q *request) {
	var req struct {
		Operation string   `json:"operation"`
		Transfers []string `json:"transfers"`
		Objects   []struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		} `json:"objects"`
		HashAlgo string          `json:"hash_algo"`
		Ref      json.RawMessage `json:"ref"`
	}
	if !decodeJSON(w, r, &req) {
		return
	}
	if req.HashAlgo != "" && req.HashAlgo != "sha256" && req.HashAlgo != "sha_256" {
		writeError(w, &hubError{status: http.StatusConflict, msg: "Unsupported hash algorithm " + req.HashAlgo}, false)
		return
	}
	if req.Operation != "upload" && req.Operation != "download" {
		writeError(w, &hubError{status: http.StatusUnprocessableEntity, msg: "Invalid operation " + req.Operation}, false)
		return
	}
	basic, multipart, useXet := len(req.Transfers) == 0, false, false
	for _, t := range req.Transfers {
		switch t {
		case "basic":
			basic = true
		case "multipart":
			multipart = true
		case "xet":
			useXet = req.Operation == "upload" && s.xetOn()
		}
	}
	if !basic && !useXet && !(multipart && req.Operation == "upload") {
		writeError(w, &hubError{status: http.StatusUnprocessableEntity, msg: "None of the requested transfers is supported (basic, multipart)"}, false)
		return
	}
	level := accFiles
	if req.Operation == "upload" {
		level = accWrite
	}
	s.withRepo(w, q, level, &s.mu, func(rp *repo) {
		exp := time.Now().Add(URLExpiry).Unix()
		expS := strconv.FormatInt(exp, 10)
		transfer := "basic"
		out := make([]lfsObjResp, 0, len(req.Objects))
		for _, o := range req.Objects {
			res := lfsObjResp{OID: o.OID, Size: o.Size}
			stored := s.lfsObjs[o.OID]
			switch {
			case !validOID(o.OID) || o.Size < 0:
				res.Error = &lfsObjError{Code: http.StatusUnprocessableEntity, Message: "Invalid object: oid must be 64 lower-case hex characters and size non-negative"}
			case stored != nil && stored.Size() != o.Size:
				res.Error = &lfsObjError{Code: http.StatusUnprocessableEntity, Message: fmt.Sprintf("Object %s has size %d, not %d", o.OID, stored.Size(), o.Size)}
			case req.Operation == "download":
				if stored == nil || !rp.lfs[o.OID] {
					res.Error = &lfsObjError{Code: http.StatusNotFound, Message: "Object does not exist"}
					break
				}
				res.Authenticated = true
				res.Actions = map[string]*lfsAction{"download": {
					Href:      fmt.Sprintf("%s/repos/%s/%s?Expires=%s&Signature=%s&via=lfs", s.CDNURL(), rp.uid, o.OID, expS, s.Sign("GET", rp.uid, o.OID, expS)),
					ExpiresIn: int(URLExpiry / time.Second),
				}}
			case stored != nil && rp.lfs[o.OID]:
				// Already stored: nothing to do.
			default:
				var blob *synth.Blob
				if o.Size > s.cfg.MemoryLimit {
					b, ok := synth.Lookup(o.OID, o.Size)
					if !ok && s.cfg.ObjectDir == "" {
						res.Error = &lfsObjError{Code: http.StatusInsufficientStorage, Message: s.tooBig(o.Size)}
						break
					}
					if ok {
						blob = &b
					}
				}
				res.Authenticated = true
				if useXet {
					// huggingface.js commit.ts: a "xet" batch carries the CAS token in the upload
					// action's headers and the token route as its href.
					transfer = "xet"
					res.Actions = s.xetUploadAction(rp, batchRefName(req.Ref))
					break
				}
				useMultipart := multipart && (o.Size >= s.cfg.threshold || !basic) && o.Size > 0
				if useMultipart {
					transfer = "multipart"
				}
				res.Actions = s.uploadActions(r, q.ident.user, rp, o.OID, o.Size, blob, expS, useMultipart)
			}
			out = append(out, res)
		}
		writeLFS(w, http.StatusOK, map[string]any{"transfer": transfer, "objects": out, "hash_algo": "sha256"})
	})
}

// uploadActions are the upload and verify actions of an object the client will upload, basic or
// (when multipart) multipart, with links that expire at expS.
func (s *Server) uploadActions(r *http.Request, user string, rp *repo, oid string, size int64, blob *synth.Blob, expS string, multipart bool) map[string]*lfsAction {
	verify := &lfsAction{Href: fmt.Sprintf("%s/%s%s.git/info/lfs/objects/verify", s.URL(), urlPrefix(rp.typ), rp.id()),
		Header: verifyHeader(r, user)}
	if multipart {
		up := s.newUpload(rp, oid, size, blob)
		hdr := map[string]string{"chunk_size": strconv.FormatInt(up.chunk, 10)}
		for n := 1; n <= up.nparts; n++ {
			ns := strconv.Itoa(n)
			hdr[fmt.Sprintf("%05d", n)] = fmt.Sprintf("%s/multipart/%s/%d?Expires=%s&Signature=%s",
				s.CDNURL(), up.id, n, expS, s.Sign("PUT", up.id, ns, expS))
		}
		return map[string]*lfsAction{
			"upload": {
				Href:      fmt.Sprintf("%s/api/complete_multipart?uploadId=%s&Expires=%s&Signature=%s", s.URL(), up.id, expS, s.Sign("POST", up.id, expS)),
				Header:    hdr,
				ExpiresIn: int(URLExpiry / time.Second),
			},
			"verify": verify,
		}
	}
	sz := strconv.FormatInt(size, 10)
	return map[string]*lfsAction{
		"upload": {
			Href:      fmt.Sprintf("%s/upload/%s/%s?size=%s&Expires=%s&Signature=%s", s.CDNURL(), rp.uid, oid, sz, expS, s.Sign("PUT", rp.uid, oid, sz, expS)),
			ExpiresIn: int(URLExpiry / time.Second),
		},
		"verify": verify,
	}
}

func (s *Server) tooBig(size int64) string {
	return fmt.Sprintf("Object of %d bytes exceeds the fake hub's memory limit of %d bytes and is not a registered synthetic blob (use synth.Blob or raise WithMemoryLimit)", size, s.cfg.MemoryLimit)
}

// newUpload registers a multipart upload; the caller holds s.mu.
func (s *Server) newUpload(rp *repo, oid string, size int64, blob *synth.Blob) *multipartUpload {
	id := hexID(fmt.Sprintf("upload:%s:%s:%d", rp.uid, oid, s.reqSeq.Add(1)))
	n := int((size + s.cfg.chunk - 1) / s.cfg.chunk)
	up := &multipartUpload{id: id, repo: rp, oid: oid, size: size, chunk: s.cfg.chunk, nparts: n, synth: blob, etags: make([]string, n)}
	if blob == nil && s.cfg.Spools(size) {
		if f, err := fakehost.NewSpoolFile(s.cfg.ObjectDir); err == nil {
			up.spool = f
		}
	}
	s.uploads[id] = up
	return up
}

func (s *Server) repoByUID(uid string) *repo {
	for _, r := range s.repos {
		if r.uid == uid {
			return r
		}
	}
	return nil
}

// handleBasicUpload serves the storage host's PUT /upload/{uid}/{oid}?size&Expires&Signature.
func (s *Server) handleBasicUpload(w http.ResponseWriter, r *http.Request, uid, oid string) {
	qs := r.URL.Query()
	sz := qs.Get("size")
	if !s.signedURL(w, qs, refuseUpload, "PUT", uid, oid, sz, qs.Get("Expires")) {
		return
	}
	size, _ := strconv.ParseInt(sz, 10, 64)
	if r.ContentLength >= 0 && r.ContentLength != size {
		storageError(w, http.StatusBadRequest, "BadDigest", fmt.Sprintf("Content-Length %d does not match the object size %d", r.ContentLength, size))
		return
	}
	obj, he := s.receive(r.Body, oid, size)
	if he != nil {
		storageError(w, he.status, "BadDigest", he.msg)
		return
	}
	s.mu.Lock()
	if _, ok := s.lfsObjs[oid]; !ok {
		s.lfsObjs[oid] = obj
	}
	if rp := s.repoByUID(uid); rp != nil {
		rp.lfs[oid] = true
	}
	s.mu.Unlock()
	w.Header().Set("ETag", cdnETag(oid))
	w.WriteHeader(http.StatusOK)
}

// receive reads a whole object, verifying its length and sha256. Objects up to the memory limit
// are buffered (hashing while streaming); larger ones must be registered synthetic blobs and are
// compared to it as they arrive.
func (s *Server) receive(body io.Reader, oid string, size int64) (*lfsObject, *hubError) {
	if size > s.cfg.MemoryLimit {
		b, ok := synth.Lookup(oid, size)
		if !ok && s.cfg.ObjectDir != "" {
			obj, err := fakehost.Spool(s.cfg.ObjectDir, body, oid, size)
			if err != nil {
				return nil, &hubError{status: http.StatusBadRequest, msg: err.Error()}
			}
			return &obj, nil
		}
		if !ok {
			return nil, &hubError{status: http.StatusInsufficientStorage, msg: s.tooBig(size)}
		}
		if he := compareStream(body, b, 0, size); he != nil {
			return nil, he
		}
		return &lfsObject{Blob: &b}, nil
	}
	data := make([]byte, size)
	h := sha256.New()
	var done int64
	for done < size {
		k := min(int64(ioBufSize), size-done)
		n, err := io.ReadFull(body, data[done:done+k])
		h.Write(data[done : done+int64(n)])
		done += int64(n)
		if err != nil {
			return nil, &hubError{status: http.StatusBadRequest, msg: fmt.Sprintf("body ended after %d of %d bytes", done, size)}
		}
	}
	if he := expectEOF(body, size); he != nil {
		return nil, he
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != oid {
		return nil, &hubError{status: http.StatusBadRequest, msg: fmt.Sprintf("content sha256 %s does not match oid %s", got, oid)}
	}
	if b, ok := synth.Lookup(oid, size); ok {
		return &lfsObject{Blob: &b}, nil
	}
	return &lfsObject{Data: data}, nil
}

func expectEOF(body io.Reader, size int64) *hubError {
	var one [1]byte
	if n, _ := io.ReadFull(body, one[:]); n > 0 {
		return &hubError{status: http.StatusBadRequest, msg: fmt.Sprintf("body is longer than %d bytes", size)}
	}
	return nil
}

// compareStream checks that body is exactly the n bytes of b at off.
func compareStream(body io.Reader, b synth.Blob, off, n int64) *hubError {
	if err := fakehost.Compare(body, b, off, n); err != nil {
		return &hubError{status: http.StatusBadRequest, msg: err.Error()}
	}
	return expectEOF(body, n)
}

// handlePartUpload serves the storage host's PUT /multipart/{uploadId}/{part}.
func (s *Server) handlePartUpload(w http.ResponseWriter, r *http.Request, uploadID, part string) {
	qs := r.URL.Query()
	if !s.signedURL(w, qs, refuseUpload, "PUT", uploadID, part, qs.Get("Expires")) {
		return
	}
	s.mu.RLock()
	up := s.uploads[uploadID]
	s.mu.RUnlock()
	n, err := strconv.Atoi(part)
	if up == nil || err != nil || n < 1 || n > up.nparts {
		storageError(w, http.StatusNotFound, "NoSuchUpload", "The specified multipart upload does not exist.")
		return
	}
	off := int64(n-1) * up.chunk
	want := min(up.chunk, up.size-off)
	if r.ContentLength >= 0 && r.ContentLength != want {
		storageError(w, http.StatusBadRequest, "InvalidPart", fmt.Sprintf("part %d must be %d bytes, got Content-Length %d", n, want, r.ContentLength))
		return
	}
	if up.synth != nil {
		if he := compareStream(r.Body, *up.synth, off, want); he != nil {
			storageError(w, he.status, "InvalidPart", he.msg)
			return
		}
	} else if up.spool != nil {
		part := make([]byte, want)
		if !readPart(w, r.Body, n, part) {
			return
		}
		if _, err := up.spool.WriteAt(part, off); err != nil {
			storageError(w, http.StatusInternalServerError, "InternalError", err.Error())
			return
		}
	} else {
		up.mu.Lock()
		if up.buf == nil {
			up.buf = make([]byte, up.size)
		}
		dst := up.buf[off : off+want]
		up.mu.Unlock()
		if !readPart(w, r.Body, n, dst) {
			return
		}
	}
	etag := `"` + s.Sign("part", uploadID, part, strconv.FormatInt(want, 10))[:32] + `"`
	up.mu.Lock()
	up.etags[n-1] = etag
	up.mu.Unlock()
	w.Header().Set("ETag", etag)
	w.WriteHeader(http.StatusOK)
}

// readPart reads part n of a multipart upload into dst, which is as long as the part, and checks
// that the body ends there, answering like the object store when it does not.
func readPart(w http.ResponseWriter, body io.Reader, n int, dst []byte) bool {
	if m, err := io.ReadFull(body, dst); err != nil {
		storageError(w, http.StatusBadRequest, "IncompleteBody", fmt.Sprintf("part %d ended after %d of %d bytes", n, m, len(dst)))
		return false
	}
	if he := expectEOF(body, int64(len(dst))); he != nil {
		storageError(w, he.status, "InvalidPart", he.msg)
		return false
	}
	return true
}

// handleComplete serves POST /api/complete_multipart?uploadId&Expires&Signature on the Hub host.
func (s *Server) handleComplete(w http.ResponseWriter, r *http.Request, q *request) {
	qs := r.URL.Query()
	id, exp := qs.Get("uploadId"), qs.Get("Expires")
	if !s.Verify(qs.Get("Signature"), "POST", id, exp) || !validExpiry(exp) {
		writeError(w, &hubError{status: http.StatusForbidden, msg: "Invalid or expired completion URL"}, false)
		return
	}
	var body struct {
		OID   string `json:"oid"`
		Parts []struct {
			PartNumber int    `json:"partNumber"`
			ETag       string `json:"etag"`
		} `json:"parts"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	s.mu.RLock()
	up := s.uploads[id]
	s.mu.RUnlock()
	if up == nil {
		writeError(w, &hubError{status: http.StatusNotFound, msg: "Unknown multipart upload"}, false)
		return
	}
	bad := func(msg string) { writeError(w, &hubError{status: http.StatusBadRequest, msg: msg}, false) }
	if body.OID != up.oid {
		bad(fmt.Sprintf("oid %q does not match the upload's object %s", body.OID, up.oid))
		return
	}
	up.mu.Lock()
	if len(body.Parts) != up.nparts {
		up.mu.Unlock()
		bad(fmt.Sprintf("expected %d parts, got %d", up.nparts, len(body.Parts)))
		return
	}
	for i, p := range body.Parts {
		switch {
		case p.PartNumber != i+1:
			up.mu.Unlock()
			bad(fmt.Sprintf("parts must be listed in order: entry %d has partNumber %d", i, p.PartNumber))
			return
		case up.etags[i] == "":
			up.mu.Unlock()
			bad(fmt.Sprintf("part %d was not uploaded", i+1))
			return
		case p.ETag != up.etags[i]:
			up.mu.Unlock()
			bad(fmt.Sprintf("part %d: etag %q does not match the uploaded part", i+1, p.ETag))
			return
		}
	}
	buf := up.buf
	up.mu.Unlock()
	obj := &lfsObject{Blob: up.synth}
	if up.spool != nil {
		f, err := up.spool.Finish(up.oid)
		if err != nil {
			s.mu.Lock()
			delete(s.uploads, id)
			s.mu.Unlock()
			bad(err.Error())
			return
		}
		obj = &f
	} else if up.synth == nil {
		sum := sha256.Sum256(buf)
		if hex.EncodeToString(sum[:]) != up.oid {
			s.mu.Lock()
			delete(s.uploads, id)
			s.mu.Unlock()
			bad("assembled content does not hash to " + up.oid)
			return
		}
		if b, ok := synth.Lookup(up.oid, up.size); ok {
			obj.Blob = &b
		} else {
			obj.Data = buf
		}
	}
	s.mu.Lock()
	if _, ok := s.lfsObjs[up.oid]; !ok {
		s.lfsObjs[up.oid] = obj
	}
	up.repo.lfs[up.oid] = true
	delete(s.uploads, id)
	s.mu.Unlock()
	writeLFS(w, http.StatusOK, map[string]any{"success": true, "oid": up.oid, "size": up.size})
}

// verifyHeader is the header the Hub puts on the verify action: Basic credentials for the
// caller, since git-lfs sends the action's headers and nothing else to its href (git-lfs's
// docs/api/basic-transfers.md; the Hub answers `header: {Authorization: "Basic ..."}`).
func verifyHeader(r *http.Request, user string) map[string]string {
	scheme, val, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	switch strings.ToLower(scheme) {
	case "basic":
		return map[string]string{"Authorization": "Basic " + strings.TrimSpace(val)}
	case "bearer":
		basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + strings.TrimSpace(val)))
		return map[string]string{"Authorization": "Basic " + basic}
	}
	return nil
}

// handleVerify serves POST {prefix}{id}.git/info/lfs/objects/verify.
func (s *Server) handleVerify(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		OID  string `json:"oid"`
		Size int64  `json:"size"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	s.withRepo(w, q, accWrite, s.mu.RLocker(), func(rp *repo) {
		obj := s.lfsObjs[body.OID]
		if obj == nil || !rp.lfs[body.OID] {
			writeError(w, &hubError{status: http.StatusNotFound, msg: "Object " + body.OID + " not found"}, false)
			return
		}
		if obj.Size() != body.Size {
			writeError(w, &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("Object %s has size %d, not %d", body.OID, obj.Size(), body.Size)}, false)
			return
		}
		writeLFS(w, http.StatusOK, map[string]any{"oid": body.OID, "size": obj.Size()})
	})
}
