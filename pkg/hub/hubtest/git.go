package hubtest

import (
	"bytes"
	"crypto/sha1" //nolint:gosec // git object ids are SHA-1 by definition
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
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
