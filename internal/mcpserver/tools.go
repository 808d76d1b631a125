package mcpserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
	"github.com/linaqruf/hf2ms/pkg/modal"
)

// listLimit caps each file list a plan result carries; the counts stay exact.
const listLimit = 200

// TargetArgs name the two repositories.
type TargetArgs struct {
	Source   string `json:"source" jsonschema:"source repo: hf:owner/name, ms:owner/name, hf:datasets/owner/name, a hub URL, or owner/name (Hugging Face)"`
	To       string `json:"to,omitempty" jsonschema:"destination hub: hf or ms (default: the other hub)"`
	Dest     string `json:"dest,omitempty" jsonschema:"destination repo id owner/name (default: the source id)"`
	RepoType string `json:"repo_type,omitempty" jsonschema:"model, dataset or space (default: detected)"`
}

// SelectArgs select the source revision and paths.
type SelectArgs struct {
	Revision string   `json:"revision,omitempty" jsonschema:"source branch, tag or commit (default: the default branch)"`
	Include  []string `json:"include,omitempty" jsonschema:"only paths matching these globs (** allowed)"`
	Exclude  []string `json:"exclude,omitempty" jsonschema:"skip paths matching these globs"`
}

// PlanArgs are what a migration does; plan and migrate take the same ones.
type PlanArgs struct {
	TargetArgs
	SelectArgs
	Refs        string `json:"refs,omitempty" jsonschema:"branches and tags to mirror besides the default branch: all, or comma-separated globs such as main,v* (default: the default branch only); excludes revision"`
	Delete      bool   `json:"delete,omitempty" jsonschema:"delete destination files the source does not have"`
	Force       bool   `json:"force,omitempty" jsonschema:"copy every file even when the destination already has it"`
	Parallel    bool   `json:"parallel,omitempty" jsonschema:"split the repo into shards run by parallel workers"`
	ChunkSize   string `json:"chunk_size,omitempty" jsonschema:"target bytes per shard with parallel, e.g. 20GiB (the default)"`
	Visibility  string `json:"visibility,omitempty" jsonschema:"private or public: the destination's visibility (default: the source's)"`
	Message     string `json:"message,omitempty" jsonschema:"commit message (default: Migrated from <hub>:<repo>@<commit>)"`
	NoReadmeFix bool   `json:"no_readme_fix,omitempty" jsonschema:"keep README.md byte-identical on the way to Hugging Face"`
}

// MigrateArgs are a plan's arguments, the confirmation, and where the workers run.
type MigrateArgs struct {
	PlanArgs
	PlanID  string `json:"plan_id" jsonschema:"the plan_id the plan tool returned for these same arguments"`
	Confirm bool   `json:"confirm" jsonschema:"true only after the user has seen the plan and agreed to run it"`
	// Where the workers run.
	Executor string `json:"executor,omitempty" jsonschema:"local (default), subprocess or modal"`
	Workers  int    `json:"workers,omitempty" jsonschema:"shards run at once (default: 2 local, 32 on Modal; at most 100)"`
	Detach   bool   `json:"detach,omitempty" jsonschema:"with executor modal: start the workers and return a run_id at once"`
}

// VerifyArgs name the two repositories to compare.
type VerifyArgs struct {
	TargetArgs
	SelectArgs
}

// StatusArgs name a detached Modal run.
type StatusArgs struct {
	RunID string `json:"run_id" jsonschema:"the run_id a detached migrate returned"`
}

// ValidateArgs say whether Modal credentials are required.
type ValidateArgs struct {
	Modal bool `json:"modal,omitempty" jsonschema:"fail when the Modal credentials are missing (otherwise only reported)"`
}

// PlannedFile is one file of a plan result.
type PlannedFile struct {
	Path string `json:"path"`
	Size int64  `json:"size"`
}

// PlanResult is what the plan tool returns.
type PlanResult struct {
	// PlanID identifies this plan: migrate needs it, and refuses when the plan no longer holds.
	PlanID string `json:"plan_id"`
	// Report is the dry run's report (status "planned", the plan's summary).
	Report *migrate.Report `json:"report"`
	// Copy and Delete list the files (at most listLimit each; the summary's counts are exact).
	Copy   []PlannedFile `json:"copy"`
	Delete []PlannedFile `json:"delete,omitempty"`
	// Summary is one line for the user.
	Summary string `json:"summary"`
	Next    string `json:"next"`
}

// MigrateResult is what the migrate tool returns.
type MigrateResult struct {
	Report *migrate.Report `json:"report"`
	// Jobs is how many containers a detached run started.
	Jobs int    `json:"jobs,omitempty"`
	Next string `json:"next,omitempty"`
}

// VerifyResult is what the verify tool returns.
type VerifyResult struct {
	SourceURL    string                `json:"source_url"`
	DestURL      string                `json:"dest_url"`
	Verified     bool                  `json:"verified"`
	Verification *migrate.Verification `json:"verification"`
}

// StatusResult is what the status tool returns.
type StatusResult struct {
	Status   *modal.RunStatus `json:"status"`
	Finished bool             `json:"finished"`
	Failed   bool             `json:"failed"`
}

