package migrate

import (
	"context"
)

// InProcess is the default Executor: it runs RunJob in this process with the given hubs.
type InProcess struct {
	Src, Dst Hub
}

// Run implements Executor.
func (e InProcess) Run(ctx context.Context, job Job, emit func(Event)) error {
	return RunJob(ctx, job, e.Src, e.Dst, emit)
}
