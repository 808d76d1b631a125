// Package modaltest is a fake Modal control plane for tests: an in-process gRPC server that
// speaks the (non-public) API of the Modal Go SDK pinned in go.mod (v0.11.1, V2 sandboxes) and
// runs each sandbox as a local subprocess.
//
// A sandbox runs what a container of its image would: the image's ENTRYPOINT followed by the
// sandbox's Command (Modal appends the Command; it does not replace the ENTRYPOINT), or followed
// by the image's CMD when there is no Command. Registry images get their ENTRYPOINT and CMD from
// WithImageConfig (ReadDockerfile reads them from a Dockerfile); layers built with the SDK's
// DockerfileCommands may set ENTRYPOINT and CMD. WithCapacity makes creates beyond a number of
// live sandboxes answer ResourceExhausted.
//
// One plaintext port serves both the control plane (modal.client.ModalClient) and the task
// command router (modal.task_command_router.TaskCommandRouter), as the SDK expects when
// MODAL_SERVER_URL points at 127.0.0.1. It implements: AuthTokenGet, AppGetOrCreate,
// EnvironmentGetOrCreate, ImageGetOrCreate, SecretGetOrCreate, SandboxCreateV2, SandboxWaitV2,
// SandboxTerminateV2, SandboxGetTaskIdV2, SandboxGetCommandRouterAccess, SandboxListV2,
// SandboxGetFromNameV2 (and the V1 SandboxGetFromName fallback), SandboxTagsGetV2/SetV2, and on
// the router SandboxStdioReadV2. It is strict where the SDK's behaviour is known: credentials
// and auth tokens on every call, the router JWT, App and Image ids, sandbox names (64 chars of
// [A-Za-z0-9._-], unique among the App's live sandboxes), a 24 h timeout cap, env var names.
// Everything else answers Unimplemented, so a new RPC in the SDK shows up as a failing test.
package modaltest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	pb "github.com/modal-labs/modal-client/go/proto/modal_proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/linaqruf/hf2ms/pkg/modal/internal/proc"
)

// Fake credentials the server accepts unless WithTokens says otherwise.
const (
	TokenID     = "ak-fake-token-id"
	TokenSecret = "as-fake-token-secret"
)

// MaxTimeoutSecs is Modal's sandbox lifetime cap; the fake rejects longer timeouts.
const MaxTimeoutSecs = 24 * 60 * 60

var (
	nameRe   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	envKeyRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Option configures a Server.
type Option func(*Server)

// WithProgram runs the local binary path (with extra arguments before the sandbox's own) when
// the program a sandbox runs (the image's ENTRYPOINT, else the Command, else CMD) is name or has
// base name name. A sandbox whose program is unknown ends at once with exit code 127, like a
// container whose command is missing.
func WithProgram(name, path string, args ...string) Option {
	return func(s *Server) { s.programs[name] = program{path: path, args: args} }
}

// WithImageEnv sets environment every sandbox starts with (the image's ENV).
func WithImageEnv(env map[string]string) Option {
	return func(s *Server) { maps.Copy(s.imageEnv, env) }
}

// WithImageConfig sets the ENTRYPOINT and CMD of every registry image the fake pulls (read
// them from the project's Dockerfile with ReadDockerfile). Sandboxes run ENTRYPOINT + Command,
// or ENTRYPOINT + CMD when they have no Command. The default is an image with neither.
func WithImageConfig(cfg ImageConfig) Option {
	return func(s *Server) { s.imageConfig = cfg }
}

// WithCapacity lets at most n sandboxes run at once; a create beyond answers
// ResourceExhausted, as Modal does when it cannot schedule a sandbox. Negative means no limit
// (the default); SetCapacity changes it while the server runs.
func WithCapacity(n int) Option { return func(s *Server) { s.capacity = n } }

// SetCapacity changes the WithCapacity limit.
func (s *Server) SetCapacity(n int) {
	s.mu.Lock()
	s.capacity = n
	s.mu.Unlock()
}

// Exhausted is how many creates were refused for lack of capacity.
func (s *Server) Exhausted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exhausted
}

// liveCount is how many sandboxes run now (s.mu held).
func (s *Server) liveCount() int {
	n := 0
	for _, sb := range s.sandboxes {
		if sb.live() {
			n++
		}
	}
	return n
}

// WithSecret stores a named Secret (created with the modal CLI, in real life).
func WithSecret(name string, kv map[string]string) Option {
	return func(s *Server) { s.named[name] = maps.Clone(kv) }
}

// WithImages restricts the registry tags that "pull"; any other tag fails to build.
func WithImages(tags ...string) Option {
	return func(s *Server) { s.allowed = append(s.allowed, tags...) }
}

