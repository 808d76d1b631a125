package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/internal/synth"
	"github.com/linaqruf/hf2ms/internal/version"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// fastClient is a client with millisecond backoff and its own gate, so tests neither wait nor
// share rate-limit state.
func fastClient(opts ...Option) *http.Client {
	base := []Option{WithBackoff(time.Millisecond, 5*time.Millisecond), WithGate(NewGate())}
	return NewClient(append(base, opts...)...)
}

// abort cuts the connection without a response.
func abort() { panic(http.ErrAbortHandler) }

func get(t *testing.T, c *http.Client, ctx context.Context, u string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	require.NoError(t, err)
	return c.Do(req)
}

func TestRetriesRetryableStatuses(t *testing.T) {
	tests := []struct {
		status    int
		wantCalls int32
		wantFinal int
	}{
		{http.StatusRequestTimeout, 2, 200},
		{http.StatusTooManyRequests, 2, 200},
		{http.StatusInternalServerError, 2, 200},
		{http.StatusBadGateway, 2, 200},
		{http.StatusServiceUnavailable, 2, 200},
		{http.StatusGatewayTimeout, 2, 200},
		{http.StatusBadRequest, 1, 400},
		{http.StatusForbidden, 1, 403},
		{http.StatusNotFound, 1, 404},
		{http.StatusNotImplemented, 1, 501},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.status), func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if calls.Add(1) == 1 {
					http.Error(w, "first", tt.status)
					return
				}
				_, _ = io.WriteString(w, "ok")
			}))
			defer srv.Close()
			resp, err := get(t, fastClient(), context.Background(), srv.URL+"/x")
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, tt.wantFinal, resp.StatusCode)
			require.Equal(t, tt.wantCalls, calls.Load())
		})
	}
}

func TestRetriesExhaustedReturnLastResponse(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "still down", http.StatusBadGateway)
	}))
	defer srv.Close()
	resp, err := get(t, fastClient(WithMaxRetries(2)), context.Background(), srv.URL)
	require.NoError(t, err, "the caller gets the final response, not a giving-up error")
	defer resp.Body.Close()
	require.Equal(t, http.StatusBadGateway, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "still down\n", string(body))
	require.EqualValues(t, 3, calls.Load())
}

func TestRetriesConnectionReset(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			abort()
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	resp, err := get(t, fastClient(), context.Background(), srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 3, calls.Load())
}

func TestPOST(t *testing.T) {
	tests := []struct {
		name      string
		marked    bool
		fail      func(w http.ResponseWriter)
		wantCalls int32
		wantErr   bool
	}{
		{"unmarked 503 not retried", false, func(w http.ResponseWriter) { w.WriteHeader(503) }, 1, false},
		{"unmarked reset not retried", false, func(http.ResponseWriter) { abort() }, 1, true},
		{"marked 503 retried", true, func(w http.ResponseWriter) { w.WriteHeader(503) }, 2, false},
		{"marked reset retried", true, func(http.ResponseWriter) { abort() }, 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var mu sync.Mutex
			var bodies []string
			var lengths []int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				bodies, lengths = append(bodies, string(b)), append(lengths, r.ContentLength)
				mu.Unlock()
				if calls.Add(1) == 1 {
					tt.fail(w)
					return
				}
				_, _ = io.WriteString(w, "ok")
			}))
			defer srv.Close()
			ctx := context.Background()
			if tt.marked {
				ctx = Idempotent(ctx)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/api/batch", strings.NewReader(`{"a":1}`))
			require.NoError(t, err)
			resp, err := fastClient().Do(req)
			if tt.wantErr {
				require.Error(t, err)
			} else {
				require.NoError(t, err)
				resp.Body.Close()
			}
			require.Equal(t, tt.wantCalls, calls.Load())
			for i := range bodies {
				require.Equal(t, `{"a":1}`, bodies[i], "attempt %d got the whole body", i)
				require.EqualValues(t, 7, lengths[i], "attempt %d keeps Content-Length", i)
			}
		})
	}
}

