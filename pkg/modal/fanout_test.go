package modal

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFanoutShrinksOnRefusalAndGrowsOnFreshSuccess(t *testing.T) {
	ctx := context.Background()
	f := newFanout(3)
	a, err := f.acquire(ctx, false)
	require.NoError(t, err)
	_, err = f.acquire(ctx, false)
	require.NoError(t, err)
	_, err = f.acquire(ctx, false)
	require.NoError(t, err)

	others, changed := f.refused() // B refused while A and C hold slots
	require.Equal(t, 2, others)
	others, _ = f.refused() // C refused while A holds one
	require.Equal(t, 1, others)
	select {
	case <-changed:
	default:
		t.Fatal("a refusal after B's must wake B")
	}
	limit, held := f.current()
	require.Equal(t, 1, limit)
	require.Equal(t, 1, held)

	// A's create, begun before the refusals, succeeding says nothing about capacity now.
	f.started(a)
	limit, _ = f.current()
	require.Equal(t, 1, limit)

	// Over the limit only as a probe.
	probeCtx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = f.acquire(probeCtx, false)
	require.ErrorIs(t, err, context.Canceled)
	b, err := f.acquire(ctx, true)
	require.NoError(t, err)
	f.started(b) // a success after the last refusal raises the limit by one
	limit, held = f.current()
	require.Equal(t, 2, limit)
	require.Equal(t, 2, held)
	f.release()
	f.release()
	_, held = f.current()
	require.Zero(t, held)
}
