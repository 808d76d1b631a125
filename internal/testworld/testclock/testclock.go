// Package testclock is the settable fake clock the tests of the fakes' time windows and the
// clients' waits share. It is its own package, without the test world's imports, so that the
// internal tests of the clients the world is built on (package msclient) can use it without an
// import cycle.
package testclock

import (
	"context"
	"sync"
	"time"
)

// Start is where a new Clock stands: a fixed instant, so runs repeat.
var Start = time.Unix(1_700_000_000, 0)

// Clock is a fake clock, safe for concurrent use. It moves only when told to: by Add, or by
// Sleep, which a client calls instead of waiting.
type Clock struct {
	mu     sync.Mutex
	t      time.Time
	sleeps []time.Duration
}

// New returns a clock standing at Start.
func New() *Clock { return &Clock{t: Start} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Add moves the clock on by d.
func (c *Clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Sleep is a sleep hook that returns at once: it moves the clock on by d, records the wait and
// reports true (the wait was not cut short by ctx).
func (c *Clock) Sleep(_ context.Context, d time.Duration) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	c.sleeps = append(c.sleeps, d)
	return true
}

// Sleeps lists the waits Sleep was asked for, in order.
func (c *Clock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// Slept is the sum of the waits Sleep was asked for.
func (c *Clock) Slept() time.Duration {
	var total time.Duration
	for _, d := range c.Sleeps() {
		total += d
	}
	return total
}
