package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// User is the identity behind the token.
type User struct {
	// Type is "user", "org" or "app".
	Type     string
	Name     string
	Fullname string
	Email    string
	// Orgs are the names of the organisations the user belongs to.
	Orgs []string
	// Role is the token's role: "read", "write", "fineGrained", ...
	Role string
	// TokenName is the token's display name.
	TokenName string
	// CanReadGatedRepos is true when a fine-grained token may read gated repos.
	CanReadGatedRepos bool
}

type whoamiJSON struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Fullname string `json:"fullname"`
	Email    string `json:"email"`
	Orgs     []struct {
		Name string `json:"name"`
	} `json:"orgs"`
	Auth struct {
		AccessToken struct {
			DisplayName string `json:"displayName"`
			Role        string `json:"role"`
			FineGrained *struct {
				CanReadGatedRepos bool `json:"canReadGatedRepos"`
			} `json:"fineGrained"`
		} `json:"accessToken"`
	} `json:"auth"`
}

// WhoAmI returns the token's owner: GET /api/whoami-v2. Without a valid token it fails with
// hubkit.ErrUnauthorized.
func (c *Client) WhoAmI(ctx context.Context) (*User, error) {
	var j whoamiJSON
	if err := c.doJSON(ctx, "whoami", routeAccount, http.MethodGet, c.apiURL("/api/whoami-v2"), nil, &j, false); err != nil {
		return nil, err
	}
	u := &User{Type: j.Type, Name: j.Name, Fullname: j.Fullname, Email: j.Email,
		Role: j.Auth.AccessToken.Role, TokenName: j.Auth.AccessToken.DisplayName}
	if fg := j.Auth.AccessToken.FineGrained; fg != nil {
		u.CanReadGatedRepos = fg.CanReadGatedRepos
	}
	for _, o := range j.Orgs {
		u.Orgs = append(u.Orgs, o.Name)
	}
	return u, nil
}

// LFSInfo describes the LFS object behind a file.
type LFSInfo struct {
	// OID is the content's SHA-256 (lower-case hex).
	OID  string `json:"oid"`
	Size int64  `json:"size"`
	// PointerSize is the size of the pointer file git stores.
	PointerSize int64 `json:"pointerSize"`
}

