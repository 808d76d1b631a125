package modaltest

import (
	"context"
	"maps"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	pb "github.com/modal-labs/modal-client/go/proto/modal_proto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/linaqruf/hf2ms/pkg/modal/internal/proc"
)

// control implements the control-plane RPCs the SDK's sandbox path uses.
type control struct {
	pb.UnimplementedModalClientServer
	s *Server
}

func (c *control) AuthTokenGet(ctx context.Context, _ *pb.AuthTokenGetRequest) (*pb.AuthTokenGetResponse, error) {
	return pb.AuthTokenGetResponse_builder{Token: c.s.authToken}.Build(), nil
}

func (c *control) ClientHello(ctx context.Context, _ *emptypb.Empty) (*pb.ClientHelloResponse, error) {
	return pb.ClientHelloResponse_builder{}.Build(), nil
}

func (c *control) AppGetOrCreate(ctx context.Context, req *pb.AppGetOrCreateRequest) (*pb.AppGetOrCreateResponse, error) {
	if !nameRe.MatchString(req.GetAppName()) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid App name %q", req.GetAppName())
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	key := req.GetEnvironmentName() + "/" + req.GetAppName()
	id, ok := s.apps[key]
	if !ok {
		if req.GetObjectCreationType() != pb.ObjectCreationType_OBJECT_CREATION_TYPE_CREATE_IF_MISSING {
			return nil, status.Errorf(codes.NotFound, "App '%s' not found", req.GetAppName())
		}
		id = s.nextID("ap")
		s.apps[key], s.appNames[id] = id, key
	}
	return pb.AppGetOrCreateResponse_builder{AppId: id}.Build(), nil
}

func (c *control) EnvironmentGetOrCreate(ctx context.Context, req *pb.EnvironmentGetOrCreateRequest) (*pb.EnvironmentGetOrCreateResponse, error) {
	name := req.GetDeploymentName()
	if name == "" {
		name = "main"
	}
	return pb.EnvironmentGetOrCreateResponse_builder{
		EnvironmentId: "en-" + name,
		Metadata: pb.EnvironmentMetadata_builder{
			Name:     name,
			Settings: pb.EnvironmentSettings_builder{ImageBuilderVersion: "2025.06"}.Build(),
		}.Build(),
	}.Build(), nil
}

// ImageGetOrCreate builds an image: a registry pull ("FROM <tag>", taking the configuration set
// with WithImageConfig) or a layer on an image built before ("FROM base", the SDK's
// DockerfileCommands), whose commands may only be ENTRYPOINT and CMD (the ones that change
// what a sandbox runs).
func (c *control) ImageGetOrCreate(ctx context.Context, req *pb.ImageGetOrCreateRequest) (*pb.ImageGetOrCreateResponse, error) {
	s := c.s
	cmds := req.GetImage().GetDockerfileCommands()
	if len(cmds) == 0 || !strings.HasPrefix(cmds[0], "FROM ") {
		return nil, status.Error(codes.InvalidArgument, "image needs a FROM command")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.appNames[req.GetAppId()]; !ok {
		return nil, status.Errorf(codes.NotFound, "App %s not found", req.GetAppId())
	}
	from := strings.TrimPrefix(cmds[0], "FROM ")
	var img image
	key := from
	if base := baseImage(req.GetImage().GetBaseImages(), from); base != "" {
		parent, ok := s.images[base]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "base image %s not found", base)
		}
		img, key = *parent, base
	} else {
		img = image{tag: from, cfg: s.imageConfig}
	}
	for _, cmd := range cmds[1:] {
		word, rest, _ := strings.Cut(strings.TrimSpace(cmd), " ")
		switch strings.ToUpper(word) {
		case "ENTRYPOINT", "CMD":
			argv, err := parseCommandForm(strings.TrimSpace(rest))
			if err != nil {
				return nil, status.Errorf(codes.InvalidArgument, "%s: %v", cmd, err)
			}
			if strings.EqualFold(word, "ENTRYPOINT") {
				img.cfg = ImageConfig{Entrypoint: argv} // Docker: a new ENTRYPOINT resets CMD
			} else {
				img.cfg.Cmd = argv
			}
		default:
			return nil, status.Errorf(codes.Unimplemented, "modaltest: image command %q", cmd)
		}
	}
	key += "\n" + strings.Join(cmds[1:], "\n")
	id, ok := s.imageIDs[key]
	if !ok {
		id = s.nextID("im")
		s.imageIDs[key], s.images[id] = id, &img
	}
	result := pb.GenericResult_builder{Status: pb.GenericResult_GENERIC_STATUS_SUCCESS}.Build()
	if len(s.allowed) > 0 && !slices.Contains(s.allowed, img.tag) {
		result = pb.GenericResult_builder{
			Status:    pb.GenericResult_GENERIC_STATUS_FAILURE,
			Exception: "pull access denied for " + img.tag,
		}.Build()
	}
	return pb.ImageGetOrCreateResponse_builder{ImageId: id, Result: result}.Build(), nil
}

