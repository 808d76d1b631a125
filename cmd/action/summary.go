package main

import (
	"fmt"
	"sort"
	"strings"
	"time"

	gha "github.com/sethvargo/go-githubactions"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// GitHub caps a step summary at 1 MiB; we stay well under it whatever the repo size.
const (
	summaryLimit = 1 << 20
	// summaryBudget is what our markdown may use, leaving room for GitHub's own framing.
	summaryBudget = 900 << 10
	// badListLimit caps the bad files named in the verification section.
	badListLimit = 200
)

// Annotation caps per step (10 of each kind); we use a few, one per failure class.
const annotationsPerKind = 10

var mdReplacer = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\n", " ", "`", "'", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`)

// mdEscape makes s safe inside a markdown table cell or line (outside code spans).
func mdEscape(s string) string { return mdReplacer.Replace(s) }

// codeCell renders s as a code span inside a table cell. Inside a code span GitHub shows
// backslash escapes literally, so only what the table itself needs is escaped: a pipe (the
// table's cell splitter runs before code spans are parsed, per the GFM spec's tables section).
func codeCell(s string) string { return codeSpan(strings.ReplaceAll(s, "|", `\|`)) }

// codeSpan renders s as a code span on a line of its own (a list item): nothing is escaped;
// a backtick inside s is fenced with a longer run of backticks, and a newline becomes a space.
func codeSpan(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if len(fence) > 1 || strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func resultWord(rep *migrate.Report) string {
	switch rep.Status {
	case migrate.StatusSucceeded:
		return "✅ migrated and verified"
	case migrate.StatusUpToDate:
		return "✅ already up to date"
	case migrate.StatusPlanned:
		return "📝 dry run (nothing changed)"
	case migrate.StatusDetached:
		return "🚀 started on Modal (run " + rep.RunID + ")"
	case migrate.StatusPartial:
		return fmt.Sprintf("⚠️ partial: %d of %d files committed (re-run to finish)", rep.FilesCommitted, rep.FilesToCommit)
	}
	return "❌ failed"
}

func link(r migrate.Repo, url string) string {
	if url == "" {
		return "`" + r.String() + "`"
	}
	return fmt.Sprintf("[`%s`](%s)", r, url)
}

// summaryMarkdown is the job summary of one repository's run (plan is set for dry and detached
// runs).
func summaryMarkdown(rep *migrate.Report, plan *migrate.Plan, redact func(string) string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## hf2ms: %s → %s\n\n", rep.Source.Hub, rep.Dest.Hub)
	fmt.Fprintf(&b, "%s → %s: **%s**\n\n", link(rep.Source, rep.SourceURL), link(rep.Dest, rep.DestURL), resultWord(rep))
	if rep.Error != "" {
		fmt.Fprintf(&b, "> %s\n\n", mdEscape(redact(rep.Error)))
	}
	for _, n := range rep.Notices {
		fmt.Fprintf(&b, "> note: %s\n\n", mdEscape(n))
	}
	for _, n := range rep.Warnings {
		fmt.Fprintf(&b, "> **warning**: %s\n\n", mdEscape(n))
	}
	b.WriteString("| | files | bytes |\n|---|---:|---:|\n")
	if rep.Plan != nil && (rep.Status == migrate.StatusPlanned || rep.Status == migrate.StatusDetached) {
		p := rep.Plan
		fmt.Fprintf(&b, "| to copy | %d | %s |\n| to skip | %d | %s |\n| to delete | %d | |\n| shards | %d | |\n",
			p.CopyFiles, units.Bytes(p.CopyBytes), p.SkipFiles, units.Bytes(p.SkipBytes), p.DeleteFiles, p.Shards)
	} else {
		fmt.Fprintf(&b, "| copied | %d | %s |\n| skipped | %d | |\n| deleted | %d | |\n| failed | %d | |\n",
			rep.FilesCopied, units.Bytes(rep.BytesCopied), rep.FilesSkipped, rep.FilesDeleted, rep.FilesFailed)
		if rep.BytesDeduplicated > 0 {
			fmt.Fprintf(&b, "| deduplicated (Xet, not sent) | | %s |\n", units.Bytes(rep.BytesDeduplicated))
		}
	}
	d := rep.Duration()
	if d > 0 {
		rate := ""
		if rep.BytesCopied > 0 {
			rate = fmt.Sprintf(" (%s/s)", units.Bytes(int64(float64(rep.BytesCopied)/d.Seconds())))
		}
		round := time.Second
		switch {
		case d < time.Second:
			round = time.Millisecond
		case d < 10*time.Second:
			round = 100 * time.Millisecond
		}
		fmt.Fprintf(&b, "| duration | %s%s | |\n", d.Round(round), rate)
	}
	fmt.Fprintf(&b, "\nsource commit `%s`", short(rep.SourceCommit))
	if rep.DestCommit != "" {
		fmt.Fprintf(&b, ", destination commit `%s`", short(rep.DestCommit))
	}
	b.WriteString("\n\n")
	if v := rep.Verification; v != nil {
		writeVerification(&b, v)
	}
	writeRefs(&b, rep.Refs, redact)
	var rows []string
	if plan != nil {
		for _, f := range plan.Copy {
			rows = append(rows, fmt.Sprintf("| copy | %s | %s |", codeCell(f.Path), units.Bytes(f.Size)))
		}
		for _, f := range plan.Delete {
			rows = append(rows, fmt.Sprintf("| delete | %s | %s |", codeCell(f.Path), units.Bytes(f.Size)))
		}
	} else {
		files := append([]migrate.FileResult(nil), rep.Files...)
		sort.SliceStable(files, func(i, j int) bool { return files[i].Path < files[j].Path })
		for _, f := range files {
			rows = append(rows, fmt.Sprintf("| %s | %s | %s |", f.Action, codeCell(f.Path), units.Bytes(f.Size)))
		}
	}
	writeFileList(&b, rows, summaryBudget)
	return b.String()
}

func writeVerification(b *strings.Builder, v *migrate.Verification) {
	word := "✅ verified"
	if !v.OK() {
		word = "❌ not verified"
	}
	fmt.Fprintf(b, "### Verification: %s\n\n", word)
	fmt.Fprintf(b, "| matched | mismatched | missing | not checkable | only on destination |\n|---:|---:|---:|---:|---:|\n| %d | %d | %d | %d | %d |\n\n",
		v.Matched, v.Mismatched, v.Missing, v.NotCheckable, v.OnlyInDest)
	for i, bad := range v.Bad {
		if i == badListLimit {
			fmt.Fprintf(b, "- … and %d more (see the JSON report)\n", len(v.Bad)-badListLimit)
			break
		}
		fmt.Fprintf(b, "- **%s**: %s", bad.Problem, codeSpan(bad.Path))
		if bad.Detail != "" {
			fmt.Fprintf(b, " (%s)", mdEscape(bad.Detail))
		}
		b.WriteString("\n")
	}
	if len(v.Bad) > 0 {
		b.WriteString("\n")
	}
}

// writeFileList writes the per-file rows in a collapsible section, truncated with a count so
// the whole summary stays within budget bytes.
func writeFileList(b *strings.Builder, rows []string, budget int) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "<details><summary>Files (%d)</summary>\n\n| action | path | size |\n|---|---|---:|\n", len(rows))
	const tail = "\n</details>\n"
	for i, row := range rows {
		more := fmt.Sprintf("\n… and %d more files (the JSON report lists every file)\n", len(rows)-i)
		if b.Len()+len(row)+1+len(more)+len(tail) > budget {
			b.WriteString(more)
			break
		}
		b.WriteString(row)
		b.WriteString("\n")
	}
	b.WriteString(tail)
}

