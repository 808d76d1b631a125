package modal

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// AppName is the Modal App every hf2ms sandbox belongs to.
const AppName = "hf2ms"

// Tag keys set on every worker sandbox.
const (
	TagRun    = "hf2ms-run"    // the run id
	TagShard  = "hf2ms-shard"  // the shard number (1-based; 0 for the commit step)
	TagShards = "hf2ms-shards" // how many blob shards (or repositories, in batch mode) the run has
	TagPhase  = "hf2ms-phase"  // migrate.PhaseBlobs, PhaseCommit or PhaseAll
)

// maxNameLen is Modal's sandbox name limit (name_utils.go in the SDK).
const maxNameLen = 64

// MaxRunIDLen is the longest run id whose sandbox names stay within Modal's 64 characters.
const MaxRunIDLen = maxNameLen - len("hf2ms--commit")

var runIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// CheckRunID reports whether id can name a run's sandboxes (letters, digits, '.', '_', '-';
// at most MaxRunIDLen characters).
func CheckRunID(id string) error {
	if id == "" || len(id) > MaxRunIDLen || !runIDRe.MatchString(id) {
		return fmt.Errorf("invalid run id %q: want 1-%d characters of [A-Za-z0-9._-]", id, MaxRunIDLen)
	}
	return nil
}

// NewRunID returns a fresh run id: the UTC time and 6 random hex digits.
func NewRunID() string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b[:])
}

// ShardName is the sandbox name of blob shard n (1-based) of a run.
func ShardName(runID string, n int) string { return fmt.Sprintf("hf2ms-%s-s%03d", runID, n) }

// CommitName is the sandbox name of a run's commit step.
func CommitName(runID string) string { return "hf2ms-" + runID + "-commit" }

// RepoName is the sandbox name of repository n (1-based) of a batch run.
func RepoName(runID string, n int) string { return fmt.Sprintf("hf2ms-%s-r%03d", runID, n) }

// jobName names the sandbox of job; index (1-based) numbers batch jobs, whose Shard may be 0.
func jobName(job migrate.Job, index int) string {
	switch job.Phase {
	case migrate.PhaseCommit:
		return CommitName(job.RunID)
	case migrate.PhaseAll:
		if job.Shard > 0 {
			return RepoName(job.RunID, job.Shard)
		}
		return RepoName(job.RunID, index)
	}
	return ShardName(job.RunID, job.Shard)
}

// parseName recovers the phase and number from a sandbox name of run runID.
func parseName(runID, name string) (phase string, n int, ok bool) {
	rest, found := strings.CutPrefix(name, "hf2ms-"+runID+"-")
	if !found {
		return "", 0, false
	}
	if rest == "commit" {
		return migrate.PhaseCommit, 0, true
	}
	if len(rest) < 2 {
		return "", 0, false
	}
	n, err := strconv.Atoi(rest[1:])
	if err != nil {
		return "", 0, false
	}
	switch rest[0] {
	case 's':
		return migrate.PhaseBlobs, n, true
	case 'r':
		return migrate.PhaseAll, n, true
	}
	return "", 0, false
}
