package hubtest

import (
	"fmt"
	"maps"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/bmatcuk/doublestar/v4"
)

// hubError is an error the fake answers with: status, optional X-Error-Code, message.
type hubError struct {
	status int
	code   string
	msg    string
}

func (e *hubError) Error() string {
	if e.code != "" {
		return fmt.Sprintf("hubtest: %d %s: %s", e.status, e.code, e.msg)
	}
	return fmt.Sprintf("hubtest: %d: %s", e.status, e.msg)
}

func errRevision(rev string) *hubError {
	return &hubError{status: http.StatusNotFound, code: "RevisionNotFound", msg: "Invalid rev id: " + rev}
}

func errEntry(p, rev string) *hubError {
	return &hubError{status: http.StatusNotFound, code: "EntryNotFound", msg: fmt.Sprintf("%s does not exist on %q", p, rev)}
}

type opKind int

const (
	opAdd opKind = iota
	opDelete
	opDeleteFolder
)

// op is one change of a commit.
type op struct {
	kind opKind
	path string
	data []byte  // regular file content
	lfs  *lfsRef // LFS file (object must already be stored for the repo)
}

// applyLocked applies ops to branch atomically and returns the new commit id. parent, when set,
// must be the branch head (412 otherwise). create allows the branch to have no commit yet.
// The caller holds s.mu.
func (s *Server) applyLocked(r *repo, branch, message, parent, author string, ops []op, create bool) (string, *hubError) {
	var head *commitObj
	if id, ok := r.branches[branch]; ok {
		head = r.commits[id]
	} else if !create {
		return "", errRevision(branch)
	}
	if parent != "" && (head == nil || parent != head.id) {
		return "", &hubError{status: http.StatusPreconditionFailed, msg: "The branch was updated since you opened this page. Please refresh and try again."}
	}
	files := map[string]*fileEntry{}
	if head != nil {
		files = maps.Clone(head.snap.files)
	}
	dirCount := map[string]int{} // files below each directory
	for fp := range files {
		addDirs(dirCount, fp, 1)
	}
	remove := func(fp string) {
		delete(files, fp)
		addDirs(dirCount, fp, -1)
	}
	var lfsPaths []string
	newObjs := map[string]gitObject{}
	for _, o := range ops {
		p, ok := cleanPath(o.path)
		if !ok {
			return "", &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("Invalid path %q", o.path)}
		}
		switch o.kind {
		case opDelete:
			if _, ok := files[p]; !ok {
				return "", errEntry(p, branch)
			}
			remove(p)
		case opDeleteFolder:
			if dirCount[p] == 0 {
				return "", errEntry(p, branch)
			}
			prefix := p + "/"
			for fp := range files {
				if strings.HasPrefix(fp, prefix) {
					remove(fp)
				}
			}
		case opAdd:
			if isAncestorFile(files, p) {
				return "", &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("Invalid path %q: a parent is a file", p)}
			}
			if dirCount[p] > 0 {
				return "", &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("Invalid path %q: it is a folder", p)}
			}
			f, he := s.entryLocked(r, o, p, newObjs)
			if he != nil {
				return "", he
			}
			if f.lfs != nil {
				lfsPaths = append(lfsPaths, p)
			}
			if _, ok := files[p]; !ok {
				addDirs(dirCount, p, 1)
			}
			files[p] = f
		}
	}
	trackLFS(files, newObjs, lfsPaths)
	// Everything validated: store the objects and move the branch.
	s.storeLocked(r, files, newObjs, lfsPaths)
	snap := buildSnapshot(files, s.objects)
	now := time.Now().UTC()
	var parents []string
	if head != nil {
		parents = []string{head.id}
	}
	if message == "" {
		message = "Upload files"
	}
	data := encodeCommit(snap.root, parents, author, message, now)
	id := gitHash(objCommit, data)
	s.objects[id] = gitObject{typ: objCommit, data: data}
	r.commits[id] = &commitObj{id: id, tree: snap.root, parents: parents, message: message, author: author, time: now, snap: snap}
	r.branches[branch] = id
	r.modified = now
	return id, nil
}

// storeLocked writes a validated commit's new git objects and counts its new blobs and LFS
// objects in the repository's storage. The caller holds s.mu.
func (s *Server) storeLocked(r *repo, files map[string]*fileEntry, newObjs map[string]gitObject, lfsPaths []string) {
	for oid, o := range newObjs {
		if _, ok := s.objects[oid]; !ok {
			s.objects[oid] = o
		}
		if _, ok := r.blobs[oid]; !ok {
			r.blobs[oid] = int64(len(o.data))
			r.used += int64(len(o.data))
		}
	}
	for _, p := range lfsPaths {
		f := files[p]
		if f == nil || f.lfs == nil {
			continue // deleted, or replaced by inline content, later in the same commit
		}
		key := "lfs:" + f.lfs.oid
		if _, ok := r.blobs[key]; !ok {
			r.blobs[key] = f.lfs.size
			r.used += f.lfs.size
		}
	}
}