// baseImage is the id of the image that "FROM name" refers to, when the request names it
// among its base images.
func baseImage(bases []*pb.BaseImage, name string) string {
	for _, b := range bases {
		if b.GetDockerTag() == name {
			return b.GetImageId()
		}
	}
	return ""
}

func (c *control) SecretGetOrCreate(ctx context.Context, req *pb.SecretGetOrCreateRequest) (*pb.SecretGetOrCreateResponse, error) {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	var kv map[string]string
	if name := req.GetDeploymentName(); name != "" {
		named, ok := s.named[name]
		if !ok {
			return nil, status.Errorf(codes.NotFound, "Secret '%s' not found", name)
		}
		for _, k := range req.GetRequiredKeys() {
			if _, ok := named[k]; !ok {
				return nil, status.Errorf(codes.NotFound, "Secret '%s' is missing key %s", name, k)
			}
		}
		kv = named
	} else {
		if req.GetObjectCreationType() != pb.ObjectCreationType_OBJECT_CREATION_TYPE_EPHEMERAL {
			return nil, status.Error(codes.InvalidArgument, "secret without a name must be ephemeral")
		}
		kv = req.GetEnvDict()
	}
	id := s.nextID("st")
	s.secrets[id] = maps.Clone(kv)
	return pb.SecretGetOrCreateResponse_builder{SecretId: id}.Build(), nil
}

func (c *control) SandboxCreateV2(ctx context.Context, req *pb.SandboxCreateV2Request) (*pb.SandboxCreateV2Response, error) {
	s := c.s
	def := req.GetDefinition()
	if def == nil {
		return nil, status.Error(codes.InvalidArgument, "missing sandbox definition")
	}
	command := def.GetEntrypointArgs()
	if def.GetTimeoutSecs() == 0 || def.GetTimeoutSecs() > MaxTimeoutSecs {
		return nil, status.Errorf(codes.InvalidArgument, "timeout %ds: must be 1-%d", def.GetTimeoutSecs(), MaxTimeoutSecs)
	}
	name := def.GetName()
	if name != "" && !nameRe.MatchString(name) {
		return nil, status.Errorf(codes.InvalidArgument, "invalid sandbox name %q", name)
	}
	tags := map[string]string{}
	for _, t := range req.GetTags() {
		tags[t.GetTagName()] = t.GetTagValue()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.appNames[req.GetAppId()]; !ok {
		return nil, status.Errorf(codes.NotFound, "App %s not found", req.GetAppId())
	}
	img, ok := s.images[def.GetImageId()]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "Image %s not found", def.GetImageId())
	}
	argv := img.cfg.argv(command)
	if len(argv) == 0 {
		return nil, status.Error(codes.Unimplemented, "modaltest: a sandbox with no Command on an image with no ENTRYPOINT or CMD (it would sleep until its timeout)")
	}
	env, err := s.sandboxEnv(req.GetSecretSources())
	if err != nil {
		return nil, err
	}
	if name != "" {
		for _, other := range s.sandboxes {
			if other.appID == req.GetAppId() && other.name == name && other.live() {
				return nil, status.Errorf(codes.AlreadyExists, "Sandbox with name '%s' already exists", name)
			}
		}
	}
	if s.capacity >= 0 && s.liveCount() >= s.capacity {
		s.exhausted++
		// How the V2 create reports missing capacity is not documented. The SDK's V1 path
		// turns a sandbox that cannot be scheduled into ResourceExhaustedError{"Insufficient
		// capacity to create sandbox."} (modal-client go/sandbox.go, waitForScheduling); the
		// fake answers the matching gRPC code, which the V2 create passes on unchanged.
		return nil, status.Error(codes.ResourceExhausted, "Insufficient capacity to create sandbox.")
	}
	sb := &sandbox{
		id:          s.nextID("sb2"),
		taskID:      s.nextID("ta"),
		appID:       req.GetAppId(),
		name:        name,
		image:       img.tag,
		command:     slices.Clone(command),
		argv:        argv,
		env:         env,
		tags:        tags,
		created:     float64(time.Now().UnixNano())/1e9 + float64(s.seq)*1e-6,
		timeoutSecs: def.GetTimeoutSecs(),
		milliCPU:    def.GetResources().GetMilliCpu(),
		memoryMB:    def.GetResources().GetMemoryMb(),
	}
	sb.jwt = fakeJWT(map[string]any{"task_id": sb.taskID})
	if err := s.run(sb); err != nil {
		return nil, err
	}
	s.sandboxes = append(s.sandboxes, sb)
	s.byID[sb.id], s.byTask[sb.taskID] = sb, sb
	return pb.SandboxCreateV2Response_builder{
		SandboxId: sb.id,
		TaskId:    sb.taskID,
		CommandRouterAccess: pb.CommandRouterAccess_builder{
			Jwt: sb.jwt,
			Url: s.routerURL(),
		}.Build(),
	}.Build(), nil
}

