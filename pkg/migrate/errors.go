package migrate

import "errors"

// Engine errors. Errors of hubs match the kinds of pkg/hubkit (hubkit.ErrNotFound,
// hubkit.ErrHashMismatch, ...) with errors.Is, whichever hub they came from.
var (
	// ErrUnsafePath: a source path would escape the repository (.., absolute, backslash, NUL).
	ErrUnsafePath = errors.New("unsafe path")
	// ErrVerify: the destination does not match the source after the commit.
	ErrVerify = errors.New("verification failed")
	// ErrInvalidRef: a repository reference could not be parsed.
	ErrInvalidRef = errors.New("invalid repository reference")
	// ErrUnsupported: the migration is not possible (for example a hubkit.Space to ModelScope).
	ErrUnsupported = errors.New("unsupported migration")
	// ErrPartial: a migration that needed several commits stopped between two of them; the
	// destination holds the files of the commits that landed, and a re-run finishes it.
	ErrPartial = errors.New("partial")
	// ErrTooLarge: a file is larger than the destination accepts.
	ErrTooLarge = errors.New("file too large for the destination")
)
