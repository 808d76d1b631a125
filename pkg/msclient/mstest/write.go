package mstest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func (s *Server) handleCreateModel(rp *reply, r *http.Request) {
	var body struct {
		Path          string  `json:"Path"`
		Name          string  `json:"Name"`
		Visibility    *int    `json:"Visibility"`
		ProtectedMode int     `json:"ProtectedMode"`
		License       *string `json:"License"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if body.Visibility == nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "Visibility is required")
		return
	}
	if body.License == nil || *body.License == "" {
		// ModelScope answers 400 to a create without a licence (a JSON null included), as
		// Linaqruf/modelscope-migration's changelog (2025-12) records.
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "License is required")
		return
	}
	s.create(rp, r, hubkit.Model, body.Path, body.Name, *body.Visibility, body.ProtectedMode, *body.License)
}

func (s *Server) handleCreateDataset(rp *reply, r *http.Request) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "dataset creation takes multipart/form-data, not "+r.Header.Get("Content-Type"))
		return
	}
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid multipart body: "+err.Error())
		return
	}
	vis, err := strconv.Atoi(r.FormValue("Visibility"))
	if err != nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "Visibility is required")
		return
	}
	pm, _ := strconv.Atoi(r.FormValue("ProtectedMode"))
	if r.FormValue("License") == "" {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "License is required")
		return
	}
	s.create(rp, r, hubkit.Dataset, r.FormValue("Owner"), r.FormValue("Name"), vis, pm, r.FormValue("License"))
}

func (s *Server) create(rp *reply, r *http.Request, kind hubkit.RepoType, owner, name string, vis, protected int, license string) {
	c := s.callerOf(r)
	if !validName(owner) || !validName(name) {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid owner or name")
		return
	}
	if !rp.writeAuth(c, owner) {
		return
	}
	if v := Visibility(vis); v != Private && v != Internal && v != Public {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("invalid Visibility %d", vis))
		return
	}
	s.mu.Lock()
	if s.cfg.ignoreVisibility {
		vis = int(Public)
	}
	repo, err := s.createRepoLocked(kind, owner+"/"+name, Visibility(vis), license)
	if err == nil && protected != 0 {
		repo.protected = protected
	}
	s.mu.Unlock()
	switch {
	case errors.Is(err, errExists) && kind == hubkit.Dataset:
		rp.fail(http.StatusBadRequest, CodeDatasetExists, MsgExists)
	case errors.Is(err, errExists):
		rp.fail(http.StatusBadRequest, CodeModelExists, MsgExists)
	case err != nil:
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, err.Error())
	case kind == hubkit.Dataset:
		rp.ok(repo.numID)
	default:
		rp.ok(map[string]any{"Path": owner, "Name": name})
	}
}

func (s *Server) handleModelVisibility(rp *reply, r *http.Request) {
	c := s.callerOf(r)
	s.mu.Lock()
	repo := s.writeRepoLocked(rp, c, hubkit.Model, r.PathValue("owner"), r.PathValue("name"))
	s.mu.Unlock()
	if repo != nil {
		s.setVisibility(rp, r, repo)
	}
}

func (s *Server) handleDatasetVisibility(rp *reply, r *http.Request) {
	c := s.callerOf(r)
	n, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	s.mu.Lock()
	repo := s.byID[n]
	if err != nil || repo == nil {
		s.mu.Unlock()
		rp.missing(hubkit.Dataset)
		return
	}
	repo = s.writeRepoLocked(rp, c, hubkit.Dataset, repo.owner, repo.name)
	s.mu.Unlock()
	if repo != nil {
		s.setVisibility(rp, r, repo)
	}
}

func (s *Server) setVisibility(rp *reply, r *http.Request, repo *repo) {
	var body struct {
		Visibility    *int `json:"Visibility"`
		ProtectedMode int  `json:"ProtectedMode"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Visibility == nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "a JSON body with Visibility is required")
		return
	}
	v := Visibility(*body.Visibility)
	if v != Private && v != Internal && v != Public {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("invalid Visibility %d", v))
		return
	}
	s.mu.Lock()
	if !s.cfg.ignoreVisibility {
		repo.vis = v
	}
	if body.ProtectedMode != 0 {
		repo.protected = body.ProtectedMode
	}
	s.mu.Unlock()
	rp.ok(nil)
}

func (s *Server) handleDelete(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		c := s.callerOf(r)
		s.mu.Lock()
		defer s.mu.Unlock()
		repo := s.writeRepoLocked(rp, c, kind, r.PathValue("owner"), r.PathValue("name"))
		if repo == nil {
			return
		}
		if s.cfg.refuseDeletion {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, MsgNoDeletion)
			return
		}
		delete(s.repos, repoKey{kind, repo.owner + "/" + repo.name})
		delete(s.byID, repo.numID)
		rp.ok(nil)
	}
}

