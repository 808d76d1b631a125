package httpx

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The per-host gate is shared by every client of the process: a 429 seen by one worker slows
// every request to that hub until the window resets, not just the request that got it, while
// other hubs are not held. These tests use clients built with the default options, so they
// share one Gate exactly as the hub clients of one hf2ms process do (the app layer builds them with WithGate).

// arrivalLog records when each path of a server was requested.
type arrivalLog struct {
	mu sync.Mutex
	at map[string][]time.Time
}

func (l *arrivalLog) add(p string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.at == nil {
		l.at = map[string][]time.Time{}
	}
	l.at[p] = append(l.at[p], time.Now())
}

func (l *arrivalLog) get(p string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.at[p]...)
}

// limitedOnceServer is a hub that answers the first request for /limited with a 429 carrying
// headers and everything else with 200 "ok", logging every arrival; limitedAt is when the 429 was
// sent. It closes when the test ends.
func limitedOnceServer(t *testing.T, headers map[string]string) (srv *httptest.Server, arrivals *arrivalLog, limitedAt func() time.Time) {
	var once atomic.Bool
	var at atomic.Pointer[time.Time]
	arrivals = &arrivalLog{}
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrivals.add(r.URL.Path)
		if r.URL.Path == "/limited" && once.CompareAndSwap(false, true) {
			now := time.Now()
			at.Store(&now)
			for k, v := range headers {
				w.Header().Set(k, v)
			}
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	return srv, arrivals, func() time.Time { return *at.Load() }
}

// waitBlocked waits until gate holds host, failing with msg after 5 s (a gate that never closes
// fails the test instead of hanging it).
func waitBlocked(t *testing.T, gate *Gate, host, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for gate.blockedUntil(host).IsZero() {
		require.True(t, time.Now().Before(deadline), msg)
		time.Sleep(time.Millisecond)
	}
}

func TestSharedGateHoldsOtherClientsOfTheSameHostOnly(t *testing.T) {
	tests := []struct {
		name    string
		headers map[string]string // of the one 429 reply
		window  time.Duration     // what the headers announce
	}{
		{"RateLimit t=1", map[string]string{"RateLimit": `"api";r=0;t=1`, "RateLimit-Policy": `"fixed window";"api";q=1000;w=300`}, time.Second},
		{"Retry-After 1", map[string]string{"Retry-After": "1"}, time.Second},
		{"RateLimit-Remaining/Reset", map[string]string{"RateLimit-Remaining": "0", "RateLimit-Reset": "1"}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hubSrv, hub, limitedAt := limitedOnceServer(t, tt.headers)
			other := &arrivalLog{}
			otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				other.add(r.URL.Path)
				_, _ = io.WriteString(w, "ok")
			}))
			defer otherSrv.Close()
			hubHost := strings.TrimPrefix(hubSrv.URL, "http://")

			// Two clients sharing one Gate, as every client of one hf2ms process does.
			gate := NewGate()
			worker1 := NewClient(WithGate(gate), WithBackoff(time.Millisecond, 5*time.Millisecond))
			worker2 := NewClient(WithGate(gate), WithBackoff(time.Millisecond, 5*time.Millisecond))

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			fetch := func(c *http.Client, u string) {
				defer wg.Done()
				resp, err := get(t, c, ctx, u)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					errs <- &statusErr{resp.StatusCode}
				}
			}
			wg.Add(1)
			go fetch(worker1, hubSrv.URL+"/limited")

			// Wait until the 429 has closed the shared gate for the hub's host.
			waitBlocked(t, gate, hubHost, "the 429 never closed the shared gate")
			// Now, concurrently: three requests of the other client to the same hub, and three to
			// another host.
			sentAt := time.Now()
			for range 3 {
				wg.Add(2)
				go fetch(worker2, hubSrv.URL+"/held")
				go fetch(worker2, otherSrv.URL+"/free")
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}

			at := limitedAt()
			retry := hub.get("/limited")
			require.Len(t, retry, 2, "the limited request is retried once")
			require.GreaterOrEqual(t, retry[1].Sub(at), tt.window, "the retry waited for the window")
			held := hub.get("/held")
			require.Len(t, held, 3)
			for _, a := range held {
				require.GreaterOrEqual(t, a.Sub(at), tt.window, "another client's request to the same host waited for the window")
			}
			free := other.get("/free")
			require.Len(t, free, 3)
			for _, a := range free {
				require.Less(t, a.Sub(sentAt), tt.window/2, "a request to another host is not held")
			}
		})
	}
}

func TestSeparateGatesDoNotShareALimit(t *testing.T) {
	// The counter-check: a client with its own Gate is not held by another gate's 429, so the
	// sharing above comes from the shared Gate and not from timing.
	srv, hub, limitedAt := limitedOnceServer(t, map[string]string{"RateLimit": `"api";r=0;t=1`})
	host := strings.TrimPrefix(srv.URL, "http://")
	g1, g2 := NewGate(), NewGate()
	c1 := NewClient(WithGate(g1), WithBackoff(time.Millisecond, 5*time.Millisecond))
	c2 := NewClient(WithGate(g2), WithBackoff(time.Millisecond, 5*time.Millisecond))

	done := make(chan error, 1)
	go func() {
		resp, err := get(t, c1, context.Background(), srv.URL+"/limited")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitBlocked(t, g1, host, "the 429 never closed the first gate")
	resp, err := get(t, c2, context.Background(), srv.URL+"/unrelated")
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, <-done)
	require.Less(t, hub.get("/unrelated")[0].Sub(limitedAt()), 500*time.Millisecond)
	require.True(t, g2.blockedUntil(host).IsZero())
}

type statusErr struct{ code int }

func (e *statusErr) Error() string { return http.StatusText(e.code) }