// sandboxEnv is a sandbox's environment from its secret sources, in order (s.mu held).
func (s *Server) sandboxEnv(sources []*pb.SecretSource) (map[string]string, error) {
	env := map[string]string{}
	for _, src := range sources {
		kv := src.GetEnv().GetContents()
		if src.HasSecretId() {
			var ok bool
			if kv, ok = s.secrets[src.GetSecretId()]; !ok {
				return nil, status.Errorf(codes.NotFound, "Secret %s not found", src.GetSecretId())
			}
		}
		for k, v := range kv {
			if !envKeyRe.MatchString(k) {
				return nil, status.Errorf(codes.InvalidArgument, "invalid environment variable name %q", k)
			}
			env[k] = v
		}
	}
	return env, nil
}

// run starts sb's argv as a local process when argv[0] is a known program; otherwise sb ends
// at once with exit code 127.
func (s *Server) run(sb *sandbox) error {
	p, ok := s.program(sb.argv[0])
	if !ok {
		return nil
	}
	full := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
		"HOME": filepath.Join(s.home, sb.id),
	}
	maps.Copy(full, s.imageEnv)
	maps.Copy(full, sb.env)
	full["MODAL_TASK_ID"], full["MODAL_SANDBOX_ID"] = sb.taskID, sb.id
	args := append(slices.Clone(p.args), sb.argv[1:]...)
	pr, err := proc.Start(p.path, args, sortedEnv(full), time.Duration(sb.timeoutSecs)*time.Second)
	if err != nil {
		return status.Errorf(codes.Internal, "modaltest: %v", err)
	}
	sb.proc = pr
	return nil
}

func (s *Server) sandbox(id string) (sb *sandbox, err error) {
	err = s.withSandbox(id, func(found *sandbox) { sb = found })
	return sb, err
}

// withSandbox runs f on the sandbox with the given ID while holding the server's lock, which
// also guards the sandbox's tags; a missing sandbox is NotFound, as on Modal.
func (s *Server) withSandbox(id string, f func(*sandbox)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sb, ok := s.byID[id]
	if !ok {
		return status.Errorf(codes.NotFound, "Sandbox %s not found", id)
	}
	f(sb)
	return nil
}

func genericResult(r proc.Result) *pb.GenericResult {
	b := pb.GenericResult_builder{Exitcode: int32(r.Code)}
	switch {
	case r.Status == proc.Terminated:
		b.Status = pb.GenericResult_GENERIC_STATUS_TERMINATED
	case r.Status == proc.TimedOut:
		b.Status = pb.GenericResult_GENERIC_STATUS_TIMEOUT
	case r.Code == 0:
		b.Status = pb.GenericResult_GENERIC_STATUS_SUCCESS
	default:
		b.Status = pb.GenericResult_GENERIC_STATUS_FAILURE
		b.Exception = "process exited with a non-zero code"
	}
	return b.Build()
}

