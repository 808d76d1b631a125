package hubtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// exposeHeaders is the Hub's Access-Control-Expose-Headers.
const exposeHeaders = "X-Repo-Commit,X-Request-Id,X-Error-Code,X-Error-Message,X-Total-Count,ETag,Link,Accept-Ranges,Content-Range,X-Linked-Size,X-Linked-ETag,X-Xet-Hash"

// request is a routed Hub request.
type request struct {
	route string
	typ   hubkit.RepoType
	id    string   // ns/name
	rest  []string // unescaped segments after the route keyword
	text  bool     // errors as text/plain (resolve)
	ident identity
	// handler serves the request once faults and credentials were checked.
	handler func(w http.ResponseWriter, r *http.Request, q *request)
}

// identity is who a request authenticates as.
type identity struct {
	user    string
	role    Role
	invalid bool
}

func (i identity) anonymous() bool { return i.user == "" }

// serveHub is the Hub host's handler.
func (s *Server) serveHub(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Powered-By", "huggingface-moon")
	h.Set("X-Request-Id", fmt.Sprintf("Root=1-%08x-%024x", s.reqSeq.Add(1), s.reqSeq.Load()))
	h.Set("Access-Control-Expose-Headers", exposeHeaders)
	h.Set("Vary", "Origin")
	if s.cfg.warning != "" {
		h.Set("X-HF-Warning", s.cfg.warning)
	}
	q := s.route(r)
	if q == nil {
		writeError(w, &hubError{status: http.StatusNotFound, msg: "Sorry, we can't find the page you are looking for."}, false)
		return
	}
	s.serveRouted(w, r, q)
}

// serveRouted applies the route's fault rule, then credentials, then the handler.
func (s *Server) serveRouted(w http.ResponseWriter, r *http.Request, q *request) {
	if rule, ok := s.Faults().Take(q.route); ok {
		if rule.Status != 0 {
			if rule.Applied {
				s.serveAuthenticated(httptest.NewRecorder(), r, q)
			}
			rule.WriteStatus(w, func(w http.ResponseWriter, status int, msg string) {
				writeError(w, &hubError{status: status, msg: msg}, q.text)
			})
			return
		}
		w, r = applyRule(rule, w, r, q.route)
	}
	s.serveAuthenticated(w, r, q)
}

// serveAuthenticated reads the credentials, then runs the handler.
func (s *Server) serveAuthenticated(w http.ResponseWriter, r *http.Request, q *request) {
	q.ident = s.authenticate(r)
	if q.ident.invalid {
		writeError(w, &hubError{status: http.StatusUnauthorized, msg: MsgInvalidCredentials}, q.text)
		return
	}
	q.handler(w, r, q)
}

// uploadRoutes are the routes whose CutAfter cuts the request body rather than the response.
var uploadRoutes = map[string]bool{RouteLFSUpload: true, RouteCommit: true}

// applyRule wraps the request or response body with a non-status rule.
func applyRule(rule fault.Rule, w http.ResponseWriter, r *http.Request, route string) (http.ResponseWriter, *http.Request) {
	if uploadRoutes[route] && rule.CutAfter > 0 {
		r.Body = io.NopCloser(rule.BodyReader(r.Body))
		rule.CutAfter = 0
	}
	if rule.CutAfter > 0 || rule.Corrupt || rule.BytesPerSecond > 0 {
		w = &faultWriter{ResponseWriter: w, body: rule.BodyWriter(w)}
	}
	return w, r
}

type faultWriter struct {
	http.ResponseWriter
	body io.Writer
}

func (f *faultWriter) Write(p []byte) (int, error) { return f.body.Write(p) }

func (f *faultWriter) Flush() {
	if fl, ok := f.ResponseWriter.(http.Flusher); ok {
		fl.Flush()
	}
}

