// Package lfs speaks the Git LFS batch protocol the way both hubs (Hugging Face and ModelScope)
// use it for uploads: the batch request, the "basic" transfer (one streaming PUT), the
// "multipart" transfer (presigned part URLs uploaded in parallel from a ranged source, then a
// completion call with the part ETags), the optional "verify" action, and the "download"
// operation.
//
// Uploads never read a file path: they take an io.Reader or a Source (a ranged reader of the
// object's bytes), and they verify the content in flight. Every byte sent is hashed in order;
// when the SHA-256 or the byte count differs from the Object, the upload is aborted before the
// server can accept it and the error matches hubkit.ErrHashMismatch.
//
// Credentials: Client.Header (the hub's Authorization) is sent to the batch URL, and to action
// hrefs only when they are on the same host as the batch URL. Transfer hrefs (presigned storage
// URLs) receive only the action's own header values.
//
// lfs imports pkg/hubkit, internal/httpx and internal/redact; both hub clients import it.
package lfs

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
	"time"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/redact"
)

// MediaType is the Git LFS JSON content type, sent as Accept and Content-Type of batch requests.
const MediaType = "application/vnd.git-lfs+json"

// Operations of a batch request.
const (
	OpUpload   = "upload"
	OpDownload = "download"
)

// Transfer adapters this package implements.
const (
	TransferBasic     = "basic"
	TransferMultipart = "multipart"
)

// Action names in a batch answer.
const (
	ActionUpload   = "upload"
	ActionVerify   = "verify"
	ActionDownload = "download"
)

// Object is an LFS object: its SHA-256 (lower-case hex) and size in bytes.
type Object struct {
	OID  string `json:"oid"`
	Size int64  `json:"size"`
}

// Action is one step the server asks the client to take for an object: an href, headers to
// send with it, and an optional expiry.
type Action struct {
	Href      string            `json:"href"`
	Header    map[string]string `json:"header,omitempty"`
	ExpiresIn int               `json:"expires_in,omitempty"`
	ExpiresAt time.Time         `json:"expires_at,omitzero"`
}

// ObjectError is a per-object error inside a successful batch answer.
type ObjectError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// Error implements error.
func (e *ObjectError) Error() string {
	return fmt.Sprintf("lfs object error %d: %s", e.Code, e.Message)
}

// ObjectResult is the batch answer for one object. No actions (and no error) means the server
// already stores the object.
type ObjectResult struct {
	Object
	Authenticated bool              `json:"authenticated,omitempty"`
	Actions       map[string]Action `json:"actions,omitempty"`
	Error         *ObjectError      `json:"error,omitempty"`
}

// BatchResponse is the answer to a batch request.
type BatchResponse struct {
	// Transfer is the adapter the server chose ("basic" when empty, as the spec says).
	Transfer string         `json:"transfer"`
	Objects  []ObjectResult `json:"objects"`
	HashAlgo string         `json:"hash_algo,omitempty"`
}

type batchRequest struct {
	Operation string   `json:"operation"`
	Transfers []string `json:"transfers,omitempty"`
	Ref       *ref     `json:"ref,omitempty"`
	Objects   []Object `json:"objects"`
	HashAlgo  string   `json:"hash_algo"`
}

type ref struct {
	Name string `json:"name"`
}

// StatusError is a non-2xx answer from an LFS endpoint. Body holds at most the first 4 KiB of
// the response body. Callers (the hub clients) map it to their own typed errors.
type StatusError struct {
	Op         string
	StatusCode int
	Header     http.Header
	Body       []byte
}

// Error implements error. It names the operation and status, never the URL (hrefs are signed).
func (e *StatusError) Error() string {
	msg := strings.TrimSpace(string(e.Body))
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	if msg == "" {
		return fmt.Sprintf("lfs %s: HTTP %d", e.Op, e.StatusCode)
	}
	return fmt.Sprintf("lfs %s: HTTP %d: %s", e.Op, e.StatusCode, redact.Shapes(msg))
}

// Client sends batch and verify requests to one LFS endpoint.
type Client struct {
	// HTTP is the client used for every request (nil: http.DefaultClient).
	HTTP *http.Client
	// Header is sent with batch requests (typically Authorization and User-Agent). Its
	// credentials (Authorization, Cookie) reach action hrefs only on the batch URL's host.
	Header http.Header
	// CheckResponse, when set, turns a non-2xx response into an error (the response body is
	// still unread). By default a *StatusError is returned.
	CheckResponse func(op string, resp *http.Response) error
}

func (c *Client) http() *http.Client {
	if c == nil || c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

func (c *Client) check(op string, resp *http.Response) error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	if c != nil && c.CheckResponse != nil {
		return c.CheckResponse(op, resp)
	}
	return newStatusError(op, resp)
}

func newStatusError(op string, resp *http.Response) error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	return &StatusError{Op: op, StatusCode: resp.StatusCode, Header: resp.Header.Clone(), Body: body}
}