// countingReader is a streaming body: no GetBody, counts what the transport pulled.
type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestStreamingPUTIsNotBufferedNorRetried(t *testing.T) {
	const size = 100 << 20
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = io.CopyN(io.Discard, r.Body, 1<<20)
		abort() // cut the upload early
	}))
	defer srv.Close()
	body := &countingReader{r: synth.Blob{Size: size, Seed: 1}.NewReader(0, size)}
	req, err := http.NewRequest(http.MethodPut, srv.URL+"/upload", body)
	require.NoError(t, err)
	req.ContentLength = size
	require.Nil(t, req.GetBody, "a plain io.Reader body cannot be rewound")

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	resp, err := fastClient().Do(req)
	runtime.ReadMemStats(&after)
	if err == nil {
		resp.Body.Close()
	}
	require.Error(t, err, "the server cut the upload")
	require.EqualValues(t, 1, calls.Load(), "a streaming body is sent once")
	require.Less(t, body.n.Load(), int64(32<<20), "the transport pulled only what the socket took")
	require.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "the body was not buffered")
}

func TestRetryAfterIsWaitedOut(t *testing.T) {
	var calls atomic.Int32
	var first time.Time
	var gap time.Duration
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		gap = time.Since(first)
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	resp, err := get(t, fastClient(), context.Background(), srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.EqualValues(t, 2, calls.Load())
	require.GreaterOrEqual(t, gap, time.Second, "Retry-After: 1 honoured, not the 1 ms backoff")
	require.Less(t, gap, 3*time.Second)
}

func TestRateLimitGateHoldsEveryRequestToTheHost(t *testing.T) {
	tests := []struct {
		name   string
		status int // status of the reply carrying r=0
	}{
		{"429 r=0", http.StatusTooManyRequests},
		{"200 r=0", http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var limited atomic.Bool
			var mu sync.Mutex
			var limitedAt time.Time
			arrivals := map[string][]time.Time{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				arrivals[r.URL.Path] = append(arrivals[r.URL.Path], time.Now())
				mu.Unlock()
				if r.URL.Path == "/a" && limited.CompareAndSwap(false, true) {
					mu.Lock()
					limitedAt = time.Now()
					mu.Unlock()
					w.Header().Set("RateLimit", `"api";r=0;t=1`)
					w.Header().Set("RateLimit-Policy", `"fixed window";"api";q=1000;w=300`)
					w.WriteHeader(tt.status)
					return
				}
				_, _ = io.WriteString(w, "ok")
			}))
			defer srv.Close()
			gate := NewGate()
			clientA := NewClient(WithGate(gate), WithBackoff(time.Millisecond, 5*time.Millisecond))
			clientB := NewClient(WithGate(gate), WithBackoff(time.Millisecond, 5*time.Millisecond))

			resp, err := get(t, clientA, context.Background(), srv.URL+"/a")
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)

			// A second goroutine, on another client sharing the gate, asks while the window is closed.
			host := strings.TrimPrefix(srv.URL, "http://")
			if tt.status == http.StatusOK {
				require.False(t, gate.blockedUntil(host).IsZero(), "a 200 with r=0 closes the gate for the next request")
			}
			var wg sync.WaitGroup
			var errB error
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := get(t, clientB, context.Background(), srv.URL+"/b")
				if err == nil {
					resp.Body.Close()
				}
				errB = err
			}()
			wg.Wait()
			require.NoError(t, errB)

			mu.Lock()
			defer mu.Unlock()
			require.Len(t, arrivals["/b"], 1)
			require.GreaterOrEqual(t, arrivals["/b"][0].Sub(limitedAt), time.Second, "request B waited for the window")
			if tt.status == http.StatusTooManyRequests {
				require.Len(t, arrivals["/a"], 2)
				require.GreaterOrEqual(t, arrivals["/a"][1].Sub(limitedAt), time.Second, "the retry waited for the window")
			}
		})
	}
}

