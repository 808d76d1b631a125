package fakehost

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/internal/wan"
)

func TestWithWANShapesBothHosts(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	api := wan.Profile{Latency: 40 * time.Millisecond}
	cdn := wan.Profile{Latency: 120 * time.Millisecond}
	for _, tc := range []struct {
		name     string
		opts     []Option
		api, cdn time.Duration
	}{
		{"plain", nil, 0, 0},
		{"wan", []Option{WithWAN(api, cdn)}, api.Latency, cdn.Latency},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := Start(ok, ok, tc.opts...)
			defer h.Close()
			for _, u := range []struct {
				url string
				min time.Duration
			}{{h.URL(), tc.api}, {h.CDNURL(), tc.cdn}} {
				start := time.Now()
				resp, err := http.Get(u.url)
				require.NoError(t, err)
				b, err := io.ReadAll(resp.Body)
				require.NoError(t, err)
				require.NoError(t, resp.Body.Close())
				assert.Equal(t, "ok", string(b))
				assert.GreaterOrEqual(t, time.Since(start), u.min)
			}
		})
	}
}

func TestSettleWaitsForRequestsBeingServed(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	h := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
	}), http.NotFoundHandler())
	defer h.Close()
	require.True(t, h.Settle(time.Second), "nothing was asked yet")

	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(h.URL() + "/slow")
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	<-entered
	require.False(t, h.Settle(50*time.Millisecond), "a request is being served")
	close(release)
	require.NoError(t, <-done)
	require.True(t, h.Settle(5*time.Second), "the request was answered and the connection is idle")
}
