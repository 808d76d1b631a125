// Package fakehost is what hf2ms's fake hubs (pkg/hub/hubtest, pkg/msclient/mstest) share: an
// API host and a separate storage (CDN) host on loopback, as the real hubs serve their API and
// their file bytes from different hosts; HMAC signatures for the storage host's expiring URLs;
// a record of every request that reached the storage host carrying credentials (refused, as real
// CDNs and presigned storage refuse or ignore them, and a client must never send them); and the
// fault set the fakes' handlers consult.
//
// Start's WithWAN option serves both hosts through a modelled wide-area link (internal/wan).
//
// It may import internal/fault, internal/synth, internal/wan and the standard library.
package fakehost

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/internal/fault"
	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/wan"
)

// Hosts is a running pair of loopback servers. Its methods are safe for concurrent use.
type Hosts struct {
	api, cdn *httptest.Server
	secret   []byte
	faults   fault.Set

	mu    sync.Mutex
	leaks []string
	busy  map[net.Conn]bool // connections reading or serving a request (http.StateNew, StateActive)
}

// Option configures New and Start.
type Option func(*options)

type options struct{ api, cdn *wan.Profile }

// WithWAN serves the API host through link api and the storage host through link cdn (each
// host with its own per-host caps), still on loopback.
func WithWAN(api, cdn wan.Profile) Option {
	return func(o *options) { o.api, o.cdn = &api, &cdn }
}

// New prepares api on one loopback host and cdn on another without serving yet: a fake assigns
// the Hosts where its handlers read them, then calls Serve. Serving only after that assignment
// orders it before every request; a request from another process (a CLI under test) carries no
// ordering of its own, so assigning after Start is a data race.
func New(api, cdn http.Handler, opts ...Option) *Hosts {
	var o options
	for _, f := range opts {
		f(&o)
	}
	h := &Hosts{secret: make([]byte, 32)}
	_, _ = rand.Read(h.secret)
	h.api = prepare(api, o.api)
	h.cdn = prepare(cdn, o.cdn)
	h.busy = map[net.Conn]bool{}
	h.api.Config.ConnState = h.track
	h.cdn.Config.ConnState = h.track
	return h
}

// track records which connections are busy (httptest.Server chains its own hook after it).
func (h *Hosts) track(c net.Conn, st http.ConnState) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if st == http.StateNew || st == http.StateActive {
		h.busy[c] = true
	} else {
		delete(h.busy, c)
	}
}

// Settle waits until no connection to either host is reading or serving a request, for at most
// timeout, and reports whether they settled. A client that gives up on a request returns at
// once, but the request it had written may still be read and served (and counted) after that:
// a test that counts requests per run settles the hosts between runs.
func (h *Hosts) Settle(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		h.mu.Lock()
		n := len(h.busy)
		h.mu.Unlock()
		if n == 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Serve starts serving both hosts.
func (h *Hosts) Serve() {
	h.api.Start()
	h.cdn.Start()
}

// Start is New and Serve, for handlers that read nothing assigned after it returns.
func Start(api, cdn http.Handler, opts ...Option) *Hosts {
	h := New(api, cdn, opts...)
	h.Serve()
	return h
}

// prepare makes an unstarted loopback server of handler, shaped by p when p is set.
func prepare(handler http.Handler, p *wan.Profile) *httptest.Server {
	if p == nil {
		return httptest.NewUnstartedServer(handler)
	}
	l := wan.NewLink(*p)
	s := httptest.NewUnstartedServer(l.Handler(handler))
	s.Listener = l.Listener(s.Listener)
	return s
}

// Config is the part of a fake's configuration both fakes share, embedded in each fake's own
// config: how the two hosts are served, and where an upload above the memory limit goes.
type Config struct {
	// MemoryLimit is the largest upload a fake buffers in memory; a larger one must be a
	// registered synthetic blob, or is spooled to ObjectDir.
	MemoryLimit int64
	// ObjectDir, when set, keeps uploads above MemoryLimit as files in it (Spool) instead of
	// refusing them.
	ObjectDir string

	hostOpts []Option
}

// AddWAN serves both hosts through the modelled wide-area link p (each host with its own
// per-host caps).
func (c *Config) AddWAN(p wan.Profile) { c.hostOpts = append(c.hostOpts, WithWAN(p, p)) }

// Spools reports whether an upload of size bytes that is not synthetic goes to ObjectDir.
func (c *Config) Spools(size int64) bool { return size > c.MemoryLimit && c.ObjectDir != "" }

// NewHosts is New with the configured host options: the fake assigns the result, then Serves it.
func (c *Config) NewHosts(api, cdn http.Handler) *Hosts { return New(api, cdn, c.hostOpts...) }

// URL is the API host's base URL (what HF_ENDPOINT or MODELSCOPE_ENDPOINT would be).
func (h *Hosts) URL() string { return h.api.URL }

// CDNURL is the storage host's base URL.
func (h *Hosts) CDNURL() string { return h.cdn.URL }

// Close shuts both hosts down, cutting connections still open (a stalled download must not keep
// Close waiting).
func (h *Hosts) Close() {
	h.api.CloseClientConnections()
	h.cdn.CloseClientConnections()
	h.api.Close()
	h.cdn.Close()
}

// Faults is the fault set every handler consults first.
func (h *Hosts) Faults() *fault.Set { return &h.faults }

// AuthLeaks lists the requests that reached the storage host carrying Authorization or a cookie
// (as "METHOD /path (Header)", never the credential itself). Each of them was refused.
func (h *Hosts) AuthLeaks() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.leaks...)
}

// Credentials reports whether r, a request to the storage host, carries credentials, and if so
// records it as a leak: the storage handler then refuses it.
func (h *Hosts) Credentials(r *http.Request) bool {
	var found []string
	for _, hdr := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
		if r.Header.Get(hdr) != "" {
			found = append(found, hdr)
		}
	}
	if len(found) == 0 {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.leaks = append(h.leaks, fmt.Sprintf("%s %s (%s)", r.Method, r.URL.Path, strings.Join(found, ", ")))
	return true
}

// Sign is the signature of a storage URL's fields.
func (h *Hosts) Sign(fields ...string) string {
	m := hmac.New(sha256.New, h.secret)
	m.Write([]byte(strings.Join(fields, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig signs fields.
func (h *Hosts) Verify(sig string, fields ...string) bool {
	return hmac.Equal([]byte(sig), []byte(h.Sign(fields...)))
}

// File is one change of a commit seeded straight into a fake: Content alone is a regular file,
// LFS with Content stores Content as an LFS object, Blob is an LFS file whose content is
// generated on the fly (internal/synth), Delete removes Path.
type File struct {
	Path    string
	Content []byte
	Blob    *synth.Blob
	LFS     bool
	Delete  bool
}

// LFSObject names one object in a git-LFS request (the batch API's objects, the verify body):
// its SHA-256 oid and its size, as git-lfs docs/api/batch.md specifies for both hubs.
type LFSObject struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// CommitInfo describes one commit of a fake's history.
type CommitInfo struct {
	ID, Message string
	Parents     []string
}
