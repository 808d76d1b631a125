package migrate

import "time"

// EventType names an event of the migration's event stream. Workers write the same events, one
// JSON object a line, on stdout (the worker protocol).
type EventType string

// Event types, in the order a run emits them.
const (
	EventPlan      EventType = "plan"       // Plan is set
	EventNotice    EventType = "notice"     // Message is set (e.g. "switched to git fallback")
	EventWarning   EventType = "warning"    // Message is set: the destination did not do what was asked
	EventFileStart EventType = "file_start" // Path, Size
	EventProgress  EventType = "progress"   // Path, Bytes (bytes of Path done so far)
	EventFileDone  EventType = "file_done"  // Path, Size, Action (and Error when failed)
	EventCommit    EventType = "commit"     // Commit, Message (files in the commit)
	EventVerify    EventType = "verify"     // Verify is set
	EventDone      EventType = "done"       // Report may be set (the final event of a worker or run)
	EventError     EventType = "error"      // Error is set
)

// File actions reported in file_done events and reports.
const (
	ActionCopied  = "copied"  // bytes moved to the destination
	ActionStored  = "stored"  // the destination already stored the blob; nothing moved
	ActionSkipped = "skipped" // the destination already has the identical file
	ActionDeleted = "deleted" // removed from the destination (--delete)
	ActionFailed  = "failed"
)

// Event is one item of the event stream.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
	Shard   int       `json:"shard,omitempty"` // 1-based shard number; 0 = the orchestrator or the commit step
	Repo    string    `json:"repo,omitempty"`  // the source repository, set in batch runs
	Path    string    `json:"path,omitempty"`
	Size    int64     `json:"size,omitempty"`
	Bytes   int64     `json:"bytes,omitempty"`
	Action  string    `json:"action,omitempty"`
	Commit  string    `json:"commit,omitempty"`
	Message string    `json:"message,omitempty"`
	Error   string    `json:"error,omitempty"`
	// Transfer and Deduplicated say how a copied blob travelled (file_done; see UploadResult).
	Transfer     string        `json:"transfer,omitempty"`
	Deduplicated int64         `json:"deduplicated,omitempty"`
	Plan         *PlanSummary  `json:"plan,omitempty"`
	Verify       *Verification `json:"verify,omitempty"`
	Report       *Report       `json:"report,omitempty"`
}

// PlanSummary is the plan as events and reports carry it.
type PlanSummary struct {
	Source       Repo   `json:"source"`
	Dest         Repo   `json:"dest"`
	SourceCommit string `json:"source_commit"`
	DestExists   bool   `json:"dest_exists"`
	CopyFiles    int    `json:"copy_files"`
	CopyBytes    int64  `json:"copy_bytes"`
	SkipFiles    int    `json:"skip_files"`
	SkipBytes    int64  `json:"skip_bytes"`
	DeleteFiles  int    `json:"delete_files"`
	Shards       int    `json:"shards"`
	// XetReads and LFSReads count the copied blob files read from Hugging Face through Xet and
	// through the LFS bridge (see Plan.BlobRoute); zero for other sources.
	XetReads int `json:"xet_reads,omitempty"`
	LFSReads int `json:"lfs_reads,omitempty"`
	// XetWrites reports that blob files are written to Hugging Face, through Xet when the Hub
	// offers it.
	XetWrites bool `json:"xet_writes,omitempty"`
}

// Verification is the result of comparing the destination with the source after the commit.
type Verification struct {
	Matched      int `json:"matched"`
	Mismatched   int `json:"mismatched"`
	Missing      int `json:"missing"`
	NotCheckable int `json:"not_checkable"`
	// OnlyInDest counts files the destination has and the source (as selected) does not:
	// they do not fail verification (--delete removes them) but are listed in Bad.
	OnlyInDest int         `json:"only_in_dest"`
	Bad        []FileCheck `json:"bad,omitempty"` // every mismatched, missing, not-checkable and destination-only file
}

// OK reports whether nothing mismatched and nothing is missing.
func (v *Verification) OK() bool { return v != nil && v.Mismatched == 0 && v.Missing == 0 }

// FileCheck is one file that did not verify.
type FileCheck struct {
	Path    string `json:"path"`
	Problem string `json:"problem"` // "mismatched", "missing", "not_checkable" or "only_in_dest"
	Detail  string `json:"detail,omitempty"`
}