func TestConcurrentRequestWaitsWhileAnotherIsRateLimited(t *testing.T) {
	// B is already in flight (held in the handler) when A gets the 429 and answers 503 once the
	// gate has closed; B's retry, and C sent after the 429, both wait for the window.
	gate := NewGate()
	var host string
	var gateNeverClosed atomic.Bool
	gateClosed := func() { // waits (5 s at most, so a broken gate fails instead of hanging)
		for deadline := time.Now().Add(5 * time.Second); gate.blockedUntil(host).IsZero(); {
			if time.Now().After(deadline) {
				gateNeverClosed.Store(true)
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	var mu sync.Mutex
	var limitedAt time.Time
	arrivals := map[string][]time.Time{}
	var aCalls, bCalls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals[r.URL.Path] = append(arrivals[r.URL.Path], time.Now())
		mu.Unlock()
		switch {
		case r.URL.Path == "/a" && aCalls.Add(1) == 1:
			mu.Lock()
			limitedAt = time.Now()
			mu.Unlock()
			w.Header().Set("RateLimit", `"api";r=0;t=1`)
			w.WriteHeader(http.StatusTooManyRequests)
			return
		case r.URL.Path == "/b" && bCalls.Add(1) == 1:
			gateClosed()
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	host = strings.TrimPrefix(srv.URL, "http://")
	c := NewClient(WithGate(gate), WithBackoff(time.Millisecond, 5*time.Millisecond))
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i, p := range []string{"/b", "/a", "/c"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			switch p {
			case "/a": // once B is in flight
				for bCalls.Load() == 0 {
					time.Sleep(time.Millisecond)
				}
			case "/c": // once A's 429 has closed the gate
				gateClosed()
			}
			resp, err := get(t, c, context.Background(), srv.URL+p)
			if err == nil {
				resp.Body.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	require.False(t, gateNeverClosed.Load(), "A's 429 closes the gate")
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, arrivals["/a"], 2)
	require.Len(t, arrivals["/b"], 2)
	require.Len(t, arrivals["/c"], 1)
	for _, at := range []time.Time{arrivals["/a"][1], arrivals["/b"][1], arrivals["/c"][0]} {
		require.GreaterOrEqual(t, at.Sub(limitedAt), time.Second)
	}
}

func TestContextCancelDuringWait(t *testing.T) {
	tests := []struct {
		name string
		prep func(g *Gate, host string)
	}{
		{"Retry-After backoff", func(*Gate, string) {}},
		{"closed gate", func(g *Gate, host string) { g.Block(host, time.Now().Add(time.Minute)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Retry-After", "60")
				w.WriteHeader(http.StatusTooManyRequests)
			}))
			defer srv.Close()
			g := NewGate()
			tt.prep(g, strings.TrimPrefix(srv.URL, "http://"))
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			start := time.Now()
			_, err := get(t, NewClient(WithGate(g)), ctx, srv.URL)
			require.ErrorIs(t, err, context.DeadlineExceeded)
			require.Less(t, time.Since(start), 5*time.Second)
		})
	}
}

func TestGateWaitHonoursContext(t *testing.T) {
	g := NewGate()
	g.Block("hub.example:443", time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	require.ErrorIs(t, g.Wait(ctx, "HUB.example"), context.Canceled, "host keys ignore case and default ports")
	require.NoError(t, g.Wait(context.Background(), "other.example"))
	var zero Gate // the zero value works too
	zero.Block("soon.example", time.Now().Add(30*time.Millisecond))
	start := time.Now()
	require.NoError(t, zero.Wait(context.Background(), "soon.example"))
	require.GreaterOrEqual(t, time.Since(start), 25*time.Millisecond)
}

func TestRateLimitBeyondMaxWaitFails(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("RateLimit", `"resolvers";r=0;t=240`)
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	g := NewGate()
	c := NewClient(WithGate(g), WithMaxWait(time.Second))
	start := time.Now()
	_, err := get(t, c, context.Background(), srv.URL)
	require.ErrorIs(t, err, hubkit.ErrRateLimited)
	var rl *RateLimitError
	require.ErrorAs(t, err, &rl)
	require.WithinDuration(t, time.Now().Add(240*time.Second), rl.Reset, 5*time.Second)
	require.Contains(t, err.Error(), "rate limited")
	require.Contains(t, err.Error(), "window resets at")
	require.Less(t, time.Since(start), time.Second)
	require.EqualValues(t, 1, calls.Load())

	// The gate is closed for 4 minutes now: the next request fails at once, without a call.
	_, err = get(t, c, context.Background(), srv.URL+"/other")
	require.ErrorIs(t, err, hubkit.ErrRateLimited)
	require.EqualValues(t, 1, calls.Load())
}

func TestRedirectCredentials(t *testing.T) {
	type seen struct{ auth, cookie string }
	var mu sync.Mutex
	got := map[string]seen{}
	record := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got[name+r.URL.Path] = seen{r.Header.Get("Authorization"), r.Header.Get("Cookie")}
			mu.Unlock()
			_, _ = io.WriteString(w, "ok")
		}
	}
	other := httptest.NewServer(record("other"))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/cross", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/blob?Signature=s", http.StatusFound)
	})
	mux.HandleFunc("/same", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/resolve-cache/file", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/bounce", func(w http.ResponseWriter, r *http.Request) {
		// out to the other host and back: credentials stay dropped
		http.Redirect(w, r, other.URL+"/back?to="+url.QueryEscape("http://"+r.Host+"/home"), http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/", record("origin"))
	origin := httptest.NewServer(mux)
	defer origin.Close()
	// the other server's /back sends the client home
	other.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/back" {
			http.Redirect(w, r, r.URL.Query().Get("to"), http.StatusFound)
			return
		}
		record("other")(w, r)
	})

	c := fastClient()
	do := func(path string) error {
		req, err := http.NewRequest(http.MethodGet, origin.URL+path, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer hf_secretsecretsecret")
		req.Header.Set("Cookie", "m_session_id=secret")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	require.NoError(t, do("/cross"))
	require.NoError(t, do("/same"))
	require.NoError(t, do("/bounce"))
	err := do("/loop")
	require.ErrorContains(t, err, "stopped after 10 redirects")

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, seen{}, got["other/blob"], "cross-host redirect drops Authorization and Cookie")
	require.Equal(t, seen{"Bearer hf_secretsecretsecret", "m_session_id=secret"}, got["origin/resolve-cache/file"],
		"same-host redirect keeps them")
	require.Equal(t, seen{}, got["origin/home"], "credentials stay dropped after leaving the host")
}

