package msclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/stretchr/testify/require"
)

// successFalse reports whether body is a JSON object whose last "success" member (matched without
// regard to case, as encoding/json does) is false: an envelope the client must treat as a failure.
func successFalse(body []byte) bool {
	if !json.Valid(body) {
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	found := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return false
		}
		if strings.EqualFold(key, "success") {
			found = string(bytes.TrimSpace(v)) == "false"
		}
	}
	return found
}

const fuzzToken = "ms-fuzz-0123456789abcdef-secret"

// FuzzEnvelope: whatever status, Retry-After and body ModelScope answers an API call with, the
// client never panics; a non-2xx status and a Success:false envelope (errors inside HTTP 200) are
// always errors of a known kind whose text never shows the token.
func FuzzEnvelope(f *testing.F) {
	f.Add(200, "", []byte(`{"Code":200,"Data":{"Name":"x"},"Message":"success","RequestId":"r1","Success":true}`))
	var (
		mu     sync.Mutex
		status int
		retry  string
		body   []byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}))
	f.Cleanup(srv.Close)
	c := NewClient(WithEndpoint(srv.URL), WithToken(fuzzToken), WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	kinds := []error{hubkit.ErrNotFound, hubkit.ErrUnauthorized, hubkit.ErrForbidden, hubkit.ErrGated, hubkit.ErrStorageLocked,
		hubkit.ErrRateLimited, hubkit.ErrConflict, hubkit.ErrInvalid, hubkit.ErrServer}
	f.Fuzz(func(t *testing.T, st int, retryAfter string, b []byte) {
		if st < 200 || st > 599 || st == http.StatusNoContent || st == http.StatusNotModified || st == 205 {
			return // statuses without a body cannot carry an envelope
		}
		mu.Lock()
		status, retry, body = st, strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f {
				return -1
			}
			return r
		}, retryAfter), b
		mu.Unlock()
		var out any
		err := c.do(context.Background(), call{method: http.MethodGet, path: "/api/v1/models/alice/bert", out: &out})
		if st < 300 && !successFalse(b) {
			if err == nil {
				return
			}
		} else {
			require.Error(t, err, "status %d body %q was taken as a success", st, b)
		}
		require.NotContains(t, err.Error(), fuzzToken)
		var e *Error
		require.ErrorAs(t, err, &e)
		matched := false
		for _, k := range kinds {
			if errors.Is(err, k) {
				matched = true
			}
		}
		require.True(t, matched, "%v (kind %v) matches no error kind", err, e.Kind)
		if st == http.StatusTooManyRequests {
			require.GreaterOrEqual(t, e.RetryAfter, time.Duration(0))
		}
		if st >= 300 {
			require.Equal(t, st, e.HTTPStatus)
		}
	})
}
