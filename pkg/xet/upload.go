package xet

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
)

// UploadResult describes one uploaded file.
type UploadResult struct {
	// FileHash is the file's Xet hash (what the Hub reports as xetHash).
	FileHash Hash
	// SHA256 is the hex SHA-256 of the bytes read (the LFS oid).
	SHA256 string
	// Size is how many bytes were read.
	Size int64
	// Deduplicated is how many of those bytes were not uploaded because the store (or an earlier
	// part of the same file) already held their chunks.
	Deduplicated int64
	// Xorbs and XorbBytes count the new xorbs uploaded and their serialised size.
	Xorbs     int
	XorbBytes int64
}

// chunkLoc is where a chunk lives: a xorb known by hash, or the n-th new xorb of this upload.
type chunkLoc struct {
	remote Hash
	local  int // index into the upload's new xorbs; -1 for remote
	index  uint32
}

type pendingTerm struct {
	loc      chunkLoc // of the first chunk
	end      uint32
	unpacked uint32
	hashes   []Hash
}

type dedupTable struct {
	key    Hash
	chunks map[Hash]chunkLoc // keyed by HMAC(chunk hash, key) when key is not zero
}

type uploader struct {
	c        *Client
	ctx      context.Context
	sha      hash.Hash
	res      UploadResult
	leaves   []ChunkRef
	terms    []pendingTerm
	local    map[Hash]chunkLoc
	remote   []dedupTable
	cur      *XorbBuilder
	newXorbs []XorbInfo
	sent     chan *XorbBuilder
	done     chan error
	exited   chan struct{} // closed when the sender returns
	firstChk bool
}

// Upload reads r once, chunks it, packs the new chunks into xorbs and uploads them, then uploads
// the shard that registers the file (terms, verification hashes and the SHA-256 extension). At
// most two xorbs are in memory: one being filled and one being uploaded, each holding a buffer
// of the Client's XorbBudget (shared with the other Uploaders).
func (c *Client) Upload(ctx context.Context, r io.Reader) (*UploadResult, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	u := &uploader{c: c, ctx: ctx, sha: sha256.New(), local: map[Hash]chunkLoc{}, firstChk: true,
		sent: make(chan *XorbBuilder), done: make(chan error, 1), exited: make(chan struct{})}
	go u.sender()
	err := u.consume(NewChunker(r))
	if err == nil {
		err = u.flush()
	}
	if u.cur != nil {
		u.drop(u.cur)
		u.cur = nil
	}
	close(u.sent)
	if serr := <-u.done; err == nil {
		err = serr
	}
	<-u.exited // the sender has given back every buffer
	if err != nil {
		return nil, err
	}
	var sum [32]byte
	u.sha.Sum(sum[:0])
	u.res.SHA256 = hex.EncodeToString(sum[:])
	u.res.FileHash = FileHash(u.leaves)
	if u.res.Size == 0 {
		return &u.res, nil
	}
	if err := u.uploadShard(sum); err != nil {
		return nil, err
	}
	return &u.res, nil
}

func (u *uploader) consume(ch *Chunker) error {
	for {
		data, err := ch.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("xet: upload: reading source: %w", err)
		}
		if err := u.ctx.Err(); err != nil {
			return err
		}
		if err := u.add(data); err != nil {
			return err
		}
	}
}

func (u *uploader) add(data []byte) error {
	_, _ = u.sha.Write(data)
	h := ChunkHash(data)
	size := uint32(len(data))
	u.res.Size += int64(size)
	u.leaves = append(u.leaves, ChunkRef{Hash: h, Size: size})
	if u.c.dedup && (u.firstChk || binary.LittleEndian.Uint64(h[24:])%1024 == 0) {
		u.query(h)
	}
	u.firstChk = false
	if loc, ok := u.lookup(h); ok {
		u.res.Deduplicated += int64(size)
		u.extend(loc, h, size)
		return nil
	}
	if u.cur == nil {
		if err := u.newXorb(); err != nil {
			return err
		}
	}
	ok, err := u.cur.Add(data, h)
	if err != nil {
		return err
	}
	if !ok {
		if err := u.flush(); err != nil {
			return err
		}
		if err := u.newXorb(); err != nil {
			return err
		}
		if ok, err = u.cur.Add(data, h); err != nil || !ok {
			return fmt.Errorf("xet: chunk of %d bytes does not fit an empty xorb: %v", size, err)
		}
	}
	loc := chunkLoc{local: len(u.newXorbs), index: uint32(u.cur.Len() - 1)}
	u.local[h] = loc
	u.extend(loc, h, size)
	return nil
}

// newXorb starts a xorb once the budget has a buffer for it.
func (u *uploader) newXorb() error {
	if err := u.c.budget.acquire(u.ctx); err != nil {
		return err
	}
	u.cur = NewXorbBuilder(u.c.compress)
	return nil
}