// ValidateResult is what the validate tool returns.
type ValidateResult struct {
	OK     bool        `json:"ok"`
	Checks []app.Check `json:"checks"`
}

func (s *server) addTools(srv *mcp.Server) {
	yes, no := true, false
	mcp.AddTool(srv, &mcp.Tool{Name: "plan", Title: "Plan a migration",
		Description: "Dry run: what a migration would copy, skip and delete, with sizes. Changes nothing. Returns the plan_id migrate needs.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &yes}}, s.plan)
	mcp.AddTool(srv, &mcp.Tool{Name: "migrate", Title: "Run a planned migration",
		Description: "Migrate the source repo to the destination hub, streaming hub to hub. Needs the plan_id of a plan made with the same arguments and confirm: true after the user agreed; refuses if the source or destination changed since. Reports progress when the request carries a progress token.",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: &yes, IdempotentHint: true, OpenWorldHint: &yes}}, s.migrate)
	mcp.AddTool(srv, &mcp.Tool{Name: "verify", Title: "Verify two repos",
		Description: "Compare the destination with the source file by file (size and hash), copying nothing.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &yes}}, s.verify)
	mcp.AddTool(srv, &mcp.Tool{Name: "status", Title: "Status of a detached Modal run",
		Description: "Each shard of a detached Modal run: running, done or failed.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: &yes}}, s.runStatus)
	mcp.AddTool(srv, &mcp.Tool{Name: "validate", Title: "Check the credentials",
		Description: "Check the Hugging Face and ModelScope tokens against their hubs and whether Modal credentials are present. Tokens come from the server's environment only.",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, DestructiveHint: &no, OpenWorldHint: &yes}}, s.validate)
}

// options turns the arguments into the engine's options.
func (a PlanArgs) options() (migrate.Options, error) {
	o := migrate.Options{Revision: a.Revision, Include: a.Include, Exclude: a.Exclude, Delete: a.Delete,
		Force: a.Force, Parallel: a.Parallel, CommitMessage: a.Message, NoReadmeFix: a.NoReadmeFix}
	if a.Refs != "" {
		refs, err := migrate.ParseRefs(a.Refs)
		if err != nil {
			return o, err
		}
		if a.Revision != "" {
			return o, errors.New("revision and refs exclude each other")
		}
		o.Refs = refs
	}
	switch a.Visibility {
	case "":
	case "private", "public":
		private := a.Visibility == "private"
		o.Private = &private
	default:
		return o, fmt.Errorf("visibility %q: want private or public", a.Visibility)
	}
	cs := a.ChunkSize
	if cs == "" {
		cs = "20GiB"
	}
	n, err := units.ParseSize(cs)
	if err != nil {
		return o, fmt.Errorf("chunk_size: %w", err)
	}
	o.ChunkSize = n
	return o, nil
}

func (a PlanArgs) target() app.Target {
	return app.Target{Source: a.Source, To: a.To, Dest: a.Dest, RepoType: a.RepoType}
}

// dryRun plans a's migration.
func (s *server) dryRun(ctx context.Context, a PlanArgs) (*app.Outcome, error) {
	opts, err := a.options()
	if err != nil {
		return nil, err
	}
	out, err := s.svc.Run(ctx, app.Request{Target: a.target(), Options: opts, DryRun: true})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *server) plan(ctx context.Context, _ *mcp.CallToolRequest, a PlanArgs) (*mcp.CallToolResult, any, error) {
	out, err := s.dryRun(ctx, a)
	if err != nil {
		return nil, nil, err
	}
	res := PlanResult{PlanID: outcomeID(out), Report: out.Report, Copy: []PlannedFile{},
		Next: "show this plan to the user and ask; only if they agree, call migrate with the same arguments, plan_id and confirm: true"}
	if p := out.Plan; p != nil {
		sum := p.Summary()
		res.Copy, res.Delete = listed(p.Copy), listed(p.Delete)
		res.Summary = fmt.Sprintf("%s -> %s at %s: %d to copy (%s), %d to skip, %d to delete", sum.Source, sum.Dest,
			short(sum.SourceCommit), sum.CopyFiles, units.Bytes(sum.CopyBytes), sum.SkipFiles, sum.DeleteFiles)
		if !sum.DestExists {
			res.Summary += " (the destination will be created)"
		}
	}
	if n := len(out.RefPlans); n > 0 {
		res.Summary = strings.TrimSpace(fmt.Sprintf("%d refs (see report.refs); default branch: %s", n, res.Summary))
	}
	return nil, res, nil
}

func listed(files []migrate.File) []PlannedFile {
	out := make([]PlannedFile, 0, min(len(files), listLimit))
	for i, f := range files {
		if i == listLimit {
			break
		}
		out = append(out, PlannedFile{Path: f.Path, Size: f.Size})
	}
	return out
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// ErrNotConfirmed is the migrate tool's refusal to run without a confirmed, current plan.
var ErrNotConfirmed = errors.New("not confirmed")

func (s *server) migrate(ctx context.Context, req *mcp.CallToolRequest, a MigrateArgs) (*mcp.CallToolResult, any, error) {
	if !a.Confirm || a.PlanID == "" {
		return nil, nil, fmt.Errorf("%w: call plan first, show the plan to the user and ask; then call migrate with the same arguments, the plan_id and confirm: true", ErrNotConfirmed)
	}
	exec := app.ExecSpec{Kind: a.Executor, Workers: a.Workers}
	if err := exec.Validate(a.Detach); err != nil {
		return nil, nil, err
	}
	out, err := s.dryRun(ctx, a.PlanArgs)
	if err != nil {
		return nil, nil, err
	}
	if id := outcomeID(out); id != a.PlanID {
		return nil, nil, fmt.Errorf("%w: the plan changed since %s (the source, the destination or the arguments differ; now %s): call plan again and show the new plan to the user", ErrNotConfirmed, a.PlanID, id)
	}
	opts, _ := a.options() // dryRun checked them
	progress := newProgress(ctx, req, s.svc.Redact)
	// The engine plans again as it starts; the window between that plan and the one checked
	// above is the time of one request.
	run, runErr := s.svc.Run(ctx, app.Request{Target: a.target(), Options: opts, Detach: a.Detach, Exec: exec, Events: progress.event})
	if run == nil || run.Report == nil {
		return nil, nil, runErr
	}
	res := MigrateResult{Report: run.Report, Jobs: run.Jobs}
	if a.Detach && runErr == nil {
		res.Next = fmt.Sprintf("run %s started on Modal (%d containers): follow it with the status tool (run_id %s), or `hf2ms wait %s`; verify when it finished", run.Report.RunID, run.Jobs, run.Report.RunID, run.Report.RunID)
	}
	if runErr != nil {
		return errorResult(runErr, res), nil, nil
	}
	return nil, res, nil
}

// errorResult is a tool error that still carries its structured result (a failed run's report).
func errorResult(err error, v any) *mcp.CallToolResult {
	b, merr := json.MarshalIndent(v, "", "  ")
	text := err.Error()
	if merr == nil {
		text += "\n" + string(b)
	}
	r := &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}, IsError: true}
	if merr == nil {
		r.StructuredContent = json.RawMessage(b)
	}
	return r
}

func (s *server) verify(ctx context.Context, _ *mcp.CallToolRequest, a VerifyArgs) (*mcp.CallToolResult, any, error) {
	r, err := s.svc.Resolve(ctx, app.Target{Source: a.Source, To: a.To, Dest: a.Dest, RepoType: a.RepoType})
	if err != nil {
		return nil, nil, err
	}
	v, err := app.Verify(ctx, r, migrate.Options{Revision: a.Revision, Include: a.Include, Exclude: a.Exclude})
	if err != nil {
		return nil, nil, err
	}
	return nil, VerifyResult{SourceURL: r.Src.WebURL(r.From), DestURL: r.Dst.WebURL(r.To), Verified: v.OK(), Verification: v}, nil
}

func (s *server) runStatus(ctx context.Context, _ *mcp.CallToolRequest, a StatusArgs) (*mcp.CallToolResult, any, error) {
	st, err := s.status(ctx, a.RunID)
	if err != nil {
		return nil, nil, err
	}
	return nil, StatusResult{Status: st, Finished: st.Finished(), Failed: st.Err() != nil}, nil
}

func (s *server) validate(ctx context.Context, _ *mcp.CallToolRequest, a ValidateArgs) (*mcp.CallToolResult, any, error) {
	checks := s.svc.Validate(ctx, a.Modal)
	return nil, ValidateResult{OK: !app.ChecksFailed(checks), Checks: checks}, nil
}

// outcomeID is the plan id of a dry run: of its plan, or of every ref's step and plan.
func outcomeID(out *app.Outcome) string {
	if len(out.RefPlans) == 0 {
		return PlanID(out.Plan)
	}
	h := sha256.New()
	for _, rp := range out.RefPlans {
		b, _ := json.Marshal(rp.RefStep)
		h.Write(b)
		if rp.Plan != nil {
			h.Write([]byte(PlanID(rp.Plan)))
		}
		h.Write([]byte{0})
	}
	return "plan-" + hex.EncodeToString(h.Sum(nil)[:8])
}

// PlanID is a digest of everything a plan decided: the repositories, the pinned source commit,
// the destination's state, every file decision and the options. Two plans have the same id
// exactly when running either would do the same.
func PlanID(p *migrate.Plan) string {
	b, _ := json.Marshal(struct {
		Source, Dest       migrate.Repo
		SourceCommit       string
		DestExists         bool
		DestPrivate        bool
		DestBranch         string
		Copy, Skip, Delete []migrate.File
		Options            migrate.Options
	}{p.Source, p.Dest, p.SourceCommit, p.DestExists, p.DestPrivate, p.DestBranch, p.Copy, p.Skip, p.Delete, p.Options})
	sum := sha256.Sum256(b)
	return "plan-" + hex.EncodeToString(sum[:8])
}