func TestUserAgent(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("User-Agent"))
		mu.Unlock()
	}))
	defer srv.Close()
	for _, tt := range []struct {
		opts []Option
		set  string
		want string
	}{
		{nil, "", version.UserAgent()},
		{[]Option{WithUserAgent("hf2ms/1.2.3 (action)")}, "", "hf2ms/1.2.3 (action)"},
		{nil, "mine/1", "mine/1"},
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL, nil)
		require.NoError(t, err)
		if tt.set != "" {
			req.Header.Set("User-Agent", tt.set)
		}
		resp, err := fastClient(tt.opts...).Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		mu.Lock()
		require.Equal(t, tt.want, got[len(got)-1])
		mu.Unlock()
		require.Equal(t, tt.set, req.Header.Get("User-Agent"), "the caller's request is not modified")
	}
}

func TestErrorsAndLogsNeverLeakSecrets(t *testing.T) {
	const token = "hf_LeakyLeakyLeakyToken42"
	const sig = "SIGdeadbeefcafe"
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// A port nobody listens on: every attempt fails to connect.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := l.Addr().String()
	require.NoError(t, l.Close())

	var flaky atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if flaky.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		abort()
	}))
	defer srv.Close()

	for _, u := range []string{
		"http://alice:pa55word@" + dead + "/repo/file?X-Amz-Signature=" + sig + "&X-Amz-Credential=AKIAEXAMPLE",
		srv.URL + "/file?Signature=" + sig,
	} {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+token)
		_, err = fastClient(WithMaxRetries(2), WithLogger(logger)).Do(req)
		require.Error(t, err)

		safe := RedactError(err)
		for _, leak := range []string{token, sig, "pa55word", "AKIAEXAMPLE", "?"} {
			require.NotContains(t, safe.Error(), leak)
			require.NotContains(t, errors.Unwrap(err).Error(), leak, "our transport's own error is clean")
		}
		require.Contains(t, safe.Error(), "/file", "the path stays to say what failed")
		var ue *url.Error
		require.ErrorAs(t, safe, &ue, "RedactError keeps the chain")
	}
	out := logs.String()
	require.Contains(t, out, "retry=1")
	require.Contains(t, out, "status=503")
	for _, leak := range []string{token, sig, "pa55word", "AKIAEXAMPLE", "Authorization"} {
		require.NotContains(t, out, leak)
	}
}

func TestParseHeaders(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"3", 3 * time.Second, true},
		{" 0 ", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"soon", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	} {
		d, ok := parseRetryAfter(tt.in, now)
		require.Equal(t, tt.ok, ok, tt.in)
		require.Equal(t, tt.want, d, tt.in)
	}

	for _, tt := range []struct {
		rl, policy string
		want       time.Duration
		exhausted  bool
	}{
		{`"api";r=0;t=55`, "", 55 * time.Second, true},
		{`"resolvers";r=2999;t=172`, `"fixed window";"resolvers";q=3000;w=300`, 172 * time.Second, false},
		{`"api";r=0`, `"fixed window";"api";q=1000;w=300`, 300 * time.Second, true},
		{`"api";r=5;t=10, "resolvers";r=0;t=20`, "", 20 * time.Second, true},
		{"", "", -1, false},
		{`"api";r=0`, "", -1, false},
	} {
		h := http.Header{}
		if tt.rl != "" {
			h.Set("RateLimit", tt.rl)
		}
		if tt.policy != "" {
			h.Set("RateLimit-Policy", tt.policy)
		}
		d, ex := windowReset(h)
		require.Equal(t, tt.exhausted, ex, tt.rl)
		require.Equal(t, tt.want, d, tt.rl)
	}
}

