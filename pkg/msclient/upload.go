package msclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Object is an LFS object: its SHA-256 (lower-case hex) and size.
type Object struct {
	OID  string
	Size int64
}

// BlobUpload is one object the hub asked to receive.
type BlobUpload struct {
	c      *Client
	repo   hubkit.Repo
	obj    Object
	href   *url.URL
	header map[string]string
}

// Object returns the object this upload is for.
func (u *BlobUpload) Object() Object { return u.obj }

// lfsBatchResponse is Data of the LFS batch answer.
type lfsBatchResponse struct {
	Objects []struct {
		OID     string `json:"oid"`
		Size    int64  `json:"size"`
		Actions map[string]struct {
			Href   string            `json:"href"`
			Header map[string]string `json:"header"`
		} `json:"actions"`
		Error *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	} `json:"objects"`
}

// PrepareUpload asks the hub which objects it needs (POST /api/v1/repos/{models|datasets}/
// {owner}/{name}/info/lfs/objects/batch, operation "upload", at most LFSBatchSize objects a
// request; retried on transient failures as it changes nothing). Objects the hub already stores
// are omitted from the answer, and so from the result; duplicates are asked for once. The
// returned uploads are in the order of objs.
func (c *Client) PrepareUpload(ctx context.Context, repo hubkit.Repo, objs []Object) ([]*BlobUpload, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	seen := map[Object]bool{}
	var uniq []Object
	for _, o := range objs {
		o.OID = strings.ToLower(o.OID)
		if len(o.OID) != 64 || !isHexSHA(o.OID) {
			return nil, invalidf("object oid %q is not a sha256", o.OID)
		}
		if o.Size < 0 {
			return nil, invalidf("object %s has negative size", o.OID)
		}
		if !seen[o] {
			seen[o] = true
			uniq = append(uniq, o)
		}
	}
	var out []*BlobUpload
	path := reposPath(repo, "/info/lfs/objects/batch")
	for start := 0; start < len(uniq); start += LFSBatchSize {
		chunk := uniq[start:min(start+LFSBatchSize, len(uniq))]
		type wireObj struct {
			OID  string `json:"oid"`
			Size int64  `json:"size"`
		}
		req := struct {
			Operation string    `json:"operation"`
			Objects   []wireObj `json:"objects"`
		}{Operation: "upload"}
		for _, o := range chunk {
			req.Objects = append(req.Objects, wireObj(o))
		}
		var data lfsBatchResponse
		if err := c.do(ctx, call{method: http.MethodPost, path: path, body: req, out: &data, idempot: true}); err != nil {
			return nil, err
		}
		byObj := map[Object]*BlobUpload{}
		for _, r := range data.Objects {
			o := Object{OID: strings.ToLower(r.OID), Size: r.Size}
			if r.Error != nil && (r.Error.Code != 0 || r.Error.Message != "") {
				e := &Error{Method: http.MethodPost, Path: path, HTTPStatus: r.Error.Code,
					Message: fmt.Sprintf("object %s: %s", o.OID, redact(r.Error.Message))}
				e.Kind = classify(e)
				return nil, e
			}
			if !seen[o] {
				return nil, &Error{Method: http.MethodPost, Path: path, HTTPStatus: http.StatusOK,
					Message: fmt.Sprintf("answer names object %s/%d that was not asked for", o.OID, o.Size), Kind: hubkit.ErrServer}
			}
			act, ok := r.Actions["upload"]
			if !ok {
				continue // stored already
			}
			href, err := url.Parse(act.Href)
			if err != nil || href.Host == "" {
				if err == nil {
					href, err = url.Parse(c.url(act.Href, nil))
				}
				if err != nil || act.Href == "" {
					return nil, &Error{Method: http.MethodPost, Path: path, HTTPStatus: http.StatusOK,
						Message: fmt.Sprintf("object %s has an upload action without a usable href", o.OID), Kind: hubkit.ErrServer}
				}
			}
			byObj[o] = &BlobUpload{c: c, repo: repo, obj: o, href: href, header: act.Header}
		}
		for _, o := range chunk {
			if u := byObj[o]; u != nil {
				out = append(out, u)
			}
		}
	}
	return out, nil
}

