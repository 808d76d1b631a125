package xettest

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"time"

	"github.com/linaqruf/hf2ms/pkg/xet"
)

// Import stores a file as the Hub's background conversion of LFS uploads does
// (hub-docs xet/legacy-git-lfs.md): chunked, packed into xorbs and registered in the scope. It
// returns the file's Xet hash.
func (s *Server) Import(scope string, data []byte) (xet.Hash, error) {
	if len(data) == 0 {
		return xet.Hash{}, nil
	}
	var (
		shard  xet.Shard
		leaves []xet.ChunkRef
		fi     xet.FileInfo
		hashes []xet.Hash
		b      = xet.NewXorbBuilder(xet.CompressLZ4)
	)
	flush := func() error {
		if b.Len() == 0 {
			return nil
		}
		info := b.Info()
		x, err := checkXorb(info.Hash, b.Bytes())
		if err != nil {
			return err
		}
		s.mu.Lock()
		if _, had := s.xorbs[info.Hash]; !had {
			s.xorbs[info.Hash] = x
		}
		s.mu.Unlock()
		fi.Terms = append(fi.Terms, xet.Term{Xorb: info.Hash, Start: 0, End: uint32(b.Len()), UnpackedBytes: uint32(b.UnpackedBytes())})
		fi.Verification = append(fi.Verification, xet.VerificationHash(hashes))
		shard.Xorbs = append(shard.Xorbs, info)
		hashes = nil
		b = xet.NewXorbBuilder(xet.CompressLZ4)
		return nil
	}
	off := 0
	for _, n := range xet.ChunkAll(data) {
		c := data[off : off+n]
		off += n
		h := xet.ChunkHash(c)
		leaves = append(leaves, xet.ChunkRef{Hash: h, Size: uint32(n)})
		ok, err := b.Add(c, h)
		if err != nil {
			return xet.Hash{}, err
		}
		if !ok {
			if err := flush(); err != nil {
				return xet.Hash{}, err
			}
			if _, err := b.Add(c, h); err != nil {
				return xet.Hash{}, err
			}
		}
		hashes = append(hashes, h)
	}
	if err := flush(); err != nil {
		return xet.Hash{}, err
	}
	fi.Hash = xet.FileHash(leaves)
	sum := sha256Sum(data)
	ext := xet.HashFromSHA256(sum)
	fi.SHA256 = &ext
	shard.Files = []xet.FileInfo{fi}
	if err := s.register(scope, &shard); err != nil {
		return xet.Hash{}, err
	}
	return fi.Hash, nil
}

// TokenAnswer is the JSON of the Hub's xet-read-token / xet-write-token routes.
type TokenAnswer struct {
	AccessToken string `json:"accessToken"`
	Exp         int64  `json:"exp"`
	CasURL      string `json:"casUrl"`
}

// Answer issues a token and returns it in the form the Hub's token routes answer, with the
// same values as X-Xet-* headers (huggingface.js commit.ts reads both).
func (s *Server) Answer(scope, rev string, write bool) (TokenAnswer, http.Header) {
	tok, exp := s.IssueToken(scope, rev, write)
	h := http.Header{}
	h.Set("X-Xet-Cas-Url", s.URL())
	h.Set("X-Xet-Access-Token", tok)
	h.Set("X-Xet-Token-Expiration", jsonInt(exp))
	return TokenAnswer{AccessToken: tok, Exp: exp.Unix(), CasURL: s.URL()}, h
}

func jsonInt(t time.Time) string {
	b, _ := json.Marshal(t.Unix())
	return string(b)
}

// TokenHandler serves a token route for one scope, as the Hub does for a repo and revision.
func (s *Server) TokenHandler(scope, rev string, write bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, h := s.Answer(scope, rev, write)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(a)
	})
}

// Tokens is a TokenSource that mints tokens directly, for tests that have no Hub in front.
type Tokens struct {
	S     *Server
	Scope string
	Rev   string
	Write bool
}

var _ xet.TokenSource = (*Tokens)(nil)

// Token implements xet.TokenSource.
func (t *Tokens) Token(context.Context) (xet.Token, error) {
	tok, exp := t.S.IssueToken(t.Scope, t.Rev, t.Write)
	return xet.Token{AccessToken: tok, CasURL: t.S.URL(), Expires: exp}, nil
}

// Invalidate implements xet.TokenSource.
func (t *Tokens) Invalidate(xet.Token) {}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

// FindSHA256 finds a file of the scope by the SHA-256 (hex) of its bytes and returns its hash and
// bytes.
func (s *Server) FindSHA256(scope, sha string) (xet.Hash, []byte, bool) {
	s.mu.Lock()
	var found *storedFile
	for h := range s.scopes[scope] {
		if f := s.files[h]; f != nil && f.sha256 == sha {
			found = f
			break
		}
	}
	s.mu.Unlock()
	if found == nil {
		return xet.Hash{}, nil, false
	}
	data, err := s.bytesOf(found)
	if err != nil {
		return xet.Hash{}, nil, false
	}
	return found.info.Hash, data, true
}

func (s *Server) bytesOf(f *storedFile) ([]byte, error) {
	out := make([]byte, 0, f.size)
	for _, t := range f.info.Terms {
		s.mu.Lock()
		x := s.xorbs[t.Xorb]
		s.mu.Unlock()
		chunks, err := xet.DecodeChunks(x.raw[x.offsets[t.Start]:x.offsets[t.End]], int(t.End-t.Start))
		if err != nil {
			return nil, err
		}
		for _, c := range chunks {
			out = append(out, c.Data...)
		}
	}
	return out, nil
}