// Batch posts a batch request for objs to batchURL (".../info/lfs/objects/batch") and returns
// the server's answer. op is OpUpload or OpDownload; ref is the branch ("" to omit); transfers
// lists the adapters offered (nil: basic and multipart). The request is marked idempotent so
// the HTTP layer may retry it. A per-object error is reported in ObjectResult.Error, not as err.
func (c *Client) Batch(ctx context.Context, batchURL, op string, objs []Object, refName string, transfers []string) (*BatchResponse, error) {
	if transfers == nil {
		transfers = []string{TransferBasic, TransferMultipart}
	}
	body := batchRequest{Operation: op, Transfers: transfers, Objects: objs, HashAlgo: "sha256"}
	if refName != "" {
		body.Ref = &ref{Name: refName}
	}
	if body.Objects == nil {
		body.Objects = []Object{}
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("lfs batch: %w", err)
	}
	req, err := http.NewRequestWithContext(httpx.Idempotent(ctx), http.MethodPost, batchURL, bytes.NewReader(buf))
	if err != nil {
		return nil, fmt.Errorf("lfs batch: %w", err)
	}
	copyHeader(req.Header, c.Header, true)
	req.Header.Set("Accept", MediaType)
	req.Header.Set("Content-Type", MediaType)
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, fmt.Errorf("lfs batch: %w", err)
	}
	defer drainClose(resp.Body)
	if err := c.check("batch", resp); err != nil {
		return nil, err
	}
	var out BatchResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, fmt.Errorf("lfs batch: decode answer: %w", err)
	}
	if out.Transfer == "" {
		out.Transfer = TransferBasic
	}
	return &out, nil
}

// Verify posts the object to a verify action's href (JSON {oid, size}) with the action's header,
// plus the client's credentials when the href is on the batch URL's host (authHost, "" for
// none). It is idempotent and may be retried.
func (c *Client) Verify(ctx context.Context, a Action, obj Object, authHost string) error {
	buf, _ := json.Marshal(obj)
	req, err := http.NewRequestWithContext(httpx.Idempotent(ctx), http.MethodPost, a.Href, bytes.NewReader(buf))
	if err != nil {
		return fmt.Errorf("lfs verify: %w", err)
	}
	copyHeader(req.Header, c.Header, sameHost(a.Href, authHost))
	applyAction(req.Header, a)
	req.Header.Set("Accept", MediaType)
	req.Header.Set("Content-Type", MediaType)
	resp, err := c.http().Do(req)
	if err != nil {
		return fmt.Errorf("lfs verify: %w", redactURLError(err))
	}
	defer drainClose(resp.Body)
	return c.check("verify", resp)
}

// Download opens n bytes (n < 0: to the end) of an object from a download action, starting at
// off. A body cut mid-way is resumed by Range. extra headers are sent without credentials; the
// action's own header is sent as is.
func Download(ctx context.Context, hc *http.Client, a Action, obj Object, off, n int64, extra http.Header) (io.ReadCloser, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	end := obj.Size
	if n >= 0 && off+n < end {
		end = off + n
	}
	if off < 0 || off > end {
		return nil, fmt.Errorf("lfs download: range %d+%d outside object of %d bytes", off, n, obj.Size)
	}
	open := func(ctx context.Context, from int64) (io.ReadCloser, error) {
		return openRange(ctx, hc, a, from, end, obj.Size, extra)
	}
	first, err := open(ctx, off)
	if err != nil {
		return nil, err
	}
	return ResumeFrom(ctx, first, open, off, end), nil
}

// ResumeFrom returns a reader of [off,end) that reads first (a body already opened at off) and,
// when it is cut, reopens at the current offset with open (Range requests), so errors of the
// first open surface synchronously while later cuts are resumed.
func ResumeFrom(ctx context.Context, first io.ReadCloser, open func(ctx context.Context, off int64) (io.ReadCloser, error), off, end int64, opts ...httpx.ResumeOption) io.ReadCloser {
	used := false
	reopen := func(ctx context.Context, from int64) (io.ReadCloser, error) {
		if !used && from == off {
			used = true
			return first, nil
		}
		return open(ctx, from)
	}
	return &resumeCloser{ReadCloser: httpx.NewResumingReader(ctx, reopen, off, end, opts...), first: first, used: &used}
}

// resumeCloser also closes the first body when it was never handed to the resuming reader.
type resumeCloser struct {
	io.ReadCloser
	first io.ReadCloser
	used  *bool
}

func (r *resumeCloser) Close() error {
	err := r.ReadCloser.Close()
	if !*r.used {
		*r.used = true
		_ = r.first.Close()
	}
	return err
}

func openRange(ctx context.Context, hc *http.Client, a Action, from, end, size int64, extra http.Header) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.Href, nil)
	if err != nil {
		return nil, fmt.Errorf("lfs download: %w", err)
	}
	copyHeader(req.Header, extra, false)
	applyAction(req.Header, a)
	ranged := from > 0 || end < size
	if ranged {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", from, end-1))
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lfs download: %w", redactURLError(err))
	}
	switch {
	case resp.StatusCode == http.StatusPartialContent:
		return resp.Body, nil
	case resp.StatusCode == http.StatusOK:
		if from > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, from); err != nil {
				drainClose(resp.Body)
				return nil, fmt.Errorf("lfs download: skip to offset: %w", err)
			}
		}
		return resp.Body, nil
	}
	defer drainClose(resp.Body)
	return nil, newStatusError("download", resp)
}

// copyHeader copies src into dst; credential headers only when withCreds.
func copyHeader(dst, src http.Header, withCreds bool) {
	for k, vs := range src {
		if !withCreds && isCredential(k) {
			continue
		}
		for _, v := range vs {
			dst.Add(k, v)
		}
	}
}

func isCredential(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Authorization", "Cookie", "Proxy-Authorization":
		return true
	}
	return false
}

// applyAction sets the action's header values. The multipart adapter's bookkeeping keys
// (chunk_size and the numbered part URLs) are not HTTP headers and are skipped.
func applyAction(h http.Header, a Action) {
	for k, v := range a.Header {
		if k == "chunk_size" || isPartKey(k) {
			continue
		}
		h.Set(k, v)
	}
}

func isPartKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// sameHost reports whether href's host equals host (host may be "" for "never").
func sameHost(href, host string) bool {
	if host == "" {
		return false
	}
	u, err := url.Parse(href)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// redactURLError drops the URL (a signed href) from a *url.Error, keeping the cause.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

func drainClose(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}
