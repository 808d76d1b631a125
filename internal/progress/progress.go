// Package progress renders a migration's event stream for people: live bars in a terminal, a
// line every few seconds otherwise (CI logs). The CLI and the Action both use it. It may import
// pkg/migrate and internal/units.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Progress renders the event stream: live bars in a terminal, a line every few seconds otherwise
// (CI logs). Its Event method is safe to call from any goroutine.
type Progress struct {
	mu     sync.Mutex
	out    io.Writer
	redact func(string) string
	start  time.Time

	// totals
	planned   int64
	done      int64
	files     int
	filesDone int
	perFile   map[string]int64 // bytes done per file in flight

	// terminal
	bars  *mpb.Progress
	total *mpb.Bar
	fbars map[string]*mpb.Bar

	// plain
	every    time.Duration
	lastLine time.Time
}

// lineInterval is how often the plain (non-terminal) display prints a progress line.
const lineInterval = 5 * time.Second

// New returns a display writing to w: live bars when terminal is true, plain lines otherwise.
// Messages from the hubs pass through redact (the program's secret redaction) before they show.
func New(w io.Writer, terminal bool, redact func(string) string) *Progress {
	p := &Progress{out: w, redact: redact, start: time.Now(), perFile: map[string]int64{}, fbars: map[string]*mpb.Bar{}, every: lineInterval}
	if terminal {
		p.bars = mpb.New(mpb.WithOutput(w), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
	}
	return p
}

// Event consumes one engine event.
func (p *Progress) Event(e migrate.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Type {
	case migrate.EventPlan:
		if e.Plan != nil {
			p.planned += e.Plan.CopyBytes
			p.files += e.Plan.CopyFiles
			p.printf("plan: %d files to copy (%s), %d to skip, %d to delete, %d shard(s)",
				e.Plan.CopyFiles, units.Bytes(e.Plan.CopyBytes), e.Plan.SkipFiles, e.Plan.DeleteFiles, e.Plan.Shards)
			if p.bars != nil && p.total == nil && p.planned > 0 {
				p.total = p.bars.AddBar(p.planned, mpb.BarPriority(1<<30),
					mpb.PrependDecorators(decor.Name("total ", decor.WC{W: 8}), decor.CountersKibiByte("% .1f / % .1f")),
					mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), " % .1f"), decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
			}
		}
	case migrate.EventNotice:
		p.printf("note: %s", p.redact(e.Message))
	case migrate.EventWarning:
		p.printf("warning: %s", p.redact(e.Message))
	case migrate.EventFileStart:
		if p.bars != nil && e.Size > 0 {
			p.fbars[e.Path] = p.bars.AddBar(e.Size, mpb.BarRemoveOnComplete(),
				mpb.PrependDecorators(decor.Name(trimPath(e.Path, 32), decor.WC{W: 34, C: decor.DindentRight})),
				mpb.AppendDecorators(decor.CountersKibiByte("% .1f / % .1f")))
		}
	case migrate.EventProgress:
		delta := e.Bytes - p.perFile[e.Path]
		if delta > 0 {
			p.perFile[e.Path] = e.Bytes
			p.add(e.Path, delta)
		}
	case migrate.EventFileDone:
		if e.Action == migrate.ActionCopied {
			if delta := e.Size - p.perFile[e.Path]; delta > 0 {
				p.add(e.Path, delta)
			}
		}
		if b := p.fbars[e.Path]; b != nil {
			if e.Action == migrate.ActionCopied {
				b.SetCurrent(e.Size)
			} else {
				b.Abort(true)
			}
			delete(p.fbars, e.Path)
		}
		delete(p.perFile, e.Path)
		p.filesDone++
		if e.Action == migrate.ActionFailed {
			p.printf("failed: %s: %s", e.Path, p.redact(e.Error))
		}
	case migrate.EventCommit:
		p.printf("commit %s: %s", short(e.Commit), e.Message)
	case migrate.EventVerify:
		if e.Verify != nil {
			p.printf("verify: %d matched, %d mismatched, %d missing, %d not checkable",
				e.Verify.Matched, e.Verify.Mismatched, e.Verify.Missing, e.Verify.NotCheckable)
		}
	case migrate.EventError:
		p.printf("error: %s", p.redact(e.Error))
	}
	if p.bars == nil && time.Since(p.lastLine) >= p.every && p.planned > 0 && e.Type == migrate.EventProgress {
		p.lastLine = time.Now()
		el := time.Since(p.start).Seconds()
		rate := float64(p.done) / el
		eta := "?"
		if rate > 0 {
			eta = (time.Duration(float64(p.planned-p.done)/rate) * time.Second).Round(time.Second).String()
		}
		fmt.Fprintf(p.out, "progress: %s / %s (%.0f%%), %d/%d files, %s, ETA %s\n",
			units.Bytes(p.done), units.Bytes(p.planned), 100*float64(p.done)/float64(p.planned), p.filesDone, p.files, units.Rate(rate), eta)
	}
}

func (p *Progress) add(path string, delta int64) {
	p.done += delta
	if p.total != nil {
		p.total.IncrInt64(delta)
	}
	if b := p.fbars[path]; b != nil {
		b.IncrInt64(delta)
	}
}

// printf prints a line above the bars (or plainly).
func (p *Progress) printf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if p.bars != nil {
		// mpb keeps bars at the bottom; write through it so lines do not tear the display.
		fmt.Fprintln(p.bars, line)
		return
	}
	fmt.Fprintln(p.out, line)
}

// Close stops the display.
func (p *Progress) Close() {
	p.mu.Lock()
	bars := p.bars
	if p.total != nil {
		p.total.Abort(false)
	}
	for _, b := range p.fbars {
		b.Abort(true)
	}
	p.mu.Unlock()
	if bars != nil {
		bars.Wait()
	}
}

func trimPath(p string, n int) string {
	if len(p) <= n {
		return p
	}
	return "..." + p[len(p)-n+3:]
}

// short is a commit id's first 12 characters.
func short(sha string) string { return sha[:min(len(sha), 12)] }
