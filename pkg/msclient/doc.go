// Package msclient is a Go client for the ModelScope Hub (modelscope.cn, modelscope.ai): login and
// whoami, model and dataset info, complete file listings with sizes and SHA-256, ranged downloads
// that follow the CDN redirect without credentials, repository creation and visibility, LFS blob
// upload verified in flight, and commits batched under the hub's limits.
//
// It speaks the legacy REST API under /api/v1 (PascalCase envelopes {Code, Data, Message,
// RequestId, Success}) and, for whoami, the OpenAPI under /openapi/v1, as the official SDKs do
// (modelscope's hub/api.py up to v1.37.1 and modelscope_hub's _legacy_api.py and _openapi.py). Failures are *Error values that unwrap to the error kinds shared
// with the Hugging Face client (hubkit.ErrNotFound, hubkit.ErrUnauthorized, hubkit.ErrForbidden, hubkit.ErrRateLimited,
// hubkit.ErrConflict, ...), including failures the hub reports inside an HTTP 200 envelope; the hub's
// business code and message stay on the error.
//
// Credentials (Authorization: Bearer and the m_session_id cookie) are only ever sent to the API
// origin (and to an LFS upload href on an https sibling of the API host, such as lfs.modelscope.cn);
// downloads that redirect to a CDN are followed by the client itself, without them.
//
// # Typical use
//
//	c := msclient.NewClient(msclient.WithToken(os.Getenv("MODELSCOPE_TOKEN")))
//	files, err := c.ListFiles(ctx, hubkit.Repo{Type: hubkit.Model, ID: "owner/name"}, "")
//	ups, err := c.PrepareUpload(ctx, repo, objects)   // only what the hub lacks
//	err = ups[0].Upload(ctx, src)                        // streamed, hashed in flight
//	infos, err := c.CommitInBatches(ctx, repo, "", "msg", ops)
//
// # Protocol details the notes leave uncertain, and what the client does
//
//   - Private repo without rights: 404 or 403 (not pinned). Both map to their kinds (hubkit.ErrNotFound,
//     hubkit.ErrForbidden); RepoExists answers false only on a not-found, any other failure is an error.
//   - Create "already exists": status and body not pinned. Recognised by the known codes
//     (10010101001, 10020101001, 10010202004) or the SDK's keywords ("already", "已存在", ...,
//     "exist" but not "not exist"), only on the create routes; HTTP 409 also counts.
//   - Commit "rejected by repository policy" (code 10030000001) means either commits too frequent
//     or a delete of a missing path; the hub does not tell them apart. Commit maps it to
//     ErrCommitTooFrequent; CommitInBatches retries it with backoff within a bounded budget
//     (WithCommitRetry), so a bad delete fails after that budget, never loops.
//   - Error codes may be numbers or strings, Success may be missing: a body is a failure when
//     Success is false, or when Code is present, not 200 and Success is not true.
//   - Range on inline (non-LFS) downloads is not confirmed: the client sends Range and, when the
//     answer is 200 instead of 206, skips to the offset itself.
//   - Unknown revision: models answer 200 with Files null (mapped to hubkit.ErrNotFound); for datasets the
//     shape is not pinned, so a 404 or a null first page on a non-default revision is hubkit.ErrNotFound
//     and a null first page on master is an empty repo.
//   - Dataset tree page size may be capped by the server: paging trusts TotalCount when given,
//     else stops on a short page. A 403 on a page after the first is retried (spurious 403s).
//   - The model listing cut (3000) has no flag: a listing that long is redone folder by folder;
//     a single folder with more direct entries than the cut is reported as an error.
//   - The commit answer's id field (Data.oid) may be missing: CommitInfo.OID is then "".
//   - The commit log route (.../commits?Ref=) is used to pin revisions; if it is missing, the
//     model listing's LatestCommitter.Id, else the revision name itself, is the best effort.
//   - users/me field names drift (username, name, preferred_username, ...): read tolerantly; if the
//     route is absent (404) WhoAmI falls back to Login.
//   - Login refusing a read-only token (400, 10010103009): Login then asks users/me and, if that
//     knows the token, succeeds with Reduced set and no git token.
//   - The LFS upload host for the international site (lfs.modelscope.ai) is inferred: any https
//     host under the endpoint's parent domain receives credentials, any other host none.
//   - Per-object LFS batch errors and hrefs relative to the endpoint are accepted; the batch's
//     upload_header (Range) is ignored as the SDKs do, a standard "header" map is applied.
//   - Whether the API token works as a git password is unknown: Login returns the separate git
//     token (registered as a secret) for the git fallback.
//   - The largest inline file a commit accepts is unknown: MaxCommitInlineBytes keeps a commit's
//     body under the newest SDK's 8 MiB advisory figure; which files go inline is the caller's
//     choice (WantsLFS is the SDK's rule).
//
// msclient imports pkg/hubkit and the transport packages (internal/httpx, internal/lfs,
// internal/redact, internal/version); it knows nothing of the engine or of Hugging Face.
package msclient
