package msclient

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/linaqruf/hf2ms/internal/httpx"
	redactpkg "github.com/linaqruf/hf2ms/internal/redact"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Defaults.
const (
	// DefaultDomain is the ModelScope site used when neither an endpoint nor a domain is given;
	// the international site is "modelscope.ai".
	DefaultDomain = "modelscope.cn"
	// DefaultRevision is ModelScope's default branch.
	DefaultRevision = "master"
	// ListingCut is how many entries the model file listing returns at most; a longer listing is
	// cut silently (modelscope_hub's REPO_FILES_TRUNCATION_LIMIT), so the client walks sub-folders.
	ListingCut = 3000
	// MaxCommitActions is the most actions one commit may carry (the hub answers 422 above).
	MaxCommitActions = 2000
	// MaxFileSize is the largest single file ModelScope takes: 100 GB, the limit the official
	// SDK checks before an upload (modelscope's hub/api.py upload_folder, up to v1.37.1).
	MaxFileSize int64 = 100 << 30
	// MaxCommitInlineBytes is the most inline content (before base64) one commit should carry:
	// the newest SDK keeps a commit's request body under about 8 MiB, and inline bytes travel
	// base64 (4/3) inside JSON, which leaves room for the actions themselves.
	MaxCommitInlineBytes = 5 << 20
	// LFSBatchSize is the most objects sent in one LFS batch request.
	LFSBatchSize = 64
)

// Environment variables OptionsFromEnv reads (the official SDK's names).
const (
	// EnvEndpoint is the full base URL (mirrors, tests); it wins over EnvDomain.
	EnvEndpoint = "MODELSCOPE_ENDPOINT"
	// EnvDomain is the site's domain, bare ("modelscope.ai") or with a scheme.
	EnvDomain = "MODELSCOPE_DOMAIN"
	// EnvToken is the SDK access token.
	EnvToken = "MODELSCOPE_TOKEN"
)

// OptionsFromEnv returns the options the environment asks for, read through getenv (os.Getenv,
// or a program's own configuration): the token, the endpoint and the domain. NewClient itself
// never reads the environment.
func OptionsFromEnv(getenv func(string) string) []Option {
	return hubkit.OptionsFromEnv(getenv,
		hubkit.EnvVar[Option]{Name: EnvToken, Option: WithToken},
		hubkit.EnvVar[Option]{Name: EnvEndpoint, Option: WithEndpoint},
		hubkit.EnvVar[Option]{Name: EnvDomain, Option: WithDomain})
}

// Client talks to one ModelScope endpoint. It is safe for concurrent use.
type Client struct {
	endpoint *url.URL
	epErr    error
	token    string
	http     *http.Client
	upload   *http.Client
	ua       string

	listingCut     int
	listWorkers    int
	commitAttempts int
	commitBackoff  time.Duration
	commitMaxWait  time.Duration
	resumeOpts     []httpx.ResumeOption

	secrets redactpkg.Set // the token and what Login hands out

	nrOnce sync.Once
	nr     *http.Client // c.http with redirects left to the caller

	mu         sync.Mutex
	cookies    []*http.Cookie // session cookies from Login
	spacing    time.Duration  // learned gap between commits after a frequency rejection
	lastCommit time.Time
	// now and sleep are the clock of the commit retries (tests replace them).
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) bool
}

// Option configures a Client.
type Option func(*settings)

type settings struct {
	endpoint, domain string
	token            string
	hc, upload       *http.Client
	userAgent        string
	listingCut       int
	commitAttempts   int
	commitBackoff    time.Duration
	commitMaxWait    time.Duration
	resume           []httpx.ResumeOption
}

// WithToken sets the ModelScope access token (an "ms-..." SDK token). The client keeps it, and
// the secrets a login hands out, out of every error it returns.
func WithToken(token string) Option { return func(s *settings) { s.token = strings.TrimSpace(token) } }