// WithTokens sets the credentials the server accepts.
func WithTokens(id, secret string) Option {
	return func(s *Server) { s.tokenID, s.tokenSecret = id, secret }
}

// WithListPageSize sets how many sandboxes one SandboxListV2 page holds (default 2, to make
// the SDK page).
func WithListPageSize(n int) Option { return func(s *Server) { s.pageSize = n } }

// WithoutFinishedOutput makes a finished sandbox's stdout unreadable (FailedPrecondition), to
// test clients against Modal's limited output retention.
func WithoutFinishedOutput() Option { return func(s *Server) { s.dropFinished = true } }

type program struct {
	path string
	args []string
}

// Server is the fake control plane.
type Server struct {
	// URL is the value for MODAL_SERVER_URL (http://127.0.0.1:PORT).
	URL string

	lis  net.Listener
	srv  *grpc.Server
	home string

	tokenID, tokenSecret string
	authToken            string
	programs             map[string]program
	imageEnv             map[string]string
	named                map[string]map[string]string
	allowed              []string
	pageSize             int
	dropFinished         bool
	imageConfig          ImageConfig
	capacity             int

	mu        sync.Mutex
	seq       int
	apps      map[string]string // env/name -> app id
	appNames  map[string]string // app id -> env/name
	images    map[string]*image // image id -> image
	imageIDs  map[string]string // base and commands -> image id
	exhausted int
	secrets   map[string]map[string]string
	sandboxes []*sandbox
	byID      map[string]*sandbox
	byTask    map[string]*sandbox
	calls     map[string]int
}

// image is a built image: the registry tag it started from and what its containers run.
type image struct {
	tag string
	cfg ImageConfig
}

type sandbox struct {
	id, taskID, appID, name, image, jwt string
	command                             []string // the sandbox's Command, as the client sent it
	argv                                []string // what the container ran: ENTRYPOINT + Command
	env                                 map[string]string
	tags                                map[string]string
	created                             float64
	timeoutSecs                         uint32
	milliCPU, memoryMB                  uint32
	proc                                *proc.Process // nil when the program was missing
}

// Start starts a server on 127.0.0.1.
func Start(opts ...Option) (*Server, error) {
	s := &Server{
		tokenID:     TokenID,
		tokenSecret: TokenSecret,
		programs:    map[string]program{},
		imageEnv:    map[string]string{},
		named:       map[string]map[string]string{},
		pageSize:    2,
		capacity:    -1,
		apps:        map[string]string{},
		appNames:    map[string]string{},
		images:      map[string]*image{},
		imageIDs:    map[string]string{},
		secrets:     map[string]map[string]string{},
		byID:        map[string]*sandbox{},
		byTask:      map[string]*sandbox{},
		calls:       map[string]int{},
	}
	for _, o := range opts {
		o(s)
	}
	home, err := os.MkdirTemp("", "modaltest-")
	if err != nil {
		return nil, err
	}
	s.home = home
	s.authToken = fakeJWT(map[string]any{"sub": "fake-user"})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.lis = lis
	s.URL = "http://" + lis.Addr().String()
	s.srv = grpc.NewServer(
		grpc.ChainUnaryInterceptor(s.unaryAuth),
		grpc.ChainStreamInterceptor(s.streamAuth),
	)
	pb.RegisterModalClientServer(s.srv, &control{s: s})
	pb.RegisterTaskCommandRouterServer(s.srv, &router{s: s})
	go func() { _ = s.srv.Serve(lis) }()
	return s, nil
}

// New starts a server for test t, points the SDK at it through the environment (MODAL_SERVER_URL,
// MODAL_TOKEN_ID/SECRET, MODAL_CONFIG_PATH to a missing file; t.Setenv, so the test cannot be
// parallel) and stops it when the test ends, terminating every sandbox still running.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("modaltest: %v", err)
	}
	t.Cleanup(s.Close)
	for k, v := range s.Env() {
		t.Setenv(k, v)
	}
	return s
}

// Env is the environment that points the Modal SDK at this server.
func (s *Server) Env() map[string]string {
	return map[string]string{
		"MODAL_SERVER_URL":            s.URL,
		"MODAL_TOKEN_ID":              s.tokenID,
		"MODAL_TOKEN_SECRET":          s.tokenSecret,
		"MODAL_CONFIG_PATH":           filepath.Join(s.home, "missing.modal.toml"),
		"MODAL_PROFILE":               "",
		"MODAL_ENVIRONMENT":           "",
		"MODAL_SANDBOX_V2":            "",
		"MODAL_LOGLEVEL":              "",
		"MODAL_IMAGE_BUILDER_VERSION": "",
	}
}

