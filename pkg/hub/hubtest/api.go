package hubtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request, q *request) {
	if q.ident.anonymous() {
		writeError(w, &hubError{status: http.StatusUnauthorized, msg: MsgAnonymous}, false)
		return
	}
	s.mu.RLock()
	u := s.users[q.ident.user]
	orgs := make([]map[string]any, 0, len(u.orgs))
	for _, o := range u.orgs {
		orgs = append(orgs, map[string]any{
			"type": "org", "id": hexID("org:" + o), "name": o, "fullname": o, "email": nil,
			"canPay": false, "avatarUrl": "/avatars/" + o + ".svg", "periodEnd": nil,
		})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "user", "id": u.id, "name": u.name, "fullname": u.name,
		"email": u.name + "@users.noreply.hubtest", "emailVerified": true, "isPro": false, "canPay": false,
		"avatarUrl": "/avatars/" + u.name + ".svg", "periodEnd": nil, "billingMode": "postpaid",
		"orgs": orgs,
		"auth": map[string]any{"type": "access_token", "accessToken": map[string]any{
			"displayName": "hubtest", "role": string(q.ident.role), "createdAt": "2025-01-01T00:00:00.000Z",
		}},
	})
}

// decodeJSON decodes a JSON request body into v, having answered the request with 400 when it
// cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid JSON body: " + err.Error()}, false)
		return false
	}
	return true
}

// visitRepo runs fn on q's repo, found and checked at the access level with lock held: &s.mu to
// change the repo, s.mu.RLocker() to read it. It returns the Hub's error instead when the caller
// may not reach the repo.
func (s *Server) visitRepo(q *request, level int, lock sync.Locker, fn func(rp *repo)) *hubError {
	lock.Lock()
	defer lock.Unlock()
	rp, he := s.repoFor(q, level)
	if he != nil {
		return he
	}
	fn(rp)
	return nil
}

// withRepo is visitRepo for an API route: it answers the request with the Hub's JSON error when
// the caller may not reach the repo.
func (s *Server) withRepo(w http.ResponseWriter, q *request, level int, lock sync.Locker, fn func(rp *repo)) {
	if he := s.visitRepo(q, level, lock, fn); he != nil {
		writeError(w, he, false)
	}
}

func (s *Server) repoURL(r *repo) string { return s.URL() + "/" + urlPrefix(r.typ) + r.id() }

