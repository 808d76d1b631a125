// Package wan models a wide-area link for loopback test servers: per-connection bandwidth caps
// (download and upload separately), a total-bandwidth cap per host, a handshake delay per new
// connection, a delay per request and a delay before the first byte of each response.
//
// A Link is one host's link: Link.Listener shapes the bytes of every connection accepted on a
// listener (token buckets per connection and per host), Link.Handler adds the request and
// first-byte delays. Named Profiles describe the links the benchmark runs (bench/run.sh --wan).
// It is meant for loopback servers in tests and benchmarks only.
//
// wan imports only the standard library and golang.org/x/time/rate; the fakes and benchmarks
// import it to serve through a link, pkg/modal for its Profile type (the ETA model's links).
package wan

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// MB is 10^6 bytes, the unit the profiles' rates are written in.
const MB = 1e6

// Profile is a link: caps in bytes per second (0 means uncapped), delays per connection, per
// request and per first response byte. Down is server to client (a download), Up client to
// server (an upload).
type Profile struct {
	Name string
	// Down and Up cap each connection.
	Down, Up float64
	// HostDown and HostUp cap all connections of the host together.
	HostDown, HostUp float64
	// Handshake delays the first byte a new connection reads (TCP and TLS set-up).
	Handshake time.Duration
	// Latency delays every request before it is handled (the request's trip).
	Latency time.Duration
	// FirstByte delays the first byte of every response (the response's trip and server time).
	FirstByte time.Duration
}

// RTT is the time one request costs before its response starts: Latency + FirstByte.
func (p Profile) RTT() time.Duration { return p.Latency + p.FirstByte }

// String describes the profile in one line.
func (p Profile) String() string {
	f := func(v float64) string {
		if v <= 0 {
			return "uncapped"
		}
		return fmt.Sprintf("%g MB/s", v/MB)
	}
	return fmt.Sprintf("%s: per connection down %s, up %s; per host down %s, up %s; round trip %s",
		p.Name, f(p.Down), f(p.Up), f(p.HostDown), f(p.HostUp), p.RTT())
}

// Profiles are the named links the benchmark runs. The figures are what the project's users met:
// a CDN edge that holds one connection near 9 MB/s, a transpacific path to ModelScope whose
// single-PUT uploads are throttled near 20 MB/s, and a fast same-region link.
var Profiles = map[string]Profile{
	"cdn-edge": {Name: "cdn-edge", Down: 9 * MB, Up: 30 * MB, HostDown: 60 * MB, HostUp: 60 * MB,
		Handshake: 80 * time.Millisecond, Latency: 40 * time.Millisecond, FirstByte: 40 * time.Millisecond},
	"transpacific-ms": {Name: "transpacific-ms", Down: 12 * MB, Up: 20 * MB, HostDown: 60 * MB, HostUp: 40 * MB,
		Handshake: 200 * time.Millisecond, Latency: 100 * time.Millisecond, FirstByte: 100 * time.Millisecond},
	"fast-region": {Name: "fast-region", Down: 100 * MB, Up: 100 * MB, HostDown: 150 * MB, HostUp: 150 * MB,
		Handshake: 10 * time.Millisecond, Latency: 5 * time.Millisecond, FirstByte: 5 * time.Millisecond},
}

