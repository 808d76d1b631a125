package migrate

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/linaqruf/hf2ms/internal/rangeread"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

func TestParallelBacksOffOnRateLimits(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{fmt.Errorf("open: %w", hubkit.ErrRateLimited), 4},
		{fmt.Errorf("open: %w", hubkit.ErrServer), 4},
		{fmt.Errorf("open: %w", hubkit.ErrNotFound), 8},
		{errors.New("connection reset"), 8},
	} {
		p := parallel{conns: 8, budget: rangeread.NewBudget(8)}
		p.observe(tc.err)
		assert.Equal(t, tc.want, p.budget.Limit(), "%v", tc.err)
	}
}

func TestParallelWants(t *testing.T) {
	p := parallel{conns: 8, budget: rangeread.NewBudget(8)}
	big := int64(3 * ParallelRangeSize)
	assert.True(t, p.wants(big, 0, big))
	assert.True(t, p.wants(big, 0, -1))
	assert.False(t, p.wants(big, 0, big-1), "a part")
	assert.False(t, p.wants(big, 1, big-1), "a resumed tail")
	assert.False(t, p.wants(ParallelRangeSize, 0, ParallelRangeSize), "one range")
	one := parallel{conns: 1, budget: p.budget}
	assert.False(t, one.wants(big, 0, big))
}
