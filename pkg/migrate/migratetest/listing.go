package migratetest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/stretchr/testify/require"
)

// unsafeListingPath is an independent statement of what a listing must never smuggle into the
// planner: escapes (.., absolute, backslash, drive letters), NUL and other control characters,
// empty or dot segments.
func unsafeListingPath(p string) bool {
	if p == "" || strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return true
	}
	if strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return true
	}
	for _, s := range strings.Split(p, "/") {
		if s == "" || s == "." || s == ".." {
			return true
		}
	}
	return false
}

// OnlyHost is a transport that refuses any request to another host than the test server's, so
// a Link header or redirect can never send the client to the internet.
type OnlyHost struct {
	host string
	// Foreign lists the other hosts asked for.
	Foreign []string
}

// RoundTrip implements http.RoundTripper: requests to the server's host go through, any other
// host is refused and recorded.
func (o *OnlyHost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != o.host {
		if r.URL.Host != "" { // no host at all cannot reach anything: the request just fails
			o.Foreign = append(o.Foreign, r.URL.Host)
		}
		return nil, fmt.Errorf("refused request to foreign host %q", r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// ListingServer serves one fuzzed answer to every request, recording the requests it saw.
type ListingServer struct {
	// Srv is the server; Tr is the client transport, which records requests to other hosts.
	Srv *httptest.Server
	Tr  *OnlyHost
	// Body and Link are served to every request; Paths records the request URIs.
	Body  []byte
	Link  string
	Paths []string
}

// NewListingServer starts a server answering every request with page (closed at the end of the
// test) and a client transport that can reach only it.
func NewListingServer(t testing.TB, page func(l *ListingServer, w http.ResponseWriter, r *http.Request)) *ListingServer {
	l := &ListingServer{}
	l.Srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.Paths = append(l.Paths, r.URL.RequestURI())
		page(l, w, r)
	}))
	t.Cleanup(l.Srv.Close)
	u, err := url.Parse(l.Srv.URL)
	require.NoError(t, err)
	l.Tr = &OnlyHost{host: u.Host}
	return l
}

// Client is an HTTP client that reaches only the listing server.
func (l *ListingServer) Client() *http.Client {
	return &http.Client{Transport: l.Tr, Timeout: 10 * time.Second}
}

// RequireListingSafe asserts the combination the engine relies on: whatever a client returns
// from a hostile listing, an entry with an unsafe path or an impossible size never passes the
// planner's check.
func RequireListingSafe(t *testing.T, hubName migrate.HubName, repo migrate.Repo, files []migrate.File) {
	t.Helper()
	bad := false
	for _, f := range files {
		if unsafeListingPath(f.Path) {
			require.Error(t, migrate.ValidatePath(f.Path), "ValidatePath accepts %q", f.Path)
			bad = true
		}
		if f.Size < 0 {
			bad = true
		}
	}
	cp := append([]migrate.File(nil), files...)
	err := migrate.CheckListing(hubName, repo, cp)
	if bad {
		require.Error(t, err, "checkListing accepts a listing with unsafe entries: %+v", files)
	}
	if err == nil {
		for _, f := range cp {
			require.NoError(t, migrate.ValidatePath(f.Path))
			require.GreaterOrEqual(t, f.Size, int64(0))
		}
	}
}
