// Package apierr holds the error kinds both hub clients map their failures to, so the migration
// engine can treat Hugging Face and ModelScope alike with errors.Is. Each client re-exports these
// values under its own name (hub.ErrNotFound, msclient.ErrNotFound, ...) and wraps them in its own
// error type carrying the hub's status, code and message.
package apierr

import "errors"

// Error kinds. A client error matches exactly one of them with errors.Is (ErrGated and
// ErrStorageLocked also match ErrForbidden or ErrUnauthorized, which they refine).
var (
	// ErrNotFound: the repo, revision or file does not exist, or is invisible to this token.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the token is missing, invalid or expired (HTTP 401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrForbidden: the token is valid but may not do this (HTTP 403), including storage quotas.
	ErrForbidden = errors.New("forbidden")
	// ErrGated: the repo is gated and this user has no access yet.
	ErrGated = errors.New("gated repo")
	// ErrStorageLocked: the hub's HTTP API refuses downloads or listings for this repo (403) while
	// other routes (git, LFS) may still work.
	ErrStorageLocked = errors.New("storage locked")
	// ErrRateLimited: the hub answered 429 (or its equivalent) and retries were exhausted.
	ErrRateLimited = errors.New("rate limited")
	// ErrConflict: the thing being created already exists, or a concurrent update won (409, 412).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: the hub rejected the request as malformed (400, 422).
	ErrInvalid = errors.New("invalid request")
	// ErrServer: the hub failed (5xx) and retries were exhausted.
	ErrServer = errors.New("server error")
)
