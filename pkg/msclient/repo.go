package msclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// ModelScope's numeric visibility values.
const (
	VisibilityPrivate  = 1
	VisibilityInternal = 3
	VisibilityPublic   = 5
)

// RepoInfo describes a model or dataset.
type RepoInfo struct {
	// Kind and ID ("owner/name") of the repo.
	Kind hubkit.RepoType
	ID   string
	// Private is true unless Visibility is public: internal (organisation-only) repos count as
	// private, so migrating one never publishes it.
	Private bool
	// Visibility is ModelScope's value: 1 private, 3 internal, 5 public (0 if not reported).
	Visibility int
	// Gated is true when the repo is private with ProtectedMode 1 (access by approval).
	Gated bool
	// StorageSize is the hub's figure for the repo's size in bytes (0 if not reported).
	StorageSize int64
	// NumericID is the hub's numeric id (Data.Id); for datasets it is the id the visibility and
	// old tree routes take. DatasetID repeats it for datasets and is 0 for models.
	NumericID int64
	DatasetID int64
	// License, Description and Downloads as reported.
	License     string
	Description string
	Downloads   int64
	// CreatedAt and UpdatedAt, when reported (unix seconds on the wire).
	CreatedAt time.Time
	UpdatedAt time.Time
	// Revision is the revision the hub reports for the request, when it does.
	Revision string

	raw map[string]json.RawMessage
}

// RepoInfo returns a repo's metadata (GET /api/v1/{models|datasets}/{owner}/{name}?Revision=).
// rev may be "". A missing repo, or a private one the token cannot see, fails with an error
// matching hubkit.ErrNotFound (ModelScope answers 404, sometimes 403: hubkit.ErrForbidden).
func (c *Client) RepoInfo(ctx context.Context, repo hubkit.Repo, rev string) (*RepoInfo, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	var q url.Values
	if rev != "" {
		q = url.Values{"Revision": {rev}}
	}
	var data map[string]json.RawMessage
	if err := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, ""), query: q, out: &data}); err != nil {
		return nil, err
	}
	if data == nil {
		return nil, &Error{Method: http.MethodGet, Path: apiPath(repo, ""), HTTPStatus: http.StatusOK,
			Message: "repo info has no Data", Kind: hubkit.ErrNotFound}
	}
	info := &RepoInfo{Kind: repo.Type, ID: repo.ID, raw: data}
	info.Visibility = int(pickInt(data, "Visibility", "visibility"))
	info.Private = info.Visibility != VisibilityPublic
	if b, ok := pickBool(data, "private", "Private"); ok && info.Visibility == 0 {
		info.Private = b
	}
	info.Gated = info.Private && pickInt(data, "ProtectedMode") == 1
	if g, ok := pickBool(data, "gated", "Gated"); ok {
		info.Gated = g
	}
	info.StorageSize = pickInt(data, "StorageSize", "storage_size", "file_size")
	info.NumericID = pickInt(data, "Id", "id")
	if repo.Type == hubkit.Dataset {
		info.DatasetID = info.NumericID
	}
	info.License = pickString(data, "License", "license")
	info.Description = pickString(data, "Description", "description")
	info.Downloads = pickInt(data, "Downloads", "downloads")
	info.Revision = pickString(data, "Revision")
	if t := pickInt(data, "CreatedTime", "GmtCreate", "CreatedAt"); t > 0 {
		info.CreatedAt = time.Unix(t, 0).UTC()
	}
	if t := pickInt(data, "LastUpdatedTime", "GmtModified", "UpdatedAt"); t > 0 {
		info.UpdatedAt = time.Unix(t, 0).UTC()
	}
	return info, nil
}

// RepoExists reports whether a repo exists (GET /api/v1/{models|datasets}/{owner}/{name}): true
// on 200, false on 404 (or a not-found code in the envelope). Anything else (403, 5xx, transport
// failures) is an error, never "false": a private repo the token cannot see may answer 403.
func (c *Client) RepoExists(ctx context.Context, repo hubkit.Repo) (bool, error) {
	if err := c.check(&repo); err != nil {
		return false, err
	}
	err := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, "")})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, hubkit.ErrNotFound):
		return false, nil
	}
	return false, err
}

