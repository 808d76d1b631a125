package hubtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/sha1" //nolint:gosec // git object ids are SHA-1 by definition
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Git object kinds stored by the fake.
const (
	objBlob   = "blob"
	objTree   = "tree"
	objCommit = "commit"
)

// gitObject is one loose git object (type + payload), keyed by its SHA-1 in Server.objects.
type gitObject struct {
	typ  string
	data []byte
}

// gitHash returns the git object id of a payload of the given type: sha1("<type> <len>\x00" + data).
func gitHash(typ string, data []byte) string {
	h := sha1.New() //nolint:gosec // git object ids
	fmt.Fprintf(h, "%s %d\x00", typ, len(data))
	h.Write(data)
	return hex.EncodeToString(h.Sum(nil))
}

// GitBlobOID returns the git blob id of content, as the Hub reports it in `oid` / `blobId` fields.
func GitBlobOID(content []byte) string { return gitHash(objBlob, content) }

// LFSPointer returns the Git LFS pointer text the Hub stores in git for an LFS file.
func LFSPointer(sha256hex string, size int64) string {
	return fmt.Sprintf("version https://git-lfs.github.com/spec/v1\noid sha256:%s\nsize %d\n", sha256hex, size)
}

// lfsRef is the LFS side of a file: the object it points to.
type lfsRef struct {
	oid         string // sha256 hex
	size        int64
	pointerSize int
}

// fileEntry is one file at one commit. Entries are immutable once built and shared between
// snapshots, so serving them needs no lock.
type fileEntry struct {
	path string
	size int64  // real content size (LFS dereferenced)
	oid  string // git blob id (of the content, or of the pointer for LFS files)
	lfs  *lfsRef
	data []byte // regular files only
}

// item is one row of a tree listing: a file or a directory.
type item struct {
	path    string
	dir     bool
	file    *fileEntry
	treeOID string
}

// dirNode indexes one directory of a snapshot: its tree id, its position in items (-1 for the
// root), the end of its subtree in items, and its direct children (indexes into items).
type dirNode struct {
	oid      string
	idx      int
	end      int
	children []int
}

// snapshot is the full tree of one commit, indexed for O(log n + page) listings.
type snapshot struct {
	files map[string]*fileEntry
	items []item   // every file and directory, in listing order
	keys  []string // sort keys of items ("/" replaced by "\x00"), for binary search
	dirs  map[string]*dirNode
	root  string // root tree id
}

// sortKey orders paths depth-first: a directory comes right before its contents.
func sortKey(p string) string { return strings.ReplaceAll(p, "/", "\x00") }

// buildSnapshot indexes files and writes every tree object into objs.
func buildSnapshot(files map[string]*fileEntry, objs map[string]gitObject) *snapshot {
	dirSet := map[string]bool{}
	for p := range files {
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if dirSet[d] {
				break
			}
			dirSet[d] = true
		}
	}
	items := make([]item, 0, len(files)+len(dirSet))
	for d := range dirSet {
		items = append(items, item{path: d, dir: true})
	}
	for p, f := range files {
		items = append(items, item{path: p, file: f})
	}
	keys := make([]string, len(items))
	for i := range items {
		keys[i] = sortKey(items[i].path)
	}
	sort.Sort(byKey{items, keys})

	dirs := map[string]*dirNode{"": {idx: -1, end: len(items)}}
	for i := range items {
		if items[i].dir {
			dirs[items[i].path] = &dirNode{idx: i}
		}
	}
	for i := range items {
		parent := path.Dir(items[i].path)
		if parent == "." {
			parent = ""
		}
		dirs[parent].children = append(dirs[parent].children, i)
	}
	// Subtree ends: a directory's subtree is contiguous and ends where its last descendant ends.
	for i := len(items) - 1; i >= 0; i-- {
		if !items[i].dir {
			continue
		}
		d := dirs[items[i].path]
		d.end = i + 1
		if n := len(d.children); n > 0 {
			last := d.children[n-1]
			if items[last].dir {
				d.end = dirs[items[last].path].end
			} else {
				d.end = last + 1
			}
		}
	}
	// Tree objects, deepest first.
	for i := len(items) - 1; i >= 0; i-- {
		if items[i].dir {
			d := dirs[items[i].path]
			d.oid = writeTree(items, d.children, objs)
			items[i].treeOID = d.oid
		}
	}
	rootOID := writeTree(items, dirs[""].children, objs)
	dirs[""].oid = rootOID
	return &snapshot{files: files, items: items, keys: keys, dirs: dirs, root: rootOID}
}

