package migrate

import (
	"errors"

	"github.com/linaqruf/hf2ms/internal/apierr"
)

// Error kinds from the hub clients, re-exported so callers of this package can branch on them
// with errors.Is without importing either client.
var (
	ErrNotFound      = apierr.ErrNotFound
	ErrUnauthorized  = apierr.ErrUnauthorized
	ErrForbidden     = apierr.ErrForbidden
	ErrGated         = apierr.ErrGated
	ErrStorageLocked = apierr.ErrStorageLocked
	ErrRateLimited   = apierr.ErrRateLimited
	ErrConflict      = apierr.ErrConflict
	ErrInvalid       = apierr.ErrInvalid
	ErrServer        = apierr.ErrServer
)

// Engine errors.
var (
	// ErrHashMismatch: the bytes the source served do not match the hash its listing gave.
	ErrHashMismatch = errors.New("content hash mismatch")
	// ErrUnsafePath: a source path would escape the repository (.., absolute, backslash, NUL).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrVerify: the destination does not match the source after the commit.
	ErrVerify = errors.New("verification failed")
	// ErrInvalidRef: a repository reference could not be parsed.
	ErrInvalidRef = errors.New("invalid repository reference")
	// ErrUnsupported: the migration is not possible (for example a Space to ModelScope).
	ErrUnsupported = errors.New("unsupported migration")
)
