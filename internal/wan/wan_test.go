package wan

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const payload = 1 << 20

// serve accepts connections on a shaped listener: download mode writes payload bytes to each,
// upload mode reads payload bytes from each. It returns the address.
func serve(t *testing.T, p Profile, upload bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sl := NewLink(p).Listener(ln)
	t.Cleanup(func() { _ = sl.Close() })
	go func() {
		for {
			c, err := sl.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if upload {
					_, _ = io.CopyN(io.Discard, c, payload)
					_, _ = c.Write([]byte{1})
					return
				}
				_, _ = c.Write(make([]byte, payload))
			}()
		}
	}()
	return ln.Addr().String()
}

// transfer moves payload bytes over each of n connections at once and returns the wall time.
func transfer(t *testing.T, addr string, n int, upload bool) time.Duration {
	t.Helper()
	var wg sync.WaitGroup
	start := time.Now()
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if !assert.NoError(t, err) {
				return
			}
			defer c.Close()
			if upload {
				_, err = c.Write(make([]byte, payload))
				assert.NoError(t, err)
				_, err = c.Read(make([]byte, 1))
				assert.NoError(t, err)
				return
			}
			got, err := io.Copy(io.Discard, c)
			assert.NoError(t, err)
			assert.EqualValues(t, payload, got)
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// The caps are checked as ratios of two transfers on the same link: four connections under a
// per-connection cap take about as long as one (they do not share it), four under a host cap
// take about four times as long (they share it). A loaded machine stretches both alike.
func TestCapsAsRatios(t *testing.T) {
	const r = 4 * MB
	for _, tc := range []struct {
		name     string
		p        Profile
		upload   bool
		shared   bool
		minSingl time.Duration
	}{
		{"per-connection download", Profile{Down: r}, false, false, 200 * time.Millisecond},
		{"host download", Profile{HostDown: r}, false, true, 200 * time.Millisecond},
		{"per-connection upload", Profile{Up: r}, true, false, 200 * time.Millisecond},
		{"host upload", Profile{HostUp: r}, true, true, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := serve(t, tc.p, tc.upload)
			one := transfer(t, addr, 1, tc.upload)
			four := transfer(t, addr, 4, tc.upload)
			// A capped transfer cannot beat its cap: 1 MiB at 4 MB/s is at least 0.26 s.
			assert.GreaterOrEqual(t, one, tc.minSingl)
			ratio := float64(four) / float64(one)
			if tc.shared {
				assert.Greater(t, ratio, 2.5, "four connections share a host cap (one %v, four %v)", one, four)
			} else {
				assert.Less(t, ratio, 2.0, "each connection has its own cap (one %v, four %v)", one, four)
			}
		})
	}
}

func TestHandlerDelays(t *testing.T) {
	p := Profile{Latency: 60 * time.Millisecond, FirstByte: 40 * time.Millisecond, Handshake: 50 * time.Millisecond}
	l := NewLink(p)
	srv := httptest.NewUnstartedServer(l.Handler(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})))
	srv.Listener = l.Listener(srv.Listener)
	srv.Start()
	defer srv.Close()
	get := func() time.Duration {
		start := time.Now()
		resp, err := srv.Client().Get(srv.URL)
		require.NoError(t, err)
		b, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, "ok", string(b))
		return time.Since(start)
	}
	first, second := get(), get()
	assert.GreaterOrEqual(t, first, p.Handshake+p.RTT(), "a new connection pays its handshake and a round trip")
	assert.GreaterOrEqual(t, second, p.RTT(), "every request pays a round trip")
}

func TestLookup(t *testing.T) {
	for _, n := range Names() {
		p, err := Lookup(n)
		require.NoError(t, err)
		assert.Equal(t, n, p.Name)
		assert.Contains(t, p.String(), n)
	}
	_, err := Lookup("moon-base")
	assert.ErrorContains(t, err, "cdn-edge")
}

func TestFlowLimit(t *testing.T) {
	edge := Profiles["cdn-edge"]
	ms := Profiles["transpacific-ms"]
	for _, tc := range []struct {
		name      string
		f         Flow
		rate, one float64
		why       string
	}{
		{"one file into a single PUT", Flow{Src: edge, Dst: edge, Files: 1, InFlight: 4, Conns: 8, SinglePut: true},
			30 * MB, 9 * MB, "destination single-stream cap"},
		{"one file into multipart", Flow{Src: edge, Dst: edge, Files: 1, InFlight: 4, Conns: 8, Parts: 4},
			60 * MB, 9 * MB, "source host cap"},
		{"many files, budget-bound", Flow{Src: edge, Dst: edge, Files: 32, InFlight: 4, Conns: 4, SinglePut: true},
			36 * MB, 36 * MB, "source per-connection cap x 4"},
		{"transpacific single PUT", Flow{Src: edge, Dst: ms, Files: 1, InFlight: 4, Conns: 8, SinglePut: true},
			20 * MB, 9 * MB, "destination single-stream cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.f.Limit()
			assert.InDelta(t, tc.rate, l.Rate, 1)
			assert.Equal(t, tc.why, l.Bottleneck)
			assert.InDelta(t, tc.one, tc.f.OneConnection().Rate, 1)
		})
	}
}
