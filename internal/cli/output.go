package cli

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// planListLimit caps each list printed by plan; the counts stay exact.
const planListLimit = 200

// assumedRate is the rate the ETA assumes before anything was measured: a conservative figure
// for one worker streaming between the two hubs.
const assumedRate = 100e6

// printPlan prints a dry run: what would be copied, skipped and deleted, with sizes and an ETA.
func printPlan(w io.Writer, p *migrate.Plan) {
	s := p.Summary()
	fmt.Fprintf(w, "plan: %s -> %s at %s\n", s.Source, s.Dest, short(s.SourceCommit))
	if !s.DestExists {
		fmt.Fprintf(w, "  destination does not exist yet: it will be created\n")
	}
	section := func(title string, files []migrate.File, route func(migrate.File) string) {
		if len(files) == 0 {
			return
		}
		var total int64
		for _, f := range files {
			total += f.Size
		}
		fmt.Fprintf(w, "\n%s (%d files, %s):\n", title, len(files), units.Bytes(total))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		for i, f := range files {
			if i == planListLimit {
				fmt.Fprintf(tw, "\t... and %d more\t\n", len(files)-planListLimit)
				break
			}
			note := ""
			if route != nil {
				if r := route(f); r != "" {
					note = "  (" + r + ")"
				}
			}
			fmt.Fprintf(tw, "%s\t  %s%s\t\n", units.Bytes(f.Size), f.Path, note)
		}
		tw.Flush()
	}
	section("copy", p.Copy, p.BlobRoute)
	section("skip (already identical)", p.Skip, nil)
	section("delete", p.Delete, nil)
	fmt.Fprintf(w, "\n%d to copy (%s), %d to skip, %d to delete", s.CopyFiles, units.Bytes(s.CopyBytes), s.SkipFiles, s.DeleteFiles)
	if s.Shards > 1 {
		fmt.Fprintf(w, ", %d shards", s.Shards)
	}
	if s.XetReads+s.LFSReads > 0 {
		fmt.Fprintf(w, "\nreads from Hugging Face: %d through Xet, %d through LFS", s.XetReads, s.LFSReads)
	}
	if s.XetWrites {
		fmt.Fprintf(w, "\nwrites to Hugging Face: through Xet if the Hub offers it, else LFS")
	}
	fmt.Fprintf(w, "\nestimated time at %s per worker: %s\n", units.Rate(assumedRate), p.ETA(assumedRate).Round(time.Second))
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// printReport prints the end of a run: outcome, destination URL and the verification table.
func printReport(w io.Writer, r *migrate.Report) {
	fmt.Fprintf(w, "\n%s -> %s: %s\n", r.Source, r.Dest, strings.ReplaceAll(r.Status, "_", " "))
	for _, n := range r.Notices {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, n := range r.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", n)
	}
	if r.Status == migrate.StatusPartial {
		fmt.Fprintf(w, "  partial: %d of %d files committed; the destination is usable, run the same command again to finish\n",
			r.FilesCommitted, r.FilesToCommit)
	}
	d := r.Duration()
	rate := ""
	if secs := d.Seconds(); secs > 0 && r.BytesCopied > 0 {
		rate = fmt.Sprintf(" at %s", units.Rate(float64(r.BytesCopied)/secs))
	}
	fmt.Fprintf(w, "  copied %d files (%s)%s, skipped %d, deleted %d, failed %d in %s\n",
		r.FilesCopied, units.Bytes(r.BytesCopied), rate, r.FilesSkipped, r.FilesDeleted, r.FilesFailed, d.Round(100*time.Millisecond))
	if r.BytesDeduplicated > 0 {
		fmt.Fprintf(w, "  %s of it deduplicated by the destination's chunk store (Xet): not sent\n", units.Bytes(r.BytesDeduplicated))
	}
	if r.DestCommit != "" {
		fmt.Fprintf(w, "  destination commit %s\n", short(r.DestCommit))
	}
	fmt.Fprintf(w, "  %s\n", r.DestURL)
	for _, f := range r.Files {
		if f.Action == migrate.ActionFailed {
			fmt.Fprintf(w, "  failed: %s: %s\n", f.Path, f.Error)
		}
	}
	if r.Error != "" {
		fmt.Fprintf(w, "  error: %s\n", r.Error)
	}
	if r.Verification != nil {
		fmt.Fprintln(w)
		printVerification(w, r.Verification)
	}
	printRefs(w, r.Refs)
}

// printVerification prints the verification table and names every bad file.
func printVerification(w io.Writer, v *migrate.Verification) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "verification\tfiles")
	fmt.Fprintf(tw, "matched\t%d\n", v.Matched)
	fmt.Fprintf(tw, "mismatched\t%d\n", v.Mismatched)
	fmt.Fprintf(tw, "missing\t%d\n", v.Missing)
	fmt.Fprintf(tw, "not checkable\t%d\n", v.NotCheckable)
	fmt.Fprintf(tw, "only on destination\t%d\n", v.OnlyInDest)
	tw.Flush()
	bad := append([]migrate.FileCheck(nil), v.Bad...)
	sort.Slice(bad, func(i, j int) bool { return bad[i].Path < bad[j].Path })
	for _, b := range bad {
		fmt.Fprintf(w, "  %s: %s", b.Problem, b.Path)
		if b.Detail != "" {
			fmt.Fprintf(w, " (%s)", b.Detail)
		}
		fmt.Fprintln(w)
	}
	if v.OK() {
		fmt.Fprintln(w, "result: VERIFIED")
	} else {
		fmt.Fprintln(w, "result: NOT VERIFIED")
	}
}

// printBatch prints one row per repo and the totals.
func printBatch(w io.Writer, b *migrate.BatchReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nsource\tdestination\tstatus\tcopied\tbytes\tverified\terror")
	counts := map[string]int{}
	for _, r := range b.Repos {
		counts[r.Status]++
		verified := "-"
		if r.Verification != nil {
			verified = fmt.Sprint(r.Verification.OK())
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.Source, r.Dest, r.Status, r.FilesCopied, units.Bytes(r.BytesCopied), verified, oneLine(r.Error))
	}
	tw.Flush()
	fmt.Fprintf(w, "\n%d succeeded, %d up to date, %d failed\n",
		counts[migrate.StatusSucceeded], counts[migrate.StatusUpToDate], counts[migrate.StatusFailed])
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
