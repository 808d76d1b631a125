// Package xettest is a strict, in-process fake of Xet's content-addressed store (CAS) and its
// transfer host, for tests of Xet clients.
//
// It models the CAS API of the Xet protocol spec (huggingface/hub-docs docs/xet/api.md,
// download-protocol.md, upload-protocol.md) as the official clients use it (huggingface.js
// XetBlob.ts, uploadShards.ts, createXorbs.ts): tokens scoped to one repo and revision with an
// expiry; reconstructions (v1 and v2) whose fetch URLs are signed, expire and cover exactly the
// byte ranges they list; multi-range answers as multipart/byteranges; xorb uploads checked by
// recomputing every chunk hash and the xorb hash; shard uploads refused when they name unknown
// xorbs, when a term's verification hash or the file hash does not verify, or when the SHA-256
// extension does not match the reconstructed bytes; and deduplication queries answered with
// HMAC-protected shards. Fault switches make it answer 429/5xx, cut fetch bodies, expire URLs
// early or tamper with answers.
package xettest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/pkg/xet"
)

// Route names a group of CAS or transfer requests, for fault switches and counters.
type Route string

// Routes of the fake.
const (
	RouteReconstruction Route = "reconstruction"
	RouteFetch          Route = "fetch"
	RouteXorb           Route = "xorb"
	RouteShard          Route = "shard"
	RouteDedup          Route = "dedup"
)

type token struct {
	scope   string
	rev     string
	write   bool
	expires time.Time
}

type storedXorb struct {
	raw     []byte // as uploaded
	chunks  []xet.XorbChunk
	offsets []int // serialised offset of each chunk header, plus the end of the last chunk
}

type storedFile struct {
	info   xet.FileInfo
	size   int64
	sha256 string
}

type fault struct {
	status int
	n      int
}

// Server is the fake CAS (API host) and transfer host.
type Server struct {
	cas      *httptest.Server
	transfer *httptest.Server
	signKey  []byte
	hmacKey  xet.Hash

	mu         sync.Mutex
	tokens     map[string]token
	xorbs      map[xet.Hash]*storedXorb
	files      map[xet.Hash]*storedFile
	chunks     map[xet.Hash]xet.Hash   // chunk hash -> a xorb holding it (registered by a shard)
	groups     map[xet.Hash][]xet.Hash // xorb -> the xorbs its shard registered
	scopes     map[string]map[xet.Hash]bool
	secrets    map[string]bool // credentials that must never reach the CAS or transfer host
	leaks      []string
	faults     map[Route]*fault
	cutFetches int
	expireURLs int
	urlTTL     time.Duration
	tokenTTL   time.Duration
	noV2       bool
	tamperRec  func(*xet.Reconstruction)
	tamperBody func([]byte) []byte
	counts     map[string]int
	received   int64
}

// Option configures a Server.
type Option func(*Server)

// WithURLTTL sets how long signed fetch URLs stay valid (default 10 minutes).
func WithURLTTL(d time.Duration) Option { return func(s *Server) { s.urlTTL = d } }

// WithTokenTTL sets how long issued tokens stay valid (default 1 hour).
func WithTokenTTL(d time.Duration) Option { return func(s *Server) { s.tokenTTL = d } }

// New starts a fake CAS and transfer host on loopback.
func New(opts ...Option) *Server {
	s := &Server{signKey: random(32), tokens: map[string]token{}, xorbs: map[xet.Hash]*storedXorb{},
		files: map[xet.Hash]*storedFile{}, chunks: map[xet.Hash]xet.Hash{}, groups: map[xet.Hash][]xet.Hash{}, scopes: map[string]map[xet.Hash]bool{},
		secrets: map[string]bool{}, faults: map[Route]*fault{}, urlTTL: 10 * time.Minute, tokenTTL: time.Hour,
		counts: map[string]int{}}
	copy(s.hmacKey[:], random(32))
	for _, o := range opts {
		o(s)
	}
	s.cas = httptest.NewServer(http.HandlerFunc(s.serveCAS))
	s.transfer = httptest.NewServer(http.HandlerFunc(s.serveTransfer))
	return s
}