// ResolveRevision pins rev ("" means master) to a commit id. It asks the commit log
// (GET .../commits?Ref=rev&PageSize=1) for the newest commit's Id. A 40-hex rev is taken as a
// commit id and checked the same way. If the hub's commit log has nothing for an existing
// revision, the best effort is the model listing's LatestCommitter.Id, and failing that rev itself
// (a branch or tag name, still usable for reads). An unknown revision or repo fails with an error
// matching hubkit.ErrNotFound.
func (c *Client) ResolveRevision(ctx context.Context, repo hubkit.Repo, rev string) (string, error) {
	if err := c.check(&repo); err != nil {
		return "", err
	}
	if rev == "" {
		rev = DefaultRevision
	}
	var data struct {
		Commit []struct {
			ID string `json:"Id"`
		} `json:"Commit"`
	}
	q := url.Values{"Ref": {rev}, "PageNumber": {"1"}, "PageSize": {"1"}}
	err := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, "/commits"), query: q, out: &data})
	if err != nil && !errors.Is(err, hubkit.ErrNotFound) {
		return "", err
	}
	if err == nil && len(data.Commit) > 0 && data.Commit[0].ID != "" {
		if isHexSHA(rev) && !strings.EqualFold(data.Commit[0].ID, rev) && !strings.HasPrefix(strings.ToLower(data.Commit[0].ID), strings.ToLower(rev)) {
			return "", &Error{Method: http.MethodGet, Path: apiPath(repo, "/commits"), HTTPStatus: http.StatusOK,
				Message: fmt.Sprintf("revision %s not found", rev), Kind: hubkit.ErrNotFound}
		}
		return strings.ToLower(data.Commit[0].ID), nil
	}
	// No commit log answer: make sure the revision exists, then fall back.
	if repo.Type == hubkit.Model {
		var files modelFiles
		q := url.Values{"Revision": {rev}, "Recursive": {"false"}}
		if ferr := c.do(ctx, call{method: http.MethodGet, path: apiPath(repo, "/repo/files"), query: q, out: &files}); ferr != nil {
			return "", ferr
		}
		if files.Files == nil {
			return "", revisionNotFound(repo, rev)
		}
		if files.LatestCommitter != nil && isHexSHA(files.LatestCommitter.ID) {
			return strings.ToLower(files.LatestCommitter.ID), nil
		}
		return rev, nil
	}
	if err != nil {
		// The commit log said not found: tell a missing repo from a missing revision.
		if _, ierr := c.RepoInfo(ctx, repo, ""); ierr != nil {
			return "", ierr
		}
		return "", revisionNotFound(repo, rev)
	}
	return rev, nil
}

func revisionNotFound(repo hubkit.Repo, rev string) error {
	return &Error{Method: http.MethodGet, Path: apiPath(repo, ""), HTTPStatus: http.StatusOK,
		Message: fmt.Sprintf("revision %q of %s not found", rev, repo), Kind: hubkit.ErrNotFound}
}

func isHexSHA(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, ch := range s {
		if !(ch >= '0' && ch <= '9' || ch >= 'a' && ch <= 'f' || ch >= 'A' && ch <= 'F') {
			return false
		}
	}
	return true
}

// DefaultLicense is the license CreateRepo declares (the SDK's default).
const DefaultLicense = "Apache License 2.0"

