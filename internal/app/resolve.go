package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// UsageError marks an error caused by the caller's input (flags, inputs, references): the CLI
// exits 2 on it, the Action names the input.
type UsageError struct{ Err error }

// Error implements error with the wrapped error's text.
func (u UsageError) Error() string { return u.Err.Error() }

// Unwrap returns the wrapped error, for errors.Is and errors.As.
func (u UsageError) Unwrap() error { return u.Err }

// Usagef makes a UsageError.
func Usagef(format string, args ...any) error { return UsageError{fmt.Errorf(format, args...)} }

// IsUsage reports whether err was caused by the caller's input.
func IsUsage(err error) bool { return errors.As(err, new(UsageError)) }

// Target is a migration as the user wrote it: the source reference, the destination hub ("hf",
// "ms", or "" for the other hub), the destination id ("" = the source's) and the repo type (""
// = detected).
type Target struct {
	Source, To, Dest, RepoType string
}

// Resolved is a source and destination ready to migrate.
type Resolved struct {
	From, To migrate.Repo
	Src, Dst migrate.Hub
	// Notices are remarks worth showing (e.g. how the repo type was detected).
	Notices []string
}

// Resolve parses t and builds both hubs; the repo type is detected on the source hub when
// t.RepoType is "". Errors caused by the input are UsageErrors.
func (s *Service) Resolve(ctx context.Context, t Target) (*Resolved, error) {
	if t.Source == "" {
		return nil, Usagef("no source repo given")
	}
	ref, err := migrate.ParseRef(t.Source)
	if err != nil {
		return nil, UsageError{err}
	}
	if t.RepoType != "" {
		typ, err := hubkit.ParseRepoType(t.RepoType)
		if err != nil {
			return nil, Usagef("--repo-type %q: want model, dataset or space", t.RepoType)
		}
		ref.Type = typ
	}
	from, to, err := migrate.ResolveDirection(ref, normHub(t.To), t.Dest)
	if err != nil {
		return nil, UsageError{err}
	}
	r := &Resolved{From: from, To: to}
	if r.Src, r.Dst, err = s.Hubs(from.Hub, to.Hub); err != nil {
		return nil, err
	}
	if ref.Type == "" {
		d, err := migrate.Detect(ctx, r.Src, from.Hub, from.ID)
		if err != nil {
			return nil, err
		}
		if d.Notice != "" {
			r.Notices = append(r.Notices, d.Notice)
		}
		r.From.Type, r.To.Type = d.Type, d.Type
	}
	return r, nil
}

// normHub accepts the long hub names too.
func normHub(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "huggingface":
		return "hf"
	case "modelscope":
		return "ms"
	}
	return s
}

// BatchLine is one repository of a batch: SOURCE and an optional DEST.
type BatchLine struct{ Source, Dest string }

// MaxBatchText is the largest batch list read.
const MaxBatchText = 1 << 20

// ParseBatch parses a batch list: one repo a line ("SOURCE" or "SOURCE DEST"), blank lines and
// # comments ignored. The CLI's --file and arguments and the Action's batch input use it.
func ParseBatch(text string) ([]BatchLine, error) {
	var out []BatchLine
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		switch len(fields) {
		case 1:
			out = append(out, BatchLine{Source: fields[0]})
		case 2:
			out = append(out, BatchLine{Source: fields[0], Dest: fields[1]})
		default:
			return nil, Usagef("batch line %d: want SOURCE [DEST], got %q", i+1, line)
		}
	}
	if len(out) == 0 {
		return nil, Usagef("the batch list is empty")
	}
	return out, nil
}

// BatchPlan is a batch after resolving every line: the items to run, and a failed report for
// each line that could not be resolved (nil where the line resolved).
type BatchPlan struct {
	Items  []migrate.BatchItem
	Failed []*migrate.Report // one slot per line
}

// ResolveBatch resolves every line. A line whose repo cannot be found (or detected) fails on its
// own and the others go on; an input error or an authentication failure aborts the whole batch,
// before anything transfers.
func (s *Service) ResolveBatch(ctx context.Context, lines []BatchLine, to, repoType string) (*BatchPlan, error) {
	bp := &BatchPlan{Failed: make([]*migrate.Report, len(lines))}
	for i, l := range lines {
		r, err := s.Resolve(ctx, Target{Source: l.Source, To: to, Dest: l.Dest, RepoType: repoType})
		switch {
		case err == nil:
			bp.Items = append(bp.Items, migrate.BatchItem{Src: r.Src, Dst: r.Dst, From: r.From, To: r.To})
		case IsUsage(err), errors.Is(err, hubkit.ErrUnauthorized):
			return nil, fmt.Errorf("%s: %w", l.Source, err)
		default:
			rep := &migrate.Report{Status: migrate.StatusFailed, Error: err.Error(),
				Started: time.Now().UTC(), Finished: time.Now().UTC()}
			if ref, perr := migrate.ParseRef(l.Source); perr == nil {
				rep.Source = migrate.Repo{Hub: ref.Hub, Type: ref.Type, ID: ref.ID}
			}
			bp.Failed[i] = rep
		}
	}
	return bp, nil
}

// Merge puts the lines that failed to resolve back among the batch's reports, in input order.
func (bp *BatchPlan) Merge(br *migrate.BatchReport) *migrate.BatchReport {
	if br == nil {
		br = &migrate.BatchReport{Started: time.Now().UTC(), Finished: time.Now().UTC()}
	}
	out := make([]*migrate.Report, 0, len(bp.Failed))
	k := 0
	for _, f := range bp.Failed {
		if f != nil {
			out = append(out, f)
			continue
		}
		if k < len(br.Repos) {
			out = append(out, br.Repos[k])
			k++
		}
	}
	br.Repos = append(out, br.Repos[k:]...)
	return br
}

// AnyFailed reports whether a line failed before running.
func (bp *BatchPlan) AnyFailed() bool {
	for _, f := range bp.Failed {
		if f != nil {
			return true
		}
	}
	return false
}
