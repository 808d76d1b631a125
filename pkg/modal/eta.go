package modal

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/internal/wan"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Shard is what the fan-out model needs of one shard: its bytes, its files and its largest file.
type Shard struct {
	Bytes   int64
	Files   int
	Largest int64
}

// ShardsOf describes the shards of a plan.
func ShardsOf(p *migrate.Plan) []Shard {
	out := make([]Shard, len(p.Shards))
	for i, sh := range p.Shards {
		for _, f := range sh {
			out[i].Bytes += f.Size
			out[i].Files++
			out[i].Largest = max(out[i].Largest, f.Size)
		}
	}
	return out
}

// FanOut is the model of a parallel run: every container reaches the source through Src and the
// destination through Dst (per-connection caps; the per-host caps stand for the container's own
// link), runs Files files at once with up to Conns ranged connections to the source, and starts
// after ColdStart. HubCap is the most bytes a second the destination takes into one repository
// from all containers together (0: no such cap). Each commit of the final step costs Commit.
type FanOut struct {
	Src, Dst   wan.Profile
	Files      int
	Conns      int
	SinglePut  bool
	ColdStart  time.Duration
	HubCap     float64
	Commits    int
	Commit     time.Duration
	Containers int
}

// Links the default model assumes for containers in a US cloud region: the Hugging Face hub
// near (a fast region: 100 MB/s a connection), ModelScope across the Pacific (its single-PUT
// uploads near 20 MB/s, about 200 ms a round trip); each container's own link 1 GB/s.
var (
	modalNear = wan.Profile{Name: "near hub", Down: 100 * wan.MB, Up: 100 * wan.MB, HostDown: 1000 * wan.MB,
		HostUp: 1000 * wan.MB, Latency: 10 * time.Millisecond}
	modalFar = wan.Profile{Name: "ModelScope across the Pacific", Down: 12 * wan.MB, Up: 20 * wan.MB,
		HostDown: 1000 * wan.MB, HostUp: 1000 * wan.MB, Latency: 200 * time.Millisecond}
)

// AssumedHubCap is the aggregate rate one destination repository is assumed to take.
const AssumedHubCap = 2000 * wan.MB

// DefaultFanOut is the model for a run from hub src to hub dst on containers at once.
func DefaultFanOut(src, dst migrate.HubName, containers int) FanOut {
	link := func(h migrate.HubName) wan.Profile {
		if h == migrate.ModelScope {
			return modalFar
		}
		return modalNear
	}
	return FanOut{Src: link(src), Dst: link(dst), Files: migrate.DefaultFiles,
		Conns: migrate.DefaultHostConnections, SinglePut: true, ColdStart: AssumedColdStart,
		HubCap: AssumedHubCap, Commit: 2 * time.Second, Containers: containers}
}

// FanOutEstimate is the model's answer: the time, and the bound that sets it.
type FanOutEstimate struct {
	Time time.Duration
	// Bottleneck names what sets Time; PerContainer is one container's rate (bytes/s) and why.
	Bottleneck   string
	PerContainer wan.Limit
}

