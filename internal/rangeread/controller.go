package rangeread

import (
	"sync"
	"time"
)

// controller chooses how many connections a stream keeps in flight, from what it measures each
// interval: the rate bytes arrived at, and whether the stream's reader had to wait for them.
//
//   - The reader waited (the download is the bottleneck) and the last connection added raised
//     the rate by at least gain: add one more.
//   - While every growth paid, growth speeds up (half the current count at a time).
//   - The last connections added did not raise the rate by gain: take them away and hold for
//     holdIntervals measurements before trying again (more connections no longer help: a host
//     cap, or a shared link).
//   - The reader never waited: the stream is as fast as its consumer; change nothing.
type controller struct {
	mu        sync.Mutex
	k, max    int
	fixed     bool
	lastBytes int64
	lastT     time.Time
	before    float64 // rate before the last connection was added
	grew      bool
	settle    bool // the measurement after a connection was added is its warm-up: skipped
	hold      int
	growing   bool // every connection added so far raised the rate
	lastStep  int  // connections added by the last growth
}

const (
	gain          = 1.10
	holdIntervals = 6
)

func newController(start, max int, fixed bool) *controller {
	return &controller{k: max1(start), max: max1(max), fixed: fixed}
}

func max1(n int) int { return max(n, 1) }

func (c *controller) target() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.k
}

// measure takes one measurement: total bytes fetched so far, and whether the reader waited.
func (c *controller) measure(total int64, starved bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.lastT.IsZero() || c.fixed {
		c.lastT, c.lastBytes = now, total
		return
	}
	rate := float64(total-c.lastBytes) / now.Sub(c.lastT).Seconds()
	c.lastT, c.lastBytes = now, total
	c.step(rate, starved)
}

// step is the decision of one measurement.
func (c *controller) step(rate float64, starved bool) {
	if c.settle {
		c.settle = false
		return
	}
	if c.grew {
		c.grew = false
		if rate < c.before*gain {
			c.k = max1(c.k - c.lastStep)
			c.hold, c.growing = holdIntervals, false
			return
		}
		c.growing = true
	}
	if c.hold > 0 {
		c.hold--
		return
	}
	if starved && c.k < c.max {
		c.before, c.grew, c.settle = rate, true, true
		step := 1
		if c.growing {
			step = max(1, c.k/2) // every step so far paid: grow faster, as TCP's slow start does
		}
		c.lastStep = min(c.max, c.k+step) - c.k
		c.k += c.lastStep
	}
}