type byKey struct {
	items []item
	keys  []string
}

func (b byKey) Len() int           { return len(b.items) }
func (b byKey) Less(i, j int) bool { return b.keys[i] < b.keys[j] }
func (b byKey) Swap(i, j int) {
	b.items[i], b.items[j] = b.items[j], b.items[i]
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
}

// writeTree encodes a git tree object from the given children and stores it.
func writeTree(items []item, children []int, objs map[string]gitObject) string {
	type ent struct {
		name, mode, oid string
		sortName        string
	}
	ents := make([]ent, 0, len(children))
	for _, c := range children {
		it := items[c]
		name := path.Base(it.path)
		if it.dir {
			ents = append(ents, ent{name: name, mode: "40000", oid: it.treeOID, sortName: name + "/"})
		} else {
			ents = append(ents, ent{name: name, mode: "100644", oid: it.file.oid, sortName: name})
		}
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].sortName < ents[j].sortName })
	var buf bytes.Buffer
	for _, e := range ents {
		raw, _ := hex.DecodeString(e.oid)
		buf.WriteString(e.mode)
		buf.WriteByte(' ')
		buf.WriteString(e.name)
		buf.WriteByte(0)
		buf.Write(raw)
	}
	oid := gitHash(objTree, buf.Bytes())
	if _, ok := objs[oid]; !ok {
		objs[oid] = gitObject{typ: objTree, data: buf.Bytes()}
	}
	return oid
}

// commitObj is one commit of a repo.
type commitObj struct {
	id      string
	tree    string
	parents []string
	message string
	author  string
	time    time.Time
	snap    *snapshot
}

