package hubkit

import "errors"

// Error kinds. Every error a hub client returns for a hub's answer matches exactly one of them
// with errors.Is (ErrGated and ErrStorageLocked also match ErrForbidden, which they refine); the
// clients' own error types (*hub.Error, *msclient.Error) carry the status, code and message.
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
	// ErrInvalid: the hub rejected the request as malformed (400, 422), or the caller passed
	// something no hub would accept.
	ErrInvalid = errors.New("invalid request")
	// ErrServer: the hub failed (5xx) and retries were exhausted, or answered something that
	// cannot be right (a malformed listing, a body that ends early).
	ErrServer = errors.New("server error")
	// ErrHashMismatch: bytes do not have the size and SHA-256 (or git blob id) they were
	// announced with. Uploads fail with it before the hub can store anything.
	ErrHashMismatch = errors.New("content hash mismatch")
)