// UnmarshalJSON accepts the tree's {oid} and repo info's {sha256} spellings.
func (l *LFSInfo) UnmarshalJSON(b []byte) error {
	var j struct {
		OID         string `json:"oid"`
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		PointerSize int64  `json:"pointerSize"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	l.OID = strings.ToLower(j.OID)
	if l.OID == "" {
		l.OID = strings.ToLower(j.SHA256)
	}
	l.Size, l.PointerSize = j.Size, j.PointerSize
	return nil
}

// Sibling is a file listed in repo info.
type Sibling struct {
	Path string `json:"rfilename"`
	// Size is the real file size (0 unless the info was fetched with blobs).
	Size int64 `json:"size"`
	// BlobID is the git blob id (of the pointer, for LFS files).
	BlobID string   `json:"blobId"`
	LFS    *LFSInfo `json:"lfs,omitempty"`
}

// RepoInfo describes a repository at a revision.
type RepoInfo struct {
	ID      string `json:"id"`
	Author  string `json:"author"`
	Private bool   `json:"private"`
	// Gated is "" when the repo is not gated, else "auto" or "manual".
	Gated    string `json:"-"`
	Disabled bool   `json:"disabled"`
	// SHA is the commit of the requested revision.
	SHA          string    `json:"sha"`
	LastModified time.Time `json:"lastModified"`
	CreatedAt    time.Time `json:"createdAt"`
	Tags         []string  `json:"tags"`
	Siblings     []Sibling `json:"siblings"`
	// UsedStorage is the repo's storage in bytes, history included.
	UsedStorage int64 `json:"usedStorage"`
}

// UnmarshalJSON reads "gated", which is false or a string.
func (r *RepoInfo) UnmarshalJSON(b []byte) error {
	type plain RepoInfo
	var j struct {
		plain
		Gated json.RawMessage `json:"gated"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = RepoInfo(j.plain)
	var s string
	if json.Unmarshal(j.Gated, &s) == nil {
		r.Gated = s
	} else {
		var on bool
		if json.Unmarshal(j.Gated, &on) == nil && on {
			r.Gated = "auto"
		}
	}
	return nil
}

// RepoInfo returns repo's metadata at rev ("" for the default branch) with file sizes and LFS
// hashes: GET /api/{type}s/{id}[/revision/{rev}]?blobs=true.
func (c *Client) RepoInfo(ctx context.Context, repo hubkit.Repo, rev string) (*RepoInfo, error) {
	if err := validateRepo(repo); err != nil {
		return nil, err
	}
	u := c.repoAPI(repo)
	if rev != "" {
		u += "/revision/" + escRev(rev)
	}
	var info RepoInfo
	if err := c.doJSON(ctx, "repo info "+repo.String(), routeRepo, http.MethodGet, u+"?blobs=true", nil, &info, false); err != nil {
		return nil, err
	}
	return &info, nil
}

var commitRe = regexp.MustCompile(`^[0-9a-f]{40}$`)

// ResolveRevision pins rev (a branch, tag or commit; "" for the default branch) to its 40-hex
// commit id: GET /api/{type}s/{id}/revision/{rev}?expand=sha.
func (c *Client) ResolveRevision(ctx context.Context, repo hubkit.Repo, rev string) (string, error) {
	if err := validateRepo(repo); err != nil {
		return "", err
	}
	u := c.repoAPI(repo)
	if rev != "" {
		u += "/revision/" + escRev(rev)
	}
	var j struct {
		SHA string `json:"sha"`
	}
	if err := c.doJSON(ctx, "resolve revision "+repo.String(), routeRepo, http.MethodGet, u+"?expand=sha", nil, &j, false); err != nil {
		return "", err
	}
	if !commitRe.MatchString(j.SHA) {
		return "", fmt.Errorf("hub: resolve revision %s@%s: the Hub answered no commit id (%q)", repo, rev, j.SHA)
	}
	return j.SHA, nil
}

type createRepoJSON struct {
	Name         string `json:"name"`
	Organization string `json:"organization,omitempty"`
	Type         string `json:"type,omitempty"`
	Private      bool   `json:"private"`
	SDK          string `json:"sdk,omitempty"`
}

// CreateRepo creates repo, private or public, and returns its URL: POST /api/repos/create.
// When it already exists the error matches hubkit.ErrConflict and url is still returned when the Hub
// gives it. Spaces are created with the "static" SDK.
func (c *Client) CreateRepo(ctx context.Context, repo hubkit.Repo, private bool) (string, error) {
	ns, name, err := ParseRepoID(repo.ID)
	if err != nil {
		return "", err
	}
	if err := validateRepo(repo); err != nil {
		return "", err
	}
	body := createRepoJSON{Name: name, Organization: ns, Private: private}
	if repoType(repo) != hubkit.Model {
		body.Type = string(repoType(repo))
	}
	if repoType(repo) == hubkit.Space {
		body.SDK = "static"
	}
	var out struct {
		URL string `json:"url"`
	}
	err = c.doJSON(ctx, "create repo "+repo.String(), routeAPI, http.MethodPost, c.apiURL("/api/repos/create"), body, &out, false)
	var he *Error
	if errors.As(err, &he) && he.StatusCode == http.StatusConflict {
		return c.endpoint + "/" + repo.String(), err
	}
	if err != nil {
		return "", err
	}
	if out.URL == "" {
		out.URL = c.endpoint + "/" + repo.String()
	}
	return out.URL, nil
}

// SetPrivate changes repo's visibility: PUT /api/{type}s/{id}/settings {"private": ...}.
func (c *Client) SetPrivate(ctx context.Context, repo hubkit.Repo, private bool) error {
	if err := validateRepo(repo); err != nil {
		return err
	}
	body := map[string]any{"private": private}
	return c.doJSON(ctx, "repo settings "+repo.String(), routeRepo, http.MethodPut, c.repoAPI(repo)+"/settings", body, nil, false)
}

// DeleteRepo deletes repo and all its history: DELETE /api/repos/delete. A missing repo fails
// with ErrRepoNotFound.
func (c *Client) DeleteRepo(ctx context.Context, repo hubkit.Repo) error {
	ns, name, err := ParseRepoID(repo.ID)
	if err != nil {
		return err
	}
	if err := validateRepo(repo); err != nil {
		return err
	}
	body := map[string]string{"name": name, "organization": ns, "type": string(repoType(repo))}
	return c.doJSON(ctx, "delete repo "+repo.String(), routeRepo, http.MethodDelete, c.apiURL("/api/repos/delete"), body, nil, false)
}
