package hfhub

import (
	"context"
	"fmt"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/migrate"
)

// Refs implements migrate.RefLister through GET /api/{type}s/{id}/refs.
func (h *Hub) Refs(ctx context.Context, repo migrate.Repo) ([]migrate.GitRef, error) {
	refs, err := h.c.ListRefs(ctx, hfRepo(repo))
	if err != nil {
		return nil, fmt.Errorf("hf: list refs of %s: %w", repo, err)
	}
	out := make([]migrate.GitRef, 0, len(refs.Branches)+len(refs.Tags))
	for _, b := range refs.Branches {
		out = append(out, migrate.GitRef{Kind: migrate.RefBranch, Name: b.Name, Commit: strings.ToLower(b.TargetCommit)})
	}
	for _, t := range refs.Tags {
		out = append(out, migrate.GitRef{Kind: migrate.RefTag, Name: t.Name, Commit: strings.ToLower(t.TargetCommit)})
	}
	return out, nil
}

// CreateBranch implements migrate.RefWriter.
func (h *Hub) CreateBranch(ctx context.Context, repo migrate.Repo, branch, from string) error {
	return refErr(h.c.CreateBranch(ctx, hfRepo(repo), branch, from), "create branch", branch, repo)
}

// DeleteBranch implements migrate.RefWriter.
func (h *Hub) DeleteBranch(ctx context.Context, repo migrate.Repo, branch string) error {
	return refErr(h.c.DeleteBranch(ctx, hfRepo(repo), branch), "delete branch", branch, repo)
}

// CreateTag implements migrate.RefWriter.
func (h *Hub) CreateTag(ctx context.Context, repo migrate.Repo, tag, rev string) error {
	return refErr(h.c.CreateTag(ctx, hfRepo(repo), rev, tag, ""), "create tag", tag, repo)
}

// DeleteTag implements migrate.RefWriter.
func (h *Hub) DeleteTag(ctx context.Context, repo migrate.Repo, tag string) error {
	return refErr(h.c.DeleteTag(ctx, hfRepo(repo), tag), "delete tag", tag, repo)
}

// refErr names the ref operation op (on ref name of repo) in a failed ref write; nil stays nil.
func refErr(err error, op, name string, repo migrate.Repo) error {
	if err != nil {
		return fmt.Errorf("hf: %s %s on %s: %w", op, name, repo, err)
	}
	return nil
}
