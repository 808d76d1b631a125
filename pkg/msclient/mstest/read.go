package mstest

import (
	"encoding/json"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// apiHandler routes the hub API.
func (s *Server) apiHandler() http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("POST /api/v1/login", s.route(RouteLogin, s.handleLogin))
	m.HandleFunc("GET /openapi/v1/users/me", s.route(RouteWhoami, s.handleWhoami))

	m.HandleFunc("GET /api/v1/models/{owner}/{name}", s.route(RouteModelInfo, s.handleInfo(hubkit.Model)))
	m.HandleFunc("GET /api/v1/datasets/{owner}/{name}", s.route(RouteDatasetInfo, s.handleInfo(hubkit.Dataset)))
	m.HandleFunc("GET /openapi/v1/models/{owner}/{name}", s.route(RouteModelInfo, s.handleOpenAPIInfo(hubkit.Model)))
	m.HandleFunc("GET /openapi/v1/datasets/{owner}/{name}", s.route(RouteDatasetInfo, s.handleOpenAPIInfo(hubkit.Dataset)))

	m.HandleFunc("GET /api/v1/models/{owner}/{name}/repo/files", s.route(RouteModelFiles, s.handleModelFiles))
	m.HandleFunc("GET /api/v1/datasets/{id}/repo/tree", s.route(RouteDatasetTree, s.handleDatasetTree))
	m.HandleFunc("GET /api/v1/datasets/{owner}/{name}/repo/tree", s.route(RouteDatasetTree, s.handleDatasetTree))

	m.HandleFunc("GET /api/v1/models/{owner}/{name}/repo", s.route(RouteDownload, s.handleDownload(hubkit.Model)))
	m.HandleFunc("GET /api/v1/datasets/{owner}/{name}/repo", s.route(RouteDownload, s.handleDownload(hubkit.Dataset)))

	for _, k := range []hubkit.RepoType{hubkit.Model, hubkit.Dataset} {
		seg := "/api/v1/" + string(k) + "s/{owner}/{name}"
		m.HandleFunc("GET "+seg+"/revisions", s.route(RouteRevisions, s.handleRevisions(k)))
		m.HandleFunc("GET "+seg+"/commits", s.route(RouteCommits, s.handleCommits(k)))
		m.HandleFunc("POST "+seg+"/repo/tag", s.route(RouteTag, s.handleTag(k)))
		m.HandleFunc("DELETE "+seg, s.route(RouteDeleteRepo, s.handleDelete(k)))
	}

	m.HandleFunc("POST /api/v1/models", s.route(RouteCreateModel, s.handleCreateModel))
	m.HandleFunc("POST /api/v1/datasets", s.route(RouteCreateDataset, s.handleCreateDataset))
	m.HandleFunc("PUT /api/v1/models/{owner}/{name}", s.route(RouteVisibility, s.handleModelVisibility))
	m.HandleFunc("PUT /api/v1/datasets/{id}", s.route(RouteVisibility, s.handleDatasetVisibility))

	m.HandleFunc("POST /api/v1/repos/{type}/{owner}/{name}/info/lfs/objects/batch", s.route(RouteLFSBatch, s.handleLFSBatch))
	m.HandleFunc("PUT /api/v1/repos/{type}/{owner}/{name}/blobs/{oid}/{size}", s.route(RouteBlobPut, s.handleBlobPut))
	m.HandleFunc("POST /api/v1/repos/{type}/{owner}/{name}/commit/{rev...}", s.route(RouteCommit, s.handleCommit))

	// Traps and pings the SDKs touch.
	m.HandleFunc("GET /api/v1/repos/{type}/{owner}/{name}/repo", s.route(RouteOther, func(rp *reply, _ *http.Request) {
		rp.fail(http.StatusMisdirectedRequest, http.StatusMisdirectedRequest, "mirror self-forwarded loop detected")
	}))
	m.HandleFunc("GET /api/v1/repos/internalAccelerationInfo", s.route(RouteOther, func(rp *reply, _ *http.Request) {
		rp.fail(http.StatusNotFound, http.StatusNotFound, "not found")
	}))
	okPing := s.route(RouteOther, func(rp *reply, _ *http.Request) { rp.ok(nil) })
	m.HandleFunc("POST /api/v1/datasets/{owner}/{name}/download/increase", okPing)
	m.HandleFunc("POST /api/v1/datasets/{owner}/{name}/download/uv/{channel}", okPing)
	m.HandleFunc("/", s.route(RouteOther, func(rp *reply, r *http.Request) {
		rp.fail(http.StatusNotFound, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	}))
	return m
}

func kindOfSegment(seg string) (hubkit.RepoType, bool) {
	switch seg {
	case "models":
		return hubkit.Model, true
	case "datasets":
		return hubkit.Dataset, true
	}
	return "", false
}

// missing answers "repo not found" in the kind's words.
func (rp *reply) missing(kind hubkit.RepoType) {
	if kind == hubkit.Dataset {
		rp.fail(http.StatusNotFound, CodeDatasetMissing, MsgDatasetMissing)
		return
	}
	rp.fail(http.StatusNotFound, CodeModelMissing, "获取模型版本失败，信息：record not found")
}

// readRepoLocked finds a repo the caller may read, answering the failure itself. Call with s.mu held.
func (s *Server) readRepoLocked(rp *reply, c caller, kind hubkit.RepoType, owner, name string) *repo {
	r := s.repos[repoKey{kind, owner + "/" + name}]
	if r == nil {
		rp.missing(kind)
		return nil
	}
	if !c.canRead(r) {
		s.hidden(rp, kind)
		return nil
	}
	return r
}

// lockReadable locks s.mu and finds the {owner}/{name} repo of r that the caller may read. It
// returns the repo with s.mu still held, or answers the failure itself and returns nil with s.mu
// released.
func (s *Server) lockReadable(rp *reply, r *http.Request, kind hubkit.RepoType) *repo {
	c := s.callerOf(r)
	s.mu.Lock()
	repo := s.readRepoLocked(rp, c, kind, r.PathValue("owner"), r.PathValue("name"))
	if repo == nil {
		s.mu.Unlock()
	}
	return repo
}

func (s *Server) hidden(rp *reply, kind hubkit.RepoType) {
	if s.cfg.hiddenStatus == http.StatusForbidden {
		msg := "no permission to access the model"
		if kind == hubkit.Dataset {
			msg = "无权访问该数据集"
		}
		rp.fail(http.StatusForbidden, http.StatusForbidden, msg)
		return
	}
	rp.missing(kind)
}

// writeRepoLocked finds a repo the caller may write, answering the failure itself.
func (s *Server) writeRepoLocked(rp *reply, c caller, kind hubkit.RepoType, owner, name string) *repo {
	r := s.repos[repoKey{kind, owner + "/" + name}]
	if r == nil {
		rp.missing(kind)
		return nil
	}
	if c.user == nil {
		rp.fail(http.StatusBadRequest, CodeRefused, MsgNotLoggedIn)
		return nil
	}
	if !c.canRead(r) {
		s.hidden(rp, kind)
		return nil
	}
	if !rp.writeAuth(c, r.owner) {
		return nil
	}
	return r
}

func (s *Server) handleLogin(rp *reply, r *http.Request) {
	var body struct {
		AccessToken string `json:"AccessToken"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.AccessToken == "" {
		rp.fail(http.StatusBadRequest, CodeLoginRefused, MsgLoginRefused)
		return
	}
	s.mu.Lock()
	ti := s.tokens[body.AccessToken]
	var u *user
	if ti != nil && !ti.readOnly {
		u = s.users[ti.user]
	}
	s.mu.Unlock()
	if u == nil {
		rp.fail(http.StatusBadRequest, CodeLoginRefused, MsgLoginRefused)
		return
	}
	http.SetCookie(rp.w, &http.Cookie{Name: "m_session_id", Value: body.AccessToken, Path: "/", HttpOnly: true})
	rp.ok(map[string]any{"AccessToken": u.gitToken, "Username": u.name, "Email": u.email, "Nickname": u.name})
}

func (s *Server) handleWhoami(rp *reply, r *http.Request) {
	var c caller
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		c = s.callerOf(r)
	}
	if c.user == nil {
		rp.openapiFail(http.StatusUnauthorized, "Invalid authentication, please check your Authorization header")
		return
	}
	rp.openapiOK(map[string]any{"username": c.user.name, "nickname": c.user.name, "email": c.user.email,
		"avatar_url": "", "description": ""})
}

// size returns the total size of the tree's files.
func (t *tree) size() int64 {
	var n int64
	for _, e := range t.list() {
		if e.file != nil {
			n += e.file.size
		}
	}
	return n
}

func (s *Server) handleInfo(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		repo := s.lockReadable(rp, r, kind)
		if repo == nil {
			return
		}
		rev := r.URL.Query().Get("Revision")
		cm, ok := repo.resolve(rev)
		if !ok {
			s.mu.Unlock()
			rp.missing(kind)
			return
		}
		head := repo.commits[repo.branches[DefaultBranch]]
		data := map[string]any{
			"Id": repo.numID, "Name": repo.name, "ChineseName": repo.name, "Visibility": int(repo.vis),
			"ProtectedMode": repo.protected, "ApprovalMode": 1, "License": repo.license, "Description": "",
			"Downloads": 0, "Likes": 0, "Stars": 0, "Tags": []string{}, "CreatedBy": repo.owner,
			"LastUpdatedTime": head.time.Unix(), "Revision": cm.id,
		}
		if kind == hubkit.Model {
			data["Path"] = repo.owner
			data["CreatedTime"] = repo.created.Unix()
			data["Tasks"] = []any{}
			data["IsAccessible"] = 1
			data["IsPublished"] = 1
			data["IsOnline"] = 1
			data["ModelType"] = []string{}
		} else {
			data["Owner"] = repo.owner
			data["Namespace"] = repo.owner
			data["Type"] = 0
			data["GmtCreate"] = repo.created.Unix()
		}
		s.mu.Unlock()
		data["StorageSize"] = cm.tree.size()
		rp.ok(data)
	}
}

func (s *Server) handleOpenAPIInfo(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		var c caller
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			c = s.callerOf(r)
		}
		s.mu.Lock()
		repo := s.repos[repoKey{kind, r.PathValue("owner") + "/" + r.PathValue("name")}]
		if repo == nil || !c.canRead(repo) {
			s.mu.Unlock()
			rp.openapiFail(http.StatusNotFound, "resource not found")
			return
		}
		head := repo.commits[repo.branches[DefaultBranch]]
		data := map[string]any{
			"id": repo.owner + "/" + repo.name, "display_name": repo.name, "description": "", "downloads": 0,
			"likes": 0, "license": repo.license, "tasks": []string{}, "tags": []string{"license:" + repo.license},
			"created_at":    repo.created.UTC().Format(time.RFC3339),
			"last_modified": head.time.UTC().Format(time.RFC3339),
			"private":       repo.vis != Public, "gated": repo.vis != Public && repo.protected == 1, "readme": "",
		}
		if kind == hubkit.Dataset {
			data["login_required"] = false
		}
		s.mu.Unlock()
		data["file_size"] = head.tree.size()
		rp.openapiOK(data)
	}
}

// listItem is one entry of a file listing.
type listItem struct {
	Name          string `json:"Name"`
	Path          string `json:"Path"`
	Type          string `json:"Type"`
	Size          int64  `json:"Size"`
	Sha256        string `json:"Sha256"`
	IsLFS         bool   `json:"IsLFS"`
	Revision      string `json:"Revision"`
	CommitID      string `json:"CommitId"`
	CommitMessage string `json:"CommitMessage"`
	CommittedDate int64  `json:"CommittedDate"`
	CommitterName string `json:"CommitterName"`
	Mode          string `json:"Mode"`
	InCheck       bool   `json:"InCheck"`
}

func item(e listEntry) listItem {
	it := listItem{Name: path.Base(e.path), Path: e.path, Type: "tree", Mode: "16384"}
	if f := e.file; f != nil {
		it.Type, it.Mode, it.Size, it.Sha256, it.IsLFS = "blob", "33188", f.size, f.sha, f.lfs
		if f.commit != nil {
			it.Revision, it.CommitID, it.CommitMessage = f.commit.id, f.commit.id, f.commit.message
			it.CommittedDate, it.CommitterName = f.commit.time.Unix(), "mstest"
		}
	}
	return it
}

// walk visits the entries under root ("" = everything), all of them when recursive, else only
// direct children; it stops when visit returns false. Subtrees are skipped by binary search, so
// a non-recursive listing costs O(children * log n).
func (t *tree) walk(root string, recursive bool, visit func(listEntry) bool) {
	all := t.list()
	prefix := ""
	if root != "" {
		prefix = root + "/"
	}
	i := sort.Search(len(all), func(i int) bool { return all[i].path >= prefix })
	for i < len(all) && strings.HasPrefix(all[i].path, prefix) {
		e := all[i]
		if !visit(e) {
			return
		}
		if !recursive && e.file == nil {
			end := e.path + "0" // '0' follows '/'
			i = sort.Search(len(all), func(j int) bool { return all[j].path >= end })
			continue
		}
		i++
	}
}

func truthy(v string) bool { return strings.EqualFold(v, "true") || v == "1" }

func cleanRoot(root string) string { return strings.Trim(root, "/") }

func (s *Server) handleModelFiles(rp *reply, r *http.Request) {
	q := r.URL.Query()
	repo := s.lockReadable(rp, r, hubkit.Model)
	if repo == nil {
		return
	}
	cm, ok := repo.resolve(q.Get("Revision"))
	s.mu.Unlock()
	if !ok {
		// The real hub's trap: an unknown revision is a success with Files null.
		rp.ok(map[string]any{"Files": nil, "LatestCommitter": nil, "IsVisual": 0})
		return
	}
	files := []listItem{}
	cut := s.cfg.listingCut
	cm.tree.walk(cleanRoot(q.Get("Root")), truthy(q.Get("Recursive")), func(e listEntry) bool {
		if cut > 0 && len(files) >= cut {
			return false
		}
		files = append(files, item(e))
		return true
	})
	rp.ok(map[string]any{"Files": files, "IsVisual": 0, "LatestCommitter": map[string]any{
		"Id": cm.id, "ShortId": cm.id[:8], "Title": cm.message, "Message": cm.message,
		"CommittedDate": cm.time.Unix(), "CommitterName": "mstest",
	}})
}

func (s *Server) handleDatasetTree(rp *reply, r *http.Request) {
	c := s.callerOf(r)
	q := r.URL.Query()
	s.mu.Lock()
	var repo *repo
	if id := r.PathValue("id"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || s.byID[n] == nil {
			s.mu.Unlock()
			rp.missing(hubkit.Dataset)
			return
		}
		repo = s.byID[n]
		if !c.canRead(repo) {
			s.mu.Unlock()
			s.hidden(rp, hubkit.Dataset)
			return
		}
	} else if repo = s.readRepoLocked(rp, c, hubkit.Dataset, r.PathValue("owner"), r.PathValue("name")); repo == nil {
		s.mu.Unlock()
		return
	}
	cm, ok := repo.resolve(q.Get("Revision"))
	s.mu.Unlock()
	if !ok {
		rp.fail(http.StatusNotFound, CodeDatasetMissing, "revision not found: "+q.Get("Revision"))
		return
	}
	page, size := 1, s.cfg.datasetPageSize
	if v := q.Get("PageNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid PageNumber")
			return
		}
		page = n
	}
	if v := q.Get("PageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			rp.fail(http.StatusBadRequest, http.StatusBadRequest, "invalid PageSize")
			return
		}
		size = min(n, s.cfg.datasetPageSize)
	}
	from := (page - 1) * size
	files := []listItem{}
	total := 0
	cm.tree.walk(cleanRoot(q.Get("Root")), truthy(q.Get("Recursive")), func(e listEntry) bool {
		if total >= from && total < from+size {
			files = append(files, item(e))
		}
		total++
		return true
	})
	rp.okTotal(map[string]any{"Files": files, "TotalCount": total}, total)
}

type revisionItem struct {
	Revision  string `json:"Revision"`
	CommitID  string `json:"CommitId"`
	CreatedAt int64  `json:"CreatedAt"`
}

func (s *Server) handleRevisions(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		repo := s.lockReadable(rp, r, kind)
		if repo == nil {
			return
		}
		var end int64
		if v := r.URL.Query().Get("EndTime"); v != "" {
			end, _ = strconv.ParseInt(v, 10, 64)
		}
		branches := []revisionItem{}
		for name, id := range repo.branches {
			branches = append(branches, revisionItem{name, id, repo.commits[id].time.Unix()})
		}
		tags := []revisionItem{}
		for name, t := range repo.tags {
			if end == 0 || t.created.Unix() <= end {
				tags = append(tags, revisionItem{name, t.commit, t.created.Unix()})
			}
		}
		s.mu.Unlock()
		sort.Slice(branches, func(i, j int) bool { return branches[i].Revision < branches[j].Revision })
		sort.Slice(tags, func(i, j int) bool {
			if tags[i].CreatedAt != tags[j].CreatedAt {
				return tags[i].CreatedAt > tags[j].CreatedAt
			}
			return tags[i].Revision > tags[j].Revision
		})
		rp.ok(map[string]any{"RevisionMap": map[string]any{"Branches": branches, "Tags": tags}})
	}
}

func (s *Server) handleCommits(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		q := r.URL.Query()
		repo := s.lockReadable(rp, r, kind)
		if repo == nil {
			return
		}
		cm, ok := repo.resolve(q.Get("Ref"))
		if !ok {
			s.mu.Unlock()
			rp.fail(http.StatusNotFound, http.StatusNotFound, "revision not found: "+q.Get("Ref"))
			return
		}
		var chain []*commit
		for ; cm != nil; cm = firstParent(repo, cm) {
			chain = append(chain, cm)
		}
		s.mu.Unlock()
		page, _ := strconv.Atoi(q.Get("PageNumber"))
		size, _ := strconv.Atoi(q.Get("PageSize"))
		page, size = max(page, 1), max(size, 1)
		if q.Get("PageSize") == "" {
			size = 50
		}
		items := []map[string]any{}
		for i := (page - 1) * size; i < len(chain) && i < page*size; i++ {
			x := chain[i]
			items = append(items, map[string]any{"Id": x.id, "ShortId": x.id[:8], "Title": x.message,
				"Message": x.message, "AuthorName": "mstest", "AuthorEmail": "mstest@example.com",
				"AuthoredDate": x.time.Unix(), "CommitterName": "mstest", "CommitterEmail": "mstest@example.com",
				"CommittedDate": x.time.Unix(), "CreatedAt": x.time.Unix(), "ParentIds": x.parents})
		}
		rp.okTotal(map[string]any{"Commit": items}, len(chain))
	}
}

func firstParent(r *repo, c *commit) *commit {
	if len(c.parents) == 0 {
		return nil
	}
	return r.commits[c.parents[0]]
}
