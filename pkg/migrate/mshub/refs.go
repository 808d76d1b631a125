package mshub

import (
	"context"
	"fmt"
	"time"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Refs implements migrate.RefLister through GET .../revisions; a revision the listing gives
// without a commit id is resolved through the commit log.
func (h *Hub) Refs(ctx context.Context, repo migrate.Repo) ([]migrate.GitRef, error) {
	r, err := msRepo(repo)
	if err != nil {
		return nil, err
	}
	revs, err := h.c.ListRevisions(ctx, r)
	if err != nil {
		return nil, fmt.Errorf("ms: list revisions of %s: %w", repo, err)
	}
	var out []migrate.GitRef
	add := func(kind migrate.RefKind, name, commit string, created time.Time) error {
		if commit == "" {
			if commit, err = h.c.ResolveRevision(ctx, r, name); err != nil {
				return fmt.Errorf("ms: resolve %s %s of %s: %w", kind, name, repo, err)
			}
		}
		out = append(out, migrate.GitRef{Kind: kind, Name: name, Commit: commit, Created: created})
		return nil
	}
	for _, b := range revs.Branches {
		if err := add(migrate.RefBranch, b.Name, b.Commit, b.Created); err != nil {
			return nil, err
		}
	}
	for _, t := range revs.Tags {
		if err := add(migrate.RefTag, t.Name, t.Commit, t.Created); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateBranch implements migrate.RefWriter: ModelScope has no branch API (commits go to master).
func (h *Hub) CreateBranch(_ context.Context, repo migrate.Repo, branch, _ string) error {
	return fmt.Errorf("ms: create branch %s on %s: %w: ModelScope commits to master only", branch, repo, migrate.ErrUnsupported)
}

// DeleteBranch implements migrate.RefWriter: ModelScope has no branch API.
func (h *Hub) DeleteBranch(_ context.Context, repo migrate.Repo, branch string) error {
	return fmt.Errorf("ms: delete branch %s on %s: %w: ModelScope has no branch API", branch, repo, migrate.ErrUnsupported)
}

// CreateTag implements migrate.RefWriter through POST .../repo/tag {TagName, Ref}.
func (h *Hub) CreateTag(ctx context.Context, repo migrate.Repo, tag, rev string) error {
	r, err := msRepo(repo)
	if err != nil {
		return err
	}
	if err := h.c.CreateTag(ctx, r, tag, rev); err != nil {
		return fmt.Errorf("ms: %w", err)
	}
	return nil
}

// DeleteTag implements migrate.RefWriter: no official ModelScope client offers tag deletion, so
// there is no API to call.
func (h *Hub) DeleteTag(_ context.Context, repo migrate.Repo, tag string) error {
	return fmt.Errorf("ms: delete tag %s on %s: %w: ModelScope has no API to delete a tag", tag, repo, migrate.ErrUnsupported)
}
