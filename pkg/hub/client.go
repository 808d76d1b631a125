// Package hub is a Go client for the Hugging Face Hub HTTP API (https://huggingface.co): who am
// I, repository info, revisions, branches and tags, recursive file listings, downloads through
// resolve (with the CDN redirect, ranged and resumable reads, and Xet-stored files read through
// pkg/xet), repository creation, visibility and deletion, and uploads (preupload, Git LFS basic and
// multipart uploads verified in flight, Xet uploads, and one NDJSON commit per call; Limits names
// what one commit may carry, and callers split theirs to stay inside it).
//
// A Client is built with functional options and is safe for concurrent use:
//
//	c := hub.NewClient(hub.WithToken(os.Getenv("HF_TOKEN")))
//	info, err := c.RepoInfo(ctx, hubkit.Repo{Type: hubkit.Model, ID: "openai-community/gpt2"}, "")
//	if errors.Is(err, hubkit.ErrNotFound) { ... }
//
// Errors returned for Hub answers are *Error values that match the kinds of pkg/hubkit
// (hubkit.ErrNotFound, hubkit.ErrGated, hubkit.ErrRateLimited, ...) with errors.Is. The token is
// sent only to the Hub's own host, never to the CDN or presigned storage, and never appears in
// errors.
//
// hub imports pkg/hubkit, pkg/xet and the transport packages (internal/httpx, internal/lfs,
// internal/redact, internal/version); it knows nothing of the engine or of ModelScope.
package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/linaqruf/hf2ms/internal/httpx"
	"github.com/linaqruf/hf2ms/internal/lfs"
	"github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// DefaultEndpoint is the Hub's base URL unless WithEndpoint says otherwise.
const DefaultEndpoint = "https://huggingface.co"

// LFSObject is an LFS object (SHA-256 and size), as taken by PrepareLFSUpload.
type LFSObject = lfs.Object

// Client talks to one Hugging Face Hub endpoint. Create it with NewClient.
type Client struct {
	endpoint      string
	host          string
	token         string
	hc            *http.Client
	noRedirect    *http.Client // hc, returning redirects instead of following them
	userAgent     string
	concurrency   int
	maxCommitWait time.Duration
	readWindow    int64       // the longest single ranged response Download asks for
	secrets       redact.Set  // the token, kept out of every error
	noXet         bool        // WithXet(false)
	xetAbsent     atomic.Bool // the Hub answered an LFS resolve without Xet
}

// Option configures a Client.
type Option func(*Client)

// WithToken sets the access token sent as "Authorization: Bearer" to the Hub's own host (never to
// the CDN or to storage).
func WithToken(token string) Option { return func(c *Client) { c.token = strings.TrimSpace(token) } }

// Environment variables OptionsFromEnv reads (huggingface_hub's names).
const (
	// EnvEndpoint is the Hub's base URL (a mirror, a test server).
	EnvEndpoint = "HF_ENDPOINT"
	// EnvToken is the access token.
	EnvToken = "HF_TOKEN"
)

// OptionsFromEnv returns the options the environment asks for, read through getenv (os.Getenv,
// or a program's own configuration): the token and the endpoint. NewClient itself never reads
// the environment.
func OptionsFromEnv(getenv func(string) string) []Option {
	return hubkit.OptionsFromEnv(getenv,
		hubkit.EnvVar[Option]{Name: EnvToken, Option: WithToken},
		hubkit.EnvVar[Option]{Name: EnvEndpoint, Option: WithEndpoint})
}

// WithEndpoint sets the Hub's base URL (default https://huggingface.co). A
// trailing slash is ignored; a base path (a mirror under /hf) is kept.
func WithEndpoint(endpoint string) Option {
	return func(c *Client) {
		if endpoint != "" {
			c.endpoint = strings.TrimRight(endpoint, "/")
		}
	}
}

// WithHTTPClient sets the HTTP client (default: httpx.NewClient(), which retries idempotent
// requests and waits out rate limits).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc != nil {
			c.hc = hc
		}
	}
}

// WithUserAgent sets the User-Agent header (default "hf2ms/<version>").
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// WithMultipartConcurrency sets how many parts of one multipart LFS upload are in flight at once
// (default lfs.DefaultConcurrency). Memory per upload is this times the Hub's chunk size.
func WithMultipartConcurrency(n int) Option {
	return func(c *Client) {
		if n > 0 {
			c.concurrency = n
		}
	}
}

// WithMaxCommitWait caps how long Commit waits out one 429 before failing with hubkit.ErrRateLimited
// (default 5 minutes, the Hub's rate-limit window).
func WithMaxCommitWait(d time.Duration) Option {
	return func(c *Client) {
		if d > 0 {
			c.maxCommitWait = d
		}
	}
}

// NewClient returns a client configured by opts.
func NewClient(opts ...Option) *Client {
	c := &Client{
		endpoint:      DefaultEndpoint,
		userAgent:     version.UserAgent(),
		concurrency:   lfs.DefaultConcurrency,
		maxCommitWait: 5 * time.Minute,
		readWindow:    DefaultReadWindow,
	}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	c.secrets.Add(c.token)
	if c.hc == nil {
		c.hc = httpx.NewClient(httpx.WithUserAgent(c.userAgent))
	}
	nr := *c.hc
	nr.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c.noRedirect = &nr
	if u, err := url.Parse(c.endpoint); err == nil {
		c.host = u.Host
	}
	return c
}