func (s *Server) handleTag(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		c := s.callerOf(r)
		var body struct {
			TagName string `json:"TagName"`
			Ref     string `json:"Ref"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid JSON body")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		repo := s.writeRepoLocked(rp, c, kind, r.PathValue("owner"), r.PathValue("name"))
		if repo == nil {
			return
		}
		if err := repo.tagLocked(body.TagName, body.Ref); err != nil {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, err.Error())
			return
		}
		rp.ok(nil)
	}
}

func validOID(oid string) bool {
	if len(oid) != 64 {
		return false
	}
	for _, c := range oid {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// repoForWrite resolves {type}/{owner}/{name} of the /api/v1/repos routes for a write.
func (s *Server) repoForWrite(rp *reply, r *http.Request) *repo {
	kind, ok := kindOfSegment(r.PathValue("type"))
	if !ok {
		rp.fail(http.StatusNotFound, http.StatusNotFound, "unknown repo type "+r.PathValue("type"))
		return nil
	}
	c := s.callerOf(r)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeRepoLocked(rp, c, kind, r.PathValue("owner"), r.PathValue("name"))
}

type batchObject struct {
	OID     string         `json:"oid"`
	Size    int64          `json:"size"`
	Actions map[string]any `json:"actions,omitempty"`
	Error   map[string]any `json:"error,omitempty"`
}

func (s *Server) handleLFSBatch(rp *reply, r *http.Request) {
	repo := s.repoForWrite(rp, r)
	if repo == nil {
		return
	}
	var body struct {
		Operation string               `json:"operation"`
		Objects   []fakehost.LFSObject `json:"objects"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if body.Operation != "upload" {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("unsupported operation %q", body.Operation))
		return
	}
	out := []batchObject{}
	s.mu.Lock()
	for _, o := range body.Objects {
		if !validOID(o.OID) || o.Size < 0 {
			out = append(out, batchObject{OID: o.OID, Size: o.Size, Error: map[string]any{"code": 422, "message": "invalid oid or size"}})
			continue
		}
		if _, ok := s.blobs[objKey{o.OID, o.Size}]; ok {
			continue // stored: omitted, no flag
		}
		href := fmt.Sprintf("%s/api/v1/repos/%s/%s/%s/blobs/%s/%d", s.URL(), r.PathValue("type"), repo.owner, repo.name, o.OID, o.Size)
		out = append(out, batchObject{OID: o.OID, Size: o.Size, Actions: map[string]any{"upload": map[string]any{
			"href": href, "offset": 0, "upload_header": map[string]string{"Range": "bytes=0-"}, "upload_parameters": map[string]string{},
		}}})
	}
	s.mu.Unlock()
	rp.ok(map[string]any{"objects": out, "reused-objects": []any{}})
}

func (s *Server) handleBlobPut(rp *reply, r *http.Request) {
	repo := s.repoForWrite(rp, r)
	if repo == nil {
		return
	}
	oid := r.PathValue("oid")
	size, err := strconv.ParseInt(r.PathValue("size"), 10, 64)
	if !validOID(oid) || err != nil || size < 0 {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid oid or size in URL")
		return
	}
	if r.ContentLength < 0 {
		rp.fail(http.StatusLengthRequired, http.StatusLengthRequired, "Content-Length is required (chunked uploads are not accepted)")
		return
	}
	if r.ContentLength != size {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("Content-Length %d does not match object size %d", r.ContentLength, size))
		return
	}
	body := rp.rule.BodyReader(r.Body)
	var stored fakehost.Content
	if b, ok := synth.Lookup(oid, size); ok {
		// Registered synthetic content: compare in place, store the small Blob.
		if err := compareReader(body, b, size); err != nil {
			_, _ = io.Copy(io.Discard, body)
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "sha256 mismatch: "+err.Error())
			return
		}
		stored = fakehost.Content{Blob: &b}
	} else if s.cfg.Spools(size) {
		stored, err = fakehost.Spool(s.cfg.ObjectDir, body, oid, size)
		if err != nil {
			_, _ = io.Copy(io.Discard, body)
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "sha256 mismatch: "+err.Error())
			return
		}
	} else {
		if size > s.cfg.MemoryLimit {
			_, _ = io.Copy(io.Discard, body)
			rp.fail(http.StatusRequestEntityTooLarge, http.StatusRequestEntityTooLarge, fmt.Sprintf(
				"mstest: blob of %d bytes exceeds the fake's memory limit of %d bytes and is not a registered synth.Blob", size, s.cfg.MemoryLimit))
			return
		}
		data := make([]byte, size)
		h := sha256.New()
		for off := int64(0); off < size; {
			n, err := io.ReadFull(body, data[off:min(off+bufSize, size)])
			h.Write(data[off : off+int64(n)])
			off += int64(n)
			if err != nil {
				rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("body ended after %d of %d bytes", off, size))
				return
			}
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != oid {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "sha256 mismatch: body hashes to "+got)
			return
		}
		stored = fakehost.Content{Data: data}
	}
	s.mu.Lock()
	s.blobs[objKey{oid, size}] = stored
	s.mu.Unlock()
	rp.ok(map[string]any{})
}