// authenticate reads Bearer or Basic (token as password) credentials.
func (s *Server) authenticate(r *http.Request) identity {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return identity{}
	}
	var tok string
	scheme, val, _ := strings.Cut(auth, " ")
	switch strings.ToLower(scheme) {
	case "bearer":
		tok = strings.TrimSpace(val)
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val))
		if err != nil {
			return identity{invalid: true}
		}
		_, tok, _ = strings.Cut(string(raw), ":")
	default:
		return identity{invalid: true}
	}
	s.mu.RLock()
	t, ok := s.tokens[tok]
	_, uok := s.users[t.user]
	s.mu.RUnlock()
	if !ok || !uok {
		return identity{invalid: true}
	}
	return identity{user: t.user, role: t.role}
}

// writeError writes a Hub error: status, X-Error-Code, X-Error-Message and a JSON (or text) body.
func writeError(w http.ResponseWriter, e *hubError, text bool) {
	h := w.Header()
	h.Del("Content-Length")
	h.Del("Content-Range")
	if e.code != "" {
		h.Set("X-Error-Code", e.code)
	}
	// The message may quote the request (an NDJSON key, a path): control characters would break
	// the header block, so they are dropped from the header (the body keeps them, JSON-escaped).
	h.Set("X-Error-Message", strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, e.msg))
	if e.status == http.StatusUnauthorized && e.code == "" && e.msg == MsgAnonymous {
		h.Set("WWW-Authenticate", `Bearer realm="Authentication required", charset="UTF-8"`)
	}
	if text {
		body := e.msg
		if e.code == "EntryNotFound" {
			body = "Entry not found"
		}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(e.status)
		_, _ = io.WriteString(w, body)
		return
	}
	writeJSON(w, e.status, map[string]string{"error": e.msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// splitEscaped splits an escaped path into unescaped segments (so "%2F" stays inside a segment).
func splitEscaped(p string) ([]string, bool) {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		u, err := url.PathUnescape(s)
		if err != nil {
			return nil, false
		}
		segs[i] = u
	}
	return segs, true
}

var apiTypes = map[string]hubkit.RepoType{"models": hubkit.Model, "datasets": hubkit.Dataset, "spaces": hubkit.Space}

// route classifies a Hub request; nil means no such route.
func (s *Server) route(r *http.Request) *request {
	segs, ok := splitEscaped(r.URL.EscapedPath())
	if !ok || len(segs) == 0 {
		return nil
	}
	m := r.Method
	if segs[0] == "api" {
		return s.routeAPI(m, segs[1:])
	}
	// Web-style routes: [datasets/|spaces/]ns/name/{resolve,raw}/..., ns/name.git/info/lfs/...
	typ := hubkit.Model
	if len(segs) > 3 && (segs[0] == "datasets" || segs[0] == "spaces") {
		typ = apiTypes[segs[0]]
		segs = segs[1:]
	}
	if len(segs) < 3 {
		return nil
	}
	ns, name := segs[0], segs[1]
	if strings.HasSuffix(name, ".git") && len(segs) == 6 && segs[2] == "info" && segs[3] == "lfs" && segs[4] == "objects" {
		q := &request{typ: typ, id: ns + "/" + strings.TrimSuffix(name, ".git")}
		switch {
		case segs[5] == "batch" && m == http.MethodPost:
			q.route, q.handler = RouteLFSBatch, s.handleBatch
		case segs[5] == "verify" && m == http.MethodPost:
			q.route, q.handler = RouteLFSVerify, s.handleVerify
		default:
			return nil
		}
		return q
	}
	if (segs[2] == "resolve" || segs[2] == "raw") && len(segs) >= 5 && (m == http.MethodGet || m == http.MethodHead) {
		q := &request{route: RouteResolve, typ: typ, id: ns + "/" + name, rest: segs[3:], text: true}
		raw := segs[2] == "raw"
		q.handler = func(w http.ResponseWriter, r *http.Request, q *request) { s.handleResolve(w, r, q, raw) }
		return q
	}
	return s.routeGit(r, typ, segs)
}

func (s *Server) routeAPI(m string, segs []string) *request {
	if len(segs) == 0 {
		return nil
	}
	switch {
	case len(segs) == 1 && segs[0] == "whoami-v2" && m == http.MethodGet:
		return &request{route: RouteWhoami, handler: s.handleWhoami}
	case len(segs) == 2 && segs[0] == "repos" && segs[1] == "create" && m == http.MethodPost:
		return &request{route: RouteCreateRepo, handler: s.handleCreate}
	case len(segs) == 2 && segs[0] == "repos" && segs[1] == "delete" && m == http.MethodDelete:
		return &request{route: RouteDeleteRepo, handler: s.handleDelete}
	case len(segs) == 5 && segs[0] == "repos" && segs[4] == "settings" && m == http.MethodPut:
		// legacy: /api/repos/{type}/{ns}/{name}/settings
		typ, ok := apiTypes[strings.TrimSuffix(segs[1], "s")+"s"]
		if !ok {
			return nil
		}
		return &request{route: RouteSettings, typ: typ, id: segs[2] + "/" + segs[3], handler: s.handleSettings}
	case len(segs) == 1 && segs[0] == "complete_multipart" && m == http.MethodPost:
		return &request{route: RouteLFSComplete, handler: s.handleComplete}
	case len(segs) >= 6 && segs[0] == "resolve-cache" && (m == http.MethodGet || m == http.MethodHead):
		typ, ok := apiTypes[segs[1]]
		if !ok {
			return nil
		}
		return &request{route: RouteResolve, typ: typ, id: segs[2] + "/" + segs[3], rest: segs[4:], text: true, handler: s.handleResolveCache}
	}
	typ, ok := apiTypes[segs[0]]
	if !ok || len(segs) < 3 {
		return nil
	}
	q := &request{typ: typ, id: segs[1] + "/" + segs[2]}
	if len(segs) == 3 {
		if m != http.MethodGet {
			return nil
		}
		q.route, q.handler = RouteRepoInfo, s.handleInfo
		return q
	}
	q.rest = segs[4:]
	switch kw := segs[3]; {
	case kw == "revision" && len(q.rest) > 0 && m == http.MethodGet:
		q.route, q.handler = RouteRevision, s.handleInfo
	case kw == "tree" && len(q.rest) > 0 && m == http.MethodGet:
		q.route, q.handler = RouteTree, s.handleTree
	case kw == "paths-info" && len(q.rest) > 0 && m == http.MethodPost:
		q.route, q.handler = RoutePathsInfo, s.handlePathsInfo
	case kw == "preupload" && len(q.rest) > 0 && m == http.MethodPost:
		q.route, q.handler = RoutePreupload, s.handlePreupload
	case (kw == "xet-read-token" || kw == "xet-write-token") && len(q.rest) > 0 && m == http.MethodGet:
		q.route, q.handler = RouteXetToken, s.handleXetToken
	case kw == "commit" && len(q.rest) > 0 && m == http.MethodPost:
		q.route, q.handler = RouteCommit, s.handleCommit
	case kw == "settings" && len(q.rest) == 0 && m == http.MethodPut:
		q.route, q.handler = RouteSettings, s.handleSettings
	case kw == "auth-check" && len(q.rest) == 0 && m == http.MethodGet:
		q.route, q.handler = RouteAuthCheck, s.handleAuthCheck
	case kw == "refs" && len(q.rest) == 0 && m == http.MethodGet:
		q.route, q.handler = RouteRefs, s.handleRefs
	case kw == "branch" && len(q.rest) > 0 && (m == http.MethodPost || m == http.MethodDelete):
		q.route, q.handler = RouteBranch, s.handleBranch
	case kw == "tag" && len(q.rest) > 0 && (m == http.MethodPost || m == http.MethodDelete):
		q.route, q.handler = RouteTag, s.handleTag
	default:
		return nil
	}
	return q
}

// splitRev splits "rev[/path...]" segments: an already %2F-encoded revision is one segment;
// raw "refs/pr/N" and "refs/convert/X" take three; otherwise the shortest prefix naming a branch
// or tag of r wins, defaulting to the first segment.
func splitRev(r *repo, segs []string) (rev string, rest []string) {
	if len(segs) == 0 {
		return "", nil
	}
	if strings.Contains(segs[0], "/") {
		return segs[0], segs[1:]
	}
	if segs[0] == "refs" && len(segs) >= 3 {
		if segs[1] == "heads" || segs[1] == "tags" {
			for k := 3; k <= len(segs); k++ {
				if r != nil && r.resolve(strings.Join(segs[:k], "/")) != nil {
					return strings.Join(segs[:k], "/"), segs[k:]
				}
			}
		}
		return strings.Join(segs[:3], "/"), segs[3:]
	}
	if r != nil {
		for k := 1; k < len(segs); k++ {
			cand := strings.Join(segs[:k], "/")
			if _, ok := r.branches[cand]; ok {
				return cand, segs[k:]
			}
			if _, ok := r.tags[cand]; ok {
				return cand, segs[k:]
			}
		}
	}
	return segs[0], segs[1:]
}

// memberOf reports whether user may act for namespace ns.
func (s *Server) memberOf(userName, ns string) bool {
	if userName == "" {
		return false
	}
	if userName == ns {
		return true
	}
	if u, ok := s.users[userName]; ok {
		for _, o := range u.orgs {
			if o == ns {
				return true
			}
		}
	}
	return false
}

// access levels for repoFor.
const (
	accRead  = iota // visibility only (metadata)
	accFiles        // visibility + gating (file contents)
	accWrite        // visibility + write token + namespace membership
)

// repoFor finds the request's repo and checks access under s.mu (read-locked by the caller).
// filesRepoLocked returns q's repo for a route that reads its files, having answered the request
// itself when the repo is missing, invisible or storage-locked (on storage-style routes when
// storage). s.mu is held for reading.
func (s *Server) filesRepoLocked(w http.ResponseWriter, q *request, level int, storage bool) (*repo, bool) {
	rp, he := s.repoFor(q, level)
	if he == nil && rp.locked {
		he = errLocked()
	}
	if he != nil {
		writeError(w, he, storage)
		return nil, false
	}
	return rp, true
}

func (s *Server) repoFor(q *request, level int) (*repo, *hubError) {
	r := s.repos[repoKey(q.typ, q.id)]
	who := q.ident
	if r == nil || (r.private && !s.memberOf(who.user, r.ns)) {
		if who.anonymous() {
			return nil, &hubError{status: http.StatusUnauthorized, msg: MsgAnonymous}
		}
		return nil, &hubError{status: http.StatusNotFound, code: "RepoNotFound", msg: MsgRepoNotFound}
	}
	switch level {
	case accFiles:
		if r.gated != "" && !s.memberOf(who.user, r.ns) && !r.approved[who.user] {
			kind := string(r.typ)
			if who.anonymous() {
				return nil, &hubError{status: http.StatusUnauthorized, code: "GatedRepo", msg: fmt.Sprintf(
					"Access to %s %s is restricted. You must have access to it and be authenticated to access it. Please log in.", kind, r.id())}
			}
			return nil, &hubError{status: http.StatusForbidden, code: "GatedRepo", msg: fmt.Sprintf(
				"Access to %s %s is restricted and you are not in the authorized list. Visit %s/%s%s to ask for access.", kind, r.id(), s.URL(), urlPrefix(r.typ), r.id())}
		}
	case accWrite:
		if who.anonymous() {
			return nil, &hubError{status: http.StatusUnauthorized, msg: MsgAnonymous}
		}
		if who.role != RoleWrite {
			return nil, &hubError{status: http.StatusForbidden, msg: "You don't have the rights to write to " + r.id() + ": this token has the read role"}
		}
		if !s.memberOf(who.user, r.ns) {
			return nil, &hubError{status: http.StatusForbidden, msg: "You don't have the rights to write to " + r.id()}
		}
	}
	return r, nil
}

func errLocked() *hubError {
	return &hubError{status: http.StatusForbidden, msg: StorageLockedMessage}
}
