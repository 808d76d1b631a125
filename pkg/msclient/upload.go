package msclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/linaqruf/hf2ms/internal/lfs"
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

// Upload streams the object from src (src.OpenRange(ctx, 0, size)) to the hub with one
// authenticated PUT of exactly Content-Length bytes over HTTP/1.1, never buffering it (ModelScope
// has no multipart upload of one file: modelscope_hub#58). Every byte is hashed on the way
// (internal/lfs.PutBasic): if the source's bytes do not have the object's size and SHA-256, the
// body fails before its last byte is sent, the hub stores nothing, and Upload returns an error
// matching hubkit.ErrHashMismatch. It makes one attempt: retrying a whole blob is the caller's
// (the engine re-reads the source by range).
func (u *BlobUpload) Upload(ctx context.Context, src hubkit.Source) error {
	c := u.c
	path := u.href.EscapedPath()
	rc, err := src.OpenRange(ctx, 0, u.obj.Size)
	if err != nil {
		return fmt.Errorf("msclient: upload %s: open source: %w", u.obj.OID, err)
	}
	defer rc.Close()
	header := map[string]string{}
	for k, v := range u.header {
		if !strings.EqualFold(k, "Range") { // the SDKs ignore the batch's Range upload header
			header[k] = v
		}
	}
	err = lfs.PutBasic(ctx, c.upload, lfs.Action{Href: u.href.String(), Header: header}, lfs.Object(u.obj), rc, lfs.PutOptions{
		Header: http.Header{"User-Agent": {c.ua}, "X-Request-Id": {requestID()}, "Content-Type": {"application/octet-stream"}},
		Prepare: func(req *http.Request) {
			if c.uploadHostTrusted(u.href) {
				c.authorize(req)
			}
		},
		Check: func(resp *http.Response) error { return checkPut(path, resp) },
	})
	var ue *url.Error
	switch {
	case err == nil, errors.Is(err, hubkit.ErrHashMismatch):
		return err
	case errors.As(err, &ue):
		return transportError(http.MethodPut, path, err)
	}
	return err
}

// checkPut judges a blob PUT's answer: a non-2xx status, or an error envelope inside a 200.
func checkPut(path string, resp *http.Response) error {
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
	return nil
}
