package modal

import (
	"context"
	"sync"
)

// fanout bounds how many sandboxes an Executor runs at once in attached mode. The limit starts
// at the configured concurrency. When Modal answers a create with "no capacity", the limit drops
// to the sandboxes this executor still holds (at least one), so the remaining jobs wait for one
// of those to end instead of asking Modal again at once; every create that succeeds raises it
// by one again, up to the configured concurrency, unless a refusal came after the slot was
// taken (that success says nothing about the capacity now).
type fanout struct {
	mu       sync.Mutex
	max      int
	limit    int
	held     int
	refusals int           // refusals so far; a slot remembers the count when it was taken
	changed  chan struct{} // closed and replaced whenever held or limit changes
}

func newFanout(n int) *fanout {
	return &fanout{max: n, limit: n, changed: make(chan struct{})}
}

// acquire takes a slot once fewer than the limit are held or, with probe (a retry after a
// backoff, testing whether Modal has capacity again), fewer than the configured concurrency.
// The ticket goes to started.
func (f *fanout) acquire(ctx context.Context, probe bool) (ticket int, err error) {
	for {
		f.mu.Lock()
		if f.held < f.limit || (probe && f.held < f.max) {
			f.held++
			ticket = f.refusals
			f.notifyLocked()
			f.mu.Unlock()
			return ticket, nil
		}
		ch := f.changed
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// release gives a slot back.
func (f *fanout) release() {
	f.mu.Lock()
	f.held--
	f.notifyLocked()
	f.mu.Unlock()
}

// refused records that Modal had no capacity for the caller's create and gives the caller's
// slot back. It returns how many other slots are held and a channel closed at the next change
// of the held slots or the limit (taken in the same step, so no change is missed).
func (f *fanout) refused() (others int, changed <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.held--
	f.refusals++
	others = f.held
	f.limit = max(1, others)
	f.notifyLocked()
	return others, f.changed
}

// started records a create that succeeded in the slot acquire gave ticket for.
func (f *fanout) started(ticket int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.limit < f.max && ticket == f.refusals {
		f.limit++
		f.notifyLocked()
	}
}

// current returns the limit and the held slots.
func (f *fanout) current() (limit, held int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.limit, f.held
}

func (f *fanout) notifyLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}