// sandboxResult looks up a sandbox and its result, nil while it still runs.
func (c *control) sandboxResult(id string) (*sandbox, *pb.GenericResult, error) {
	sb, err := c.s.sandbox(id)
	if err != nil {
		return nil, nil, err
	}
	if r, done := sb.result(); done {
		return sb, genericResult(r), nil
	}
	return sb, nil, nil
}

func (c *control) SandboxWaitV2(ctx context.Context, req *pb.SandboxWaitRequest) (*pb.SandboxWaitResponse, error) {
	sb, res, err := c.sandboxResult(req.GetSandboxId())
	if err != nil {
		return nil, err
	}
	if res != nil {
		return pb.SandboxWaitResponse_builder{Result: res}.Build(), nil
	}
	timeout := time.Duration(float64(req.GetTimeout()) * float64(time.Second))
	select {
	case <-sb.proc.Done():
		r, _ := sb.result()
		return pb.SandboxWaitResponse_builder{Result: genericResult(r)}.Build(), nil
	case <-time.After(timeout):
		return pb.SandboxWaitResponse_builder{}.Build(), nil
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
}

func (c *control) SandboxTerminateV2(ctx context.Context, req *pb.SandboxTerminateRequest) (*pb.SandboxTerminateResponse, error) {
	sb, res, err := c.sandboxResult(req.GetSandboxId())
	if err != nil {
		return nil, err
	}
	// A sandbox that had already finished is answered with its result; one that was still
	// running is terminated and answered without one.
	if res == nil {
		sb.proc.Terminate()
		select {
		case <-sb.proc.Done():
		case <-ctx.Done():
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
	return pb.SandboxTerminateResponse_builder{ExistingResult: res}.Build(), nil
}

func (c *control) SandboxGetTaskIdV2(ctx context.Context, req *pb.SandboxGetTaskIdRequest) (*pb.SandboxGetTaskIdResponse, error) {
	sb, res, err := c.sandboxResult(req.GetSandboxId())
	if err != nil {
		return nil, err
	}
	return pb.SandboxGetTaskIdResponse_builder{TaskId: &sb.taskID, TaskResult: res}.Build(), nil
}

func (c *control) SandboxGetCommandRouterAccess(ctx context.Context, req *pb.SandboxGetCommandRouterAccessRequest) (*pb.SandboxGetCommandRouterAccessResponse, error) {
	sb, err := c.s.sandbox(req.GetSandboxId())
	if err != nil {
		return nil, err
	}
	return pb.SandboxGetCommandRouterAccessResponse_builder{Jwt: sb.jwt, Url: c.s.routerURL()}.Build(), nil
}

func (c *control) SandboxListV2(ctx context.Context, req *pb.SandboxListRequest) (*pb.SandboxListResponse, error) {
	s := c.s
	if req.GetAppId() == "" {
		return nil, status.Error(codes.InvalidArgument, "modaltest: list needs an app_id")
	}
	want := map[string]string{}
	for _, t := range req.GetTags() {
		want[t.GetTagName()] = t.GetTagValue()
	}
	s.mu.Lock()
	var match []*sandbox
	for _, sb := range s.sandboxes {
		if sb.appID != req.GetAppId() || (!req.GetIncludeFinished() && !sb.live()) {
			continue
		}
		if before := req.GetBeforeTimestamp(); before > 0 && sb.created >= before {
			continue
		}
		ok := true
		for k, v := range want {
			if sb.tags[k] != v {
				ok = false
			}
		}
		if ok {
			match = append(match, sb)
		}
	}
	s.mu.Unlock()
	sort.Slice(match, func(i, j int) bool { return match[i].created > match[j].created })
	if len(match) > s.pageSize {
		match = match[:s.pageSize]
	}
	infos := make([]*pb.SandboxInfo, len(match))
	for i, sb := range match {
		infos[i] = pb.SandboxInfo_builder{Id: sb.id, CreatedAt: sb.created, AppId: sb.appID, Name: sb.name}.Build()
	}
	return pb.SandboxListResponse_builder{Sandboxes: infos}.Build(), nil
}

func (s *Server) fromName(appName, env, name string, includeTerminated bool) (*sandbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	appID, ok := s.apps[env+"/"+appName]
	if !ok {
		return nil, status.Errorf(codes.NotFound, "App '%s' not found", appName)
	}
	var latest *sandbox
	for _, sb := range s.sandboxes {
		if sb.appID != appID || sb.name != name {
			continue
		}
		if sb.live() {
			return sb, nil
		}
		latest = sb
	}
	if latest != nil && includeTerminated {
		return latest, nil
	}
	return nil, status.Errorf(codes.NotFound, "Sandbox with name '%s' not found", name)
}

func (c *control) SandboxGetFromNameV2(ctx context.Context, req *pb.SandboxGetFromNameRequest) (*pb.SandboxGetFromNameResponse, error) {
	sb, err := c.s.fromName(req.GetAppName(), req.GetEnvironmentName(), req.GetSandboxName(), req.GetIncludeTerminated())
	if err != nil {
		return nil, err
	}
	return pb.SandboxGetFromNameResponse_builder{SandboxId: sb.id}.Build(), nil
}

func (c *control) SandboxGetFromName(ctx context.Context, req *pb.SandboxGetFromNameRequest) (*pb.SandboxGetFromNameResponse, error) {
	return c.SandboxGetFromNameV2(ctx, req)
}

func (c *control) SandboxTagsGetV2(ctx context.Context, req *pb.SandboxTagsGetRequest) (*pb.SandboxTagsGetResponse, error) {
	var tags []*pb.SandboxTag
	err := c.s.withSandbox(req.GetSandboxId(), func(sb *sandbox) {
		for _, k := range slices.Sorted(maps.Keys(sb.tags)) {
			tags = append(tags, pb.SandboxTag_builder{TagName: k, TagValue: sb.tags[k]}.Build())
		}
	})
	if err != nil {
		return nil, err
	}
	return pb.SandboxTagsGetResponse_builder{Tags: tags}.Build(), nil
}

func (c *control) SandboxTagsSetV2(ctx context.Context, req *pb.SandboxTagsSetRequest) (*emptypb.Empty, error) {
	err := c.s.withSandbox(req.GetSandboxId(), func(sb *sandbox) {
		sb.tags = map[string]string{}
		for _, t := range req.GetTags() {
			sb.tags[t.GetTagName()] = t.GetTagValue()
		}
	})
	if err != nil {
		return nil, err
	}
	return &emptypb.Empty{}, nil
}

// router implements the task command router's entrypoint stdio stream.
type router struct {
	pb.UnimplementedTaskCommandRouterServer
	s *Server
}

func (r *router) SandboxStdioReadV2(req *pb.SandboxStdioReadV2Request, stream grpc.ServerStreamingServer[pb.SandboxStdioReadV2Response]) error {
	s := r.s
	s.mu.Lock()
	sb, ok := s.byTask[req.GetTaskId()]
	s.mu.Unlock()
	if !ok {
		return status.Errorf(codes.NotFound, "task %s not found", req.GetTaskId())
	}
	md, _ := metadata.FromIncomingContext(stream.Context())
	if auth := md.Get("authorization"); len(auth) == 0 || auth[0] != "Bearer "+sb.jwt {
		return status.Error(codes.Unauthenticated, "invalid task JWT")
	}
	if sb.proc == nil {
		return nil // the program never started: no output
	}
	if _, done := sb.result(); done && s.dropFinished {
		return status.Error(codes.FailedPrecondition, "modaltest: output of finished sandbox not retained")
	}
	var out *proc.Stream
	switch req.GetFileDescriptor() {
	case pb.SandboxStdioFileDescriptor_SANDBOX_STDIO_FILE_DESCRIPTOR_STDOUT:
		out = sb.proc.Stdout()
	case pb.SandboxStdioFileDescriptor_SANDBOX_STDIO_FILE_DESCRIPTOR_STDERR:
		out = sb.proc.Stderr()
	default:
		return status.Errorf(codes.InvalidArgument, "file descriptor %v", req.GetFileDescriptor())
	}
	off := int64(req.GetOffset())
	for {
		b, err := out.ReadAt(stream.Context(), off, 64<<10)
		if err != nil {
			if stream.Context().Err() != nil {
				return status.FromContextError(stream.Context().Err()).Err()
			}
			return nil // EOF: the process ended and everything was sent
		}
		if err := stream.Send(pb.SandboxStdioReadV2Response_builder{Data: b, StartingOffset: uint64(off)}.Build()); err != nil {
			return err
		}
		off += int64(len(b))
	}
}
