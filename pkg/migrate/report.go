package migrate

import "time"

// Run outcomes.
const (
	StatusSucceeded = "succeeded"  // files moved and verified
	StatusUpToDate  = "up_to_date" // the destination already matched; nothing moved
	StatusPlanned   = "planned"    // dry run
	StatusDetached  = "detached"   // workers started, run continues remotely
	StatusFailed    = "failed"
	// StatusPartial: some of several commits landed, then the run failed (ErrPartial); the
	// report's FilesCommitted and FilesToCommit say how far it got. A re-run finishes it.
	StatusPartial = "partial"
)

// Report is the outcome of one repository's migration; it is also the JSON report (--report).
type Report struct {
	Status       string       `json:"status"`
	Source       Repo         `json:"source"`
	Dest         Repo         `json:"dest"`
	SourceURL    string       `json:"source_url"`
	DestURL      string       `json:"dest_url"`
	SourceCommit string       `json:"source_commit"`
	DestCommit   string       `json:"dest_commit,omitempty"`
	RunID        string       `json:"run_id,omitempty"`
	Started      time.Time    `json:"started"`
	Finished     time.Time    `json:"finished"`
	Plan         *PlanSummary `json:"plan,omitempty"`
	FilesCopied  int          `json:"files_copied"`
	FilesSkipped int          `json:"files_skipped"`
	FilesDeleted int          `json:"files_deleted"`
	FilesFailed  int          `json:"files_failed"`
	BytesCopied  int64        `json:"bytes_copied"`
	// BytesDeduplicated is how many of the copied bytes did not travel because the destination
	// already stored their chunks (Hugging Face's Xet storage).
	BytesDeduplicated int64         `json:"bytes_deduplicated,omitempty"`
	Files             []FileResult  `json:"files,omitempty"`
	Verification      *Verification `json:"verification,omitempty"`
	Notices           []string      `json:"notices,omitempty"`
	// Warnings are things the user asked for that the destination did not do (a visibility a
	// hub ignored, ...): the run still succeeded.
	Warnings []string `json:"warnings,omitempty"`
	// FilesCommitted of FilesToCommit operations (files written or deleted) are on the
	// destination's branch; they differ only when the run is partial.
	FilesCommitted int    `json:"files_committed,omitempty"`
	FilesToCommit  int    `json:"files_to_commit,omitempty"`
	Error          string `json:"error,omitempty"`
	// Refs is every ref of a refs run (RunRefs), the default branch first; the fields above
	// are the default branch's.
	Refs []RefResult `json:"refs,omitempty"`
}

// Duration is how long the run took.
func (r *Report) Duration() time.Duration { return r.Finished.Sub(r.Started) }

// FileResult is what happened to one file.
type FileResult struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	Action string `json:"action"` // ActionCopied, ActionStored, ActionSkipped, ActionDeleted, ActionFailed
	// Transfer is how a copied blob was written ("basic", "multipart", "xet", ...).
	Transfer string `json:"transfer,omitempty"`
	Error    string `json:"error,omitempty"`
}

// BatchReport is the outcome of a batch: one report per repository.
type BatchReport struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Repos    []*Report `json:"repos"`
}