// drop frees a xorb's buffer and its place in the budget.
func (u *uploader) drop(x *XorbBuilder) {
	x.Release()
	u.c.budget.release()
}

func (u *uploader) lookup(h Hash) (chunkLoc, bool) {
	if l, ok := u.local[h]; ok {
		return l, true
	}
	for _, t := range u.remote {
		k := h
		if !t.key.IsZero() {
			k = HMAC(h, t.key)
		}
		if l, ok := t.chunks[k]; ok {
			return l, true
		}
	}
	return chunkLoc{}, false
}

// extend adds a chunk to the last term when it is the next chunk of the same xorb, else starts
// a new term.
func (u *uploader) extend(loc chunkLoc, h Hash, size uint32) {
	if n := len(u.terms); n > 0 {
		t := &u.terms[n-1]
		if t.loc.local == loc.local && t.loc.remote == loc.remote && t.end == loc.index {
			t.end++
			t.unpacked += size
			t.hashes = append(t.hashes, h)
			return
		}
	}
	u.terms = append(u.terms, pendingTerm{loc: loc, end: loc.index + 1, unpacked: size, hashes: []Hash{h}})
}

// query asks the CAS whether it already holds the chunk; an answer is a shard whose xorbs the
// rest of the file can be deduplicated against. Failures only cost deduplication.
func (u *uploader) query(h Hash) {
	resp, err := u.c.casRequest(u.ctx, "dedup query", http.MethodGet, "/v1/chunks/default-merkledb/"+h.String(), nil, nil)
	if err != nil {
		return
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return
	}
	s, err := ParseShard(b)
	if err != nil {
		return
	}
	t := dedupTable{key: s.HMACKey, chunks: map[Hash]chunkLoc{}}
	for _, x := range s.Xorbs {
		for i, c := range x.Chunks {
			t.chunks[c.Hash] = chunkLoc{remote: x.Hash, local: -1, index: uint32(i)}
		}
	}
	u.remote = append(u.remote, t)
}

// flush hands the current xorb to the sender.
func (u *uploader) flush() error {
	if u.cur == nil || u.cur.Len() == 0 {
		return nil
	}
	x := u.cur
	u.cur = nil
	u.newXorbs = append(u.newXorbs, x.Info())
	u.res.Xorbs++
	u.res.XorbBytes += int64(len(x.Bytes()))
	select {
	case u.sent <- x:
		return nil
	case err := <-u.done:
		u.done <- err
		u.drop(x)
		if err == nil {
			err = errors.New("xet: xorb sender stopped")
		}
		return err
	case <-u.ctx.Done():
		u.drop(x)
		return u.ctx.Err()
	}
}

func (u *uploader) sender() {
	defer close(u.exited)
	var err error
	for x := range u.sent {
		if err != nil {
			u.drop(x)
			continue
		}
		err = u.c.uploadXorb(u.ctx, x.Hash(), x.Bytes())
		u.drop(x)
		if err != nil {
			u.done <- err
			for x := range u.sent {
				u.drop(x)
			}
			return
		}
	}
	u.done <- err
}

func (c *Client) uploadXorb(ctx context.Context, h Hash, body []byte) error {
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, err := c.casRequest(ctx, "xorb upload", http.MethodPost, "/v1/xorbs/default/"+h.String(), body, hdr)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

func (u *uploader) uploadShard(sum [32]byte) error {
	sha := HashFromSHA256(sum)
	fi := FileInfo{Hash: u.res.FileHash, SHA256: &sha}
	for _, t := range u.terms {
		xh := t.loc.remote
		if t.loc.local >= 0 {
			xh = u.newXorbs[t.loc.local].Hash
		}
		fi.Terms = append(fi.Terms, Term{Xorb: xh, Start: t.loc.index, End: t.end, UnpackedBytes: t.unpacked})
		fi.Verification = append(fi.Verification, VerificationHash(t.hashes))
	}
	s := Shard{Files: []FileInfo{fi}, Xorbs: u.newXorbs}
	body, err := s.Marshal(false)
	if err != nil {
		return err
	}
	return u.c.UploadShard(u.ctx, body)
}

// UploadShard posts a serialised shard to /v1/shards.
func (c *Client) UploadShard(ctx context.Context, body []byte) error {
	hdr := http.Header{"Content-Type": {"application/octet-stream"}}
	resp, err := c.casRequest(ctx, "shard upload", http.MethodPost, "/v1/shards", body, hdr)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return resp.Body.Close()
}

// UploadXorb posts one serialised xorb under its hash.
func (c *Client) UploadXorb(ctx context.Context, h Hash, body []byte) error {
	return c.uploadXorb(ctx, h, body)
}
