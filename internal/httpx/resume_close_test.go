package httpx

import (
	"context"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestResumingReaderCloseDuringRead(t *testing.T) {
	// An uploader may close its source while net/http's transport is still reading it as the
	// request body: Close must be safe beside a Read in flight, end it, and open nothing more.
	var opens atomic.Int32
	pr, pw := io.Pipe()
	defer pw.Close()
	r := NewResumingReader(context.Background(), func(context.Context, int64) (io.ReadCloser, error) {
		opens.Add(1)
		return pr, nil
	}, 0, 1<<20, WithResumeBackoff(time.Millisecond, time.Millisecond))

	got := make(chan error, 1)
	go func() {
		_, err := r.Read(make([]byte, 1024)) // blocks on the pipe
		got <- err
	}()
	require.Eventually(t, func() bool { return opens.Load() == 1 }, 5*time.Second, time.Millisecond)
	time.Sleep(10 * time.Millisecond) // let the Read block in the body
	require.NoError(t, r.Close())
	select {
	case err := <-got:
		require.ErrorIs(t, err, errReaderClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("Read did not return after Close")
	}
	_, err := r.Read(make([]byte, 1))
	require.ErrorIs(t, err, errReaderClosed)
	require.EqualValues(t, 1, opens.Load(), "no reopen after Close")
}