// entryLocked is the file entry an add operation o writes at p, its git blob recorded in
// newObjs: a pointer to an uploaded LFS object of the announced size, or inline bytes. The caller
// holds s.mu.
func (s *Server) entryLocked(r *repo, o op, p string, newObjs map[string]gitObject) (*fileEntry, *hubError) {
	if o.lfs == nil {
		oid := gitHash(objBlob, o.data)
		newObjs[oid] = gitObject{typ: objBlob, data: o.data}
		return &fileEntry{path: p, size: int64(len(o.data)), oid: oid, data: o.data}, nil
	}
	s.xetAdoptLocked(r, o.lfs.oid)
	obj := s.lfsObjs[o.lfs.oid]
	if obj == nil || !r.lfs[o.lfs.oid] {
		return nil, &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("LFS object %s for %s was not uploaded", o.lfs.oid, p)}
	}
	if o.lfs.size >= 0 && o.lfs.size != obj.Size() {
		return nil, &hubError{status: http.StatusUnprocessableEntity, msg: fmt.Sprintf("LFS object %s for %s has size %d, not %d", o.lfs.oid, p, obj.Size(), o.lfs.size)}
	}
	ptr := []byte(LFSPointer(o.lfs.oid, obj.Size()))
	oid := gitHash(objBlob, ptr)
	newObjs[oid] = gitObject{typ: objBlob, data: ptr}
	return &fileEntry{path: p, size: obj.Size(), oid: oid, lfs: &lfsRef{oid: o.lfs.oid, size: obj.Size(), pointerSize: len(ptr)}}, nil
}

// trackLFS adds the LFS paths a commit wrote to .gitattributes, as the Hub does, when a rule
// there does not already match them; the new .gitattributes blob goes into newObjs.
func trackLFS(files map[string]*fileEntry, newObjs map[string]gitObject, lfsPaths []string) {
	var ga []byte
	if f, ok := files[".gitattributes"]; ok && f.lfs == nil {
		ga = f.data
	}
	added := false
	for _, p := range lfsPaths {
		if !isLFSPath(string(ga), p) {
			line := strings.ReplaceAll(p, " ", "[[:space:]]") + " filter=lfs diff=lfs merge=lfs -text\n"
			if len(ga) > 0 && ga[len(ga)-1] != '\n' {
				ga = append(ga, '\n')
			}
			ga = append(append([]byte(nil), ga...), line...)
			added = true
		}
	}
	if added {
		oid := gitHash(objBlob, ga)
		newObjs[oid] = gitObject{typ: objBlob, data: ga}
		files[".gitattributes"] = &fileEntry{path: ".gitattributes", size: int64(len(ga)), oid: oid, data: ga}
	}
}

func isAncestorFile(files map[string]*fileEntry, p string) bool {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		if _, ok := files[d]; ok {
			return true
		}
	}
	return false
}

// addDirs adds delta to the file count of every ancestor directory of p.
func addDirs(count map[string]int, p string, delta int) {
	for d := path.Dir(p); d != "."; d = path.Dir(d) {
		count[d] += delta
	}
}

// isLFSPath reports whether .gitattributes content ga marks p with filter=lfs (last match wins).
func isLFSPath(ga, p string) bool {
	lfs := false
	for _, line := range strings.Split(ga, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) < 2 || !matchAttr(fields[0], p) {
			continue
		}
		for _, a := range fields[1:] {
			switch a {
			case "filter=lfs":
				lfs = true
			case "-filter", "!filter":
				lfs = false
			default:
				if strings.HasPrefix(a, "filter=") {
					lfs = false
				}
			}
		}
	}
	return lfs
}

// matchAttr matches a .gitattributes pattern: without a slash it matches the base name at any
// depth; with one it is anchored at the repo root.
func matchAttr(pattern, p string) bool {
	pattern = strings.ReplaceAll(pattern, "[[:space:]]", "[ ]")
	if pattern == p {
		return true
	}
	if !strings.Contains(strings.TrimSuffix(pattern, "/"), "/") {
		ok, _ := doublestar.Match(pattern, path.Base(p))
		return ok
	}
	ok, _ := doublestar.Match(strings.TrimPrefix(pattern, "/"), p)
	return ok
}