// Close terminates every running sandbox and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	boxes := slices.Clone(s.sandboxes)
	s.mu.Unlock()
	for _, sb := range boxes {
		if sb.proc != nil {
			sb.proc.Terminate()
			<-sb.proc.Done()
		}
	}
	s.srv.Stop()
	_ = os.RemoveAll(s.home)
}

// Calls returns how often each RPC (by method name) was called.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

// SandboxInfo describes a sandbox the fake created.
type SandboxInfo struct {
	ID, Name, Image string
	// Command is the sandbox's Command as the client sent it.
	Command []string
	// Argv is what the container ran: the image's ENTRYPOINT followed by Command (or CMD).
	Argv []string
	// Env is the sandbox's environment from its secret sources (not the image's).
	Env         map[string]string
	Tags        map[string]string
	TimeoutSecs uint32
	MilliCPU    uint32
	MemoryMB    uint32
	Running     bool
	ExitCode    int // when finished: 124 timeout, 137 terminated
}

// Sandboxes lists every sandbox created so far, oldest first.
func (s *Server) Sandboxes() []SandboxInfo {
	s.mu.Lock()
	boxes := slices.Clone(s.sandboxes)
	s.mu.Unlock()
	out := make([]SandboxInfo, 0, len(boxes))
	for _, sb := range boxes {
		info := SandboxInfo{
			ID: sb.id, Name: sb.name, Image: sb.image, Command: slices.Clone(sb.command),
			Argv: slices.Clone(sb.argv),
			Env:  maps.Clone(sb.env), Tags: maps.Clone(sb.tags), TimeoutSecs: sb.timeoutSecs,
			MilliCPU: sb.milliCPU, MemoryMB: sb.memoryMB,
		}
		res, done := sb.result()
		info.Running = !done
		info.ExitCode = res.Code
		out = append(out, info)
	}
	return out
}

func (sb *sandbox) result() (proc.Result, bool) {
	if sb.proc == nil {
		return proc.Result{Status: proc.Exited, Code: 127}, true
	}
	return sb.proc.Result()
}

func (sb *sandbox) live() bool {
	_, done := sb.result()
	return !done
}

func (s *Server) count(method string) {
	s.mu.Lock()
	s.calls[method[strings.LastIndex(method, "/")+1:]]++
	s.mu.Unlock()
}

const controlPrefix = "/modal.client.ModalClient/"

func (s *Server) checkCreds(ctx context.Context, method string, unary bool) error {
	md, _ := metadata.FromIncomingContext(ctx)
	get := func(k string) string {
		if v := md.Get(k); len(v) > 0 {
			return v[0]
		}
		return ""
	}
	if get("x-modal-token-id") != s.tokenID || get("x-modal-token-secret") != s.tokenSecret {
		return status.Error(codes.Unauthenticated, "invalid Modal token")
	}
	if unary && method != controlPrefix+"AuthTokenGet" && get("x-modal-auth-token") != s.authToken {
		return status.Error(codes.Unauthenticated, "missing or stale auth token")
	}
	return nil
}

func (s *Server) unaryAuth(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	s.count(info.FullMethod)
	if strings.HasPrefix(info.FullMethod, controlPrefix) {
		if err := s.checkCreds(ctx, info.FullMethod, true); err != nil {
			return nil, err
		}
	}
	return handler(ctx, req)
}

func (s *Server) streamAuth(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	s.count(info.FullMethod)
	if strings.HasPrefix(info.FullMethod, controlPrefix) {
		if err := s.checkCreds(ss.Context(), info.FullMethod, false); err != nil {
			return err
		}
	}
	return handler(srv, ss)
}

// fakeJWT returns an unsigned three-part JWT with claims and an expiry a day ahead.
func fakeJWT(claims map[string]any) string {
	claims = maps.Clone(claims)
	claims["exp"] = time.Now().Add(24 * time.Hour).Unix()
	head, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
	body, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(head) + "." + enc(body) + ".fake"
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s-%06d", prefix, s.seq)
}

func (s *Server) routerURL() string { return "https://" + s.lis.Addr().String() }

// program resolves argv[0] to a local program.
func (s *Server) program(argv0 string) (program, bool) {
	if p, ok := s.programs[argv0]; ok {
		return p, true
	}
	p, ok := s.programs[filepath.Base(argv0)]
	return p, ok
}

// sortedEnv renders env as KEY=VALUE lines in a stable order.
func sortedEnv(m map[string]string) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Strings(keys)
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		out = append(out, k+"="+m[k])
	}
	return out
}
