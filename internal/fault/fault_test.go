package fault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTakeHonoursRouteAndTimes(t *testing.T) {
	var s Set
	s.Add(Rule{Route: "cdn", Times: 2, Status: 503})
	remove := s.Add(Rule{Status: 500})
	r, ok := s.Take("cdn")
	require.True(t, ok)
	require.Equal(t, 503, r.Status)
	r, _ = s.Take("cdn")
	require.Equal(t, 503, r.Status)
	r, _ = s.Take("cdn")
	require.Equal(t, 500, r.Status, "the cdn rule is used up, the catch-all remains")
	remove()
	_, ok = s.Take("commit")
	require.False(t, ok)
	require.Equal(t, 3, s.Count("cdn"))
	require.Equal(t, "cdn=3 commit=1", s.String())
}

func TestBodyWriterCutsTheConnection(t *testing.T) {
	body := strings.Repeat("x", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.Copy(Rule{CutAfter: 100}.BodyWriter(w), strings.NewReader(body))
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	require.Error(t, err, "a cut body must fail, not end cleanly")
	require.Len(t, got, 100)
}

func TestCorruptKeepsLength(t *testing.T) {
	var b strings.Builder
	_, _ = io.Copy(Rule{Corrupt: true}.BodyWriter(&b), strings.NewReader("hello"))
	require.Len(t, b.String(), 5)
	require.NotEqual(t, "hello", b.String())
}

func TestWriteStatusRateLimitHeaders(t *testing.T) {
	rec := httptest.NewRecorder()
	Rule{Status: 429, RetryAfter: 1500e6}.WriteStatus(rec, nil)
	require.Equal(t, 429, rec.Code)
	require.Equal(t, "2", rec.Header().Get("Retry-After"))
	require.Contains(t, rec.Header().Get("RateLimit"), "r=0;t=2")
}
