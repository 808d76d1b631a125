package migrate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/linaqruf/hf2ms/pkg/hub"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/msclient"
)

// Fuzz tests for the engine's parsers of untrusted input: repository references (command line,
// Action inputs, batch files), README front matter (the source repo's), and both hubs' file
// listings as the adapters hand them to the planner. Seeds live in testdata/fuzz/FuzzXxx and run
// as plain tests; `go test -fuzz '^FuzzXxx$'` explores from them.

// FuzzParseRef: ParseRef and ResolveDirection never panic; an accepted reference has a safe,
// valid id and round-trips through String; a resolved direction names two valid, distinct repos.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"alice/bert", "hf:alice/bert", "ms:datasets/alice/squad", "hf:spaces/alice/demo",
		"https://huggingface.co/datasets/alice/squad/tree/refs%2Fconvert%2Fparquet",
	} {
		f.Add(s, "", "")
	}
	f.Fuzz(func(t *testing.T, s, to, dest string) {
		r, err := ParseRef(s)
		if err != nil {
			require.ErrorIs(t, err, ErrInvalidRef)
			return
		}
		requireSafeID(t, r.ID)
		require.NoError(t, ValidateID(r.Hub, r.ID))
		require.NoError(t, validateRevision(r.Revision))
		again, err := ParseRef(r.String())
		require.NoError(t, err, "String() = %q", r.String())
		require.Equal(t, r, again, "String() = %q", r.String())

		from, target, err := ResolveDirection(r, to, dest)
		if err != nil {
			require.True(t, errorsIsAny(err, ErrInvalidRef, ErrUnsupported), "%v", err)
			return
		}
		for _, repo := range []Repo{from, target} {
			require.Contains(t, []HubName{HuggingFace, ModelScope}, repo.Hub)
			requireSafeID(t, repo.ID)
			require.NoError(t, ValidateID(repo.Hub, repo.ID))
		}
		require.Equal(t, r.ID, from.ID)
		require.NotEqual(t, from, target)
		require.False(t, target.Type == hubkit.Space && target.Hub == ModelScope)
		if r.Hub != "" {
			require.Equal(t, r.Hub, from.Hub)
		}
	})
}

func requireSafeID(t *testing.T, id string) {
	t.Helper()
	require.NotContains(t, id, "..")
	require.NotContains(t, id, "\\")
	require.NotContains(t, id, "\x00")
	require.False(t, strings.HasPrefix(id, "/"), "id %q", id)
	require.False(t, strings.ContainsFunc(id, unicode.IsSpace), "id %q", id)
	require.Equal(t, 1, strings.Count(id, "/"), "id %q", id)
}

