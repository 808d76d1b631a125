package app

import (
	"os"
	"runtime/debug"
)

// DefaultMemoryLimit is the Go runtime's soft memory limit unless GOMEMLIMIT says otherwise.
// A streaming migration's live heap is the parts in flight (4 x the hub's chunk size) plus
// small change; without a limit the GC lets the heap grow to twice that before collecting
// (166 MiB peak RSS for an 8 GiB MS->HF copy in bench/run.sh, 135 MiB with this limit, at the
// same speed). A larger live heap (more parts, bigger chunks) just makes the GC work harder.
const DefaultMemoryLimit = 128 << 20

// SetDefaultMemoryLimit applies DefaultMemoryLimit when GOMEMLIMIT is not set.
func SetDefaultMemoryLimit() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(DefaultMemoryLimit)
	}
}
