package msclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// Revision is one branch or tag of a repository as GET .../revisions lists it.
type Revision struct {
	// Name is the branch or tag name.
	Name string
	// Commit is the commit id when the hub gives one ("" otherwise: resolve Name).
	Commit string
	// Created is when the tag was created (or the branch's head committed); zero if unknown.
	Created time.Time
}

// Revisions are a repository's branches and tags; Tags are newest first, as the hub orders them.
type Revisions struct {
	Branches []Revision
	Tags     []Revision
}

type revisionJSON struct {
	Revision  string          `json:"Revision"`
	CommitID  string          `json:"CommitId"`
	CreatedAt json.RawMessage `json:"CreatedAt"`
}

// unixish reads a CreatedAt that may be a number or a string, in seconds or milliseconds
// (modelscope_hub compat/hub_api.py get_valid_revision_detail normalises the same way).
func unixish(raw json.RawMessage) time.Time {
	s := strings.Trim(strings.TrimSpace(string(raw)), `"`)
	if s == "" || s == "null" {
		return time.Time{}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return time.Time{}
	}
	ts := int64(f)
	if ts > 9_999_999_999 {
		ts /= 1000
	}
	return time.Unix(ts, 0).UTC()
}

// ListRevisions lists repo's branches and tags: GET /api/v1/{type}s/{owner}/{name}/revisions,
// answering Data.RevisionMap.{Branches,Tags} (modelscope_hub _legacy_api.py list_revisions_detail).
func (c *Client) ListRevisions(ctx context.Context, repo hubkit.Repo) (*Revisions, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	var data struct {
		RevisionMap struct {
			Branches []revisionJSON `json:"Branches"`
			Tags     []revisionJSON `json:"Tags"`
		} `json:"RevisionMap"`
	}
	if err := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, "/revisions"), out: &data}); err != nil {
		return nil, err
	}
	conv := func(in []revisionJSON) []Revision {
		out := make([]Revision, 0, len(in))
		for _, r := range in {
			if r.Revision == "" {
				continue
			}
			out = append(out, Revision{Name: r.Revision, Commit: strings.ToLower(r.CommitID), Created: unixish(r.CreatedAt)})
		}
		return out
	}
	return &Revisions{Branches: conv(data.RevisionMap.Branches), Tags: conv(data.RevisionMap.Tags)}, nil
}

// CreateTag tags ref (a branch; "" = master) as tag: POST /api/v1/{type}s/{owner}/{name}/repo/tag
// with {"TagName", "Ref"} (modelscope_hub _legacy_api.py create_tag). ModelScope has no public
// API to delete or move a tag: no official client offers one.
func (c *Client) CreateTag(ctx context.Context, repo hubkit.Repo, tag, ref string) error {
	if err := c.check(&repo); err != nil {
		return err
	}
	if strings.TrimSpace(tag) == "" || tag == DefaultRevision || tag == "main" {
		return invalidf("create tag on %s: %q is not a tag name ModelScope accepts", repo, tag)
	}
	if ref == "" {
		ref = DefaultRevision
	}
	body := map[string]string{"TagName": tag, "Ref": ref}
	if err := c.do(ctx, call{method: http.MethodPost, path: apiPath(repo, "/repo/tag"), body: body}); err != nil {
		return fmt.Errorf("create tag %s on %s: %w", tag, repo, err)
	}
	return nil
}
