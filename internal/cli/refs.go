package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/linaqruf/hf2ms/internal/app"
	"github.com/linaqruf/hf2ms/internal/units"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// refsUsage is the help of --refs.
const refsUsage = `also mirror branches and tags: "all" or a comma list of globs ("main,v*"); ` +
	`to ModelScope tags are committed to master oldest first and master ends at the default branch`

// stepLabel names where a ref goes.
func stepLabel(st migrate.RefStep) string {
	s := st.Target("not mirrored")
	if (st.Kind != migrate.StepRefused && st.Kind != migrate.StepDelete) && st.Dest.Commit == "" {
		s += " (new)"
	}
	return s
}

// printRefPlans prints a refs dry run: per ref, where it goes and what would move.
func printRefPlans(w io.Writer, plans []migrate.RefPlan) {
	for i, p := range plans {
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "== %s -> %s\n", p.Source, stepLabel(p.RefStep))
		if p.Note != "" {
			fmt.Fprintf(w, "  note: %s\n", p.Note)
		}
		if p.Plan != nil {
			printPlan(w, p.Plan)
		}
	}
}

// printRefs prints the refs table of a refs run's report.
func printRefs(w io.Writer, refs []migrate.RefResult) {
	if len(refs) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nref\tdestination\tstatus\tcopied\tbytes\tdeleted\tcommit")
	for _, r := range refs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%d\t%s\n", r.Source, stepLabel(r.RefStep), strings.ReplaceAll(r.Status, "_", " "),
			r.FilesCopied, units.Bytes(r.BytesCopied), r.FilesDeleted, short(r.DestCommit))
	}
	tw.Flush()
	for _, r := range refs {
		if r.Error != "" {
			fmt.Fprintf(w, "  %s: %s\n", r.Source, r.Error)
		}
	}
}

// runVerifyRefs is `hf2ms verify --refs`: one verification per mirrored ref.
func (a *App) runVerifyRefs(ctx context.Context, r *app.Resolved, f *migrateFlags) error {
	refs, err := migrate.ParseRefs(f.refs)
	if err != nil {
		return app.UsageError{Err: err}
	}
	if f.revision != "" {
		return app.Usagef("--revision and --refs exclude each other")
	}
	vs, err := app.VerifyRefs(ctx, r, migrate.Options{Refs: refs, Include: f.include, Exclude: f.exclude})
	if err != nil {
		return err
	}
	ok := true
	for _, v := range vs {
		if v.Verification != nil {
			ok = ok && v.Verification.OK()
		}
	}
	if f.json {
		if err := a.printJSON(vs); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.Stdout, "%s  vs  %s\n", r.Src.WebURL(r.From), r.Dst.WebURL(r.To))
		for _, v := range vs {
			fmt.Fprintf(a.Stdout, "\n== %s -> %s\n", v.Source, stepLabel(v.RefStep))
			if v.Note != "" {
				fmt.Fprintf(a.Stdout, "  note: %s\n", v.Note)
			}
			if v.Verification != nil {
				printVerification(a.Stdout, v.Verification)
			}
		}
	}
	if err := app.WriteReport(f.report, vs); err != nil {
		return err
	}
	if !ok {
		return exitError{ExitFailure}
	}
	return nil
}
