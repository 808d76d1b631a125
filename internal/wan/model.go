package wan

import (
	"fmt"
	"math"
)

// Flow is a copy of files from a source host to a destination host, each behind its link: what
// the model needs to say how fast it can go and what holds it back.
type Flow struct {
	// Src is the source host's link (files are downloaded through it), Dst the destination's
	// (files are uploaded through it).
	Src, Dst Profile
	// Files is how many files the copy has, Bytes their total size.
	Files int
	Bytes int64
	// InFlight is how many files transfer at once.
	InFlight int
	// Conns is how many connections one host may have open at once (the per-host budget), and
	// so the most ranged reads of the source at once.
	Conns int
	// SinglePut is true when the destination takes each file as one stream (ModelScope's PUT,
	// Hugging Face's basic transfer); otherwise each file uploads Parts parts at once.
	SinglePut bool
	Parts     int
}

// Limit is the rate a flow cannot beat, in bytes per second, and the bottleneck that sets it.
type Limit struct {
	Rate       float64
	Bottleneck string
}

// String renders the limit as "42 MB/s (bottleneck)".
func (l Limit) String() string { return fmt.Sprintf("%.0f MB/s (%s)", l.Rate/MB, l.Bottleneck) }

// Limit is the flow's limit when the source is read with up to Conns connections.
func (f Flow) Limit() Limit { return f.limit(max(f.Conns, 1)) }

// OneConnection is the flow's limit for the approach that reads each file over one connection
// and uploads it as one stream (what a download-then-upload tool or curl does), with InFlight
// files at once.
func (f Flow) OneConnection() Limit {
	g := f
	g.SinglePut, g.Conns = true, min(max(f.InFlight, 1), max(f.Files, 1))
	return g.limit(g.Conns)
}

// limit computes the flow's limit with at most conns source connections at once.
func (f Flow) limit(conns int) Limit {
	files := max(min(f.InFlight, f.Files), 1)
	down := capped(float64(conns), f.Src.Down, f.Src.HostDown, "source per-connection cap", "source host cap")
	streams := files
	if !f.SinglePut {
		streams = min(files*max(f.Parts, 1), max(f.Conns, 1))
	}
	upWhy := "destination per-connection cap"
	if f.SinglePut {
		upWhy = "destination single-stream cap"
	}
	up := capped(float64(streams), f.Dst.Up, f.Dst.HostUp, upWhy, "destination host cap")
	if up.Rate < down.Rate {
		return up
	}
	return down
}

// capped is the rate of n connections of per each within a host cap.
func capped(n, per, host float64, perWhy, hostWhy string) Limit {
	r, why := math.Inf(1), "uncapped"
	if per > 0 {
		r, why = n*per, perWhy
		if n != 1 {
			why = fmt.Sprintf("%s x %g", perWhy, n)
		}
	}
	if host > 0 && host < r {
		r, why = host, hostWhy
	}
	return Limit{Rate: r, Bottleneck: why}
}
