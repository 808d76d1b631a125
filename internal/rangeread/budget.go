package rangeread

import (
	"context"
	"sync"
	"time"
)

// Budget is a per-host connection count shared by every stream reading from that host: a
// connection holds a slot from the start of its range until the range's bytes have been read.
// Backoff shrinks it for a while after the host answered 429 or 503. Its methods are safe for
// concurrent use.
type Budget struct {
	mu      sync.Mutex
	size    int // the configured upper bound
	limit   int // the current limit (size, or less after Backoff)
	used    int
	until   time.Time
	changed chan struct{} // closed and replaced whenever a slot frees or the limit rises
}

// NewBudget returns a budget of n slots (at least 1).
func NewBudget(n int) *Budget {
	n = max(n, 1)
	return &Budget{size: n, limit: n, changed: make(chan struct{})}
}

// Size is the budget's upper bound.
func (b *Budget) Size() int { return b.size }

// Limit is the number of slots currently allowed.
func (b *Budget) Limit() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.recoverLocked()
	return b.limit
}

// Acquire takes a slot, waiting for one to free; it fails only when ctx ends.
func (b *Budget) Acquire(ctx context.Context) error {
	for {
		b.mu.Lock()
		b.recoverLocked()
		if b.used < b.limit {
			b.used++
			b.mu.Unlock()
			return nil
		}
		ch, wait := b.changed, time.Until(b.until)
		b.mu.Unlock()
		var timer <-chan time.Time
		if wait > 0 {
			t := time.NewTimer(wait)
			timer = t.C
			defer t.Stop()
		}
		select {
		case <-ch:
		case <-timer:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Release gives a slot back.
func (b *Budget) Release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used--
	b.signalLocked()
}

// Backoff halves the current limit (down to 1) for d: what a stream does when the host
// answered 429 Too Many Requests or 503 Service Unavailable. Slots already held are kept.
func (b *Budget) Backoff(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.limit = max(1, b.limit/2)
	b.until = time.Now().Add(d)
}

// recoverLocked restores the limit once the back-off has passed.
func (b *Budget) recoverLocked() {
	if b.limit < b.size && !b.until.IsZero() && !time.Now().Before(b.until) {
		b.limit, b.until = b.size, time.Time{}
		b.signalLocked()
	}
}

func (b *Budget) signalLocked() {
	close(b.changed)
	b.changed = make(chan struct{})
}

// Budgets hands out one Budget per host key, created on first use: the budgets a process shares
// between all its transfers. The zero value is ready to use.
type Budgets struct {
	mu sync.Mutex
	m  map[string]*Budget
}

// For returns key's budget, creating it with n slots when key has none yet (a budget keeps the
// size it was created with).
func (s *Budgets) For(key string, n int) *Budget {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*Budget{}
	}
	b, ok := s.m[key]
	if !ok {
		b = NewBudget(n)
		s.m[key] = b
	}
	return b
}
