package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// RefKind says whether a GitRef is a branch or a tag.
type RefKind string

// The kinds of refs.
const (
	RefBranch RefKind = "branch"
	RefTag    RefKind = "tag"
)

// GitRef is one branch or tag of a repository, pinned to its commit.
type GitRef struct {
	Kind RefKind `json:"kind"`
	Name string  `json:"name"`
	// Commit is the commit the ref points to.
	Commit string `json:"commit"`
	// Created is when the hub says the ref was made (ModelScope lists it); zero when unknown.
	Created time.Time `json:"created,omitempty"`
}

// String renders the ref as "branch main" or "tag v1.0".
func (r GitRef) String() string { return string(r.Kind) + " " + r.Name }

// RefLister is implemented by hubs that list a repository's branches and tags. A source must
// implement it for a refs run (Options.Refs); so must a destination, whose refs decide what is
// up to date.
type RefLister interface {
	// Refs lists repo's branches and tags, each pinned to a commit; hubkit.ErrNotFound when
	// the repository does not exist.
	Refs(ctx context.Context, repo Repo) ([]GitRef, error)
}

// RefWriter is implemented by destination hubs that can make refs. A hub that cannot do one of
// these (ModelScope has no branch API and no way to delete a tag) fails it with an error matching
// ErrUnsupported.
type RefWriter interface {
	// CreateBranch creates branch at from (a branch or commit); hubkit.ErrConflict if it exists.
	CreateBranch(ctx context.Context, repo Repo, branch, from string) error
	// DeleteBranch deletes branch.
	DeleteBranch(ctx context.Context, repo Repo, branch string) error
	// CreateTag tags rev (a branch or commit); hubkit.ErrConflict if the tag exists.
	CreateTag(ctx context.Context, repo Repo, tag, rev string) error
	// DeleteTag deletes tag.
	DeleteTag(ctx context.Context, repo Repo, tag string) error
}

// RefsAll is the --refs value that selects every branch and tag.
const RefsAll = "all"

// ParseRefs parses a --refs value: "" (the default branch only: nil), "all", or a comma list of
// doublestar globs over ref names ("main,v*", "release/**"). "all" becomes the glob "**".
func ParseRefs(s string) ([]string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(p)
		switch {
		case p == "":
			continue
		case strings.EqualFold(p, RefsAll):
			p = "**"
		case !doublestar.ValidatePattern(p):
			return nil, fmt.Errorf("%w: --refs: bad glob %q", hubkit.ErrInvalid, p)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: --refs %q selects nothing (use all or a comma list of globs)", hubkit.ErrInvalid, s)
	}
	return out, nil
}

// refSelected reports whether name matches one of patterns.
func refSelected(patterns []string, name string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool {
		ok, _ := doublestar.Match(p, name)
		return ok
	})
}

// Step kinds of a refs run.
const (
	StepDefault = "default" // the source's default branch onto the destination's default branch
	StepBranch  = "branch"  // a branch onto the destination branch of the same name
	StepTag     = "tag"     // a tag onto a destination tag of the same name
	StepDelete  = "delete"  // a destination tag the source no longer has
	StepRefused = "refused" // a source ref the destination cannot hold
)

// RefStep is one ref of a refs run: what the source has and where it goes.
type RefStep struct {
	Kind string `json:"kind"` // StepDefault, StepBranch, StepTag, StepDelete or StepRefused
	// Source is the source ref (for StepDelete: the destination tag that has no source).
	Source GitRef `json:"source"`
	// Dest is the destination ref written: its kind and name, and its current commit ("" when
	// it does not exist yet).
	Dest GitRef `json:"dest"`
	// Note explains a refused, kept or deleted ref.
	Note string `json:"note,omitempty"`
}

// Target names where the step writes: the destination ref, "delete <ref>" for StepDelete, or
// refused for StepRefused (which writes nothing).
func (st RefStep) Target(refused string) string {
	switch st.Kind {
	case StepRefused:
		return refused
	case StepDelete:
		return "delete " + st.Dest.String()
	}
	return st.Dest.String()
}

// refInput is what the mapping policy looks at.
type refInput struct {
	src         []GitRef
	srcDefault  string // the source's default branch
	destHub     HubName
	destDefault string // the destination's default branch
	dest        []GitRef
	patterns    []string
	delete      bool
}

