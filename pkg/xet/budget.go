package xet

import "context"

// DefaultXorbMemory is the default bound on the memory xorb buffers take across every Uploader
// of the process: two serialised xorbs.
const DefaultXorbMemory = 2 * MaxXorbBytes

// XorbBudget bounds the memory that Uploaders spend on xorb buffers. Every xorb being filled or
// uploaded holds one buffer of MaxXorbBytes; an Uploader waits for a free one before it starts a
// xorb, so files uploaded at once share the budget instead of each holding two buffers. Waiting
// never deadlocks: a buffer is freed as soon as its xorb is uploaded, which needs no other buffer.
type XorbBudget struct {
	slots chan struct{}
}

// NewXorbBudget returns a budget of bytes (rounded down to whole xorb buffers, at least one).
func NewXorbBudget(bytes int64) *XorbBudget {
	n := max(1, bytes/MaxXorbBytes)
	return &XorbBudget{slots: make(chan struct{}, n)}
}

// Buffers is how many xorb buffers the budget allows at once.
func (b *XorbBudget) Buffers() int { return cap(b.slots) }

// InUse is how many xorb buffers are held now.
func (b *XorbBudget) InUse() int { return len(b.slots) }

func (b *XorbBudget) acquire(ctx context.Context) error {
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (b *XorbBudget) release() { <-b.slots }

// defaultBudget is shared by every Client not given its own (WithXorbBudget).
var defaultBudget = NewXorbBudget(DefaultXorbMemory)

// WithXorbBudget makes the Client's Uploaders draw xorb buffers from b instead of the
// process-wide budget of DefaultXorbMemory; share one budget between Clients to bound them
// together.
func WithXorbBudget(b *XorbBudget) Option { return func(c *Client) { c.budget = b } }