// batchSummaryMarkdown is the job summary of a batch: one row per repository.
func batchSummaryMarkdown(br *migrate.BatchReport, redact func(string) string) string {
	var b strings.Builder
	counts := map[string]int{}
	for _, r := range br.Repos {
		counts[r.Status]++
	}
	fmt.Fprintf(&b, "## hf2ms batch: %d repos\n\n%d succeeded, %d up to date, %d failed\n\n",
		len(br.Repos), counts[migrate.StatusSucceeded], counts[migrate.StatusUpToDate], counts[migrate.StatusFailed])
	b.WriteString("| source | destination | result | copied | bytes | verified |\n|---|---|---|---:|---:|---|\n")
	for i, r := range br.Repos {
		row := fmt.Sprintf("| %s | %s | %s | %d | %s | %s |\n", link(r.Source, r.SourceURL), link(r.Dest, r.DestURL),
			resultWord(r), r.FilesCopied, units.Bytes(r.BytesCopied), verifiedWord(r))
		if b.Len()+len(row) > summaryBudget-200 {
			fmt.Fprintf(&b, "\n… and %d more repos (see the JSON report)\n", len(br.Repos)-i)
			break
		}
		b.WriteString(row)
	}
	var failed []string
	for _, r := range br.Repos {
		if r.Error != "" {
			failed = append(failed, fmt.Sprintf("- %s: %s", codeSpan(r.Source.String()), mdEscape(redact(r.Error))))
		}
	}
	if len(failed) > 0 && b.Len() < summaryBudget/2 {
		b.WriteString("\n### Failures\n\n")
		for _, f := range failed {
			if b.Len()+len(f) > summaryBudget-100 {
				b.WriteString("- …\n")
				break
			}
			b.WriteString(f + "\n")
		}
	}
	return b.String()
}