// rangeServer serves blob with Range support and lets cut decide, per request, how many bytes of
// the range to send before cutting (-1: all), and whether to cut by ending the body cleanly
// (short Content-Length) instead of breaking the connection.
func rangeServer(t *testing.T, blob []byte, cut func(n int) int, clean bool) (*httptest.Server, *[]int64) {
	t.Helper()
	var mu sync.Mutex
	var offsets []int64
	var n int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var from, to int64
		_, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &from, &to)
		if err != nil {
			http.Error(w, "range required", http.StatusBadRequest)
			return
		}
		mu.Lock()
		offsets = append(offsets, from)
		n++
		limit := cut(n)
		mu.Unlock()
		part := blob[from : to+1]
		if limit >= 0 && limit < len(part) && clean {
			part = part[:limit]
		}
		w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(blob)))
		w.Header().Set("Content-Length", strconv.Itoa(len(part)))
		w.WriteHeader(http.StatusPartialContent)
		if limit >= 0 && limit < len(part) {
			_, _ = w.Write(part[:limit])
			w.(http.Flusher).Flush()
			abort()
		}
		_, _ = w.Write(part)
	}))
	return srv, &offsets
}

func rangeOpener(c *http.Client, u string, end int64, opens *atomic.Int32) func(ctx context.Context, off int64) (io.ReadCloser, error) {
	return func(ctx context.Context, off int64) (io.ReadCloser, error) {
		opens.Add(1)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, end-1))
		resp, err := c.Do(req)
		if err != nil {
			return nil, RedactError(err)
		}
		if resp.StatusCode != http.StatusPartialContent {
			resp.Body.Close()
			return nil, &StatusError{StatusCode: resp.StatusCode, Status: resp.Status}
		}
		return resp.Body, nil
	}
}

func TestResumingReaderResumesAfterCuts(t *testing.T) {
	blob := synth.Blob{Size: 3 << 20, Seed: 7}.Bytes()
	const start = 1000
	end := int64(len(blob) - 5)
	const chunk = 700 << 10
	for _, clean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean-eof=%v", clean), func(t *testing.T) {
			// The first three responses are cut after 700 KiB; the fourth delivers the rest.
			srv, offsets := rangeServer(t, blob, func(n int) int {
				if n <= 3 {
					return chunk
				}
				return -1
			}, clean)
			defer srv.Close()
			var opens atomic.Int32
			r := NewResumingReader(context.Background(), rangeOpener(fastClient(WithMaxRetries(0)), srv.URL, end, &opens),
				start, end, WithResumeBackoff(time.Millisecond, 5*time.Millisecond))
			got, err := io.ReadAll(r)
			require.NoError(t, err)
			require.NoError(t, r.Close())
			require.True(t, bytes.Equal(blob[start:end], got), "bytes come out identical")
			require.Equal(t, []int64{start, start + chunk, start + 2*chunk, start + 3*chunk}, *offsets,
				"each reopen asks for the range from where the cut happened")
		})
	}
}

