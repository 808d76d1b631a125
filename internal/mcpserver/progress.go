package mcpserver

import (
	"context"
	"fmt"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// progressSteps is how many byte-progress notifications a transfer sends at most (one per
// percent), besides one per finished file and one per phase.
const progressSteps = 100

// progress turns the engine's events into MCP progress notifications for one tool call. With no
// progress token in the request it sends nothing.
type progress struct {
	send   func(*mcp.ProgressNotificationParams) // nil: the client wants no progress
	token  any
	redact func(string) string

	mu    sync.Mutex
	total int64            // bytes to copy (from the plan event)
	done  map[string]int64 // bytes done per path
	sum   int64            // sum of done
	sent  float64          // last progress sent
}

func newProgress(ctx context.Context, req *mcp.CallToolRequest, redact func(string) string) *progress {
	p := &progress{redact: redact, done: map[string]int64{}}
	if req == nil || req.Params == nil || req.Session == nil {
		return p
	}
	if p.token = req.Params.GetProgressToken(); p.token != nil {
		ss := req.Session
		// A client that went away ends the call through ctx; a lost notification is no error.
		p.send = func(n *mcp.ProgressNotificationParams) { _ = ss.NotifyProgress(ctx, n) }
	}
	return p
}

// event handles one engine event; safe for concurrent use.
func (p *progress) event(ev migrate.Event) {
	if p.send == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	switch ev.Type {
	case migrate.EventPlan:
		if ev.Plan != nil {
			p.total = ev.Plan.CopyBytes
			p.notify(fmt.Sprintf("planned: %d files to copy (%s), %d to skip, %d to delete",
				ev.Plan.CopyFiles, units.Bytes(ev.Plan.CopyBytes), ev.Plan.SkipFiles, ev.Plan.DeleteFiles), true)
		}
	case migrate.EventProgress:
		p.set(ev.Path, ev.Bytes)
		if p.total > 0 && float64(p.sum)-p.sent >= float64(p.total)/progressSteps {
			p.notify("copying "+ev.Path, false)
		}
	case migrate.EventFileDone:
		switch ev.Action {
		case migrate.ActionCopied, migrate.ActionStored:
			p.set(ev.Path, ev.Size)
			p.notify(ev.Action+" "+ev.Path, true)
		case migrate.ActionFailed:
			p.notify("failed "+ev.Path, true)
		}
	case migrate.EventCommit:
		p.notify("committed "+short(ev.Commit), true)
	case migrate.EventVerify:
		p.notify("verified the destination", true)
	}
}

// set records that n bytes of path are done (never going back).
func (p *progress) set(path string, n int64) {
	if old := p.done[path]; n > old {
		p.sum += n - old
		p.done[path] = n
	}
}

// notify sends the bytes done so far. Progress never goes back; a notification that would not
// move it is sent only when always is set (a new phase or file).
func (p *progress) notify(msg string, always bool) {
	cur := float64(p.sum)
	if cur < p.sent || (!always && cur == p.sent) {
		return
	}
	p.sent = cur
	params := &mcp.ProgressNotificationParams{ProgressToken: p.token, Progress: cur, Message: p.redact(msg)}
	if p.total > 0 {
		params.Total = float64(p.total)
	}
	p.send(params)
}