func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		Name         string                                     `json:"name"`
		Organization string                                     `json:"organization"`
		Type         string                                     `json:"type"`
		Private      *bool                                      `json:"private"`
		Visibility   string                                     `json:"visibility"`
		SDK          string                                     `json:"sdk"`
		Files        []struct{ Path, Content, Encoding string } `json:"files"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	who := q.ident
	if who.anonymous() {
		writeError(w, &hubError{status: http.StatusUnauthorized, msg: MsgAnonymous}, false)
		return
	}
	typ := hubkit.RepoType(body.Type)
	if body.Type == "" {
		typ = hubkit.Model
	}
	ns, name := body.Organization, body.Name
	if a, b, ok := strings.Cut(name, "/"); ok {
		if ns != "" && ns != a {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "name and organization disagree"}, false)
			return
		}
		ns, name = a, b
	}
	if ns == "" {
		ns = who.user
	}
	switch {
	case !typ.Valid():
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid repo type " + body.Type}, false)
		return
	case name == "" || strings.ContainsAny(name, "/ \\") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".git"):
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid repo name"}, false)
		return
	case typ == hubkit.Space && body.SDK == "":
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "sdk is required for spaces (gradio, streamlit, docker or static)"}, false)
		return
	}
	private := false
	switch body.Visibility {
	case "":
		if body.Private != nil {
			private = *body.Private
		}
	case "public":
	case "private":
		private = true
	case "protected":
		if typ != hubkit.Space {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "visibility protected is only for spaces"}, false)
			return
		}
	default:
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid visibility " + body.Visibility}, false)
		return
	}
	var ops []op
	for _, f := range body.Files {
		data, err := decodeContent(f.Content, f.Encoding)
		if err != nil {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: err.Error()}, false)
			return
		}
		ops = append(ops, op{kind: opAdd, path: f.Path, data: data})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if who.role != RoleWrite {
		writeError(w, &hubError{status: http.StatusForbidden, msg: "You don't have the rights to create a repo: this token has the read role"}, false)
		return
	}
	if !s.memberOf(who.user, ns) {
		writeError(w, &hubError{status: http.StatusForbidden, msg: fmt.Sprintf("You don't have the rights to create a %s under the namespace %q", typ, ns)}, false)
		return
	}
	rp, err := s.createRepoLocked(typ, ns, name, RepoOptions{Private: private, SDK: body.SDK}, who.user, ops)
	if errors.Is(err, errRepoExists) {
		existing := s.repos[repoKey(typ, ns+"/"+name)]
		writeJSON409(w, fmt.Sprintf("You already created this %s repo", typ), s.repoURL(existing))
		return
	}
	if err != nil {
		var he *hubError
		if errors.As(err, &he) {
			writeError(w, he, false)
			return
		}
		writeError(w, &hubError{status: http.StatusBadRequest, msg: err.Error()}, false)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": s.repoURL(rp), "name": rp.id(), "id": rp.uid})
}

func writeJSON409(w http.ResponseWriter, msg, u string) {
	w.Header().Set("X-Error-Message", msg)
	writeJSON(w, http.StatusConflict, map[string]string{"error": msg, "url": u})
}

func decodeContent(content, encoding string) ([]byte, error) {
	switch strings.ToLower(encoding) {
	case "base64":
		b, err := base64.StdEncoding.DecodeString(content)
		if err != nil {
			return nil, fmt.Errorf("invalid base64 content: %w", err)
		}
		return b, nil
	case "", "utf-8", "utf8":
		return []byte(content), nil
	}
	return nil, fmt.Errorf("unknown encoding %q", encoding)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct{ Name, Organization, Type string }
	if !decodeJSON(w, r, &body) {
		return
	}
	q.typ = hubkit.RepoType(body.Type)
	if body.Type == "" {
		q.typ = hubkit.Model
	}
	ns, name := body.Organization, body.Name
	if a, b, ok := strings.Cut(name, "/"); ok {
		ns, name = a, b
	}
	if ns == "" {
		ns = q.ident.user
	}
	q.id = ns + "/" + name
	s.withRepo(w, q, accWrite, &s.mu, func(rp *repo) {
		delete(s.repos, repoKey(rp.typ, rp.id()))
		writeJSON(w, http.StatusOK, map[string]any{})
	})
}

func (s *Server) handleSettings(w http.ResponseWriter, r *http.Request, q *request) {
	var body map[string]json.RawMessage
	if !decodeJSON(w, r, &body) {
		return
	}
	var private *bool
	gated := "-"
	if v, ok := body["private"]; ok {
		var b bool
		if json.Unmarshal(v, &b) != nil {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "private must be a boolean"}, false)
			return
		}
		private = &b
	}
	if v, ok := body["visibility"]; ok {
		var vis string
		_ = json.Unmarshal(v, &vis)
		switch vis {
		case "public", "private":
			b := vis == "private"
			private = &b
		default:
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid visibility " + string(v)}, false)
			return
		}
	}
	if v, ok := body["gated"]; ok {
		var g any
		_ = json.Unmarshal(v, &g)
		switch g {
		case false:
			gated = ""
		case "auto", "manual":
			gated = g.(string)
		default:
			writeError(w, &hubError{status: http.StatusBadRequest, msg: `gated must be false, "auto" or "manual"`}, false)
			return
		}
	}
	if private == nil && gated == "-" {
		writeError(w, &hubError{status: http.StatusBadRequest, msg: "Nothing to update: send private, visibility or gated"}, false)
		return
	}
	s.withRepo(w, q, accWrite, &s.mu, func(rp *repo) {
		if private != nil {
			rp.private = *private
		}
		if gated != "-" {
			rp.gated = gated
		}
		writeJSON(w, http.StatusOK, map[string]any{"private": rp.private, "gated": gatedJSON(rp.gated)})
	})
}

func gatedJSON(g string) any {
	if g == "" {
		return false
	}
	return g
}

// expandable properties per repo type (the Hub rejects others with 400).
var expandProps = func() map[hubkit.RepoType]map[string]bool {
	common := strings.Fields("author cardData createdAt disabled downloads downloadsAllTime gated lastModified likes private resourceGroup sha siblings tags trendingScore usedStorage")
	model := strings.Fields("baseModels childrenModelCount config evalResults gguf inference inferenceProviderMapping library_name mask_token model-index pipeline_tag safetensors spaces transformersInfo widgetData")
	dataset := strings.Fields("citation description mainSize paperswithcode_id")
	space := strings.Fields("sdk runtime subdomain host models datasets region")
	mk := func(extra []string) map[string]bool {
		m := map[string]bool{}
		for _, p := range append(append([]string(nil), common...), extra...) {
			m[p] = true
		}
		return m
	}
	return map[hubkit.RepoType]map[string]bool{hubkit.Model: mk(model), hubkit.Dataset: mk(dataset), hubkit.Space: mk(space)}
}()

func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request, q *request) {
	qs := r.URL.Query()
	expand := append(qs["expand"], qs["expand[]"]...)
	s.mu.RLock()
	defer s.mu.RUnlock()
	rp, ok := s.filesRepoLocked(w, q, accRead, false)
	if !ok {
		return
	}
	for _, e := range expand {
		if !expandProps[rp.typ][e] {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: fmt.Sprintf("%q is not a valid expand value for a %s", e, rp.typ)}, false)
			return
		}
	}
	rev := "main"
	if q.route == RouteRevision {
		rev, _ = splitRev(rp, q.rest)
	}
	c := rp.resolve(rev)
	if c == nil && (q.route == RouteRevision || len(rp.branches) > 0) {
		writeError(w, errRevision(rev), false)
		return
	}
	blobs := qs.Get("blobs") == "true" || qs.Get("blobs") == "1"
	info := map[string]any{
		"_id": rp.uid, "id": rp.id(), "author": rp.ns, "private": rp.private, "gated": gatedJSON(rp.gated),
		"disabled": false, "lastModified": rp.modified.Format(time.RFC3339Nano), "createdAt": rp.created.Format(time.RFC3339Nano),
		"downloads": 0, "likes": 0, "tags": []string{}, "usedStorage": rp.used,
	}
	if rp.typ == hubkit.Model {
		info["modelId"] = rp.id()
	}
	if rp.typ == hubkit.Space {
		info["sdk"] = rp.sdk
	}
	siblings := []map[string]any{}
	if c != nil {
		info["sha"] = c.id
		for _, it := range c.snap.items {
			if it.dir {
				continue
			}
			sib := map[string]any{"rfilename": it.path}
			if blobs {
				sib["size"] = it.file.size
				sib["blobId"] = it.file.oid
				if l := it.file.lfs; l != nil {
					sib["lfs"] = map[string]any{"sha256": l.oid, "size": l.size, "pointerSize": l.pointerSize}
				}
			}
			siblings = append(siblings, sib)
		}
		// siblings are listed by path, like the Hub.
		sort.Slice(siblings, func(i, j int) bool {
			return siblings[i]["rfilename"].(string) < siblings[j]["rfilename"].(string)
		})
	}
	info["siblings"] = siblings
	if len(expand) > 0 {
		out := map[string]any{"_id": info["_id"], "id": info["id"]}
		for _, e := range expand {
			if v, ok := info[e]; ok {
				out[e] = v
			}
		}
		info = out
	}
	writeJSON(w, http.StatusOK, info)
}

// treeEntry is one tree / paths-info entry.
type treeEntry struct {
	Type string        `json:"type"`
	OID  string        `json:"oid"`
	Size int64         `json:"size"`
	Path string        `json:"path"`
	LFS  *treeEntryLFS `json:"lfs,omitempty"`
	// XetHash is the Xet file hash of an LFS file on a Xet-enabled Hub.
	XetHash string `json:"xetHash,omitempty"`
}

type treeEntryLFS struct {
	OID         string `json:"oid"`
	Size        int64  `json:"size"`
	PointerSize int    `json:"pointerSize"`
}

func (s *Server) entryOf(it item) treeEntry {
	if it.dir {
		return treeEntry{Type: "directory", OID: it.treeOID, Path: it.path}
	}
	e := treeEntry{Type: "file", OID: it.file.oid, Size: it.file.size, Path: it.path, XetHash: s.entryXetHash(it.file)}
	if l := it.file.lfs; l != nil {
		e.LFS = &treeEntryLFS{OID: l.oid, Size: l.size, PointerSize: l.pointerSize}
	}
	return e
}

// fileRevision is a revision of a repo as a file route reads it, taken under s.mu.
type fileRevision struct {
	rp   *repo      // its type, id and uid do not change; its other fields need s.mu
	c    *commitObj // immutable, like its snapshot
	rev  string
	rest []string // the path segments after the revision
	// private and gated are the repo's settings when the revision was read.
	private, gated bool
}

// revisionOf finds q's repo for a route that reads its files at the access level, and the commit
// of the revision its path names. It answers the request itself when the repo is missing,
// invisible or storage-locked, or the revision is unknown (as text on storage-style routes when
// storage).
func (s *Server) revisionOf(w http.ResponseWriter, q *request, level int, storage bool) (fileRevision, bool) {
	s.mu.RLock()
	rp, ok := s.filesRepoLocked(w, q, level, storage)
	if !ok {
		s.mu.RUnlock()
		return fileRevision{}, false
	}
	rev, rest := splitRev(rp, q.rest)
	fr := fileRevision{rp: rp, c: rp.resolve(rev), rev: rev, rest: rest, private: rp.private, gated: rp.gated != ""}
	s.mu.RUnlock()
	if fr.c == nil {
		writeError(w, errRevision(rev), storage)
		return fileRevision{}, false
	}
	return fr, true
}

func truthy(v string) bool { return v == "1" || strings.EqualFold(v, "true") }

func (s *Server) handleTree(w http.ResponseWriter, r *http.Request, q *request) {
	qs := r.URL.Query()
	recursive := truthy(qs.Get("recursive"))
	pageSize := s.cfg.pageSize
	if truthy(qs.Get("expand")) && pageSize > ExpandTreePageSize {
		pageSize = ExpandTreePageSize
	}
	var after string
	if cur := qs.Get("cursor"); cur != "" {
		b, err := base64.RawURLEncoding.DecodeString(cur)
		if err != nil {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid cursor"}, false)
			return
		}
		after = sortKey(string(b))
	}
	fr, ok := s.revisionOf(w, q, accRead, false)
	if !ok {
		return
	}
	dirPath := strings.Trim(strings.Join(fr.rest, "/"), "/")
	snap := fr.c.snap
	d, ok := snap.dirs[dirPath]
	if !ok {
		writeError(w, errEntry(dirPath, fr.rev), false)
		return
	}
	// Snapshots are immutable: page without the lock, O(log n + page).
	page := make([]treeEntry, 0, min(pageSize, 64))
	more := false
	if recursive {
		lo := d.idx + 1
		start := lo + sort.SearchStrings(snap.keys[lo:d.end], after)
		if after != "" && start < d.end && snap.keys[start] == after {
			start++
		}
		for i := start; i < d.end; i++ {
			if len(page) == pageSize {
				more = true
				break
			}
			page = append(page, s.entryOf(snap.items[i]))
		}
	} else {
		ch := d.children
		start := sort.Search(len(ch), func(i int) bool { return snap.keys[ch[i]] > after })
		for i := start; i < len(ch); i++ {
			if len(page) == pageSize {
				more = true
				break
			}
			page = append(page, s.entryOf(snap.items[ch[i]]))
		}
	}
	if more {
		next := url.Values{}
		for k, v := range qs {
			next[k] = v
		}
		next.Set("cursor", base64.RawURLEncoding.EncodeToString([]byte(page[len(page)-1].Path)))
		w.Header().Set("Link", fmt.Sprintf("<%s%s?%s>; rel=\"next\"", s.URL(), r.URL.EscapedPath(), next.Encode()))
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Server) handlePathsInfo(w http.ResponseWriter, r *http.Request, q *request) {
	var paths []string
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" {
		if err := r.ParseForm(); err != nil {
			writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid form body"}, false)
			return
		}
		paths = r.PostForm["paths"]
	} else {
		var body struct {
			Paths  []string `json:"paths"`
			Expand bool     `json:"expand"`
		}
		if !decodeJSON(w, r, &body) {
			return
		}
		paths = body.Paths
	}
	fr, ok := s.revisionOf(w, q, accRead, false)
	if !ok {
		return
	}
	c := fr.c
	out := []treeEntry{}
	for _, p := range paths {
		p = strings.Trim(p, "/")
		if f, ok := c.snap.files[p]; ok {
			out = append(out, s.entryOf(item{path: p, file: f}))
		} else if d, ok := c.snap.dirs[p]; ok && p != "" {
			out = append(out, treeEntry{Type: "directory", OID: d.oid, Path: p})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePreupload(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		Files []struct {
			Path   string `json:"path"`
			Sample string `json:"sample"`
			Size   int64  `json:"size"`
		} `json:"files"`
		GitAttributes *string `json:"gitAttributes"`
		GitIgnore     *string `json:"gitIgnore"`
	}
	if !decodeJSON(w, r, &body) {
		return
	}
	if len(body.Files) > MaxPreuploadFiles {
		writeError(w, &hubError{status: http.StatusBadRequest, msg: fmt.Sprintf("Too many files: at most %d per preupload request", MaxPreuploadFiles)}, false)
		return
	}
	s.withRepo(w, q, accWrite, s.mu.RLocker(), func(rp *repo) {
		rev, _ := splitRev(rp, q.rest)
		c := rp.resolve(rev)
		if c == nil && !(len(rp.branches) == 0 && rev == "main") {
			writeError(w, errRevision(rev), false)
			return
		}
		ga := ""
		if body.GitAttributes != nil {
			ga = *body.GitAttributes
		} else if c != nil {
			if f, ok := c.snap.files[".gitattributes"]; ok && f.lfs == nil {
				ga = string(f.data)
			}
		}
		type result struct {
			Path         string `json:"path"`
			UploadMode   string `json:"uploadMode"`
			ShouldIgnore bool   `json:"shouldIgnore"`
			OID          string `json:"oid,omitempty"`
		}
		out := make([]result, 0, len(body.Files))
		for _, f := range body.Files {
			sample, err := base64.StdEncoding.DecodeString(f.Sample)
			if err != nil {
				writeError(w, &hubError{status: http.StatusBadRequest, msg: "Invalid base64 sample for " + f.Path}, false)
				return
			}
			mode := "regular"
			if f.Size > 0 && (f.Size >= LFSSizeThreshold || bytes.IndexByte(sample, 0) >= 0 || isLFSPath(ga, f.Path)) {
				mode = "lfs"
			}
			res := result{Path: f.Path, UploadMode: mode, ShouldIgnore: strings.HasPrefix(f.Path, ".git/")}
			if c != nil {
				if e, ok := c.snap.files[f.Path]; ok {
					res.OID = e.oid
					if e.lfs != nil {
						res.OID = e.lfs.oid
					}
				}
			}
			out = append(out, res)
		}
		resp := map[string]any{"files": out}
		if c != nil {
			resp["commitOid"] = c.id
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

// commitHeader is the header line of a commit request.
type commitHeader struct{ Summary, Description, ParentCommit string }

// readCommit parses a commit request's NDJSON body: its header line and the file operations.
func readCommit(r io.Reader) (*commitHeader, []op, *hubError) {
	dec := json.NewDecoder(r)
	var (
		ops    []op
		header *commitHeader
	)
	for {
		var line struct {
			Key   string          `json:"key"`
			Value json.RawMessage `json:"value"`
		}
		err := dec.Decode(&line)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Invalid NDJSON body: " + err.Error()}
		}
		var v struct {
			Summary      string `json:"summary"`
			Description  string `json:"description"`
			ParentCommit string `json:"parentCommit"`
			Path         string `json:"path"`
			Content      string `json:"content"`
			Encoding     string `json:"encoding"`
			OID          string `json:"oid"`
			Algo         string `json:"algo"`
			Size         *int64 `json:"size"`
		}
		if err := json.Unmarshal(line.Value, &v); err != nil {
			return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Invalid " + line.Key + " line: " + err.Error()}
		}
		switch line.Key {
		case "header":
			header = &commitHeader{v.Summary, v.Description, v.ParentCommit}
		case "file":
			data, err := decodeContent(v.Content, v.Encoding)
			if err != nil {
				return nil, nil, &hubError{status: http.StatusBadRequest, msg: v.Path + ": " + err.Error()}
			}
			ops = append(ops, op{kind: opAdd, path: v.Path, data: data})
		case "lfsFile":
			if v.Algo != "" && v.Algo != "sha256" {
				return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Unsupported algo " + v.Algo}
			}
			size := int64(-1)
			if v.Size != nil {
				size = *v.Size
			}
			ops = append(ops, op{kind: opAdd, path: v.Path, lfs: &lfsRef{oid: strings.ToLower(v.OID), size: size}})
		case "deletedFile":
			ops = append(ops, op{kind: opDelete, path: v.Path})
		case "deletedFolder":
			ops = append(ops, op{kind: opDeleteFolder, path: strings.TrimSuffix(v.Path, "/")})
		default:
			return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Unknown key " + line.Key}
		}
	}
	if header == nil {
		return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Missing header line"}
	}
	if strings.TrimSpace(header.Summary) == "" {
		return nil, nil, &hubError{status: http.StatusBadRequest, msg: "Commit summary is required"}
	}
	return header, ops, nil
}

func (s *Server) handleCommit(w http.ResponseWriter, r *http.Request, q *request) {
	header, ops, he := readCommit(r.Body)
	if he != nil {
		writeError(w, he, false)
		return
	}
	msg := header.Summary
	if header.Description != "" {
		msg += "\n\n" + header.Description
	}
	s.withRepo(w, q, accWrite, &s.mu, func(rp *repo) {
		rev, _ := splitRev(rp, q.rest)
		branch := strings.TrimPrefix(rev, "refs/heads/")
		createPR := truthy(r.URL.Query().Get("create_pr"))
		var prURL string
		if createPR {
			base := rp.resolve(rev)
			if base == nil {
				writeError(w, errRevision(rev), false)
				return
			}
			rp.prs++
			branch = fmt.Sprintf("refs/pr/%d", rp.prs)
			rp.branches[branch] = base.id
			prURL = fmt.Sprintf("%s/discussions/%d", s.repoURL(rp), rp.prs)
		} else if _, ok := rp.branches[branch]; !ok && !(len(rp.branches) == 0 && branch == "main") {
			writeError(w, errRevision(rev), false)
			return
		}
		id, he := s.applyLocked(rp, branch, msg, header.ParentCommit, q.ident.user, ops, len(rp.branches) == 0)
		if he != nil {
			if createPR {
				delete(rp.branches, branch)
				rp.prs--
			}
			writeError(w, he, false)
			return
		}
		resp := map[string]any{"success": true, "commitOid": id, "commitUrl": s.repoURL(rp) + "/commit/" + id, "hookOutput": ""}
		if prURL != "" {
			resp["pullRequestUrl"] = prURL
		}
		writeJSON(w, http.StatusOK, resp)
	})
}

func (s *Server) handleAuthCheck(w http.ResponseWriter, r *http.Request, q *request) {
	s.withRepo(w, q, accFiles, s.mu.RLocker(), func(*repo) {
		writeJSON(w, http.StatusOK, map[string]any{})
	})
}

func (s *Server) handleRefs(w http.ResponseWriter, r *http.Request, q *request) {
	s.withRepo(w, q, accRead, s.mu.RLocker(), func(rp *repo) {
		type ref struct {
			Name         string `json:"name"`
			Ref          string `json:"ref"`
			TargetCommit string `json:"targetCommit"`
		}
		out := map[string][]ref{"branches": {}, "tags": {}, "converts": {}}
		prs := []ref{}
		for name, id := range rp.branches {
			if strings.HasPrefix(name, "refs/pr/") {
				prs = append(prs, ref{Name: strings.TrimPrefix(name, "refs/pr/"), Ref: name, TargetCommit: id})
				continue
			}
			out["branches"] = append(out["branches"], ref{Name: name, Ref: "refs/heads/" + name, TargetCommit: id})
		}
		for name, id := range rp.tags {
			out["tags"] = append(out["tags"], ref{Name: name, Ref: "refs/tags/" + name, TargetCommit: id})
		}
		if truthy(r.URL.Query().Get("include_prs")) {
			out["pullRequests"] = prs
		}
		for _, v := range out {
			sort.Slice(v, func(i, j int) bool { return v[i].Name < v[j].Name })
		}
		writeJSON(w, http.StatusOK, out)
	})
}

func (s *Server) handleBranch(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		StartingPoint string `json:"startingPoint"`
	}
	if r.Method == http.MethodPost && r.ContentLength != 0 {
		if !decodeJSON(w, r, &body) {
			return
		}
	}
	branch := strings.Join(q.rest, "/")
	s.changeRef(w, r, q, branch, branch != "main", func(rp *repo) map[string]string { return rp.branches },
		func(rp *repo) *hubError { return s.createBranchLocked(rp, branch, body.StartingPoint) })
}

func (s *Server) handleTag(w http.ResponseWriter, r *http.Request, q *request) {
	var body struct {
		Tag     string `json:"tag"`
		Message string `json:"message"`
	}
	if r.Method == http.MethodPost {
		if !decodeJSON(w, r, &body) {
			return
		}
	}
	rev := strings.Join(q.rest, "/")
	s.changeRef(w, r, q, rev, true, func(rp *repo) map[string]string { return rp.tags },
		func(rp *repo) *hubError { return s.createTagLocked(rp, body.Tag, rev) })
}

// changeRef answers a branch or tag route with the write lock held: DELETE removes name from the
// refs map refs picks (404 RevisionNotFound when there is no such ref, or it is not deletable),
// POST calls create.
func (s *Server) changeRef(w http.ResponseWriter, r *http.Request, q *request, name string, deletable bool,
	refs func(*repo) map[string]string, create func(*repo) *hubError) {
	s.withRepo(w, q, accWrite, &s.mu, func(rp *repo) {
		var he *hubError
		if r.Method == http.MethodDelete {
			if _, ok := refs(rp)[name]; !ok || !deletable {
				he = errRevision(name)
			} else {
				delete(refs(rp), name)
			}
		} else {
			he = create(rp)
		}
		if he != nil {
			writeError(w, he, false)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{})
	})
}