type commitAction struct {
	Action   string `json:"action"`
	Path     string `json:"path"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
}

func isCommitSHA(rev string) bool {
	if len(rev) != 40 {
		return false
	}
	_, err := hex.DecodeString(rev)
	return err == nil
}

func (s *Server) handleCommit(rp *reply, r *http.Request) {
	repo := s.repoForWrite(rp, r)
	if repo == nil {
		return
	}
	branch := r.PathValue("rev")
	if isCommitSHA(branch) {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "commits take a branch name, not a commit sha")
		return
	}
	var body struct {
		Message string         `json:"commit_message"`
		Actions []commitAction `json:"actions"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if n := len(body.Actions); n > s.cfg.maxActions {
		rp.fail(http.StatusUnprocessableEntity, http.StatusUnprocessableEntity, fmt.Sprintf(
			"commit request exceeds actions limit: %d > %d; split the commit into smaller batches", n, s.cfg.maxActions))
		return
	}
	if len(body.Actions) == 0 || strings.TrimSpace(body.Message) == "" {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, "commit_message and at least one action are required")
		return
	}
	changes := make([]change, 0, len(body.Actions))
	for i, a := range body.Actions {
		ch, err := decodeAction(a)
		if err != nil {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf("action %d (%s): %v", i, a.Path, err))
			return
		}
		changes = append(changes, ch)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos[repoKey{repo.kind, repo.owner + "/" + repo.name}] != repo {
		rp.missing(repo.kind)
		return
	}
	if _, ok := repo.branches[branch]; !ok {
		rp.fail(http.StatusNotFound, http.StatusNotFound, "branch not found: "+branch)
		return
	}
	if branch != masterBranch {
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, msgMasterOnly)
		return
	}
	now := s.cfg.now()
	if iv := s.cfg.commitInterval; iv > 0 && !repo.lastCommit.IsZero() && now.Sub(repo.lastCommit) < iv {
		// The real hub refuses bursts of commits inside an HTTP 200.
		rp.fail(http.StatusOK, CodeRefused, MsgPolicyRejected)
		return
	}
	for _, ch := range changes {
		if ch.entry != nil && ch.entry.lfs {
			if _, ok := s.blobs[objKey{ch.entry.sha, ch.entry.size}]; !ok {
				rp.fail(http.StatusBadRequest, http.StatusBadRequest, fmt.Sprintf(
					"lfs object %s (size %d) for %q is not uploaded", ch.entry.sha, ch.entry.size, ch.path))
				return
			}
		}
	}
	c, err := s.applyLocked(repo, branch, body.Message, changes)
	switch {
	case errors.Is(err, errPolicy):
		rp.fail(http.StatusBadRequest, CodeRefused, MsgPolicyRejected)
		return
	case err != nil:
		rp.fail(http.StatusBadRequest, http.StatusBadRequest, err.Error())
		return
	}
	repo.lastCommit = now
	rp.ok(map[string]any{"oid": c.id})
}

// decodeAction validates one commit action (everything that needs no server state).
func decodeAction(a commitAction) (change, error) {
	if err := validPath(a.Path); err != nil {
		return change{}, err
	}
	switch a.Action {
	case "delete":
		return change{path: a.Path, delete: true}, nil
	case "create":
	default:
		return change{}, fmt.Errorf("unknown action %q (want create or delete)", a.Action)
	}
	switch a.Type {
	case "lfs":
		if !validOID(a.SHA256) || a.Size < 0 {
			return change{}, fmt.Errorf("lfs action needs sha256 (64 lower-case hex) and size")
		}
		return change{path: a.Path, entry: &fileEntry{size: a.Size, sha: a.SHA256, lfs: true}}, nil
	case "normal":
		var data []byte
		switch {
		case a.Encoding == "base64":
			var err error
			if data, err = base64.StdEncoding.DecodeString(a.Content); err != nil {
				return change{}, fmt.Errorf("content is not valid base64: %w", err)
			}
		case a.Encoding == "" && a.Content == "":
		default:
			return change{}, fmt.Errorf("unsupported encoding %q", a.Encoding)
		}
		if int64(len(data)) != a.Size {
			return change{}, fmt.Errorf("size %d does not match content length %d", a.Size, len(data))
		}
		sum := sha256.Sum256(data)
		sha := hex.EncodeToString(sum[:])
		if a.SHA256 != "" && a.SHA256 != sha {
			return change{}, fmt.Errorf("sha256 %s does not match content (%s)", a.SHA256, sha)
		}
		return change{path: a.Path, entry: &fileEntry{size: a.Size, sha: sha, data: data}}, nil
	}
	return change{}, fmt.Errorf("unknown type %q (want lfs or normal)", a.Type)
}