// CreateRepo creates a model (POST /api/v1/models, JSON) or dataset (POST /api/v1/datasets,
// multipart form) with visibility private (1) or public (5). When the repo already exists it fails
// with an error matching hubkit.ErrConflict (the hub answers 400 with code 10010101001/10020101001 or an
// "already registered" message).
func (c *Client) CreateRepo(ctx context.Context, repo hubkit.Repo, private bool) error {
	if err := c.check(&repo); err != nil {
		return err
	}
	owner, name, _ := strings.Cut(repo.ID, "/")
	vis := VisibilityPublic
	if private {
		vis = VisibilityPrivate
	}
	if repo.Type == hubkit.Model {
		body := map[string]any{
			"Path": owner, "Name": name, "ChineseName": "", "Visibility": vis,
			"License": DefaultLicense, "OriginalModelId": "", "TrainId": "",
		}
		return c.do(ctx, call{method: http.MethodPost, path: "/api/v1/models", body: body, refine: createConflict})
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, kv := range [][2]string{
		{"Name", name}, {"Owner", owner}, {"ChineseName", ""}, {"License", DefaultLicense},
		{"Visibility", strconv.Itoa(vis)}, {"Description", ""},
	} {
		if err := mw.WriteField(kv[0], kv[1]); err != nil {
			return fmt.Errorf("msclient: create dataset form: %w", err)
		}
	}
	if err := mw.Close(); err != nil {
		return fmt.Errorf("msclient: create dataset form: %w", err)
	}
	return c.do(ctx, call{method: http.MethodPost, path: "/api/v1/datasets", raw: bytes.NewReader(buf.Bytes()),
		ctype: mw.FormDataContentType(), refine: createConflict})
}

// modelSettingsKeys are the fields the model settings PUT takes (a full update built from the
// current values, as modelscope's hub/api.py v1.37.1 does).
var modelSettingsKeys = []string{"ChineseName", "ModelFramework", "ProtectedMode", "ApprovalMode", "Description",
	"AigcType", "VisionFoundation", "ModelCover", "SubScientificField", "ScientificField", "Source", "License"}

// SetPrivate changes a repo's visibility to private (1) or public (5). Models take a full
// settings update (PUT /api/v1/models/{owner}/{name}) built from the current info so nothing
// else changes; datasets take PUT /api/v1/datasets/{numeric id}. Both read the repo first.
func (c *Client) SetPrivate(ctx context.Context, repo hubkit.Repo, private bool) error {
	info, err := c.RepoInfo(ctx, repo, "")
	if err != nil {
		return err
	}
	vis := VisibilityPublic
	if private {
		vis = VisibilityPrivate
	}
	if repo.Type == hubkit.Dataset {
		if info.DatasetID == 0 {
			return &Error{Method: http.MethodGet, Path: apiPath(repo, ""), HTTPStatus: http.StatusOK,
				Message: "dataset info has no numeric Id", Kind: hubkit.ErrServer}
		}
		body := map[string]any{"Visibility": vis}
		if pm := pickInt(info.raw, "ProtectedMode"); pm != 0 {
			body["ProtectedMode"] = pm
		}
		path := "/api/v1/datasets/" + strconv.FormatInt(info.DatasetID, 10)
		return c.do(ctx, call{method: http.MethodPut, path: path, body: body})
	}
	body := map[string]any{}
	for _, k := range modelSettingsKeys {
		if raw, ok := info.raw[k]; ok && string(raw) != "null" {
			body[k] = raw
		}
	}
	if _, ok := body["ModelFramework"]; !ok {
		body["ModelFramework"] = "Pytorch"
	}
	body["ModelTask"] = firstTaskName(info.raw)
	body["Visibility"] = vis
	return c.do(ctx, call{method: http.MethodPut, path: apiPath(repo, ""), body: body})
}

// firstTaskName returns the name of the model's first task ("" if none).
func firstTaskName(m map[string]json.RawMessage) string {
	raw, ok := m["Tasks"]
	if !ok {
		return ""
	}
	var objs []map[string]json.RawMessage
	if json.Unmarshal(raw, &objs) == nil && len(objs) > 0 {
		return pickString(objs[0], "Name", "name")
	}
	var ss []string
	if json.Unmarshal(raw, &ss) == nil && len(ss) > 0 {
		return ss[0]
	}
	return ""
}

// DeleteRepo deletes a repo (DELETE /api/v1/{models|datasets}/{owner}/{name}). The public hub is
// reported to refuse token-based deletion (400 "the current token no longer supports deletion
// operations"); that answer matches hubkit.ErrForbidden.
func (c *Client) DeleteRepo(ctx context.Context, repo hubkit.Repo) error {
	if err := c.check(&repo); err != nil {
		return err
	}
	return c.do(ctx, call{method: http.MethodDelete, path: apiPath(repo, "")})
}
