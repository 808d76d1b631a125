package hub

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestRetryAt checks the rate-limit reset read from Retry-After and RateLimit: huge values are
// capped at 24h instead of overflowing into the past, and values that cannot be read are ignored.
func TestRetryAt(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		h    http.Header
		want time.Duration // after now; -1: zero time (unknown)
	}{
		{name: "none", h: http.Header{}, want: -1},
		{name: "seconds", h: http.Header{"Retry-After": {"3"}}, want: 3 * time.Second},
		{name: "zero", h: http.Header{"Retry-After": {"0"}}, want: 0},
		{name: "fraction", h: http.Header{"Retry-After": {"1.5"}}, want: 1500 * time.Millisecond},
		{name: "tiny positive", h: http.Header{"Retry-After": {"1e-12"}}, want: time.Nanosecond},
		{name: "just under the cap", h: http.Header{"Retry-After": {"86399"}}, want: 86399 * time.Second},
		{name: "max int64", h: http.Header{"Retry-After": {"9223372036854775807"}}, want: maxRetryWait},
		{name: "duration overflow", h: http.Header{"Retry-After": {"9223372037"}}, want: maxRetryWait},
		{name: "1e300", h: http.Header{"Retry-After": {"1e300"}}, want: maxRetryWait},
		{name: "1e400 out of float range", h: http.Header{"Retry-After": {"1e400"}}, want: maxRetryWait},
		{name: "Inf", h: http.Header{"Retry-After": {"Inf"}}, want: maxRetryWait},
		{name: "+Inf", h: http.Header{"Retry-After": {"+Inf"}}, want: maxRetryWait},
		{name: "negative ignored", h: http.Header{"Retry-After": {"-5"}}, want: -1},
		{name: "-Inf ignored", h: http.Header{"Retry-After": {"-Inf"}}, want: -1},
		{name: "NaN ignored", h: http.Header{"Retry-After": {"NaN"}}, want: -1},
		{name: "garbage ignored", h: http.Header{"Retry-After": {"soon"}}, want: -1},
		{name: "date", h: http.Header{"Retry-After": {now.Add(time.Minute).Format(http.TimeFormat)}}, want: time.Minute},
		{name: "far date capped", h: http.Header{"Retry-After": {now.AddDate(100, 0, 0).Format(http.TimeFormat)}}, want: maxRetryWait},
		{name: "negative falls back to RateLimit", h: http.Header{"Retry-After": {"-1"}, "Ratelimit": {`"api";r=0;t=7`}}, want: 7 * time.Second},
		{name: "RateLimit t", h: http.Header{"Ratelimit": {`"api";r=0;t=7`}}, want: 7 * time.Second},
		{name: "RateLimit max int64", h: http.Header{"Ratelimit": {`"api";r=0;t=9223372036854775807`}}, want: maxRetryWait},
		{name: "RateLimit 1e300", h: http.Header{"Ratelimit": {`"api";r=0;t=1e300`}}, want: maxRetryWait},
		{name: "RateLimit Inf", h: http.Header{"Ratelimit": {`"api";r=0;t=Inf`}}, want: maxRetryWait},
		{name: "RateLimit negative ignored", h: http.Header{"Ratelimit": {`"api";r=0;t=-3`}}, want: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := retryAt(tt.h, now)
			if tt.want < 0 {
				require.True(t, got.IsZero(), "got %v", got)
				return
			}
			require.False(t, got.Before(now), "a reset in the past: %v", got)
			require.Equal(t, tt.want, got.Sub(now))
		})
	}
}
