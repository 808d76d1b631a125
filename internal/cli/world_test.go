package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/testworld"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Recognisable fake tokens: the leak checks look for them (and for their distinctive cores)
// everywhere a user or a log could see them.
const (
	hfTok       = testworld.HFToken
	msTok       = testworld.MSToken
	modalID     = "ak-MODAL_SECRET_id_cli_0123456789"
	modalSecret = "as-MODAL_SECRET_secret_cli_0123456789"
	// wrong tokens, as recognisable as the right ones
	hfWrong = "hf_FAKE-secret-wrong-token-for-cli"
	msWrong = "ms-SECRETwrongTOKEN-cli-0123456789-abcd"
)

// secretNeedles are the strings no output may contain.
var secretNeedles = []string{hfTok, msTok, modalID, modalSecret, hfWrong, msWrong,
	"FAKE-testworld", "FAKEtestworld", "SECRETwrongTOKEN", "MODAL_SECRET"}

// closedURL is a loopback URL nothing listens on (set up by TestMain).
var closedURL string

// TestMain points every way the program could reach a real service at a closed loopback port,
// so no test can leave the machine even if it forgot an endpoint: the Modal SDK reads only the
// process environment (MODAL_SERVER_URL, MODAL_CONFIG_PATH, HOME), and the hub clients fall
// back to HF_ENDPOINT / MODELSCOPE_ENDPOINT. Tests configure the program through App.Lookup.
func TestMain(m *testing.M) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	closedURL = "http://" + l.Addr().String()
	l.Close()
	tmp, err := os.MkdirTemp("", "hf2ms-cli-test")
	if err != nil {
		panic(err)
	}
	for k, v := range map[string]string{
		"MODAL_SERVER_URL":    closedURL,
		"MODAL_CONFIG_PATH":   filepath.Join(tmp, "no-modal.toml"),
		"HF_ENDPOINT":         closedURL,
		"MODELSCOPE_ENDPOINT": closedURL,
	} {
		os.Setenv(k, v)
	}
	for _, k := range []string{"MODAL_TOKEN_ID", "MODAL_TOKEN_SECRET", "MODAL_PROFILE", "HF_TOKEN", "MODELSCOPE_TOKEN", "MODELSCOPE_DOMAIN"} {
		os.Unsetenv(k)
	}
	binDir = tmp
	code := m.Run()
	os.RemoveAll(tmp)
	os.Exit(code)
}

var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

// hf2msBinary builds ./cmd/hf2ms once per test binary.
func hf2msBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			goBin = "/usr/local/go/bin/go"
		}
		binPath = filepath.Join(binDir, "hf2ms")
		out, err := exec.Command(goBin, "build", "-o", binPath, "github.com/linaqruf/hf2ms/cmd/hf2ms").CombinedOutput()
		if err != nil {
			binError = fmt.Errorf("go build: %w\n%s", err, out)
		}
	})
	require.NoError(t, binError)
	return binPath
}

// recorder is a reverse proxy in front of one fake hub: it records every request and flags any
// that carries a credential of another service (the fakes only see their own tokens).
type recorder struct {
	srv     *httptest.Server
	own     string
	foreign []string

	mu       sync.Mutex
	requests int
	ownSeen  int
	leaks    []string
}