func TestResumingReaderGivesUp(t *testing.T) {
	blob := synth.Blob{Size: 64 << 10, Seed: 3}.Bytes()
	end := int64(len(blob))
	t.Run("no progress", func(t *testing.T) {
		// 1 KiB then cut, then every reopen is cut before the first byte.
		srv, offsets := rangeServer(t, blob, func(n int) int {
			if n == 1 {
				return 1024
			}
			return 0
		}, false)
		defer srv.Close()
		var opens atomic.Int32
		r := NewResumingReader(context.Background(), rangeOpener(fastClient(WithMaxRetries(0)), srv.URL, end, &opens),
			0, end, WithResumeTries(4), WithResumeBackoff(time.Millisecond, 2*time.Millisecond))
		got, err := io.ReadAll(r)
		require.Error(t, err)
		require.Equal(t, blob[:1024], got)
		require.ErrorContains(t, err, "gave up at offset 1024 after 4 tries")
		require.EqualValues(t, 5, opens.Load(), "first open, then 4 tries at offset 1024")
		require.Equal(t, []int64{0, 1024, 1024, 1024, 1024}, *offsets)
		_, err = r.Read(make([]byte, 1))
		require.Error(t, err, "the error is sticky")
	})
	t.Run("transient open errors", func(t *testing.T) {
		var opens atomic.Int32
		open := func(context.Context, int64) (io.ReadCloser, error) {
			opens.Add(1)
			return nil, fmt.Errorf("hub: %w", hubkit.ErrServer)
		}
		_, err := io.ReadAll(NewResumingReader(context.Background(), open, 0, 10, WithResumeBackoff(time.Millisecond, time.Millisecond)))
		require.ErrorIs(t, err, hubkit.ErrServer)
		require.ErrorContains(t, err, "after 5 tries")
		require.EqualValues(t, 5, opens.Load())
	})
	t.Run("permanent open error", func(t *testing.T) {
		for _, perm := range []error{
			&StatusError{StatusCode: 404},
			fmt.Errorf("wrapped: %w", &StatusError{StatusCode: 403}),
			hubkit.ErrNotFound,
			Permanent(errors.New("signed URL expired")),
		} {
			var opens atomic.Int32
			open := func(context.Context, int64) (io.ReadCloser, error) { opens.Add(1); return nil, perm }
			_, err := io.ReadAll(NewResumingReader(context.Background(), open, 0, 10, WithResumeBackoff(time.Millisecond, time.Millisecond)))
			require.ErrorIs(t, err, perm)
			require.EqualValues(t, 1, opens.Load(), "%v is not retried", perm)
		}
	})
	t.Run("context cancelled during backoff", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		open := func(context.Context, int64) (io.ReadCloser, error) {
			time.AfterFunc(20*time.Millisecond, cancel)
			return nil, &StatusError{StatusCode: 503}
		}
		start := time.Now()
		_, err := io.ReadAll(NewResumingReader(ctx, open, 0, 10, WithResumeBackoff(time.Hour, time.Hour)))
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 5*time.Second)
	})
	t.Run("context cancelled in open", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		open := func(context.Context, int64) (io.ReadCloser, error) {
			cancel()
			return nil, &StatusError{StatusCode: 503}
		}
		_, err := io.ReadAll(NewResumingReader(ctx, open, 0, 10, WithResumeBackoff(time.Hour, time.Hour)))
		require.ErrorIs(t, err, context.Canceled)
	})
}

func TestIsPermanent(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("connection reset"), false},
		{&StatusError{StatusCode: 408}, false},
		{&StatusError{StatusCode: 429}, false},
		{&StatusError{StatusCode: 500}, false},
		{&StatusError{StatusCode: 416}, true},
		{fmt.Errorf("x: %w", hubkit.ErrRateLimited), false},
		{fmt.Errorf("x: %w", hubkit.ErrForbidden), true},
		{context.Canceled, true},
		{Permanent(io.ErrUnexpectedEOF), true},
	} {
		require.Equal(t, tt.want, IsPermanent(tt.err), "%v", tt.err)
	}
}

func TestSubdomainRedirectDropsCredentials(t *testing.T) {
	// huggingface.co -> cdn-lfs.huggingface.co: Go keeps Authorization for sub-domains; we must not.
	var mu sync.Mutex
	var cdnAuth, cdnCookie string
	var cdnCalls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Host {
		case "hub.test":
			http.Redirect(w, r, "http://cdn.hub.test/blob", http.StatusFound)
		default:
			mu.Lock()
			cdnCalls++
			cdnAuth, cdnCookie = r.Header.Get("Authorization"), r.Header.Get("Cookie")
			mu.Unlock()
		}
	}))
	defer srv.Close()
	base := DefaultTransport()
	addr := srv.Listener.Addr().String()
	base.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr) // every *.test name is the test server
	}
	req, err := http.NewRequest(http.MethodGet, "http://hub.test/resolve/main/f", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer hf_secretsecretsecret")
	req.Header.Set("Cookie", "m_session_id=secret")
	resp, err := fastClient(WithBaseTransport(base)).Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, 1, cdnCalls)
	require.Empty(t, cdnAuth)
	require.Empty(t, cdnCookie)
}

func TestDefaultTransportSpeaksHTTP1(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Proto)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	base := DefaultTransport()
	base.TLSClientConfig = srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	c := fastClient(WithBaseTransport(base))
	require.Zero(t, c.Timeout, "no overall timeout: bodies may stream for hours")
	resp, err := get(t, c, context.Background(), srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "HTTP/1.1", string(body), "the server offers h2; we still speak HTTP/1.1")
	require.Equal(t, 64, base.MaxIdleConnsPerHost)
	require.Equal(t, 256<<10, base.ReadBufferSize)
	require.Equal(t, 256<<10, base.WriteBufferSize)
}