// Endpoint returns the Hub's base URL, without a trailing slash.
func (c *Client) Endpoint() string { return c.endpoint }

var repoPart = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// ParseRepoID checks that id is "namespace/name" as the Hub allows it (letters, digits, '-',
// '_', '.', not starting with a symbol, no "--" or "..", at most 96 characters a part).
func ParseRepoID(id string) (ns, name string, err error) {
	ns, name, ok := strings.Cut(id, "/")
	if !ok || strings.Contains(name, "/") {
		return "", "", fmt.Errorf("hub: repo id %q must be \"namespace/name\": %w", id, hubkit.ErrInvalid)
	}
	for _, p := range []string{ns, name} {
		switch {
		case p == "":
			return "", "", fmt.Errorf("hub: repo id %q has an empty part: %w", id, hubkit.ErrInvalid)
		case len(p) > 96:
			return "", "", fmt.Errorf("hub: repo id %q: %q is longer than 96 characters: %w", id, p, hubkit.ErrInvalid)
		case !repoPart.MatchString(p):
			return "", "", fmt.Errorf("hub: repo id %q: %q may hold only letters, digits, '-', '_' and '.', and must start with a letter or digit: %w", id, p, hubkit.ErrInvalid)
		case strings.Contains(p, "--") || strings.Contains(p, ".."):
			return "", "", fmt.Errorf("hub: repo id %q: %q may not contain \"--\" or \"..\": %w", id, p, hubkit.ErrInvalid)
		case strings.HasSuffix(p, ".git") || strings.HasSuffix(p, "."):
			return "", "", fmt.Errorf("hub: repo id %q: %q may not end with \".git\" or \".\": %w", id, p, hubkit.ErrInvalid)
		}
	}
	return ns, name, nil
}

// validateRepo checks the repo's type and id.
func validateRepo(r hubkit.Repo) error {
	if r.Type != "" && !r.Type.Valid() {
		return fmt.Errorf("hub: unknown repo type %q (want model, dataset or space): %w", r.Type, hubkit.ErrInvalid)
	}
	_, _, err := ParseRepoID(r.ID)
	return err
}

// repoType is r's type, Model when unset.
func repoType(r hubkit.Repo) hubkit.RepoType {
	if r.Type == "" {
		return hubkit.Model
	}
	return r.Type
}

// apiPrefix is "models", "datasets" or "spaces".
func apiPrefix(r hubkit.Repo) string { return string(repoType(r)) + "s" }

// urlPrefix is "", "datasets/" or "spaces/" (web, resolve and git URLs).
func urlPrefix(r hubkit.Repo) string {
	if repoType(r) == hubkit.Model {
		return ""
	}
	return string(repoType(r)) + "s/"
}

// escID escapes the two parts of an id for a URL path.
func escID(id string) string {
	ns, name, _ := strings.Cut(id, "/")
	return url.PathEscape(ns) + "/" + url.PathEscape(name)
}

// escPath escapes a file path segment by segment, keeping '/'.
func escPath(p string) string {
	segs := strings.Split(strings.TrimPrefix(p, "/"), "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// escRev escapes a revision fully ("refs/pr/1" -> "refs%2Fpr%2F1").
func escRev(rev string) string {
	if rev == "" {
		rev = "main"
	}
	return url.PathEscape(rev)
}

// apiURL is the endpoint joined with an already-escaped path.
func (c *Client) apiURL(escapedPath string) string { return c.endpoint + escapedPath }

// repoAPI is /api/{type}s/{ns}/{name}.
func (c *Client) repoAPI(r hubkit.Repo) string {
	return c.apiURL("/api/" + apiPrefix(r) + "/" + escID(r.ID))
}

// newRequest builds a request; the token goes only to the endpoint's host.
func (c *Client) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, fmt.Errorf("hub: %s: %w", method, err)
	}
	c.authorize(req)
	return req, nil
}

// authorize sets the User-Agent, and the token when req goes to the Hub's own host.
func (c *Client) authorize(req *http.Request) {
	if c.userAgent != "" {
		req.Header.Set("User-Agent", c.userAgent)
	}
	if c.token != "" && strings.EqualFold(req.URL.Host, c.host) {
		req.Header.Set("Authorization", "Bearer "+c.token)
	} else {
		req.Header.Del("Authorization")
	}
}

// doJSON sends a JSON body (nil for none), checks the answer, and decodes it into out (nil to
// discard). idempotent marks POSTs safe to retry.
func (c *Client) doJSON(ctx context.Context, op string, rc routeClass, method, u string, in, out any, idempotent bool) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("hub: %s: %w", op, err)
		}
		body = bytes.NewReader(b)
	}
	if idempotent {
		ctx = httpx.Idempotent(ctx)
	}
	req, err := c.newRequest(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return c.transportError(op, err)
	}
	defer drainClose(resp.Body)
	if err := c.checkResponse(op, rc, resp); err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("hub: %s: decode answer: %w", op, err)
	}
	return nil
}

// transportError wraps a transport failure without the URL (it may be a signed CDN URL).
func (c *Client) transportError(op string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("hub: %s: %s: %w", op, ue.Op, ue.Err)
	}
	return fmt.Errorf("hub: %s: %w", op, err)
}

func drainClose(rc io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, rc, 64<<10)
	_ = rc.Close()
}
