package main

import (
	"fmt"
	"strings"

	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// refStatusWord is a ref's outcome in the summary.
func refStatusWord(r migrate.RefResult) string {
	switch r.Status {
	case migrate.StatusSucceeded:
		return "✅ mirrored"
	case migrate.StatusUpToDate:
		return "✅ up to date"
	case migrate.StatusPlanned:
		return "📝 planned"
	case migrate.RefSkipped:
		return "⏭️ skipped"
	case migrate.RefNotRun:
		return "⏸️ not run"
	}
	return "❌ failed"
}

// writeRefs writes the refs table of a refs run (the input refs): every ref, where it went, its
// outcome, what moved (or, for a dry run, would move) and whether it verified.
func writeRefs(b *strings.Builder, refs []migrate.RefResult, redact func(string) string) {
	if len(refs) == 0 {
		return
	}
	fmt.Fprintf(b, "### Refs (%d)\n\n| ref | destination | result | files | bytes | verified | commit |\n|---|---|---|---:|---:|---|---|\n", len(refs))
	for i, r := range refs {
		files, bytes := r.FilesCopied, r.BytesCopied
		if r.Status == migrate.StatusPlanned && r.Plan != nil {
			files, bytes = r.Plan.CopyFiles, r.Plan.CopyBytes
		}
		verified := "–"
		if v := r.Verification; v != nil {
			verified = "yes"
			if !v.OK() {
				verified = fmt.Sprintf("no (%d mismatched, %d missing)", v.Mismatched, v.Missing)
			}
		}
		row := fmt.Sprintf("| `%s` | `%s` | %s | %d | %s | %s | `%s` |\n", mdEscape(r.Source.String()), mdEscape(r.Target("–")),
			refStatusWord(r), files, units.Bytes(bytes), verified, short(r.DestCommit))
		if b.Len()+len(row) > summaryBudget/2 {
			fmt.Fprintf(b, "\n… and %d more refs (see the JSON report)\n", len(refs)-i)
			break
		}
		b.WriteString(row)
	}
	b.WriteString("\n")
	for _, r := range refs {
		if r.Error != "" {
			fmt.Fprintf(b, "- `%s`: %s\n", mdEscape(r.Source.String()), mdEscape(redact(r.Error)))
		}
	}
}