// mapRefs is hf2ms's ref mapping policy, the one place that decides which source ref goes where
// and in which order:
//
//   - The source's default branch is always mirrored onto the destination's default branch
//     (main on Hugging Face, master on ModelScope), as without --refs. The patterns select the
//     other branches and tags by name.
//   - To Hugging Face: the default branch first; then each selected branch onto the branch of
//     the same name (created from the default branch when missing, so only the difference is
//     committed); then each selected tag onto the tag of the same name, placed on a commit that
//     holds exactly the tag's content (the default branch's or a migrated branch's head when it
//     already does, otherwise a commit made on a short-lived branch from the default branch).
//   - To ModelScope, where only master takes commits and a revision is a tag made from master:
//     each selected tag, oldest first, is committed to master (master then holds exactly the
//     tag's content) and tagged; the default branch is committed last, so master ends equal to
//     the source's default branch. Other branches are refused with a note.
//   - Tags are ordered oldest first by the time the source reports, then by name in natural
//     order (v2 before v10) when it reports none (the Hub's refs listing has no dates).
//   - A destination tag matching the patterns that the source no longer has is deleted only with
//     --delete (Hugging Face; ModelScope cannot delete tags, so it is kept with a note), and kept
//     with a note otherwise. Destination branches are never deleted.
func mapRefs(in refInput) []RefStep {
	destBy := map[RefKind]map[string]string{RefBranch: {}, RefTag: {}}
	for _, r := range in.dest {
		destBy[r.Kind][r.Name] = r.Commit
	}
	var def *RefStep
	var branches, tags, tail []RefStep
	srcTags := map[string]bool{}
	for _, r := range in.src {
		if r.Kind == RefTag {
			srcTags[r.Name] = true
		}
		switch {
		case r.Kind == RefBranch && r.Name == in.srcDefault:
			def = &RefStep{Kind: StepDefault, Source: r, Dest: GitRef{Kind: RefBranch, Name: in.destDefault, Commit: destBy[RefBranch][in.destDefault]}}
		case !refSelected(in.patterns, r.Name):
		case r.Kind == RefBranch && in.destHub == ModelScope:
			tail = append(tail, RefStep{Kind: StepRefused, Source: r, Note: fmt.Sprintf(
				"branch %s not mirrored: ModelScope commits to master only and has no branches to write; mirror it as a tag of the other hub, or pass --revision %s to put its content on master", r.Name, r.Name)})
		case r.Kind == RefBranch:
			branches = append(branches, RefStep{Kind: StepBranch, Source: r, Dest: GitRef{Kind: RefBranch, Name: r.Name, Commit: destBy[RefBranch][r.Name]}})
		case r.Kind == RefTag:
			tags = append(tags, RefStep{Kind: StepTag, Source: r, Dest: GitRef{Kind: RefTag, Name: r.Name, Commit: destBy[RefTag][r.Name]}})
		}
	}
	slices.SortFunc(branches, func(a, b RefStep) int { return strings.Compare(a.Source.Name, b.Source.Name) })
	slices.SortStableFunc(tags, func(a, b RefStep) int { return olderFirst(a.Source, b.Source) })
	tail = append(tail, staleTags(in, srcTags)...)
	var out []RefStep
	if in.destHub == ModelScope {
		out = append(out, tags...)
		if def != nil {
			out = append(out, *def)
		}
		return append(out, tail...)
	}
	if def != nil {
		out = append(out, *def)
	}
	out = append(append(out, branches...), tags...)
	return append(out, tail...)
}

// staleTags are the destination tags matching the patterns that the source does not have.
func staleTags(in refInput, srcTags map[string]bool) []RefStep {
	var out []RefStep
	for _, r := range in.dest {
		if r.Kind != RefTag || srcTags[r.Name] || !refSelected(in.patterns, r.Name) {
			continue
		}
		st := RefStep{Kind: StepDelete, Source: r, Dest: r}
		switch {
		case !in.delete:
			st.Kind, st.Note = StepRefused, fmt.Sprintf("tag %s is gone from the source; kept (pass --delete to remove it)", r.Name)
		case in.destHub == ModelScope:
			st.Kind, st.Note = StepRefused, fmt.Sprintf("tag %s is gone from the source; kept: ModelScope has no API to delete a tag (delete it on the website)", r.Name)
		default:
			st.Note = fmt.Sprintf("tag %s is gone from the source; deleted (--delete)", r.Name)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b RefStep) int { return naturalCompare(a.Source.Name, b.Source.Name) })
	return out
}

// olderFirst orders refs by creation time when both have one, else by name in natural order.
func olderFirst(a, b GitRef) int {
	if !a.Created.IsZero() && !b.Created.IsZero() && !a.Created.Equal(b.Created) {
		return a.Created.Compare(b.Created)
	}
	return naturalCompare(a.Name, b.Name)
}

// naturalCompare compares strings with runs of digits compared as numbers ("v2" < "v10").
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		ra, rb := numRun(a), numRun(b)
		if ra > 0 && rb > 0 {
			na, nb := strings.TrimLeft(a[:ra], "0"), strings.TrimLeft(b[:rb], "0")
			if c := len(na) - len(nb); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[ra:], b[rb:]
			continue
		}
		if a[0] != b[0] {
			return int(a[0]) - int(b[0])
		}
		a, b = a[1:], b[1:]
	}
	return len(a) - len(b)
}

// numRun is the length of the run of ASCII digits s starts with.
func numRun(s string) int {
	n := 0
	for n < len(s) && s[n] < unicode.MaxASCII && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