// WithEndpoint sets the full base URL ("https://www.modelscope.cn", a mirror, or a test server);
// "https://" is added when the scheme is missing. It wins over WithDomain.
func WithEndpoint(endpoint string) Option { return func(s *settings) { s.endpoint = endpoint } }

// WithDomain selects the site by domain ("modelscope.cn", "modelscope.ai", or with a scheme). It
// does not win over WithEndpoint.
func WithDomain(domain string) Option { return func(s *settings) { s.domain = domain } }

// WithHTTPClient sets the HTTP client for API calls and downloads (default httpx.NewClient()).
// Its redirect policy is not used for downloads: the client follows the CDN redirect itself so
// that credentials never leave the API host. Uploads use it too unless WithUploadHTTPClient is
// given; if its Transport is an *http.Transport, uploads use a clone pinned to HTTP/1.1.
func WithHTTPClient(hc *http.Client) Option { return func(s *settings) { s.hc = hc } }

// WithUploadHTTPClient sets the HTTP client used for blob PUTs, as is (default: the API client's
// transport pinned to HTTP/1.1, which ModelScope's LFS host serves ~3x faster than HTTP/2).
func WithUploadHTTPClient(hc *http.Client) Option { return func(s *settings) { s.upload = hc } }

// WithUserAgent sets the User-Agent (default "hf2ms/<version> msclient").
func WithUserAgent(ua string) Option { return func(s *settings) { s.userAgent = ua } }

// WithListingCut sets the entry count at which a model listing is taken to be cut by the server
// (default ListingCut); a mirror or test server with a different cut needs it.
func WithListingCut(n int) Option { return func(s *settings) { s.listingCut = n } }

// WithCommitRetry sets how Commit retries a commit the hub refused as too frequent or
// as a transient ref conflict: at most attempts tries per commit (0: no limit but the time),
// exponential backoff with jitter from initial (a longer Retry-After wins), and at most maxWait
// of waiting per commit. The defaults follow the official SDK (modelscope_hub's constants.py:
// up to 300 s per commit): no attempt limit, 2s, 5m.
func WithCommitRetry(attempts int, initial, maxWait time.Duration) Option {
	return func(s *settings) { s.commitAttempts, s.commitBackoff, s.commitMaxWait = attempts, initial, maxWait }
}

// WithResumeOptions passes options to the resuming reader Download returns (tries, backoff).
func WithResumeOptions(opts ...httpx.ResumeOption) Option {
	return func(s *settings) { s.resume = append(s.resume, opts...) }
}

// NewClient returns a client configured by opts only. The endpoint is, in order: WithEndpoint,
// WithDomain, then https://modelscope.cn. An invalid endpoint is
// reported by every call (and by Endpoint returning "").
func NewClient(opts ...Option) *Client {
	s := settings{
		listingCut:    ListingCut,
		commitBackoff: 2 * time.Second,
		commitMaxWait: 5 * time.Minute,
	}
	for _, o := range opts {
		o(&s)
	}
	c := &Client{
		token:          s.token,
		ua:             s.userAgent,
		listingCut:     s.listingCut,
		listWorkers:    8,
		commitAttempts: max(0, s.commitAttempts),
		commitBackoff:  s.commitBackoff,
		commitMaxWait:  s.commitMaxWait,
		resumeOpts:     s.resume,
		now:            time.Now,
		sleep:          sleepCtx,
	}
	if c.ua == "" {
		c.ua = version.UserAgent() + " msclient"
	}
	if c.listingCut <= 0 {
		c.listingCut = ListingCut
	}
	c.secrets.Add(s.token)
	c.endpoint, c.epErr = resolveEndpoint(s.endpoint, s.domain)
	c.http = s.hc
	if c.http == nil {
		c.http = httpx.NewClient(httpx.WithUserAgent(c.ua))
	}
	c.upload = s.upload
	switch {
	case c.upload != nil:
	case s.hc == nil:
		c.upload = httpx.NewClient(httpx.WithUserAgent(c.ua), httpx.WithBaseTransport(pinTransport(httpx.DefaultTransport())))
	default:
		c.upload = pinHTTP1(c.http)
	}
	return c
}

