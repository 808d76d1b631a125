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
	body := map[string]string{}
	if startingPoint != "" {
		body["startingPoint"] = startingPoint
	}
	return c.refCall(ctx, repo, "create", "branch", branch, http.MethodPost, "/branch/"+escRev(branch), body)
}

// DeleteBranch deletes branch: DELETE /api/{type}s/{id}/branch/{branch} (huggingface_hub
// HfApi.delete_branch). The default branch cannot be deleted.
func (c *Client) DeleteBranch(ctx context.Context, repo hubkit.Repo, branch string) error {
	return c.refCall(ctx, repo, "delete", "branch", branch, http.MethodDelete, "/branch/"+escRev(branch), nil)
}

// CreateTag tags rev (a branch, tag or commit id) as tag, with an optional message:
// POST /api/{type}s/{id}/tag/{rev} with {"tag": tag, "message": ...} (huggingface_hub
// HfApi.create_tag). An existing tag fails with an error matching hubkit.ErrConflict.
func (c *Client) CreateTag(ctx context.Context, repo hubkit.Repo, rev, tag, message string) error {
	body := map[string]string{"tag": tag}
	if message != "" {
		body["message"] = message
	}
	return c.refCall(ctx, repo, "create", "tag", tag, http.MethodPost, "/tag/"+escRev(rev), body)
}

// DeleteTag deletes tag: DELETE /api/{type}s/{id}/tag/{tag} (huggingface_hub HfApi.delete_tag).
func (c *Client) DeleteTag(ctx context.Context, repo hubkit.Repo, tag string) error {
	return c.refCall(ctx, repo, "delete", "tag", tag, http.MethodDelete, "/tag/"+escRev(tag), nil)
}

// refCall sends one branch or tag request (verb "create" or "delete", kind "branch" or "tag")
// for the ref name to path below the repository's API URL, once repo and name are valid.
func (c *Client) refCall(ctx context.Context, repo hubkit.Repo, verb, kind, name, method, path string, body any) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("hub: %s %s on %s: %w: empty %s name", verb, kind, repo, hubkit.ErrInvalid, kind)
	}
	op := verb + " " + kind + " " + name + " on " + repo.String()
	return c.doJSON(ctx, op, routeAPI, method, c.repoAPI(repo)+path, body, nil, false)
}
