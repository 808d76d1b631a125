// Package mcpserver is hf2ms's Model Context Protocol server: the tools plan, migrate, verify,
// status and validate over the service layer (internal/app), for coding agents and other MCP
// clients. `hf2ms mcp` (internal/cli) runs it on stdio.
//
// Its rules: tokens come only from the service's environment (no tool takes a token, and
// arguments a tool does not declare are rejected); every tool result and error is redacted
// with the service's redactor before it leaves; migrate runs only with confirm set and the id
// of a plan made with the same arguments that still matches the hubs (a changed source or
// destination forces a new plan); a migration reports progress notifications when the client
// sent a progress token.
//
// It imports the MCP Go SDK, internal/app and the engine's types; never a client or a fake.
package mcpserver

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/modelcontextprotocol/go-sdk/jsonrpc"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// StatusFunc reads the status of a detached Modal run.
type StatusFunc func(ctx context.Context, runID string) (*modal.RunStatus, error)

// Option configures the server.
type Option func(*server)

// WithStatus replaces how the status tool reads a run (default: Modal with the service's
// credentials).
func WithStatus(f StatusFunc) Option { return func(s *server) { s.status = f } }

// server holds what the tools share.
type server struct {
	svc    *app.Service
	status StatusFunc
}

// instructions is what the server tells the client about using it.
const instructions = `hf2ms moves model and dataset repositories between Hugging Face (hf) and ModelScope (ms),
streaming hub to hub. Tokens come from the server's environment (HF_TOKEN, MODELSCOPE_TOKEN,
MODAL_TOKEN_ID/MODAL_TOKEN_SECRET); never pass a token as an argument.
Workflow: call validate if unsure the tokens work; call plan and show the user what would be
copied, skipped and deleted; ask; only after the user agrees call migrate with the same
arguments plus the plan_id and confirm: true; call verify to compare the two repositories
again later; a detached Modal run (executor modal, detach true) returns a run_id to follow
with status.`

// New returns the MCP server over svc, with the tools plan, migrate, verify, status and
// validate.
func New(svc *app.Service, opts ...Option) *mcp.Server {
	s := &server{svc: svc}
	s.status = s.modalStatus
	for _, o := range opts {
		o(s)
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "hf2ms", Title: "hf2ms", Version: version.Version},
		&mcp.ServerOptions{Instructions: instructions})
	srv.AddReceivingMiddleware(s.redactResults)
	s.addTools(srv)
	return srv
}

// Serve runs the server over t until the client disconnects or ctx ends.
func Serve(ctx context.Context, svc *app.Service, t mcp.Transport, opts ...Option) error {
	return New(svc, opts...).Run(ctx, t)
}

// redactResults is middleware that passes every tools/call result and error through the
// service's redactor, whatever produced them (a tool, or the SDK's argument validation).
func (s *server) redactResults(next mcp.MethodHandler) mcp.MethodHandler {
	return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
		res, err := next(ctx, method, req)
		if err != nil {
			var we *jsonrpc.Error
			if errors.As(err, &we) {
				cp := *we
				cp.Message = s.svc.Redact(we.Message)
				cp.Data = nil
				return res, &cp
			}
			return res, errors.New(s.svc.Redact(err.Error()))
		}
		if r, ok := res.(*mcp.CallToolResult); ok && r != nil {
			s.redactToolResult(r)
		}
		return res, nil
	}
}

// redactToolResult redacts a tool result in place: its text content and its structured content.
func (s *server) redactToolResult(r *mcp.CallToolResult) {
	for _, c := range r.Content {
		if t, ok := c.(*mcp.TextContent); ok {
			t.Text = s.svc.Redact(t.Text)
		}
	}
	if r.StructuredContent == nil {
		return
	}
	b, err := json.Marshal(r.StructuredContent)
	if err != nil {
		r.StructuredContent = nil
		return
	}
	red := s.svc.Redact(string(b))
	if !json.Valid([]byte(red)) {
		// Never send a value the redactor could not keep well-formed; the text content says
		// the same.
		r.StructuredContent = nil
		return
	}
	r.StructuredContent = json.RawMessage(red)
}

// modalStatus reads a run's status from Modal with the service's credentials.
func (s *server) modalStatus(ctx context.Context, runID string) (*modal.RunStatus, error) {
	e, err := s.svc.Modal(ctx, "", "")
	if err != nil {
		return nil, err
	}
	defer e.Close()
	return e.Status(ctx, runID)
}