func verifiedWord(r *migrate.Report) string {
	switch {
	case r.Verification == nil:
		return "–"
	case r.Verification.OK():
		return "yes"
	}
	return fmt.Sprintf("no (%d mismatched, %d missing)", r.Verification.Mismatched, r.Verification.Missing)
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// annotate emits at most a few annotations for the whole step, one per failure class, naming
// a few files each, so a run never exceeds GitHub's per-step caps however many files failed.
func annotate(a *gha.Action, reps []*migrate.Report, redact func(string) string) {
	var errs, warns []string
	for _, r := range reps {
		var failed []string
		for _, f := range r.Files {
			if f.Action == migrate.ActionFailed {
				failed = append(failed, f.Path)
			}
		}
		if len(failed) > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d file(s) failed to transfer: %s", r.Source, len(failed), listFew(failed)))
		}
		if v := r.Verification; v != nil && !v.OK() {
			var bad []string
			for _, c := range v.Bad {
				if c.Problem != "not_checkable" && c.Problem != "only_in_dest" {
					bad = append(bad, c.Path)
				}
			}
			errs = append(errs, fmt.Sprintf("%s: destination does not match the source: %d mismatched, %d missing: %s",
				r.Dest, v.Mismatched, v.Missing, listFew(bad)))
		}
		warns = append(warns, r.Warnings...)
		if (r.Status == migrate.StatusFailed || r.Status == migrate.StatusPartial) && len(failed) == 0 && (r.Verification == nil || r.Verification.OK()) && r.Error != "" {
			errs = append(errs, fmt.Sprintf("%s: %s", r.Source, redact(r.Error)))
		}
		if v := r.Verification; v != nil && v.NotCheckable > 0 {
			warns = append(warns, fmt.Sprintf("%s: %d file(s) could not be checked (no comparable hash)", r.Dest, v.NotCheckable))
		}
	}
	emit := func(list []string, f func(string, ...any)) {
		for i, m := range list {
			if i == annotationsPerKind-1 && len(list) > annotationsPerKind {
				f("%d more problems: see the job summary and the JSON report", len(list)-i)
				return
			}
			f("%s", m)
		}
	}
	emit(errs, a.Errorf)
	emit(warns, a.Warningf)
}

func listFew(paths []string) string {
	const n = 5
	if len(paths) <= n {
		return strings.Join(paths, ", ")
	}
	return strings.Join(paths[:n], ", ") + fmt.Sprintf(" and %d more", len(paths)-n)
}