// encodeCommit builds the git commit payload.
func encodeCommit(tree string, parents []string, author, message string, t time.Time) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "tree %s\n", tree)
	for _, p := range parents {
		fmt.Fprintf(&b, "parent %s\n", p)
	}
	if author == "" {
		author = "hubtest"
	}
	sig := fmt.Sprintf("%s <%s@users.noreply.hubtest> %d +0000", author, author, t.Unix())
	fmt.Fprintf(&b, "author %s\ncommitter %s\n\n%s", sig, sig, message)
	if !strings.HasSuffix(message, "\n") {
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Git smart HTTP (protocol v0/v1, stateless RPC) for clones and fetches, the route the Hub keeps
// open when its HTTP API refuses uploads for storage reasons (huggingface_hub issues #3049, #3366):
//
//	GET  /{prefix}{ns}/{name}[.git]/info/refs?service=git-upload-pack   ref advertisement
//	POST /{prefix}{ns}/{name}[.git]/git-upload-pack                    want/have/deepen -> pack
//
// Credentials are Basic (any user, the token as password) or Bearer, with the API's visibility and
// gating rules. The storage lock does not apply here. The fake advertises shallow and
// allow-reachable-sha1-in-want (so a pinned commit can be fetched directly), side-band(-64k) and
// no-progress; it is strict about everything else: only upload-pack, the request content type,
// wants of commits this repo has, and no filters, deepen-since or deepen-not.

// Git route classes (Faults().Take / Count).
const (
	RouteGitRefs       = "git-refs"
	RouteGitUploadPack = "git-upload-pack"
)

// HTTPDownloadRoutes are the route classes of the HTTP API's file access: what a client that
// reads a repo only through git and the LFS batch API never touches, except that the LFS batch
// download's signed hrefs are counted as RouteLFSDownload, not RouteCDN.
var HTTPDownloadRoutes = []string{RouteResolve, RouteCDN, RouteTree, RoutePathsInfo}

// HTTPDownloads returns how many requests the HTTP download routes (HTTPDownloadRoutes) served.
func (s *Server) HTTPDownloads() int {
	n := 0
	for _, r := range HTTPDownloadRoutes {
		n += s.Faults().Count(r)
	}
	return n
}

// gitCapabilities are the upload-pack capabilities the fake advertises.
const gitCapabilities = "shallow no-progress side-band side-band-64k ofs-delta allow-tip-sha1-in-want allow-reachable-sha1-in-want agent=git/hubtest"

// routeGit classifies the git smart HTTP routes; segs are [ns, name[.git], rest...] after the
// type prefix. It returns nil for anything else.
func (s *Server) routeGit(r *http.Request, typ hubkit.RepoType, segs []string) *request {
	if len(segs) < 3 {
		return nil
	}
	q := &request{typ: typ, id: segs[0] + "/" + strings.TrimSuffix(segs[1], ".git"), text: true}
	rest := segs[2:]
	switch {
	case len(rest) == 2 && rest[0] == "info" && rest[1] == "refs" && r.Method == http.MethodGet &&
		r.URL.Query().Get("service") == "git-upload-pack":
		q.route, q.handler = RouteGitRefs, s.handleGitRefs
	case len(rest) == 1 && rest[0] == "git-upload-pack" && r.Method == http.MethodPost:
		q.route, q.handler = RouteGitUploadPack, s.handleUploadPack
	default:
		return nil
	}
	return q
}

// gitError answers a git route's failure: plain text, and for 401 a Basic challenge so git asks
// for credentials.
func gitError(w http.ResponseWriter, he *hubError) {
	h := w.Header()
	h.Set("X-Error-Message", he.msg)
	if he.code != "" {
		h.Set("X-Error-Code", he.code)
	}
	if he.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Basic realm="Authentication required", charset="UTF-8"`)
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(he.status)
	_, _ = io.WriteString(w, he.msg+"\n")
}

// gitRef is one advertised ref.
type gitRef struct{ name, id string }

// gitRefsLocked lists the repo's refs, branches then tags, sorted (s.mu held).
func gitRefsLocked(rp *repo) []gitRef {
	refs := make([]gitRef, 0, len(rp.branches)+len(rp.tags))
	for name, id := range rp.branches {
		if !strings.HasPrefix(name, "refs/") {
			name = "refs/heads/" + name
		}
		refs = append(refs, gitRef{name, id})
	}
	for name, id := range rp.tags {
		refs = append(refs, gitRef{"refs/tags/" + name, id})
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].name < refs[j].name })
	return refs
}

// pktLine encodes one pkt-line.
func pktLine(b *bytes.Buffer, s string) {
	fmt.Fprintf(b, "%04x%s", len(s)+4, s)
}

const pktFlush = "0000"

func (s *Server) handleGitRefs(w http.ResponseWriter, _ *http.Request, q *request) {
	var (
		refs []gitRef
		head *commitObj
	)
	if he := s.visitRepo(q, accFiles, s.mu.RLocker(), func(rp *repo) {
		refs, head = gitRefsLocked(rp), rp.resolve("main")
	}); he != nil {
		gitError(w, he)
		return
	}

	var b bytes.Buffer
	pktLine(&b, "# service=git-upload-pack\n")
	b.WriteString(pktFlush)
	caps := gitCapabilities
	if head != nil {
		caps = "symref=HEAD:refs/heads/main " + caps
	}
	switch {
	case head != nil:
		pktLine(&b, head.id+" HEAD\x00"+caps+"\n")
		for _, r := range refs {
			pktLine(&b, r.id+" "+r.name+"\n")
		}
	case len(refs) > 0:
		pktLine(&b, refs[0].id+" "+refs[0].name+"\x00"+caps+"\n")
		for _, r := range refs[1:] {
			pktLine(&b, r.id+" "+r.name+"\n")
		}
	default:
		pktLine(&b, strings.Repeat("0", 40)+" capabilities^{}\x00"+caps+"\n")
	}
	b.WriteString(pktFlush)
	h := w.Header()
	h.Set("Content-Type", "application/x-git-upload-pack-advertisement")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b.Bytes())
}

// uploadRequest is a parsed upload-pack request.
type uploadRequest struct {
	wants    []string
	caps     map[string]bool
	shallows map[string]bool
	depth    int
	haves    []string
	done     bool
	// wantsOnly: the body ended right after the wants (git's first stateless round with a
	// depth), which upload-pack answers with the shallow list alone.
	wantsOnly bool
}

// maxGitRequest bounds an upload-pack request body.
const maxGitRequest = 8 << 20

// readPkt reads one pkt-line: its payload, or flush=true for "0000".
func readPkt(r io.Reader) (payload string, flush bool, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return "", false, err
	}
	n, err := strconv.ParseUint(string(hdr[:]), 16, 16)
	if err != nil {
		return "", false, fmt.Errorf("bad pkt-line length %q", hdr[:])
	}
	switch {
	case n == 0:
		return "", true, nil
	case n < 4:
		return "", false, fmt.Errorf("bad pkt-line length %d", n)
	}
	buf := make([]byte, n-4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return "", false, err
	}
	return strings.TrimSuffix(string(buf), "\n"), false, nil
}

func isObjectID(s string) bool {
	if len(s) != 40 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil && strings.ToLower(s) == s
}

// parseUploadRequest reads want/shallow/deepen lines up to a flush, then have lines up to "done"
// (or a flush: a negotiation round without done).
func parseUploadRequest(r io.Reader) (*uploadRequest, error) {
	req := &uploadRequest{caps: map[string]bool{}, shallows: map[string]bool{}}
	for first := true; ; {
		line, flush, err := readPkt(r)
		if err != nil {
			return nil, fmt.Errorf("reading wants: %w", err)
		}
		if flush {
			break
		}
		cmd, arg, _ := strings.Cut(line, " ")
		switch cmd {
		case "want":
			id, caps, _ := strings.Cut(arg, " ")
			if !isObjectID(id) {
				return nil, fmt.Errorf("protocol error: bad want %q", arg)
			}
			if first && caps != "" {
				for _, c := range strings.Fields(caps) {
					name, _, _ := strings.Cut(c, "=")
					req.caps[name] = true
				}
			}
			first = false
			req.wants = append(req.wants, id)
		case "shallow":
			if !isObjectID(arg) {
				return nil, fmt.Errorf("protocol error: bad shallow %q", arg)
			}
			req.shallows[arg] = true
		case "deepen":
			n, err := strconv.Atoi(arg)
			if err != nil || n <= 0 {
				return nil, fmt.Errorf("protocol error: bad deepen %q", arg)
			}
			req.depth = n
		default:
			// deepen-since, deepen-not, filter: not advertised, so not accepted.
			return nil, fmt.Errorf("protocol error: unexpected line %q", line)
		}
	}
	if len(req.wants) == 0 {
		return nil, errors.New("protocol error: no wants")
	}
	for first := true; ; first = false {
		line, flush, err := readPkt(r)
		if errors.Is(err, io.EOF) {
			req.wantsOnly = first
			return req, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading haves: %w", err)
		}
		if flush {
			continue
		}
		cmd, arg, _ := strings.Cut(line, " ")
		switch {
		case cmd == "have" && isObjectID(arg):
			req.haves = append(req.haves, arg)
		case line == "done":
			req.done = true
			return req, nil
		default:
			return nil, fmt.Errorf("protocol error: unexpected line %q", line)
		}
	}
}

// readUploadRequest reads an upload-pack request (its body gzip-compressed when the
// Content-Encoding says so).
func readUploadRequest(r *http.Request) (*uploadRequest, *hubError) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-git-upload-pack-request" {
		return nil, &hubError{status: http.StatusUnsupportedMediaType, msg: "Content-Type must be application/x-git-upload-pack-request, not " + strconv.Quote(ct)}
	}
	var body io.Reader = io.LimitReader(r.Body, maxGitRequest)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return nil, &hubError{status: http.StatusBadRequest, msg: "bad gzip body: " + err.Error()}
		}
		defer zr.Close()
		body = zr
	}
	req, err := parseUploadRequest(body)
	if err != nil {
		return nil, &hubError{status: http.StatusBadRequest, msg: err.Error()}
	}
	return req, nil
}

func (s *Server) handleUploadPack(w http.ResponseWriter, r *http.Request, q *request) {
	req, he := readUploadRequest(r)
	if he != nil {
		gitError(w, he)
		return
	}

	var (
		notOurs  string
		common   string
		shallow  []string
		objs     []gitObject
		oids     []string
		writeErr error
	)
	if he := s.visitRepo(q, accFiles, s.mu.RLocker(), func(rp *repo) {
		for _, id := range req.wants {
			if c, ok := rp.commits[id]; !ok || c == nil {
				notOurs = id
				break
			}
		}
		if notOurs != "" {
			return
		}
		for _, h := range req.haves {
			if _, ok := rp.commits[h]; ok {
				common = h
				break
			}
		}
		shallow, oids, objs, writeErr = s.packObjectsLocked(rp, req)
	}); he != nil {
		gitError(w, he)
		return
	}

	h := w.Header()
	h.Set("Content-Type", "application/x-git-upload-pack-result")
	h.Set("Cache-Control", "no-cache")
	var b bytes.Buffer
	if notOurs != "" {
		// git answers 200 with an ERR packet for a want it will not serve.
		pktLine(&b, "ERR upload-pack: not our ref "+notOurs+"\n")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes())
		return
	}
	if writeErr != nil {
		gitError(w, &hubError{status: http.StatusInternalServerError, msg: writeErr.Error()})
		return
	}
	if req.depth > 0 {
		for _, id := range shallow {
			pktLine(&b, "shallow "+id+"\n")
		}
		b.WriteString(pktFlush)
	}
	if req.wantsOnly {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(b.Bytes())
		return
	}
	if common != "" {
		pktLine(&b, "ACK "+common+"\n")
	} else {
		pktLine(&b, "NAK\n")
	}
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(b.Bytes()); err != nil || !req.done {
		return
	}
	var out io.Writer = w
	var sb *sidebandWriter
	switch {
	case req.caps["side-band-64k"]:
		sb = &sidebandWriter{w: w, max: 65515 - 1}
	case req.caps["side-band"]:
		sb = &sidebandWriter{w: w, max: 995 - 1}
	}
	if sb != nil {
		out = sb
	}
	if err := writePack(out, oids, objs); err != nil {
		return
	}
	if sb != nil {
		_, _ = io.WriteString(w, pktFlush)
	}
}

// packObjectsLocked computes what a fetch sends (s.mu held): the shallow boundary commits, and
// every commit, tree and blob reachable from the wants within depth, minus what the client's
// haves already reach. Object payloads are shared, not copied (objects are immutable).
func (s *Server) packObjectsLocked(rp *repo, req *uploadRequest) (shallow, oids []string, objs []gitObject, err error) {
	excluded := map[string]bool{}
	for _, h := range req.haves {
		if _, ok := rp.commits[h]; ok {
			s.reachLocked(rp, h, 0, excluded, nil, nil)
		}
	}
	seen := map[string]bool{}
	add := func(id string) error {
		if seen[id] || excluded[id] {
			return nil
		}
		o, ok := s.objects[id]
		if !ok {
			return fmt.Errorf("object %s missing", id)
		}
		seen[id] = true
		oids = append(oids, id)
		objs = append(objs, o)
		return nil
	}
	var commits []*commitObj
	for _, want := range req.wants {
		s.reachLocked(rp, want, req.depth, excluded, &commits, &shallow)
	}
	for _, c := range commits {
		if err := add(c.id); err != nil {
			return nil, nil, nil, err
		}
		if err := s.walkTreeLocked(c.tree, seen, excluded, add); err != nil {
			return nil, nil, nil, err
		}
	}
	return shallow, oids, objs, nil
}

// reachLocked walks commits from id breadth first up to depth (0: all). It marks each commit's
// objects in mark when commits is nil (the haves' closure), else collects the commits and the
// boundary commits (at the depth limit with parents) into shallow.
func (s *Server) reachLocked(rp *repo, id string, depth int, mark map[string]bool, commits *[]*commitObj, shallow *[]string) {
	type node struct {
		id string
		d  int
	}
	queue := []node{{id, 1}}
	visited := map[string]bool{}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		c := rp.commits[n.id]
		if c == nil || visited[n.id] {
			continue
		}
		visited[n.id] = true
		if commits == nil {
			mark[c.id] = true
			_ = s.walkTreeLocked(c.tree, mark, nil, func(oid string) error { mark[oid] = true; return nil })
		} else {
			if mark[c.id] {
				continue
			}
			*commits = append(*commits, c)
		}
		if depth > 0 && n.d >= depth {
			if len(c.parents) > 0 && shallow != nil {
				*shallow = append(*shallow, c.id)
			}
			continue
		}
		for _, p := range c.parents {
			queue = append(queue, node{p, n.d + 1})
		}
	}
}

// walkTreeLocked calls add for the tree id and everything under it, skipping ids in seen (which
// the caller's add is expected to fill) or excluded.
func (s *Server) walkTreeLocked(id string, seen, excluded map[string]bool, add func(string) error) error {
	if seen[id] || excluded[id] {
		return nil
	}
	if err := add(id); err != nil {
		return err
	}
	o, ok := s.objects[id]
	if !ok || o.typ != objTree {
		return fmt.Errorf("tree %s missing", id)
	}
	data := o.data
	for len(data) > 0 {
		sp := bytes.IndexByte(data, ' ')
		nul := bytes.IndexByte(data, 0)
		if sp < 0 || nul < sp || len(data) < nul+21 {
			return fmt.Errorf("tree %s is corrupt", id)
		}
		mode := string(data[:sp])
		child := hex.EncodeToString(data[nul+1 : nul+21])
		data = data[nul+21:]
		if mode == "40000" {
			if err := s.walkTreeLocked(child, seen, excluded, add); err != nil {
				return err
			}
			continue
		}
		if seen[child] || excluded[child] {
			continue
		}
		if err := add(child); err != nil {
			return err
		}
	}
	return nil
}

// packTypes are the pack object type codes.
var packTypes = map[string]byte{objCommit: 1, objTree: 2, objBlob: 3}

// writePack streams a version 2 packfile of whole (undeltified), zlib-compressed objects, with
// its SHA-1 trailer.
func writePack(w io.Writer, oids []string, objs []gitObject) error {
	h := sha1.New() //nolint:gosec // the pack trailer is SHA-1 by definition
	bw := bufio.NewWriterSize(io.MultiWriter(w, h), 64<<10)
	var hdr [12]byte
	copy(hdr[:], "PACK")
	binary.BigEndian.PutUint32(hdr[4:], 2)
	binary.BigEndian.PutUint32(hdr[8:], uint32(len(oids)))
	if _, err := bw.Write(hdr[:]); err != nil {
		return err
	}
	zw, _ := zlib.NewWriterLevel(bw, zlib.BestSpeed)
	for _, o := range objs {
		size := uint64(len(o.data))
		b := packTypes[o.typ]<<4 | byte(size&0x0f)
		size >>= 4
		var head []byte
		for size > 0 {
			head = append(head, b|0x80)
			b = byte(size & 0x7f)
			size >>= 7
		}
		head = append(head, b)
		if _, err := bw.Write(head); err != nil {
			return err
		}
		zw.Reset(bw)
		if _, err := zw.Write(o.data); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	_, err := w.Write(h.Sum(nil))
	return err
}

// sidebandWriter frames the pack in band-1 pkt-lines of at most max payload bytes.
type sidebandWriter struct {
	w   io.Writer
	max int
}

func (s *sidebandWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		c := min(len(p), s.max)
		if _, err := fmt.Fprintf(s.w, "%04x\x01", c+5); err != nil {
			return n, err
		}
		if _, err := s.w.Write(p[:c]); err != nil {
			return n, err
		}
		n += c
		p = p[c:]
	}
	return n, nil
}
