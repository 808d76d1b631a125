package xet_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/linaqruf/hf2ms/pkg/xet"
	"github.com/linaqruf/hf2ms/pkg/xet/xettest"
)

// tokenRoute serves the Hub's token route for one scope, counting calls and requiring the Hub
// token.
func tokenRoute(t *testing.T, cas *xettest.Server, write bool) (string, *atomic.Int32) {
	var calls atomic.Int32
	h := cas.TokenHandler("model/org/repo", "main", write)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if r.Header.Get("Authorization") != "Bearer hf_hub_secret" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, &calls
}

func TestHubTokensRefreshBeforeExpiry(t *testing.T) {
	cases := []struct {
		name      string
		ttl       time.Duration
		wantCalls func(n int32) bool
	}{
		{"long-lived token is reused", time.Hour, func(n int32) bool { return n == 1 }},
		{"token within the refresh margin is refreshed", 30 * time.Second, func(n int32) bool { return n > 2 }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cas := xettest.New(xettest.WithTokenTTL(tc.ttl))
			t.Cleanup(cas.Close)
			cas.ForbidCredential("hf_hub_secret")
			url, calls := tokenRoute(t, cas, true)
			c := xet.NewClient(&xet.HubTokens{URL: url, HubToken: "hf_hub_secret"}, xet.WithRetries(2, time.Millisecond))
			data := xet.PseudoRandom(21, 1<<20)
			res, err := c.Upload(context.Background(), bytes.NewReader(data))
			require.NoError(t, err)
			got, err := readAll(t, c.File(res.FileHash, int64(len(data))), 0, -1)
			require.NoError(t, err)
			assert.True(t, bytes.Equal(data, got))
			assert.True(t, tc.wantCalls(calls.Load()), "token route called %d times", calls.Load())
			assert.Empty(t, cas.Leaks(), "the Hub token never reaches the CAS")
		})
	}
}

func TestExpiredTokensAndScopes(t *testing.T) {
	cas := xettest.New(xettest.WithTokenTTL(-time.Second))
	t.Cleanup(cas.Close)
	url, calls := tokenRoute(t, cas, true)
	c := xet.NewClient(&xet.HubTokens{URL: url, HubToken: "hf_hub_secret"}, xet.WithRetries(3, time.Millisecond))
	_, err := c.Upload(context.Background(), bytes.NewReader(xet.PseudoRandom(22, 100000)))
	var se *xet.StatusError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusUnauthorized, se.Status, "an expired CAS token is refused")
	assert.GreaterOrEqual(t, calls.Load(), int32(2), "a refused token is refreshed before giving up")

	ok := xettest.New()
	t.Cleanup(ok.Close)
	readOnly := xet.NewClient(&xettest.Tokens{S: ok, Scope: "model/org/repo", Rev: "main"}, xet.WithRetries(1, 0))
	_, err = readOnly.Upload(context.Background(), bytes.NewReader(xet.PseudoRandom(23, 100000)))
	require.ErrorAs(t, err, &se)
	assert.Equal(t, http.StatusForbidden, se.Status, "a read token cannot upload")
}