func errorsIsAny(err error, kinds ...error) bool {
	for _, k := range kinds {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// FuzzFixReadmeLicense: FixReadmeLicense never panics; everything outside the front matter is
// byte-identical; a second pass changes nothing; the output's front matter is still valid YAML
// whose license values are all ones the Hub accepts.
func FuzzFixReadmeLicense(f *testing.F) {
	f.Add([]byte("---\nlicense: Apache License 2.0\n---\n# hubkit.Model\n"))
	f.Add([]byte("---\r\nlicense: MIT\r\n---\r\nbody\r\n"))
	f.Add([]byte("no front matter\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		orig := bytes.Clone(in)
		out, changed, err := FixReadmeLicense(in)
		require.Equal(t, orig, in, "the input was modified")
		if err != nil {
			require.Equal(t, in, out)
			require.False(t, changed)
			return
		}
		if !changed {
			require.Equal(t, in, out)
			return
		}
		start, end, ok := frontMatter(in)
		require.True(t, ok, "changed without front matter")
		body := in[end:]
		require.True(t, bytes.HasPrefix(out, in[:start]), "the opening line changed")
		require.True(t, bytes.HasSuffix(out, body), "the body after the front matter changed")

		ostart, oend, ok := frontMatter(out)
		require.True(t, ok, "the output lost its front matter:\n%q", out)
		require.Equal(t, start, ostart)
		require.Equal(t, len(out)-len(body), oend, "the front matter ends elsewhere:\n%q", out)
		var before, after yaml.Node
		require.NoError(t, yaml.Unmarshal(in[start:end], &before))
		require.NoError(t, yaml.Unmarshal(out[ostart:oend], &after), "output front matter:\n%s", out[ostart:oend])
		requireSameExceptLicense(t, &before, &after)

		again, changed2, err := FixReadmeLicense(out)
		require.NoError(t, err)
		require.False(t, changed2, "a second pass changed:\n%q\n->\n%q", out, again)
		require.Equal(t, out, again)
	})
}

// requireSameExceptLicense checks that the two front matters have the same top-level keys and
// values except the license, whose values must all be accepted license ids.
func requireSameExceptLicense(t *testing.T, before, after *yaml.Node) {
	t.Helper()
	require.Equal(t, yaml.DocumentNode, after.Kind)
	require.NotEmpty(t, after.Content)
	b, a := before.Content[0], after.Content[0]
	require.Equal(t, yaml.MappingNode, a.Kind)
	require.Equal(t, len(b.Content), len(a.Content))
	for i := 0; i+1 < len(a.Content); i += 2 {
		require.Equal(t, b.Content[i].Value, a.Content[i].Value)
		if a.Content[i].Value != "license" {
			requireSameNode(t, b.Content[i+1], a.Content[i+1])
			continue
		}
		v := a.Content[i+1]
		items := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			items = v.Content
		}
		for _, it := range items {
			if it.Kind == yaml.ScalarNode && it.Tag != "!!null" {
				require.True(t, hfLicenses[it.Value], "license %q is not accepted by the Hub", it.Value)
			}
		}
	}
}

func requireSameNode(t *testing.T, b, a *yaml.Node) {
	t.Helper()
	require.Equal(t, b.Kind, a.Kind)
	require.Equal(t, b.Value, a.Value)
	require.Equal(t, b.Tag, a.Tag)
	require.Equal(t, len(b.Content), len(a.Content))
	for i := range b.Content {
		requireSameNode(t, b.Content[i], a.Content[i])
	}
}

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

// onlyHost is a transport that refuses any request to another host than the test server's, so
// a Link header or redirect can never send the client to the internet.
type onlyHost struct {
	host    string
	foreign []string
}

func (o *onlyHost) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != o.host {
		if r.URL.Host != "" { // no host at all cannot reach anything: the request just fails
			o.foreign = append(o.foreign, r.URL.Host)
		}
		return nil, fmt.Errorf("refused request to foreign host %q", r.URL.Host)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// listingServer serves one fuzzed answer to every request, recording the requests it saw.
type listingServer struct {
	srv   *httptest.Server
	tr    *onlyHost
	body  []byte
	link  string
	paths []string
}

func newListingServer(t testing.TB, page func(l *listingServer, w http.ResponseWriter, r *http.Request)) *listingServer {
	l := &listingServer{}
	l.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.paths = append(l.paths, r.URL.RequestURI())
		page(l, w, r)
	}))
	t.Cleanup(l.srv.Close)
	u, err := url.Parse(l.srv.URL)
	require.NoError(t, err)
	l.tr = &onlyHost{host: u.Host}
	return l
}

func (l *listingServer) client() *http.Client {
	return &http.Client{Transport: l.tr, Timeout: 10 * time.Second}
}

// requireListingSafe asserts the combination the engine relies on: whatever a client returns
// from a hostile listing, an entry with an unsafe path or an impossible size never passes the
// planner's check.
func requireListingSafe(t *testing.T, hubName HubName, repo Repo, files []File) {
	t.Helper()
	bad := false
	for _, f := range files {
		if unsafeListingPath(f.Path) {
			require.Error(t, ValidatePath(f.Path), "ValidatePath accepts %q", f.Path)
			bad = true
		}
		if f.Size < 0 {
			bad = true
		}
	}
	cp := append([]File(nil), files...)
	err := checkListing(hubName, repo, cp)
	if bad {
		require.Error(t, err, "checkListing accepts a listing with unsafe entries: %+v", files)
	}
	if err == nil {
		for _, f := range cp {
			require.NoError(t, ValidatePath(f.Path))
			require.GreaterOrEqual(t, f.Size, int64(0))
		}
	}
}

