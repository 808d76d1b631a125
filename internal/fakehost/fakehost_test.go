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
