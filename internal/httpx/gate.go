package httpx

import (
	"context"
	"sync"
	"time"
)

// Gate holds, per host, a time before which no request may be sent, so that a rate limit seen by
// one request makes every request to that host wait (across goroutines and clients sharing the
// Gate). The zero value is an open Gate, ready to use.
type Gate struct {
	mu    sync.Mutex
	until map[string]time.Time
}

// NewGate returns an empty Gate.
func NewGate() *Gate { return &Gate{until: map[string]time.Time{}} }

// Block closes host (host or host:port, as in a URL; default ports are ignored) until the given
// time. A later Block extends the closure, an earlier one is ignored.
func (g *Gate) Block(host string, until time.Time) {
	host = gateKey(host)
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.until == nil {
		g.until = map[string]time.Time{}
	}
	if until.After(g.until[host]) {
		g.until[host] = until
	}
}

// blockedUntil reports when host reopens (zero or past if open).
func (g *Gate) blockedUntil(host string) time.Time {
	host = gateKey(host)
	g.mu.Lock()
	defer g.mu.Unlock()
	u, ok := g.until[host]
	if ok && !u.After(time.Now()) {
		delete(g.until, host)
		return time.Time{}
	}
	return u
}

// Wait blocks until host's window reopens (at once if it is open) or ctx is done, in which case
// it returns ctx's error.
func (g *Gate) Wait(ctx context.Context, host string) error {
	for {
		u := g.blockedUntil(host)
		if u.IsZero() {
			return ctx.Err()
		}
		t := time.NewTimer(time.Until(u))
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
