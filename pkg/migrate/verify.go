package migrate

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// verify re-lists the destination at head (its branch when "") and compares every selected file.
func (w *worker) verify(ctx context.Context, head string) error {
	p := w.plan
	rev := head
	if rev == "" {
		rev = p.DestBranch
	}
	v, err := VerifyDest(ctx, p, w.dst, rev)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	w.emit(Event{Type: EventVerify, Verify: v})
	if !v.OK() {
		return fmt.Errorf("%w: %d mismatched, %d missing (first: %s %s)", ErrVerify, v.Mismatched, v.Missing, v.Bad[0].Path, v.Bad[0].Problem)
	}
	return nil
}

// VerifyDest lists the destination at rev and verifies it against plan (see Verify), then checks
// the files the destination hub manages itself (Hugging Face's .gitattributes) by content:
// they match when every line the source has is present.
func VerifyDest(ctx context.Context, plan *Plan, dst Hub, rev string) (*Verification, error) {
	var files []File
	if rev != "" {
		var err error
		if files, err = dst.List(ctx, plan.Dest, rev); err != nil {
			return nil, fmt.Errorf("list %s@%s: %w", plan.Dest, rev, err)
		}
	}
	v := Verify(plan, files)
	byPath := make(map[string]File, len(files))
	for _, f := range files {
		byPath[f.Path] = f
	}
	bad := v.Bad[:0]
	for _, b := range v.Bad {
		c, managed := plan.content[b.Path]
		if b.Problem == "mismatched" && managed && c.managed != nil {
			got, err := readAll(ctx, dst, plan.Dest, rev, File{Path: b.Path, Size: byPath[b.Path].Size})
			if err != nil {
				return nil, err
			}
			if coversLines(got, c.managed) {
				v.Mismatched--
				v.Matched++
				continue
			}
			b.Detail = "lines of the source's file are missing"
		}
		bad = append(bad, b)
	}
	v.Bad = bad
	return v, nil
}

// Verify compares a destination listing with what plan says the destination must hold: every
// copied and skipped file present with the same size and SHA-256 (else git blob id, else
// not checkable), every deleted file gone.
func Verify(plan *Plan, dest []File) *Verification {
	v := &Verification{}
	got := make(map[string]File, len(dest))
	for _, f := range dest {
		f.SHA256, f.GitOID = strings.ToLower(f.SHA256), strings.ToLower(f.GitOID)
		got[f.Path] = f
	}
	want := slices.Concat(plan.Copy, plan.Skip)
	slices.SortFunc(want, func(a, b File) int { return strings.Compare(a.Path, b.Path) })
	for _, s := range want {
		d, ok := got[s.Path]
		if !ok {
			v.Missing++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "missing"})
			continue
		}
		size, sha, oid := s.Size, s.SHA256, ""
		if !s.LFS {
			oid = s.GitOID
		}
		if c, ok := plan.content[s.Path]; ok {
			size, sha, oid = c.size, c.sha256, c.gitOID
		}
		switch {
		case d.Size != size:
			v.Mismatched++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("size %d, want %d", d.Size, size)})
		case sha != "" && d.SHA256 != "":
			if d.SHA256 != sha {
				v.Mismatched++
				v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("sha256 %s, want %s", d.SHA256, sha)})
			} else {
				v.Matched++
			}
		case oid != "" && d.GitOID != "" && !d.LFS:
			if d.GitOID != oid {
				v.Mismatched++
				v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "mismatched", Detail: fmt.Sprintf("git blob %s, want %s", d.GitOID, oid)})
			} else {
				v.Matched++
			}
		default:
			v.NotCheckable++
			v.Bad = append(v.Bad, FileCheck{Path: s.Path, Problem: "not_checkable", Detail: "no common hash"})
		}
	}
	for _, del := range plan.Delete {
		if _, ok := got[del.Path]; ok {
			v.Mismatched++
			v.Bad = append(v.Bad, FileCheck{Path: del.Path, Problem: "mismatched", Detail: "deleted file still present"})
		}
	}
	v.onlyInDest(plan, dest, want)
	return v
}

// onlyInDest lists the destination's files that the source does not have, among the selected
// paths, leaving out the files the destination hub maintains itself.
func (v *Verification) onlyInDest(plan *Plan, dest, want []File) {
	selected, err := newMatcher(plan.Options.Include, plan.Options.Exclude)
	if err != nil {
		selected = func(string) bool { return true } // the plan was built with the same patterns
	}
	known := make(map[string]bool, len(want)+len(plan.Delete))
	for _, f := range want {
		known[f.Path] = true
	}
	for _, f := range plan.Delete {
		known[f.Path] = true
	}
	var extra []FileCheck
	for _, d := range dest {
		if !known[d.Path] && selected(d.Path) && !hubManaged(plan.Dest.Hub, d.Path) {
			extra = append(extra, FileCheck{Path: d.Path, Problem: "only_in_dest", Detail: "not in the source (--delete removes it)"})
		}
	}
	slices.SortFunc(extra, func(a, b FileCheck) int { return strings.Compare(a.Path, b.Path) })
	v.OnlyInDest = len(extra)
	v.Bad = append(v.Bad, extra...)
}