func random(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// Close stops both hosts.
func (s *Server) Close() {
	s.cas.Close()
	s.transfer.Close()
}

// URL is the CAS base URL (the casUrl of token answers).
func (s *Server) URL() string { return s.cas.URL }

// TransferURL is the base URL of the transfer host that signed fetch URLs point to.
func (s *Server) TransferURL() string { return s.transfer.URL }

// IssueToken mints a CAS token for one repo scope (any string naming the repo) and revision;
// write tokens may also read.
func (s *Server) IssueToken(scope, rev string, write bool) (string, time.Time) {
	tok := "xet_" + hex.EncodeToString(random(16))
	s.mu.Lock()
	defer s.mu.Unlock()
	exp := time.Now().Add(s.tokenTTL).Truncate(time.Second)
	s.tokens[tok] = token{scope: scope, rev: rev, write: write, expires: exp}
	return tok, exp
}

// ForbidCredential records a credential (a Hub token) that must never reach the CAS or the
// transfer host: requests carrying it are refused and listed by Leaks.
func (s *Server) ForbidCredential(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.secrets[secret] = true
}

// Leaks lists requests that carried a forbidden credential or, on the transfer host, any
// Authorization header.
func (s *Server) Leaks() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.leaks...)
}

// Fail makes the next n requests of a route answer status.
func (s *Server) Fail(r Route, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[r] = &fault{status: status, n: n}
}

// CutFetches makes the next n fetch answers stop halfway through their body.
func (s *Server) CutFetches(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cutFetches = n
}

// SetURLTTL changes how long newly signed fetch URLs stay valid (0 or less: already expired).
func (s *Server) SetURLTTL(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.urlTTL = d
}

// ExpireURLs makes the next n reconstructions hand out URLs that have already expired.
func (s *Server) ExpireURLs(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireURLs = n
}

// DisableV2 makes /v2/reconstructions answer 404, as a CAS without it would.
func (s *Server) DisableV2(off bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noV2 = off
}

// TamperReconstructions rewrites every reconstruction answer before it is sent (nil: stop).
func (s *Server) TamperReconstructions(f func(*xet.Reconstruction)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamperRec = f
}

// TamperFetches rewrites every fetched range body before it is sent (nil: stop).
func (s *Server) TamperFetches(f func([]byte) []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tamperBody = f
}

// Count reports how many requests of a kind were served: a Route name, "reconstruction-v1",
// "reconstruction-v2", "multirange".
func (s *Server) Count(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[kind]
}

// ReceivedXorbBytes is the total size of the xorbs uploaded.
func (s *Server) ReceivedXorbBytes() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.received
}

// File reports a stored file's size and SHA-256 (hex).
func (s *Server) File(h xet.Hash) (size int64, sha string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[h]
	if !ok {
		return 0, "", false
	}
	return f.size, f.sha256, true
}

// HasFile reports whether the file is readable from the repo scope.
func (s *Server) HasFile(scope string, h xet.Hash) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scopes[scope][h]
}

func (s *Server) takeFault(r Route) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[string(r)]++
	f := s.faults[r]
	if f == nil || f.n == 0 {
		return 0
	}
	f.n--
	return f.status
}

func (s *Server) count(kind string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts[kind]++
}

// auth checks the CAS bearer token; it returns the token or writes the refusal.
func (s *Server) auth(w http.ResponseWriter, r *http.Request, write bool) (token, bool) {
	v := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(v, "Bearer ")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.secrets[tok] {
		s.leaks = append(s.leaks, fmt.Sprintf("%s %s carried a Hub credential", r.Method, r.URL.Path))
		http.Error(w, "Hub tokens are not CAS tokens", http.StatusUnauthorized)
		return token{}, false
	}
	t, found := s.tokens[tok]
	switch {
	case !ok || !found:
		http.Error(w, "missing or unknown CAS token", http.StatusUnauthorized)
		return token{}, false
	case time.Now().After(t.expires):
		http.Error(w, "CAS token expired", http.StatusUnauthorized)
		return token{}, false
	case write && !t.write:
		http.Error(w, "token lacks write scope", http.StatusForbidden)
		return token{}, false
	}
	return t, true
}

func (s *Server) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.signKey)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) serveCAS(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v2/reconstructions/"):
		s.handleReconstruction(w, r, strings.TrimPrefix(p, "/v2/reconstructions/"), true)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/reconstructions/"):
		s.handleReconstruction(w, r, strings.TrimPrefix(p, "/v1/reconstructions/"), false)
	case r.Method == http.MethodPost && strings.HasPrefix(p, "/v1/xorbs/"):
		s.handleXorb(w, r, strings.TrimPrefix(p, "/v1/xorbs/"))
	case r.Method == http.MethodPost && p == "/v1/shards":
		s.handleShard(w, r)
	case r.Method == http.MethodGet && strings.HasPrefix(p, "/v1/chunks/"):
		s.handleDedup(w, r, strings.TrimPrefix(p, "/v1/chunks/"))
	default:
		http.Error(w, "no such CAS route: "+r.Method+" "+p, http.StatusNotFound)
	}
}