// Names lists the profiles' names, sorted.
func Names() []string {
	out := make([]string, 0, len(Profiles))
	for n := range Profiles {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Lookup returns the named profile.
func Lookup(name string) (Profile, error) {
	p, ok := Profiles[name]
	if !ok {
		return Profile{}, fmt.Errorf("wan: no profile %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return p, nil
}

// Link is one host's link: the host-wide buckets shared by all its connections. Its methods are
// safe for concurrent use.
type Link struct {
	p                Profile
	hostDown, hostUp *rate.Limiter
}

// NewLink returns a link shaped by p.
func NewLink(p Profile) *Link {
	return &Link{p: p, hostDown: limiter(p.HostDown), hostUp: limiter(p.HostUp)}
}

// Profile is the link's profile.
func (l *Link) Profile() Profile { return l.p }

// limiter is a token bucket of rate bps (nil when uncapped) whose burst is 10 ms of traffic,
// at least 16 KiB, so that a short transfer cannot run far ahead of the rate.
func limiter(bps float64) *rate.Limiter {
	if bps <= 0 {
		return nil
	}
	return rate.NewLimiter(rate.Limit(bps), burst(bps))
}

func burst(bps float64) int { return max(16<<10, int(bps/100)) }

// Listener shapes every connection ln accepts.
func (l *Link) Listener(ln net.Listener) net.Listener { return &listener{Listener: ln, l: l} }

type listener struct {
	net.Listener
	l *Link
}

// Accept implements net.Listener.
func (ln *listener) Accept() (net.Conn, error) {
	c, err := ln.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &conn{Conn: c, l: ln.l, ctx: ctx, cancel: cancel,
		down: limiter(ln.l.p.Down), up: limiter(ln.l.p.Up),
		ready: time.Now().Add(ln.l.p.Handshake)}, nil
}

// conn is a shaped connection: what the server writes is a download, what it reads an upload.
type conn struct {
	net.Conn
	l        *Link
	ctx      context.Context
	cancel   context.CancelFunc
	down, up *rate.Limiter
	once     sync.Once
	ready    time.Time
}

// Read implements net.Conn: at most one bucket's burst at a time, paid for before it is returned.
func (c *conn) Read(p []byte) (int, error) {
	c.once.Do(func() { c.sleep(time.Until(c.ready)) })
	if b := c.chunk(c.up, c.l.hostUp); len(p) > b {
		p = p[:b]
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		if werr := c.wait(n, c.up, c.l.hostUp); werr != nil && err == nil {
			err = werr
		}
	}
	return n, err
}

// Write implements net.Conn: each burst-sized piece waits for its tokens before it is sent.
func (c *conn) Write(p []byte) (int, error) {
	b := c.chunk(c.down, c.l.hostDown)
	var done int
	for done < len(p) {
		k := min(len(p)-done, b)
		if err := c.wait(k, c.down, c.l.hostDown); err != nil {
			return done, err
		}
		n, err := c.Conn.Write(p[done : done+k])
		done += n
		if err != nil {
			return done, err
		}
	}
	return done, nil
}

// Close implements net.Conn, ending any wait for tokens.
func (c *conn) Close() error {
	c.cancel()
	return c.Conn.Close()
}

// chunk is the largest piece both buckets can pass at once.
func (c *conn) chunk(a, b *rate.Limiter) int {
	n := 1 << 20
	for _, l := range []*rate.Limiter{a, b} {
		if l != nil {
			n = min(n, l.Burst())
		}
	}
	return n
}

func (c *conn) wait(n int, ls ...*rate.Limiter) error {
	for _, l := range ls {
		if l != nil {
			if err := l.WaitN(c.ctx, n); err != nil {
				return fmt.Errorf("wan: connection closed: %w", net.ErrClosed)
			}
		}
	}
	return nil
}

func (c *conn) sleep(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ctx.Done():
	}
}

// Handler delays every request by the profile's Latency before h sees it, and the first byte of
// every response by its FirstByte.
func (l *Link) Handler(h http.Handler) http.Handler {
	if l.p.Latency <= 0 && l.p.FirstByte <= 0 {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !sleepCtx(r.Context(), l.p.Latency) {
			return
		}
		if l.p.FirstByte > 0 {
			w = &delayedWriter{ResponseWriter: w, ctx: r.Context(), d: l.p.FirstByte}
		}
		h.ServeHTTP(w, r)
	})
}

// delayedWriter holds a response's first byte (its header) back by d.
type delayedWriter struct {
	http.ResponseWriter
	ctx  context.Context
	d    time.Duration
	once sync.Once
}

func (w *delayedWriter) start() { w.once.Do(func() { sleepCtx(w.ctx, w.d) }) }

// WriteHeader implements http.ResponseWriter.
func (w *delayedWriter) WriteHeader(code int) {
	w.start()
	w.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (w *delayedWriter) Write(p []byte) (int, error) {
	w.start()
	return w.ResponseWriter.Write(p)
}

// Flush implements http.Flusher when the wrapped writer does.
func (w *delayedWriter) Flush() {
	w.start()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the wrapped writer.
func (w *delayedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// sleepCtx sleeps d, reporting false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
