package hub

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// GitRef is one branch or tag of a repository (huggingface_hub GitRefInfo).
type GitRef struct {
	// Name is the branch or tag name ("main", "v1.0").
	Name string `json:"name"`
	// Ref is the full git ref ("refs/heads/main", "refs/tags/v1.0").
	Ref string `json:"ref"`
	// TargetCommit is the 40-hex commit the ref points to.
	TargetCommit string `json:"targetCommit"`
}

// GitRefs are a repository's branches and tags (huggingface_hub GitRefs; converts and pull
// requests are not asked for).
type GitRefs struct {
	Branches []GitRef `json:"branches"`
	Tags     []GitRef `json:"tags"`
	Converts []GitRef `json:"converts"`
}

// ListRefs lists repo's branches and tags: GET /api/{type}s/{id}/refs (huggingface_hub
// HfApi.list_repo_refs). A ref whose target is not a commit id is refused, so callers can pin
// refs to commits without checking.
func (c *Client) ListRefs(ctx context.Context, repo hubkit.Repo) (*GitRefs, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	var refs GitRefs
	if err := c.doJSON(ctx, "list refs "+repo.String(), routeRepo, http.MethodGet, c.repoAPI(repo)+"/refs", nil, &refs, false); err != nil {
		return nil, err
	}
	for _, r := range append(append([]GitRef(nil), refs.Branches...), refs.Tags...) {
		if r.Name == "" || !commitRe.MatchString(r.TargetCommit) {
			return nil, fmt.Errorf("hub: list refs %s: ref %q has no commit id (%q): %w", repo, r.Name, r.TargetCommit, hubkit.ErrInvalid)
		}
	}
	return &refs, nil
}

// CreateBranch creates branch at startingPoint ("" = the Hub's default, the head of main):
// POST /api/{type}s/{id}/branch/{branch} with {"startingPoint": rev} (huggingface_hub
// HfApi.create_branch). An existing branch fails with an error matching hubkit.ErrConflict.
func (c *Client) CreateBranch(ctx context.Context, repo hubkit.Repo, branch, startingPoint string) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	if strings.TrimSpace(branch) == "" {
		return fmt.Errorf("hub: create branch on %s: %w: empty branch name", repo, hubkit.ErrInvalid)
	}
	body := map[string]string{}
	if startingPoint != "" {
		body["startingPoint"] = startingPoint
	}
	u := c.repoAPI(repo) + "/branch/" + escRev(branch)
	return c.doJSON(ctx, "create branch "+branch+" on "+repo.String(), routeAPI, http.MethodPost, u, body, nil, false)
}

// DeleteBranch deletes branch: DELETE /api/{type}s/{id}/branch/{branch} (huggingface_hub
// HfApi.delete_branch). The default branch cannot be deleted.
func (c *Client) DeleteBranch(ctx context.Context, repo hubkit.Repo, branch string) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	if strings.TrimSpace(branch) == "" {
		return fmt.Errorf("hub: delete branch on %s: %w: empty branch name", repo, hubkit.ErrInvalid)
	}
	u := c.repoAPI(repo) + "/branch/" + escRev(branch)
	return c.doJSON(ctx, "delete branch "+branch+" on "+repo.String(), routeAPI, http.MethodDelete, u, nil, nil, false)
}

// CreateTag tags rev (a branch, tag or commit id) as tag, with an optional message:
// POST /api/{type}s/{id}/tag/{rev} with {"tag": tag, "message": ...} (huggingface_hub
// HfApi.create_tag). An existing tag fails with an error matching hubkit.ErrConflict.
func (c *Client) CreateTag(ctx context.Context, repo hubkit.Repo, rev, tag, message string) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	if strings.TrimSpace(tag) == "" {
		return fmt.Errorf("hub: create tag on %s: %w: empty tag name", repo, hubkit.ErrInvalid)
	}
	body := map[string]string{"tag": tag}
	if message != "" {
		body["message"] = message
	}
	u := c.repoAPI(repo) + "/tag/" + escRev(rev)
	return c.doJSON(ctx, "create tag "+tag+" on "+repo.String(), routeAPI, http.MethodPost, u, body, nil, false)
}

// DeleteTag deletes tag: DELETE /api/{type}s/{id}/tag/{tag} (huggingface_hub HfApi.delete_tag).
func (c *Client) DeleteTag(ctx context.Context, repo hubkit.Repo, tag string) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	if strings.TrimSpace(tag) == "" {
		return fmt.Errorf("hub: delete tag on %s: %w: empty tag name", repo, hubkit.ErrInvalid)
	}
	u := c.repoAPI(repo) + "/tag/" + escRev(tag)
	return c.doJSON(ctx, "delete tag "+tag+" on "+repo.String(), routeAPI, http.MethodDelete, u, nil, nil, false)
}