// resolveEndpoint derives the base URL the way the official SDK does: an explicit endpoint, else a
// domain, else the default domain; https:// is added when no scheme is
// given and trailing slashes are dropped.
func resolveEndpoint(endpoint, domain string) (*url.URL, error) {
	raw := strings.TrimSpace(endpoint)
	if raw == "" {
		raw = strings.TrimSpace(domain)
	}
	if raw == "" {
		raw = DefaultDomain
	}
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil {
		return nil, fmt.Errorf("msclient: invalid endpoint: %w", hubkit.ErrInvalid)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" {
		return nil, invalidf("invalid endpoint %q (want http(s)://host[/path])", redact(u.Redacted()))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// pinHTTP1 returns hc with an *http.Transport clone that only speaks HTTP/1.1, or hc itself when
// its transport is not an *http.Transport (then the caller's transport decides).
func pinHTTP1(hc *http.Client) *http.Client {
	var base *http.Transport
	switch t := hc.Transport.(type) {
	case nil:
		base = http.DefaultTransport.(*http.Transport)
	case *http.Transport:
		base = t
	default:
		return hc
	}
	cp := *hc
	cp.Transport = pinTransport(base.Clone())
	return &cp
}

// pinTransport makes t speak HTTP/1.1 only (ModelScope's LFS host is ~3x slower over HTTP/2).
func pinTransport(t *http.Transport) *http.Transport {
	var p http.Protocols
	p.SetHTTP1(true)
	t.Protocols = &p
	t.ForceAttemptHTTP2 = false
	return t
}

// Endpoint returns the base URL requests go to, or "" when it is invalid.
func (c *Client) Endpoint() string {
	if c.endpoint == nil {
		return ""
	}
	return c.endpoint.String()
}

// validateRepo reports, with a message saying what is wrong, whether r can name a ModelScope
// repo. The error matches hubkit.ErrInvalid.
func validateRepo(r hubkit.Repo) error {
	if r.Type != hubkit.Model && r.Type != hubkit.Dataset {
		return invalidf("repo type %q is neither %q nor %q (ModelScope has no file API for Studios)", r.Type, hubkit.Model, hubkit.Dataset)
	}
	owner, name, ok := strings.Cut(r.ID, "/")
	if !ok || strings.Contains(name, "/") {
		return invalidf("repo id %q must be \"owner/name\"", r.ID)
	}
	for _, part := range []struct{ what, v string }{{"owner", owner}, {"name", name}} {
		if part.v == "" {
			return invalidf("repo id %q has an empty %s", r.ID, part.what)
		}
		if part.v == "." || part.v == ".." {
			return invalidf("repo id %q: %s may not be %q", r.ID, part.what, part.v)
		}
		for _, ch := range part.v {
			if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.') {
				return invalidf("repo id %q: %s may only hold letters, digits, '-', '_' and '.'", r.ID, part.what)
			}
		}
	}
	return nil
}

// repoPath is "/{models|datasets}/{owner}/{name}" plus suffix, escaped.
func repoPath(r hubkit.Repo, suffix string) string {
	owner, name, _ := strings.Cut(r.ID, "/")
	return "/" + string(r.Type) + "s/" + url.PathEscape(owner) + "/" + url.PathEscape(name) + suffix
}

// apiPath is "/api/v1/{models|datasets}/{owner}/{name}" plus suffix.
func apiPath(r hubkit.Repo, suffix string) string { return "/api/v1" + repoPath(r, suffix) }

// reposPath is "/api/v1/repos/{models|datasets}/{owner}/{name}" plus suffix (upload routes).
func reposPath(r hubkit.Repo, suffix string) string { return "/api/v1/repos" + repoPath(r, suffix) }

// check validates the client and repo before a call.
func (c *Client) check(r *hubkit.Repo) error {
	if c.epErr != nil {
		return c.epErr
	}
	if r != nil {
		return validateRepo(*r)
	}
	return nil
}

// url builds an absolute URL on the endpoint for path (already escaped) and query.
func (c *Client) url(path string, q url.Values) string {
	u := *c.endpoint
	unescaped, err := url.PathUnescape(path)
	if err != nil {
		unescaped = path
	}
	u.Path = c.endpoint.Path + unescaped
	u.RawPath = c.endpoint.EscapedPath() + path
	if q != nil {
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// sameOrigin reports whether u has the endpoint's scheme, host and port.
func (c *Client) sameOrigin(u *url.URL) bool {
	return c.endpoint != nil && strings.EqualFold(u.Scheme, c.endpoint.Scheme) && strings.EqualFold(u.Host, c.endpoint.Host)
}

// uploadHostTrusted reports whether an LFS upload href may receive credentials: the API origin
// itself, or an https host sharing the endpoint's parent domain (lfs.modelscope.cn for
// www.modelscope.cn and modelscope.cn).
func (c *Client) uploadHostTrusted(u *url.URL) bool {
	if c.sameOrigin(u) {
		return true
	}
	if u.Scheme != "https" || c.endpoint.Scheme != "https" {
		return false
	}
	eh := strings.ToLower(c.endpoint.Hostname())
	if net.ParseIP(eh) != nil {
		return false
	}
	labels := strings.Split(eh, ".")
	if len(labels) >= 3 {
		labels = labels[1:]
	}
	parent := strings.Join(labels, ".")
	if len(labels) < 2 {
		return false
	}
	h := strings.ToLower(u.Hostname())
	return h == parent || strings.HasSuffix(h, "."+parent)
}

// authorize adds the credentials (Bearer, m_session_id cookie and login cookies) to req.
func (c *Client) authorize(req *http.Request) {
	if c.token == "" {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	names := map[string]bool{}
	var parts []string
	c.mu.Lock()
	for _, ck := range c.cookies {
		if !names[ck.Name] {
			names[ck.Name] = true
			parts = append(parts, (&http.Cookie{Name: ck.Name, Value: ck.Value}).String())
		}
	}
	c.mu.Unlock()
	if !names["m_session_id"] {
		parts = append(parts, "m_session_id="+c.token)
	}
	req.Header.Set("Cookie", strings.Join(parts, "; "))
}

// newRequest builds a request to the API; credentials are added only when the URL is on the
// endpoint's origin.
func (c *Client) newRequest(ctx context.Context, method, rawURL string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, rawURL, body)
	if err != nil {
		return nil, fmt.Errorf("msclient: build request: %w", err)
	}
	req.Header.Set("User-Agent", c.ua)
	req.Header.Set("X-Request-ID", requestID())
	if c.sameOrigin(req.URL) {
		c.authorize(req)
	}
	return req, nil
}

func requestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// maxErrorBody caps how much of a failed response is read; maxJSONBody caps a success body.
const (
	maxErrorBody = 64 << 10
	maxJSONBody  = 256 << 20
)

// call is one JSON API call.
type call struct {
	method  string
	path    string
	query   url.Values
	body    any        // JSON-encoded when non-nil and not an io.Reader
	raw     io.Reader  // sent as is with contentType
	ctype   string     // Content-Type of raw
	out     any        // decoded from the envelope's Data (may be nil)
	top     any        // the whole body is also decoded into it (top-level fields)
	refine  classifier // per-endpoint error refinement
	resp    **http.Response
	idempot bool
}

// bodyAttempts is how often a read-only call is sent again when its response body is cut.
const bodyAttempts = 3

// do sends a JSON API call, checks the status and the envelope, and decodes Data into cl.out.
// A GET (or a call marked idempotent) whose response body is cut is sent again.
func (c *Client) do(ctx context.Context, cl call) error {
	err := c.doRetrying(ctx, cl)
	var e *Error
	if errors.As(err, &e) {
		e.Message = c.secrets.String(e.Message)
	}
	return err
}

// doRetrying sends cl, sending an idempotent request again when its answer's body was cut (the
// transport, which retries idempotent requests, has returned by then).
func (c *Client) doRetrying(ctx context.Context, cl call) error {
	for attempt := 1; ; attempt++ {
		err := c.doOnce(ctx, cl)
		var be *bodyError
		if !errors.As(err, &be) || attempt >= bodyAttempts || ctx.Err() != nil ||
			(cl.method != http.MethodGet && !cl.idempot) {
			if be != nil {
				return be.err
			}
			return err
		}
		if raw, ok := cl.raw.(io.Seeker); ok {
			if _, serr := raw.Seek(0, io.SeekStart); serr != nil {
				return be.err
			}
		}
	}
}

// bodyError is a failure to read a response body (the connection was cut mid-way).
type bodyError struct{ err error }

func (b *bodyError) Error() string { return b.err.Error() }
func (b *bodyError) Unwrap() error { return b.err }

func (c *Client) doOnce(ctx context.Context, cl call) error {
	var body io.Reader
	var getBody func() (io.ReadCloser, error)
	ctype := cl.ctype
	switch {
	case cl.raw != nil:
		body = cl.raw
	case cl.body != nil:
		b, err := json.Marshal(cl.body)
		if err != nil {
			return fmt.Errorf("msclient: encode %s body: %w", cl.path, err)
		}
		body = bytes.NewReader(b)
		getBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
		ctype = "application/json"
	}
	if cl.idempot {
		ctx = httpx.Idempotent(ctx)
	}
	req, err := c.newRequest(ctx, cl.method, c.url(cl.path, cl.query), body)
	if err != nil {
		return err
	}
	if getBody != nil {
		req.GetBody = getBody
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return transportError(cl.method, cl.path, err)
	}
	defer resp.Body.Close()
	if cl.resp != nil {
		*cl.resp = resp
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return newError(cl.method, cl.path, resp, b, nil, cl.refine)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJSONBody))
	if err != nil {
		return &bodyError{transportError(cl.method, cl.path, err)}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		if cl.out == nil && cl.top == nil {
			return nil
		}
		return &Error{Method: cl.method, Path: cl.path, HTTPStatus: resp.StatusCode, Message: "empty response body", Kind: hubkit.ErrServer}
	}
	env := &envelope{}
	if err := json.Unmarshal(b, env); err != nil {
		return &Error{Method: cl.method, Path: cl.path, HTTPStatus: resp.StatusCode,
			Message: "response is not a JSON envelope: " + redact(err.Error()), Kind: hubkit.ErrServer}
	}
	if env.failed() {
		return newError(cl.method, cl.path, resp, b, env, cl.refine)
	}
	if cl.top != nil {
		_ = json.Unmarshal(b, cl.top)
	}
	if cl.out != nil && len(env.Data) > 0 && string(env.Data) != "null" {
		if err := json.Unmarshal(env.Data, cl.out); err != nil {
			return &Error{Method: cl.method, Path: cl.path, HTTPStatus: resp.StatusCode,
				Message: "cannot decode Data: " + redact(err.Error()), RequestID: env.requestID(), Kind: hubkit.ErrServer}
		}
	}
	return nil
}

// transportError wraps a failure to get a response; context errors are returned as they are
// (wrapped) so errors.Is(err, context.Canceled) works.
func transportError(method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("msclient: %s %s: %w", method, path, &redactedErr{err})
}

// redactedErr keeps an error's chain for errors.Is/As while its text is redacted.
type redactedErr struct{ err error }

func (r *redactedErr) Error() string { return redact(r.err.Error()) }
func (r *redactedErr) Unwrap() error { return r.err }

// redact removes credential shapes from s (the client's own secrets: Client.do).
func redact(s string) string { return redactpkg.Shapes(s) }