func newRecorder(t *testing.T, target, own string, foreign ...string) *recorder {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	r := &recorder{own: own, foreign: foreign}
	proxy := httputil.NewSingleHostReverseProxy(u)
	r.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.observe(req)
		proxy.ServeHTTP(w, req)
	}))
	r.srv.Start()
	t.Cleanup(r.srv.Close)
	// The fakes hand out absolute URLs of their own host (LFS actions, redirects); point those at
	// the proxy too, so every request to the hub passes the recorder. CDN URLs stay as they are.
	self := r.srv.URL
	proxy.ModifyResponse = func(resp *http.Response) error {
		if loc := resp.Header.Get("Location"); strings.HasPrefix(loc, target) {
			resp.Header.Set("Location", self+strings.TrimPrefix(loc, target))
		}
		ct := resp.Header.Get("Content-Type")
		if resp.Header.Get("Content-Encoding") != "" || !(strings.Contains(ct, "json") || strings.HasPrefix(ct, "text/")) {
			return nil
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		b = bytes.ReplaceAll(b, []byte(target), []byte(self))
		resp.Body = io.NopCloser(bytes.NewReader(b))
		resp.ContentLength = int64(len(b))
		resp.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	return r
}

func (r *recorder) observe(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	var all strings.Builder
	all.WriteString(req.URL.String())
	for k, vs := range req.Header {
		for _, v := range vs {
			fmt.Fprintf(&all, "\n%s: %s", k, v)
		}
	}
	s := all.String()
	if r.own != "" && strings.Contains(s, r.own) {
		r.ownSeen++
	}
	for _, f := range r.foreign {
		if strings.Contains(s, f) {
			r.leaks = append(r.leaks, req.Method+" "+req.URL.Path)
		}
	}
}

func (r *recorder) Leaks() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.leaks...)
}

func (r *recorder) OwnSeen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ownSeen
}

// world is the shared test world (internal/testworld) with each fake behind a recording proxy.
type world struct {
	*testworld.World
	hfRec, msRec *recorder
}

func newWorld(t *testing.T, opts ...testworld.Option) *world {
	t.Helper()
	w := &world{World: testworld.New(t, opts...)}
	w.hfRec = newRecorder(t, w.HF.URL(), hfTok, msTok, msWrong, modalID, modalSecret)
	w.msRec = newRecorder(t, w.MS.URL(), msTok, hfTok, hfWrong, modalID, modalSecret)
	return w
}

// seedHF seeds hf:<id> (testworld.SeedModel) with n weight files.
func (w *world) seedHF(t *testing.T, id string, n int) {
	w.SeedModel(t, migrate.Repo{Hub: migrate.HuggingFace, Type: hubkit.Model, ID: id}, n)
}

// seedMS seeds ms:<id> (testworld.SeedModel) with n weight files.
func (w *world) seedMS(t *testing.T, id string, n int) {
	w.SeedModel(t, migrate.Repo{Hub: migrate.ModelScope, Type: hubkit.Model, ID: id}, n)
}

// env is the environment a run sees: both endpoints (through the recorders) and both tokens.
func (w *world) env() map[string]string {
	return map[string]string{
		app.EnvHFEndpoint: w.hfRec.srv.URL,
		app.EnvMSEndpoint: w.msRec.srv.URL,
		app.EnvHFToken:    hfTok,
		app.EnvMSToken:    msTok,
	}
}

// assertNoLeaks checks what the fakes and the recorders saw: no credential reached a CDN, and
// no token reached another service's host.
func (w *world) assertNoLeaks(t *testing.T) {
	t.Helper()
	require.Empty(t, w.hfRec.Leaks(), "another service's token reached the Hugging Face hub")
	require.Empty(t, w.msRec.Leaks(), "another service's token reached ModelScope")
}

// run is one invocation's setup.
type run struct {
	env    map[string]string
	stdin  string
	dotenv string
	exe    string
	hook   func(string)
	ctx    context.Context
}

// result is what one invocation left.
type result struct {
	code           int
	stdout, stderr string
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// exec runs the program in-process with args.
func (r run) exec(t *testing.T, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	env := r.env
	a := &App{
		Stdin:  strings.NewReader(r.stdin),
		Stdout: &out,
		Stderr: &errb,
		Lookup: func(k string) (string, bool) {
			v, ok := env[k]
			return v, ok
		},
		DotEnv:     r.dotenv,
		Executable: r.exe,
		testHook:   r.hook,
	}
	ctx := r.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	code := a.Run(ctx, args)
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// requireNoSecret fails when any recognisable token (or its core) appears in texts.
func requireNoSecret(t *testing.T, what string, texts ...string) {
	t.Helper()
	for i, s := range texts {
		for j, n := range secretNeedles {
			if strings.Contains(s, n) {
				// never print the text itself: it holds the token
				t.Fatalf("a token (needle %d) leaked into %s (text %d, at byte %d)", j, what, i, strings.Index(s, n))
			}
		}
	}
}
