package mstest

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/internal/fakehost"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// bufSize is the copy buffer for bodies: large, so GiB/s streams cost few syscalls.
const bufSize = 1 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// cdnTTL is how long a redirect's auth_key stays valid (the real CDN: about 20-30 minutes).
const cdnTTL = 30 * time.Minute

func (s *Server) handleDownload(kind hubkit.RepoType) func(*reply, *http.Request) {
	return func(rp *reply, r *http.Request) {
		q := r.URL.Query()
		fp := q.Get("FilePath")
		repo := s.lockReadable(rp, r, kind)
		if repo == nil {
			return
		}
		cm, ok := repo.resolve(q.Get("Revision"))
		var f *fileEntry
		if ok {
			f = cm.tree.files[strings.TrimPrefix(fp, "/")]
		}
		var obj fakehost.Content
		if f != nil {
			if f.lfs {
				obj, ok = s.blobs[objKey{f.sha, f.size}]
			} else {
				obj = fakehost.Content{Data: f.data}
			}
		}
		owner, name := repo.owner, repo.name
		s.mu.Unlock()
		if f == nil || !ok {
			rp.fail(http.StatusNotFound, CodeFileMissing, MsgFileMissing)
			return
		}
		if f.size >= s.cfg.redirectThreshold || (f.lfs && s.cfg.redirectLFS) {
			http.Redirect(rp.w, r, s.cdnLocation(f, owner, name, q.Get("Revision"), fp), http.StatusFound)
			return
		}
		serveContent(rp.w, r, rp.body, obj, f.sha)
	}
}

// cdnLocation is the self-authenticating CDN URL of a file, shaped like the real one.
func (s *Server) cdnLocation(f *fileEntry, owner, name, rev, fp string) string {
	exp := time.Now().Add(cdnTTL).Unix()
	nonce := make([]byte, 8)
	_, _ = rand.Read(nonce)
	v := url.Values{}
	v.Set("auth_key", fmt.Sprintf("%d-%s-0-%s", exp, hex.EncodeToString(nonce), s.Sign(f.sha, strconv.FormatInt(f.size, 10), strconv.FormatInt(exp, 10))))
	v.Set("filename", path.Base(fp))
	v.Set("namespace", owner)
	v.Set("repository", name)
	if rev == "" {
		rev = DefaultBranch
	}
	v.Set("revision", rev)
	v.Set("size", strconv.FormatInt(f.size, 10))
	return fmt.Sprintf("%s/prod/lfs-objects/%s/%s/%s?%s", s.CDNURL(), f.sha[:2], f.sha[2:4], f.sha, v.Encode())
}

// serveCDN serves redirected downloads. It needs no credentials and refuses any (recording the
// leak): a client must not forward Authorization or session cookies across hosts.
func (s *Server) serveCDN(w http.ResponseWriter, r *http.Request) {
	rule, faulted := s.Faults().Take(RouteCDN)
	if s.Credentials(r) {
		faultBodyPlain(w, http.StatusBadRequest, "credentials must not be sent to the CDN")
		return
	}
	if faulted && rule.Status != 0 {
		rule.WriteStatus(w, faultBodyPlain)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		faultBodyPlain(w, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/prod/lfs-objects/"), "/")
	q := r.URL.Query()
	size, err := strconv.ParseInt(q.Get("size"), 10, 64)
	if len(parts) != 3 || err != nil || len(parts[2]) != 64 || parts[0] != parts[2][:2] || parts[1] != parts[2][2:4] {
		faultBodyPlain(w, http.StatusNotFound, "NoSuchKey")
		return
	}
	sha := parts[2]
	fields := strings.Split(q.Get("auth_key"), "-")
	if len(fields) != 4 {
		faultBodyPlain(w, http.StatusForbidden, "AccessDenied: missing auth_key")
		return
	}
	exp, err := strconv.ParseInt(fields[0], 10, 64)
	if err != nil || time.Now().Unix() > exp || !s.Verify(fields[3], sha, strconv.FormatInt(size, 10), strconv.FormatInt(exp, 10)) {
		faultBodyPlain(w, http.StatusForbidden, "AccessDenied: invalid or expired auth_key")
		return
	}
	k := objKey{sha, size}
	s.mu.Lock()
	obj, ok := s.blobs[k]
	if !ok {
		obj, ok = s.objects[k]
	}
	s.mu.Unlock()
	if !ok {
		faultBodyPlain(w, http.StatusNotFound, "NoSuchKey")
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	var body io.Writer = w
	if faulted {
		body = rule.BodyWriter(w)
	}
	serveContent(w, r, body, obj, sha)
}

// parseRange parses a single "bytes=" range against size. ok=false means unsatisfiable; a nil
// range with ok=true means serve everything (no header, or a form this fake ignores).
func parseRange(h string, size int64) (start, length int64, partial, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if h == "" || !found || strings.Contains(spec, ",") {
		return 0, size, false, true
	}
	a, b, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, size, false, true
	}
	if a == "" { // suffix: last b bytes
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n <= 0 || size == 0 {
			return 0, 0, false, false
		}
		n = min(n, size)
		return size - n, n, true, true
	}
	first, err := strconv.ParseInt(a, 10, 64)
	if err != nil || first < 0 || first >= size {
		return 0, 0, false, false
	}
	last := size - 1
	if b != "" {
		l, err := strconv.ParseInt(b, 10, 64)
		if err != nil || l < first {
			return 0, 0, false, false
		}
		last = min(l, size-1)
	}
	return first, last - first + 1, true, true
}

// serveContent answers GET/HEAD for obj with single-range support (206, Content-Range, 416),
// streaming through body (which may be a fault wrapper around w) with a large buffer.
func serveContent(w http.ResponseWriter, r *http.Request, body io.Writer, obj fakehost.Content, sha string) {
	size := obj.Size()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Accept-Ranges", "bytes")
	h.Set("ETag", `"`+sha+`"`)
	start, n, partial, ok := parseRange(r.Header.Get("Range"), size)
	if !ok {
		h.Set("Content-Range", fmt.Sprintf("bytes */%d", size))
		h.Del("Content-Type")
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(n, 10))
	status := http.StatusOK
	if partial {
		h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, start+n-1, size))
		status = http.StatusPartialContent
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead || n == 0 {
		return
	}
	at := obj.ReaderAt()
	if at == nil {
		_, _ = body.Write(obj.Data[start : start+n])
		return
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for off := start; off < start+n; {
		c := min(int64(len(buf)), start+n-off)
		_, _ = at.ReadAt(buf[:c], off)
		if _, err := body.Write(buf[:c]); err != nil {
			return
		}
		off += c
	}
}

// compareReader checks that r yields exactly the bytes of want from offset 0, n bytes in all. A
// short body's error names its cause, as the blob PUT's reply quotes it.
func compareReader(r io.Reader, want io.ReaderAt, n int64) error {
	err := fakehost.Compare(r, want, 0, n)
	var short *fakehost.ShortBodyError
	if errors.As(err, &short) {
		return fmt.Errorf("%w: %w", short, short.Err)
	}
	return err
}