// Estimate simulates the run: shards placed largest first on the container that frees first,
// each shard at its container's limit, every file no faster than one stream's rate; then the
// destination's aggregate cap and the commit step. The largest of these bounds is the estimate.
func (m FanOut) Estimate(shards []Shard) FanOutEstimate {
	if len(shards) == 0 {
		return FanOutEstimate{Bottleneck: "nothing to copy"}
	}
	containers := max(1, min(m.Containers, len(shards)))
	sorted := append([]Shard(nil), shards...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Bytes > sorted[j].Bytes })
	busy := make([]float64, containers)
	var total int64
	var per wan.Limit
	fileBound, fileWhy := 0.0, ""
	for _, sh := range sorted {
		total += sh.Bytes
		f := wan.Flow{Src: m.Src, Dst: m.Dst, Files: max(sh.Files, 1), Bytes: sh.Bytes, InFlight: max(m.Files, 1),
			Conns: max(m.Conns, 1), SinglePut: m.SinglePut, Parts: migrate.DefaultParts}
		l := f.Limit()
		if per.Rate == 0 || l.Rate < per.Rate {
			per = l
		}
		secs := float64(sh.Bytes) / l.Rate
		// No file goes faster than one stream into the destination.
		one := wan.Flow{Src: m.Src, Dst: m.Dst, Files: 1, InFlight: 1, Conns: max(m.Conns, 1), SinglePut: m.SinglePut,
			Parts: migrate.DefaultParts}.Limit()
		if fb := float64(sh.Largest) / one.Rate; fb > fileBound {
			fileBound, fileWhy = fb, fmt.Sprintf("the largest file (%s) at one stream's %s", humanBytes(sh.Largest), one)
		}
		secs = math.Max(secs, float64(sh.Largest)/one.Rate)
		k := 0
		for i := range busy {
			if busy[i] < busy[k] {
				k = i
			}
		}
		busy[k] += m.ColdStart.Seconds() + secs
	}
	sched := 0.0
	for _, b := range busy {
		sched = math.Max(sched, b)
	}
	commit := float64(m.Commits) * m.Commit.Seconds()
	est := FanOutEstimate{PerContainer: per, Time: secsDuration(sched + commit),
		Bottleneck: fmt.Sprintf("%d containers at %s each", containers, per)}
	if fileBound+m.ColdStart.Seconds() >= sched*0.99 && fileWhy != "" {
		est.Bottleneck = fileWhy
	}
	if m.HubCap > 0 {
		if hub := float64(total)/m.HubCap + m.ColdStart.Seconds(); hub > sched {
			est.Time = secsDuration(hub + commit)
			est.Bottleneck = fmt.Sprintf("the destination's aggregate cap (%.0f MB/s; containers could give %.0f MB/s)",
				m.HubCap/wan.MB, float64(containers)*per.Rate/wan.MB)
		}
	}
	return est
}

func secsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// String renders the model's assumptions in one paragraph.
func (m FanOut) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "model: source link %s; destination link %s;\n", m.Src, m.Dst)
	fmt.Fprintf(&b, "       %d files a container at once, %d connections to the source, each file one upload stream;\n",
		m.Files, m.Conns)
	fmt.Fprintf(&b, "       %s cold start", m.ColdStart)
	if m.HubCap > 0 {
		fmt.Fprintf(&b, ", destination takes at most %.0f MB/s into one repo", m.HubCap/wan.MB)
	}
	if m.Commits > 0 {
		fmt.Fprintf(&b, ", %d commit(s) at %s", m.Commits, m.Commit)
	}
	return b.String()
}

// ParallelPlanText renders the plan of a parallel run before it starts: what moves, the shards,
// how many containers run at once, and the fan-out model's estimate with the bottleneck it
// assumes.
func ParallelPlanText(sum *migrate.PlanSummary, shards []Shard, containers int) string {
	var b strings.Builder
	m := FanOut{}
	if sum != nil {
		writePlanSummary(&b, sum)
		m = DefaultFanOut(sum.Source.Hub, sum.Dest.Hub, containers)
	} else {
		m = DefaultFanOut(migrate.HuggingFace, migrate.HuggingFace, containers)
	}
	m.Commits = 1
	containers = max(1, min(containers, max(1, len(shards))))
	fmt.Fprintf(&b, "%d shards on %d containers at once, then one commit step\n", len(shards), containers)
	for i, sh := range shards {
		fmt.Fprintf(&b, "  shard %3d  %10s  %4d files\n", i+1, humanBytes(sh.Bytes), sh.Files)
	}
	est := m.Estimate(shards)
	fmt.Fprintf(&b, "estimated time: %s, bound by %s\n", est.Time.Round(time.Second), est.Bottleneck)
	fmt.Fprintf(&b, "%s\n", m)
	return b.String()
}
