package msclient

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
	"github.com/linaqruf/hf2ms/pkg/hubkit"
)

// CommitInfo describes a commit the hub made.
type CommitInfo struct {
	// OID is the commit id ("" when the hub does not report it).
	OID string
	// Actions is how many operations the commit carried.
	Actions int
}

// commitAction is one wire action of the commit body.
type commitAction struct {
	Action   string `json:"action"`
	Path     string `json:"path"`
	Type     string `json:"type"`
	Size     int64  `json:"size"`
	SHA256   string `json:"sha256"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
}

// action converts and validates op.
func commitActionOf(op hubkit.CommitOp) (commitAction, error) {
	p := op.Path
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") || strings.ContainsRune(p, 0) ||
		path.Clean(p) != p || p == "." || strings.HasPrefix(p, "../") || p == ".." {
		return commitAction{}, invalidf("commit path %q is not a clean relative path", p)
	}
	switch op.Kind {
	case hubkit.OpAddFile:
		if op.Size != 0 && op.Size != int64(len(op.Content)) {
			return commitAction{}, invalidf("commit %s: size %d but %d bytes of content", p, op.Size, len(op.Content))
		}
		return commitAction{Action: "create", Path: p, Type: "normal", Size: int64(len(op.Content)),
			Content: base64.StdEncoding.EncodeToString(op.Content), Encoding: "base64"}, nil
	case hubkit.OpAddLFS:
		oid := strings.ToLower(op.SHA256)
		if len(oid) != 64 || !isHexSHA(oid) {
			return commitAction{}, invalidf("commit %s: %q is not a sha256", p, op.SHA256)
		}
		if op.Size < 0 {
			return commitAction{}, invalidf("commit %s: negative size", p)
		}
		return commitAction{Action: "create", Path: p, Type: "lfs", Size: op.Size, SHA256: oid}, nil
	case hubkit.OpDelete:
		return commitAction{Action: "delete", Path: p, Type: "normal"}, nil
	}
	return commitAction{}, invalidf("commit %s: unknown operation kind %v", p, op.Kind)
}

// Commit writes ops to branch ("" means master) as one commit (POST /api/v1/repos/{models|
// datasets}/{owner}/{name}/commit/{branch}) and returns it. Branch must be a branch name (the hub
// refuses commit ids); at most MaxCommitActions operations and about MaxCommitInlineBytes of
// inline content fit one commit (above 2000 actions the hub answers 422, hubkit.ErrInvalid).
//
// The client owns ModelScope's commit-frequency refusals: a commit refused by repository policy
// (too frequent) or with a transient ref conflict did not apply, so it is sent again after a
// backoff (honouring Retry-After) within the WithCommitRetry budget, and later commits are then
// spaced by the wait that worked. Any other failure is returned at once: a failed POST may or
// may not have applied. When the budget runs out the error matches ErrCommitTooFrequent (and
// hubkit.ErrRateLimited).
func (c *Client) Commit(ctx context.Context, repo hubkit.Repo, branch, message string, ops []hubkit.CommitOp) (*CommitInfo, error) {
	if err := c.check(&repo); err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, invalidf("commit to %s: no operations", repo)
	}
	actions := make([]commitAction, len(ops))
	for i, op := range ops {
		a, err := commitActionOf(op)
		if err != nil {
			return nil, err
		}
		actions[i] = a
	}
	return c.commitRetrying(ctx, repo, branch, message, actions)
}

func (c *Client) commit(ctx context.Context, repo hubkit.Repo, branch, message string, actions []commitAction) (*CommitInfo, error) {
	if branch == "" {
		branch = DefaultRevision
	}
	if isHexSHA(branch) {
		return nil, invalidf("commit to %s: %q looks like a commit id; commits go to a branch", repo, branch)
	}
	if message == "" {
		message = "Upload files with hf2ms"
	}
	body := struct {
		Message string         `json:"commit_message"`
		Actions []commitAction `json:"actions"`
	}{message, actions}
	var data map[string]json.RawMessage
	err := c.do(ctx, call{method: http.MethodPost, path: reposPath(repo, "/commit/"+url.PathEscape(branch)),
		body: body, out: &data, refine: commitKind})
	c.mu.Lock()
	c.lastCommit = c.now()
	c.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return &CommitInfo{OID: strings.ToLower(pickString(data, "oid", "Oid", "CommitId", "commit_id", "Id")), Actions: len(actions)}, nil
}

// commitKind refines commit failures: a policy rejection or a 429 is ErrCommitTooFrequent.
func commitKind(e *Error) error {
	msg := strings.ToLower(e.Message)
	if e.HTTPStatus == http.StatusTooManyRequests || e.CodeName == "RateLimitExceed" || e.CodeName == "E1021" ||
		strings.Contains(msg, "rejected by repository policy") || strings.Contains(msg, "too frequent") {
		return ErrCommitTooFrequent
	}
	return nil
}

// transientCommit reports whether a commit failure is the kind that did not apply and may be
// retried: a frequency rejection, or a ref-update conflict ("Could not update refs", "try again").
func transientCommit(err error) bool {
	if errors.Is(err, ErrCommitTooFrequent) {
		return true
	}
	var e *Error
	if !errors.As(err, &e) {
		return false
	}
	msg := strings.ToLower(e.Message)
	return strings.Contains(msg, "could not update refs") || strings.Contains(msg, "try again")
}

// commitRetrying sends one commit, retrying frequency rejections and transient ref conflicts.
func (c *Client) commitRetrying(ctx context.Context, repo hubkit.Repo, branch, message string, actions []commitAction) (*CommitInfo, error) {
	bo := backoff.NewExponentialBackOff()
	bo.InitialInterval = c.commitBackoff
	bo.MaxInterval = max(c.commitBackoff, time.Minute)
	bo.MaxElapsedTime = 0
	bo.Reset()
	var waited, last time.Duration // total wait, and the last one
	for attempt := 1; ; attempt++ {
		c.mu.Lock()
		gap := c.spacing - c.now().Sub(c.lastCommit)
		c.mu.Unlock()
		if gap > 0 && !c.sleep(ctx, gap) {
			return nil, ctx.Err()
		}
		info, err := c.commit(ctx, repo, branch, message, actions)
		if err == nil {
			if last > 0 {
				c.mu.Lock()
				c.spacing = max(c.spacing, last)
				c.mu.Unlock()
			}
			return info, nil
		}
		if !transientCommit(err) || (c.commitAttempts > 0 && attempt >= c.commitAttempts) || waited >= c.commitMaxWait {
			return nil, err
		}
		wait := bo.NextBackOff()
		var e *Error
		if errors.As(err, &e) && e.RetryAfter > wait {
			wait = e.RetryAfter
			if waited+wait > c.commitMaxWait {
				return nil, err // the hub asks for more than the budget: do not wait in vain
			}
		}
		wait = min(wait, c.commitMaxWait-waited) // the last try comes at the budget's end
		if !c.sleep(ctx, wait) {
			return nil, err
		}
		waited += wait
		last = wait
	}
}

// sleepCtx waits d or until ctx is done; it reports whether the full wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