// Upload streams the object from src (src.OpenRange(ctx, 0, size)) to the hub with an
// authenticated PUT of exactly Content-Length bytes over HTTP/1.1, never buffering it. Every byte
// is hashed on the way: if the source's bytes do not have the object's size and SHA-256, the body
// fails before its last byte is sent, the hub stores nothing, and Upload returns an error matching
// hubkit.ErrHashMismatch. A transient failure (connection cut, 408, 429, 5xx) re-opens the source and
// retries (see WithUploadRetry); other failures are returned.
func (u *BlobUpload) Upload(ctx context.Context, src hubkit.Source) error {
	c := u.c
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.uploadBackoff
	bo.MaxInterval = 30 * time.Second
	bo.MaxElapsedTime = 0
	bo.Reset()
	var err error
	for attempt := 1; ; attempt++ {
		err = u.put(ctx, src)
		if err == nil || attempt >= c.uploadAttempts || !retryableUpload(ctx, err) {
			return err
		}
		wait := bo.NextBackOff()
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > wait {
			wait = e.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// retryableUpload reports whether a failed PUT may be tried again.
func retryableUpload(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, hubkit.ErrHashMismatch) || errors.Is(err, errSource) {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.HTTPStatus == http.StatusRequestTimeout || e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
	}
	return true // transport failure: connection cut, reset
}

// errSource marks failures of the source itself (not retried here: the source resumes itself).
var errSource = errors.New("upload source failed")

func (u *BlobUpload) put(ctx context.Context, src hubkit.Source) error {
	c := u.c
	path := u.href.EscapedPath()
	rc, err := src.OpenRange(ctx, 0, u.obj.Size)
	if err != nil {
		return fmt.Errorf("msclient: upload %s: open source: %w: %w", u.obj.OID, errSource, err)
	}
	vr := &verifyingReader{r: rc, want: u.obj, h: sha256.New()}
	defer vr.close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.href.String(), vr)
	if err != nil {
		return fmt.Errorf("msclient: upload %s: %w", u.obj.OID, err)
	}
	if u.obj.Size == 0 {
		req.Body = http.NoBody
		vr.close()
		if u.obj.OID != emptySHA256 {
			return fmt.Errorf("msclient: upload %s: empty object with a non-empty hash: %w", u.obj.OID, hubkit.ErrHashMismatch)
		}
		vr.done = true
	}
	req.ContentLength = u.obj.Size
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("X-Request-ID", requestID())
	req.Header.Set("Content-Type", "application/octet-stream")
	for k, v := range u.header {
		if !strings.EqualFold(k, "Range") {
			req.Header.Set(k, v)
		}
	}
	if c.uploadHostTrusted(u.href) {
		c.authorize(req)
	}
	resp, err := c.upload.Do(req)
	if verr := vr.failure(); verr != nil {
		if resp != nil {
			resp.Body.Close()
		}
		return verr
	}
	if err != nil {
		return transportError(http.MethodPut, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return newError(http.MethodPut, path, resp, b, nil, nil)
	}
	if len(bytes.TrimSpace(b)) > 0 {
		var env envelope
		if json.Unmarshal(b, &env) == nil && env.failed() {
			return newError(http.MethodPut, path, resp, b, &env, nil)
		}
	}
	if !vr.complete() {
		return fmt.Errorf("msclient: upload %s: hub answered before the whole body was sent: %w", u.obj.OID, hubkit.ErrServer)
	}
	return nil
}

const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

// verifyingReader counts and hashes the bytes it passes on. It withholds the chunk that completes
// the object until the hash matches, so a wrong source never delivers a complete body; past the
// object's size it reports EOF without reading further. Read is called by one goroutine (the
// transport's); failure, complete and close may be called from others.
type verifyingReader struct {
	r    io.ReadCloser
	want Object
	h    hash.Hash
	n    int64 // only touched by Read

	once sync.Once
	mu   sync.Mutex
	err  error
	done bool
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	v.mu.Lock()
	err, done := v.err, v.done
	v.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if done {
		return 0, io.EOF
	}
	if rem := v.want.Size - v.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	n, rerr := v.r.Read(p)
	if n > 0 {
		v.h.Write(p[:n])
		v.n += int64(n)
	}
	switch {
	case v.n == v.want.Size:
		if sum := hex.EncodeToString(v.h.Sum(nil)); sum != v.want.OID {
			return 0, v.fail(fmt.Errorf("msclient: upload %s: source bytes hash to %s: %w", v.want.OID, sum, hubkit.ErrHashMismatch))
		}
		v.mu.Lock()
		v.done = true
		v.mu.Unlock()
		return n, io.EOF
	case rerr == io.EOF:
		return 0, v.fail(fmt.Errorf("msclient: upload %s: source ended after %d of %d bytes: %w", v.want.OID, v.n, v.want.Size, hubkit.ErrHashMismatch))
	case rerr != nil:
		return 0, v.fail(fmt.Errorf("msclient: upload %s: read source: %w: %w", v.want.OID, errSource, rerr))
	}
	return n, nil
}

func (v *verifyingReader) fail(err error) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.err = err
	return err
}

// Close is a no-op: net/http closes request bodies, and the source is closed by put.
func (v *verifyingReader) Close() error { return nil }

func (v *verifyingReader) close() { v.once.Do(func() { v.r.Close() }) }

// failure returns the verification or source error, if any.
func (v *verifyingReader) failure() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.err
}

// complete reports whether the whole object went through verified.
func (v *verifyingReader) complete() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.done
}