// FuzzHFListing: a Hugging Face tree page (JSON body and Link header) goes through hub.Client
// and the engine's adapter; nothing panics, the Link cursor never leaves the endpoint, and unsafe
// entries never get past the planner's listing check.
func FuzzHFListing(f *testing.F) {
	f.Add([]byte(`[{"type":"file","oid":"3f2a6c2f0b1d5c1b9b5b4e7b1a2f1c9d8e7f6a5b","size":12,"path":"README.md"}]`), "")
	f.Fuzz(func(t *testing.T, body []byte, link string) {
		l := newListingServer(t, func(l *listingServer, w http.ResponseWriter, _ *http.Request) {
			if l.link != "" {
				w.Header().Set("Link", l.link)
			}
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(l.body)
		})
		l.body, l.link = body, strings.ReplaceAll(link, "%SERVER%", l.srv.URL)
		c := hub.NewClient(hub.WithEndpoint(l.srv.URL), hub.WithHTTPClient(l.client()), hub.WithToken("hf_fuzzSecretToken123"))
		h := NewHFHub(c)
		repo := Repo{Hub: HuggingFace, Type: hubkit.Model, ID: "alice/bert"}
		files, err := h.List(context.Background(), repo, "")
		require.Empty(t, l.tr.foreign, "the client followed a cursor off the endpoint")
		require.LessOrEqual(t, len(l.paths), 2, "requests: %q", l.paths)
		if err != nil {
			require.NotContains(t, err.Error(), "hf_fuzzSecretToken123")
			return
		}
		requireListingSafe(t, HuggingFace, repo, files)
	})
}

// FuzzMSListing: a ModelScope listing answer (the whole envelope) goes through msclient and the
// engine's adapter, for models (/repo/files) and datasets (/repo/tree, paged); nothing panics,
// a Success:false envelope is an error, and unsafe entries never get past the listing check.
func FuzzMSListing(f *testing.F) {
	f.Add([]byte(`{"Code":200,"Data":{"Files":[{"Name":"README.md","Path":"README.md","Type":"blob","Size":12,"Sha256":"","IsLFS":false,"Revision":"abc"}]},"Success":true}`), false)
	f.Fuzz(func(t *testing.T, body []byte, dataset bool) {
		l := newListingServer(t, func(l *listingServer, w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if p := r.URL.Query().Get("PageNumber"); p != "" && p != "1" {
				_, _ = w.Write([]byte(`{"Code":200,"Data":{"Files":[]},"Success":true}`))
				return
			}
			_, _ = w.Write(l.body)
		})
		l.body = body
		c := msclient.NewClient(msclient.WithEndpoint(l.srv.URL), msclient.WithHTTPClient(l.client()), msclient.WithToken("ms-fuzz-secret-token"))
		h := NewMSHub(c)
		repo := Repo{Hub: ModelScope, Type: hubkit.Model, ID: "alice/bert"}
		if dataset {
			repo.Type = hubkit.Dataset
		}
		files, err := h.List(context.Background(), repo, "")
		require.Empty(t, l.tr.foreign)
		require.LessOrEqual(t, len(l.paths), 10, "requests: %q", l.paths)
		if err != nil {
			require.NotContains(t, err.Error(), "ms-fuzz-secret-token")
			return
		}
		require.False(t, successFalse(body), "a Success:false envelope was accepted: %s", body)
		requireListingSafe(t, ModelScope, repo, files)
	})
}

// successFalse reports whether body is a JSON object whose last "success" member (matched without
// regard to case, as encoding/json does) is false: an envelope any client must treat as a failure.
func successFalse(body []byte) bool {
	if !json.Valid(body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
		if strings.EqualFold(key, "success") {
			found = string(bytes.TrimSpace(v)) == "false"
		}
	}
	return found
}
